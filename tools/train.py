"""Train a multi-task model with the mmengine Runner (mmseg-style flags).

Examples:
    python tools/train.py configs/mtl/synthscenes_mbv2_baseline.py
    python tools/train.py CONFIG --resume            # from the last checkpoint
    python tools/train.py CONFIG --resume work_dirs/x/iter_500.pth
    torchrun --nproc_per_node=2 tools/train.py CONFIG --launcher pytorch
"""
import argparse
import logging
import os
import os.path as osp
import sys

# Runs from a checkout without installation, too.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmecmt.utils import register_all_modules  # noqa: E402
from mmecmt.utils.compat import destroy_distributed  # noqa: E402
from mmecmt.utils.runner_setup import (load_tool_config,  # noqa: E402
                                       prepare_runner_cfg)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a multi-task model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, without a value, from '
        'the latest checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs, e.g. '
        'train_cfg.max_iters=100')
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


def is_algorithm_cfg(model_cfg) -> bool:
    """Whether ``model_cfg`` builds a training algorithm
    (:class:`~mmecmt.models.algorithms.BaseAlgorithm`)."""
    from mmecmt.models.algorithms import BaseAlgorithm
    from mmecmt.registry import MODELS
    model_type = model_cfg.get('type') if hasattr(model_cfg, 'get') else None
    if isinstance(model_type, str):
        model_type = MODELS.get(model_type)
    return isinstance(model_type, type) and issubclass(model_type,
                                                       BaseAlgorithm)


def default_algorithm_wrapper(cfg) -> None:
    """Distributed training of an algorithm without a ``model_wrapper_cfg``:
    wrap it in ``AlgorithmDDP`` (mmengine's default DDP wrapper would run
    one forward of the algorithm's loss per step instead of the algorithm's
    own training step)."""
    if cfg.get('launcher', 'none') != 'none' and \
            cfg.get('model_wrapper_cfg') is None and \
            is_algorithm_cfg(cfg.model):
        cfg.model_wrapper_cfg = dict(
            type='mmecmt.models.wrappers.AlgorithmDDP',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir,
                           args.launcher)

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in your config.',
                      logger='current', level=logging.WARNING)
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    default_algorithm_wrapper(cfg)
    prepare_runner_cfg(cfg)
    runner = Runner.from_cfg(cfg)
    try:
        runner.train()
    finally:
        destroy_distributed()


if __name__ == '__main__':
    main()
