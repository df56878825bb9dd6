"""ECMT speed figures (CPU): prints, does not assert.

    python tools/benchmarks/ecmt_speed.py [--ecmt-config C] [--baseline-config C]
        [--subnets 10] [--train-iters 10] [--threads N]

1. training throughput (images/s): one sandwich step (max + min + K random
   subnets, one optimizer step) vs. one step of the fixed multi-task model of
   the supernet's full width;
2. CPU latency (batch 1) of exported static subnets vs. their MACs, over
   max, min and random subnets;
3. latency of each dynamic subnet vs. its exported static twin (the slicing
   overhead; target ratio <= 1.10).
Weights are random: speed does not depend on them.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from scipy.stats import pearsonr, spearmanr  # noqa: E402

from mmecmt.models.slimmable import export_static  # noqa: E402
from mmecmt.registry import MODELS  # noqa: E402
from mmecmt.search.macs import MacsModel  # noqa: E402
from mmecmt.utils import register_all_modules  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ecmt-config',
                        default='configs/ecmt/synthscenes_mbv2.py')
    parser.add_argument('--baseline-config',
                        default='configs/mtl/synthscenes_mbv2_baseline.py')
    parser.add_argument('--subnets', type=int, default=10,
                        help='random subnets besides max and min')
    parser.add_argument('--train-iters', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=20,
                        help='timed forward passes per subnet')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='settings applied to both configs (key=value)')
    return parser.parse_args(argv)


def time_train_steps(model, cfg, batch, iters):
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    model.train_step(batch, optim_wrapper)  # warm-up
    start = time.perf_counter()
    for _ in range(iters):
        model.train_step(batch, optim_wrapper)
    elapsed = time.perf_counter() - start
    return iters * len(batch['inputs']) / elapsed


@torch.no_grad()
def latency_ms(models, x, repeats):
    """Median batch-1 latency (ms) of each model; the models run in turn
    within every repeat, so a slow moment of the machine hits them alike."""
    forwards = [m.eval()._forward for m in models]
    for forward in forwards:
        for _ in range(3):
            forward(x)
    times = [[] for _ in forwards]
    for _ in range(repeats):
        for forward, out in zip(forwards, times):
            start = time.perf_counter()
            forward(x)
            out.append(time.perf_counter() - start)
    return [1000 * float(np.median(t)) for t in times]


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules()
    torch.manual_seed(args.seed)
    ecmt_cfg = Config.fromfile(args.ecmt_config)
    base_cfg = Config.fromfile(args.baseline_config)
    if args.cfg_options:
        ecmt_cfg.merge_from_dict(args.cfg_options)
        base_cfg.merge_from_dict(args.cfg_options)
    loader = Runner.build_dataloader(
        dict(ecmt_cfg.train_dataloader, num_workers=0,
             persistent_workers=False), seed=args.seed)
    batch = next(iter(loader))
    print(f'torch threads: {torch.get_num_threads()}; batch '
          f'{len(batch["inputs"])} x {tuple(batch["inputs"][0].shape)}')

    supernet = MODELS.build(ecmt_cfg.model)
    fixed = MODELS.build(base_cfg.model)
    members = 2 + supernet.sampler.num_random
    sandwich = time_train_steps(supernet, ecmt_cfg, batch, args.train_iters)
    single = time_train_steps(fixed, base_cfg, batch, args.train_iters)
    print('\n1. training throughput (images/s)')
    print(f'   sandwich step ({members} subnets, 1 optimizer step): '
          f'{sandwich:.1f}')
    print(f'   fixed multi-task model (max width):            {single:.1f}')
    print(f'   ratio: {single / sandwich:.2f}x slower per image')

    shape = tuple(batch['inputs'][0].shape[-2:])
    x = torch.randn(1, 3, *shape)
    macs_model = MacsModel(supernet, input_shape=shape)
    rng = np.random.default_rng(args.seed)
    specs = [('max', supernet.max_subnet), ('min', supernet.min_subnet)] + [
        (f'rand{i}', supernet.search_space.sample('random', rng))
        for i in range(args.subnets)
    ]
    rows = []
    for name, spec in specs:
        static = export_static(supernet, spec,
                               example_input=torch.zeros(2, 3, *shape))
        supernet.set_subnet(spec)
        static_ms, dynamic = latency_ms([static, supernet], x, args.repeats)
        rows.append((name, macs_model(spec), static_ms, dynamic))
    supernet.set_subnet('max')
    print(f'\n2./3. latency at batch 1, {shape[0]}x{shape[1]} (median of '
          f'{args.repeats}, static and dynamic alternating)')
    print('| subnet | MMACs | static ms | dynamic ms | dynamic/static |')
    print('| --- | --- | --- | --- | --- |')
    for name, macs, static_ms, dynamic in rows:
        print(f'| {name} | {macs / 1e6:.1f} | {static_ms:.2f} | '
              f'{dynamic:.2f} | {dynamic / static_ms:.3f} |')
    macs = np.array([r[1] for r in rows], dtype=float)
    lat = np.array([r[2] for r in rows])
    ratio = np.array([r[3] / r[2] for r in rows])
    print(f'latency vs MACs over {len(rows)} subnets: Pearson '
          f'{pearsonr(macs, lat)[0]:.3f}, Spearman '
          f'{spearmanr(macs, lat)[0]:.3f}')
    print(f'dynamic/static latency: mean {ratio.mean():.3f}, max '
          f'{ratio.max():.3f} (target <= 1.10)')


if __name__ == '__main__':
    main()
