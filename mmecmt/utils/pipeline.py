"""Multi-step training pipelines (a method trained from nothing): run each
step's ``tools/train.py`` in a subprocess unless its checkpoint exists, with
progress and per-step wall time. Used by ``tools/train_cdma.py`` and
``tools/train_interrogate.py``."""
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

from .tool_cli import UserError

#: ``(name, config, cfg_options, checkpoint)``; config None: the checkpoint
#: must exist already (nothing can train it).
Step = Tuple[str, Optional[str], dict, str]

TRAIN = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))), 'tools', 'train.py')


def final_checkpoint(cfg) -> str:
    """The checkpoint an iteration-based run of ``cfg`` ends with."""
    work_dir = cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(cfg.filename))[0])
    return osp.join(work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')


def run_steps(steps: List[Step], times_file: Optional[str] = None,
              dry_run: bool = False) -> Dict[str, float]:
    """Train every step whose checkpoint is missing, in order.

    Prints ``[i/n] name: done | training ... | <minutes>``; writes the wall
    time (s) of every step run to ``times_file`` (JSON, merged with the
    steps it already holds).

    Raises:
        UserError: a step fails or ends without its checkpoint (its exit
            code and last stderr line are named), or a step without a
            config whose checkpoint is missing.
    """
    times = {}
    for i, (name, config, options, ckpt) in enumerate(steps, 1):
        prefix = f'[{i}/{len(steps)}] {name}'
        if osp.isfile(ckpt):
            print(f'{prefix}: done ({ckpt})', flush=True)
            continue
        if config is None:
            raise UserError(f'{name}: {ckpt} is missing and no config '
                            'trains it')
        print(f'{prefix}: training {config} -> {ckpt}', flush=True)
        if dry_run:
            continue
        cmd = [sys.executable, TRAIN, config]
        if options:
            cmd += ['--cfg-options'] + [f'{k}={v}' for k, v in
                                        options.items()]
        start = time.time()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        seconds = time.time() - start
        if proc.returncode != 0 or not osp.isfile(ckpt):
            tail = proc.stderr.strip().splitlines()[-1:] or ['']
            raise UserError(f'{name} failed (exit code {proc.returncode}, '
                            f'{ckpt} missing): {tail[0]}')
        times[name] = round(seconds, 1)
        print(f'{prefix}: {seconds / 60:.1f} min', flush=True)
    if times and times_file:
        old = {}
        if osp.isfile(times_file):
            with open(times_file) as f:
                old = json.load(f)
        os.makedirs(osp.dirname(times_file) or '.', exist_ok=True)
        with open(times_file, 'w') as f:
            json.dump(dict(old, **times), f, indent=2)
        print(f'wall time per step (s): {times} -> {times_file}')
    return times


__all__ = ['Step', 'final_checkpoint', 'run_steps']
