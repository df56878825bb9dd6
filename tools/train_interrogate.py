"""Train InterroGate budgets from nothing: the missing single-task models
and multi-task baseline the branches start from, then every budget,
skipping what is already trained.

    python tools/train_interrogate.py configs/interrogate/synthscenes_mbv2_150m.py \
        configs/interrogate/synthscenes_mbv2_200m.py \
        configs/interrogate/synthscenes_mbv2_250m.py \
        [--dry-run] [--cfg-options KEY=VALUE ...]

Each CONFIG is one trained budget. Its model names the checkpoints its
branches load (``task_checkpoints``, ``shared_checkpoint``) and the config
``reference_configs`` names what trains each (``{task: config, 'shared':
config}``). A step is skipped when its checkpoint exists; each missing one
runs ``tools/train.py`` in a subprocess (its log in its work dir), and the
wall time of every step is printed and written to
``<work_dirs>/interrogate_pipeline_times.json`` (next to the first budget's
work dir). ``--cfg-options`` apply to the budgets (not to the references).
``--dry-run`` prints the plan only. Bad input (a reference without a config,
a reference config that writes another checkpoint than the one loaded, a
step that ends without its checkpoint) is one line on stderr, exit code 2.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.config import DictAction  # noqa: E402

from mmecmt.utils.pipeline import interrogate_steps, run_steps  # noqa: E402
from mmecmt.utils.tool_cli import run_main  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train InterroGate budgets (and the single-task / '
        'multi-task models their branches start from), skipping the steps '
        'already done')
    parser.add_argument('configs', nargs='+', metavar='CONFIG',
                        help='InterroGate configs, one per budget')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the steps and exit')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='overrides for every budget')
    return parser.parse_args(argv)


def run(args) -> dict:
    steps, times = interrogate_steps(args.configs, args.cfg_options)
    return run_steps(steps, times, args.dry_run)


def main(argv=None):
    run_main(run, parse_args(argv), 'train_interrogate.py')


if __name__ == '__main__':
    main()
