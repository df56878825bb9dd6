"""tools/train.py, tools/test.py, resume after a kill, torchrun on CPU, and
configs that mix mmseg / mmpretrain parts."""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import torch
from conftest import (REPO, TINY_CONFIG, run_tool, tiny_data_options)


def test_train_then_test_with_show_dir(tiny_synth_root, tmp_path):
    work = str(tmp_path / 'work')
    run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', work,
              '--cfg-options', 'train_cfg.max_iters=4',
              'train_cfg.val_interval=4', 'default_hooks.checkpoint.interval=4',
              *tiny_data_options(tiny_synth_root)])
    ckpt = osp.join(work, 'iter_4.pth')
    assert osp.isfile(ckpt)
    proc = run_tool(['tools/test.py', TINY_CONFIG, ckpt, '--work-dir', work,
                     '--show-dir', str(tmp_path / 'vis'), '--cfg-options',
                     *tiny_data_options(tiny_synth_root)])
    out = proc.stdout + proc.stderr
    for key in ('semseg/mIoU', 'depth/rmse', 'normals/mean', 'edge/odsF',
                'sal/maxF'):
        assert key in out, key
    panels = glob.glob(str(tmp_path / 'vis' / '*.png'))
    assert len(panels) == 16  # one per val image


def _train_cmd(work, max_iters, extra=()):
    return [sys.executable, 'tools/train.py', TINY_CONFIG, '--work-dir',
            work, '--cfg-options', f'train_cfg.max_iters={max_iters}',
            f'train_cfg.val_interval={max_iters}',
            'default_hooks.checkpoint.interval=2',
            'default_hooks.checkpoint.max_keep_ckpts=100', *extra]


def test_resume_after_kill_restores_iteration_and_optimizer(
        tiny_synth_root, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmecmt.utils import register_all_modules
    register_all_modules()
    work = str(tmp_path / 'work')
    data = tiny_data_options(tiny_synth_root)
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(_train_cmd(work, 10000, data), cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # written after the first checkpoint (iter_2.pth) is complete
    ckpt = osp.join(work, 'last_checkpoint')
    deadline = time.time() + 300
    while not osp.isfile(ckpt) and time.time() < deadline:
        time.sleep(0.2)
        assert proc.poll() is None, 'training ended before it was killed'
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # mmengine names a checkpoint in `last_checkpoint` once it is written
    # completely; the kill may have cut a newer one short
    with open(osp.join(work, 'last_checkpoint')) as f:
        last = f.read().strip()
    last_iter = int(last.split('_')[-1][:-4])
    assert last_iter >= 2 and last_iter % 2 == 0 and last_iter < 10000

    # In-process: the Runner resumes iteration and optimizer state exactly.
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict(dict(
        work_dir=work, resume=True, load_from=last,
        train_cfg=dict(max_iters=last_iter + 2)))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = tiny_synth_root
    runner = Runner.from_cfg(cfg)
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.load_or_resume()
    assert runner.iter == last_iter
    saved_state = torch.load(last, map_location='cpu',
                             weights_only=False)['optimizer']['state']
    live_state = runner.optim_wrapper.optimizer.state_dict()['state']
    assert set(saved_state) == set(live_state) and len(live_state) > 0
    for k in saved_state:
        assert torch.equal(saved_state[k]['exp_avg'],
                           live_state[k]['exp_avg'])
        assert int(live_state[k]['step']) == last_iter

    # The CLI: `--resume` picks the last checkpoint and finishes the run.
    proc = run_tool(_train_cmd(work, last_iter + 2, data)[1:] + [] + [
        '--resume'])
    log = proc.stdout + proc.stderr
    assert f'resumed' in log.lower()
    assert f'Iter(train) [{last_iter + 2}/{last_iter + 2}]' in log \
        or osp.isfile(osp.join(work, f'iter_{last_iter + 2}.pth'))
    assert osp.isfile(osp.join(work, f'iter_{last_iter + 2}.pth'))


def test_torchrun_two_processes_on_cpu(tiny_synth_root, tmp_path):
    work = str(tmp_path / 'work')
    proc = run_tool([
        '-m', 'torch.distributed.run', '--nproc_per_node=2',
        '--master_port=29517', 'tools/train.py', TINY_CONFIG, '--launcher',
        'pytorch', '--work-dir', work, '--cfg-options',
        'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
        'default_hooks.checkpoint.interval=4',
        *tiny_data_options(tiny_synth_root)])
    log = proc.stdout + proc.stderr
    assert 'Distributed launcher: pytorch' in log or 'world_size: 2' in log \
        or 'Distributed training: True' in log
    assert osp.isfile(osp.join(work, 'iter_4.pth'))
    assert 'semseg/mIoU' in log


def test_mmseg_resnet_and_mmseg_heads_config_trains(tiny_synth_root,
                                                    tmp_path):
    work = str(tmp_path / 'work')
    config = osp.join(REPO, 'configs', 'mtl',
                      'synthscenes_r18_mmseg_heads.py')
    proc = run_tool(['tools/train.py', config, '--work-dir', work,
                     '--cfg-options', 'train_cfg.max_iters=3',
                     'train_cfg.val_interval=3',
                     'train_dataloader.batch_size=2',
                     'default_hooks.logger.interval=1',
                     'default_hooks.checkpoint.interval=3',
                     'train_dataloader.dataset.pipeline.3.crop_size=[48,64]',
                     *tiny_data_options(tiny_synth_root),
                     *[f'{k}.dataset.generate.{p}={v}'
                       for k in ('train_dataloader', 'val_dataloader',
                                 'test_dataloader')
                       for p, v in (('num_train', 32), ('num_val', 16),
                                    ('height', 48), ('width', 64))]])
    log = proc.stdout + proc.stderr
    assert 'loss_semseg' in log and 'loss_depth' in log
    assert osp.isfile(osp.join(work, 'iter_3.pth'))
