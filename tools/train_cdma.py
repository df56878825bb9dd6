"""Train CDMA from nothing: the missing single-task streams, stage 1 (edge
hypernet), stage 2 (weight hypernet), skipping what is already trained.

    python tools/train_cdma.py configs/cdma/synthscenes_mbv2_stage2.py \
        [--dry-run] [--cfg-options KEY=VALUE ...]

CONFIG is a stage-2 config: its ``load_from`` is the stage-1 checkpoint and
its ``stage1_config`` the stage-1 config; the anchor net's streams
(``model.architecture.anchor.streams``) name each stream's checkpoint and
the single-task config that trains it (``config=``). A step is skipped when
its checkpoint exists; each missing one runs ``tools/train.py`` in a
subprocess (its log in its work dir), and the step's wall time is printed
and written to ``<stage-2 work_dir>/pipeline_times.json``. ``--cfg-options``
apply to both CDMA stages (not to the streams). ``--dry-run`` prints the
plan only. Bad input (a stream without a config to train it, a step that
ends without its checkpoint) is one line on stderr, exit code 2.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.config import Config, DictAction  # noqa: E402

from mmecmt.utils.pipeline import final_checkpoint, run_steps  # noqa: E402
from mmecmt.utils.tool_cli import UserError, run_main  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train the CDMA pipeline (streams, stage 1, stage 2), '
        'skipping the steps already done')
    parser.add_argument('config', help='the stage-2 CDMA config')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the steps and exit')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='overrides for both CDMA stages')
    return parser.parse_args(argv)


def plan_steps(config: str, cfg_options: dict):
    """``[(name, config, options, checkpoint)]`` in training order."""
    if not osp.isfile(config):
        raise UserError(f'config {config} does not exist')
    stage2 = Config.fromfile(config)
    stage2.merge_from_dict(cfg_options)
    if stage2.model.get('stage') != 2:
        raise UserError(f'{config} is not a CDMA stage-2 config '
                        f'(model.stage={stage2.model.get("stage")!r})')
    stage1_config = stage2.get('stage1_config')
    if not stage1_config or not osp.isfile(stage1_config):
        raise UserError(f'{config}: stage1_config {stage1_config!r} is not '
                        'a config file')
    stage1 = Config.fromfile(stage1_config)
    stage1.merge_from_dict(cfg_options)
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
        produced = final_checkpoint(Config.fromfile(stream['config']))
        if osp.normpath(produced) != osp.normpath(ckpt):
            raise UserError(
                f'stream {task!r}: training {stream["config"]} writes '
                f'{produced}, but the anchor loads {ckpt}')
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


def run(args) -> dict:
    steps, stage2 = plan_steps(args.config, args.cfg_options)
    return run_steps(steps, osp.join(stage2.work_dir, 'pipeline_times.json'),
                     args.dry_run)


def main(argv=None):
    run_main(run, parse_args(argv), 'train_cdma.py')


if __name__ == '__main__':
    main()
