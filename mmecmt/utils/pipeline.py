"""Multi-step training pipelines (a method trained from nothing): the steps
of a CDMA or InterroGate pipeline, and running each step's
``tools/train.py`` in a subprocess unless its checkpoint exists, with
progress, per-step wall time and CPU time. Used by ``tools/train_cdma.py``,
``tools/train_interrogate.py`` and ``tools/benchmarks/compare_methods.py``.
"""
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

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


def load_step_config(config: str, cfg_options: dict,
                     what: str = '') -> Config:
    """``config`` with ``cfg_options`` merged in; a missing file is a
    :class:`UserError` (its message prefixed by ``what`` when given)."""
    if not osp.isfile(config):
        raise UserError((f'{what}: ' if what else '')
                        + f'config {config} does not exist')
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(cfg_options)
    return cfg


def _children_cpu_seconds() -> float:
    """User + system CPU time of the finished child processes (and their
    waited-for children, e.g. data loader workers), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _merge_json(path: str, entries: dict) -> None:
    old = {}
    if osp.isfile(path):
        with open(path) as f:
            old = json.load(f)
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w') as f:
        json.dump(dict(old, **entries), f, indent=2)


def run_steps(steps: List[Step], times_file: Optional[str] = None,
              dry_run: bool = False) -> Dict[str, dict]:
    """Train every step whose checkpoint is missing, in order.

    Prints ``[i/n] name: done | training ... | <minutes>``; writes
    ``{name: {'wall_s': wall time, 'cpu_s': CPU time}}`` of every step run
    to ``times_file`` (JSON, merged with the steps it already holds). The
    CPU time counts every core the step used (its data loader workers
    included): ``cpu_s / 3600`` is the step's cost in core-hours.

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
        start, cpu_start = time.time(), _children_cpu_seconds()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        seconds = time.time() - start
        cpu = _children_cpu_seconds() - cpu_start
        if proc.returncode != 0 or not osp.isfile(ckpt):
            tail = proc.stderr.strip().splitlines()[-1:] or ['']
            raise UserError(f'{name} failed (exit code {proc.returncode}, '
                            f'{ckpt} missing): {tail[0]}')
        times[name] = dict(wall_s=round(seconds, 1), cpu_s=round(cpu, 1))
        print(f'{prefix}: {seconds / 60:.1f} min ({cpu / 3600:.3f} '
              'core-hours)', flush=True)
        if times_file:  # after every step: a later failure keeps it
            _merge_json(times_file, {name: times[name]})
    if times and times_file:
        print(f'wall and CPU time per step -> {times_file}')
    return times


def _produced_by(trainer: str, ckpt: str, what: str) -> None:
    """Raise unless training ``trainer`` writes ``ckpt``."""
    produced = final_checkpoint(Config.fromfile(trainer))
    if osp.normpath(produced) != osp.normpath(ckpt):
        raise UserError(f'{what}: training {trainer} writes {produced}, but '
                        f'the model loads {ckpt}')


def cdma_steps(config: str, cfg_options: dict) -> Tuple[List[Step], Config]:
    """The CDMA pipeline of a stage-2 config: ``([(name, config, options,
    checkpoint)], stage-2 config)``, the single-task streams (options
    ``{}``), stage 1 and stage 2 (``cfg_options``) in training order.

    Raises:
        UserError: not a stage-2 config, no stage-1 config, a stream
            without a checkpoint or a config that writes it, a ``load_from``
            that is not stage 1's checkpoint.
    """
    stage2 = load_step_config(config, cfg_options)
    if stage2.model.get('stage') != 2:
        raise UserError(f'{config} is not a CDMA stage-2 config '
                        f'(model.stage={stage2.model.get("stage")!r})')
    stage1_config = stage2.get('stage1_config')
    if not stage1_config or not osp.isfile(stage1_config):
        raise UserError(f'{config}: stage1_config {stage1_config!r} is not '
                        'a config file')
    stage1 = load_step_config(stage1_config, cfg_options)
    steps = []
    streams = stage2.model.architecture.anchor.streams
    for task, stream in streams.items():
        ckpt = stream.get('checkpoint')
        if ckpt is None:
            raise UserError(f'stream {task!r} has no checkpoint to train '
                            'towards (checkpoint=None)')
        if 'config' not in stream:
            if not osp.isfile(ckpt):
                raise UserError(f'stream {task!r}: {ckpt} is missing and the '
                                'stream names no config to train it')
            steps.append((f'stream {task}', None, {}, ckpt))
            continue
        _produced_by(stream['config'], ckpt, f'stream {task!r}')
        steps.append((f'stream {task}', stream['config'], {}, ckpt))
    if osp.normpath(final_checkpoint(stage1)) != osp.normpath(
            stage2.load_from):
        raise UserError(f'{config}: load_from {stage2.load_from} is not the '
                        f'checkpoint stage 1 writes '
                        f'({final_checkpoint(stage1)})')
    steps.append(('stage 1 (edge hypernet)', stage1_config, cfg_options,
                  stage2.load_from))
    steps.append(('stage 2 (weight hypernet)', config, cfg_options,
                  final_checkpoint(stage2)))
    return steps, stage2


def _interrogate_references(cfg, config: str) -> List[Step]:
    """``[(name, config, {}, checkpoint)]`` of the models a budget's
    branches load (``task_checkpoints``, ``shared_checkpoint``), trained by
    the config's ``reference_configs``."""
    model = cfg.model
    if model.get('type') != 'GatedMultiTaskNet':
        raise UserError(f'{config} is not an InterroGate config (model type '
                        f'{model.get("type")!r})')
    wanted = dict(model.get('task_checkpoints') or {})
    if model.get('shared_checkpoint'):
        wanted['shared'] = model.shared_checkpoint
    trainers = dict(cfg.get('reference_configs') or {})
    steps = []
    for name, ckpt in wanted.items():
        label = ('multi-task baseline' if name == 'shared'
                 else f'single-task {name}')
        trainer = trainers.get(name)
        if trainer is None:
            steps.append((label, None, {}, ckpt))
            continue
        if not osp.isfile(trainer):
            raise UserError(f'{config}: reference config {trainer} does not '
                            'exist')
        _produced_by(trainer, ckpt, config)
        steps.append((label, trainer, {}, ckpt))
    return steps


def interrogate_steps(configs: Sequence[str],
                      cfg_options: dict) -> Tuple[List[Step], str]:
    """The InterroGate pipeline of budget configs: ``([(name, config,
    options, checkpoint)], times file)``, the references (each once,
    options ``{}``), then the budgets (``cfg_options``).

    Raises:
        UserError: a missing or non-InterroGate config, a reference config
            that writes another checkpoint than the one loaded.
    """
    steps, seen, budgets = [], set(), []
    for config in configs:
        cfg = load_step_config(config, cfg_options)
        for step in _interrogate_references(cfg, config):
            if osp.normpath(step[3]) not in seen:
                seen.add(osp.normpath(step[3]))
                steps.append(step)
        budget = cfg.model.get('sparsity', {}).get('budget')
        budgets.append((f'InterroGate {budget}', config, cfg_options,
                        final_checkpoint(cfg)))
        if len(budgets) == 1:
            first_dir = cfg.get('work_dir') or 'work_dirs/x'
    times = osp.join(osp.dirname(first_dir),
                     'interrogate_pipeline_times.json')
    return steps + budgets, times


__all__ = ['Step', 'cdma_steps', 'final_checkpoint', 'interrogate_steps',
           'run_steps']
