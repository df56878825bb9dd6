"""Shared fixtures: a tiny SynthScenes dataset and tool runners."""
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
TINY_CONFIG = osp.join(REPO, 'configs', 'mtl', 'synthscenes_mbv2_tiny.py')
ECMT_TINY = osp.join(REPO, 'configs', 'ecmt', 'synthscenes_mbv2_tiny.py')
TINY_GENERATE = dict(num_train=32, num_val=16, height=48, width=64, seed=0,
                     with_parts=True)


@pytest.fixture(scope='session')
def tiny_synth_root(tmp_path_factory):
    """A SynthScenes copy with the tiny config's parameters (generated once
    per test session)."""
    from mmecmt.datasets.synthscenes_generator import ensure_synthscenes
    root = str(tmp_path_factory.mktemp('synthscenes_tiny'))
    ensure_synthscenes(root, progress=False, **TINY_GENERATE)
    return root


@pytest.fixture
def one_thread():
    """One torch thread for the test: tiny models only lose to thread
    contention, and a busy machine slows multi-threaded torch badly.
    Use with ``pytestmark = pytest.mark.usefixtures('one_thread')``."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_data_options(root):
    """--cfg-options pointing the tiny config at ``root``."""
    return [f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}']


def run_tool(args, timeout=600, env=None, check=True):
    """Run a python tool of the repo in a subprocess; return the result."""
    full_env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    full_env.update(env or {})
    proc = subprocess.run([sys.executable] + list(args), cwd=REPO,
                          env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{args} failed with {proc.returncode}:\n'
            f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


def train_tiny(config, work, data, iters=2):
    """Train ``config`` for ``iters`` iterations with tools/train.py (data
    options ``data``, see :func:`tiny_data_options`); return the path of
    the final checkpoint."""
    run_tool(['tools/train.py', config, '--work-dir', work,
              '--cfg-options', f'train_cfg.max_iters={iters}',
              f'train_cfg.val_interval={iters}',
              f'default_hooks.checkpoint.interval={iters}', *data])
    return osp.join(work, f'iter_{iters}.pth')


@pytest.fixture(scope='session')
def tiny_ecmt_checkpoint(tiny_synth_root, tmp_path_factory):
    """The tiny ECMT supernet trained for 2 iterations, once per session
    (tests write their own outputs elsewhere)."""
    work = str(tmp_path_factory.mktemp('tiny_ecmt'))
    return train_tiny(ECMT_TINY, work, tiny_data_options(tiny_synth_root))
