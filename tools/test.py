"""Evaluate a trained multi-task model (mmseg-style flags).

Examples:
    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --show-dir vis   # PNG panels
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.config import DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmecmt.utils import register_all_modules  # noqa: E402
from mmecmt.utils.compat import destroy_distributed  # noqa: E402
from mmecmt.utils.runner_setup import (load_tool_config,  # noqa: E402
                                       prepare_runner_cfg)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a multi-task model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument(
        '--show-dir',
        help='directory (under work_dir/<timestamp>/ unless absolute) where '
        'PNG panels (input, then ground truth | prediction per task) are '
        'written')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir,
                           args.launcher)
    cfg.load_from = args.checkpoint
    if args.show_dir:
        cfg.default_hooks = cfg.get('default_hooks', {})
        cfg.default_hooks['visualization'] = dict(
            type='MultiTaskVisualizationHook', draw=True,
            show_dir=args.show_dir)
    prepare_runner_cfg(cfg)
    runner = Runner.from_cfg(cfg)
    try:
        runner.test()
    finally:
        destroy_distributed()


if __name__ == '__main__':
    main()
