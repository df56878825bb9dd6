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

from mmengine.config import DictAction  # noqa: E402

from mmecmt.utils.pipeline import cdma_steps, run_steps  # noqa: E402
from mmecmt.utils.tool_cli import run_main  # noqa: E402


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


def run(args) -> dict:
    steps, stage2 = cdma_steps(args.config, args.cfg_options)
    return run_steps(steps, osp.join(stage2.work_dir, 'pipeline_times.json'),
                     args.dry_run)


def main(argv=None):
    run_main(run, parse_args(argv), 'train_cdma.py')


if __name__ == '__main__':
    main()
