"""How fast is a warm deployment? Time ``plan`` + ``macs`` of requests on
a trained model (any method), and the MACs model of an ECMT supernet built
from scratch against loaded from its cache.

    python tools/benchmarks/deploy_speed.py CONFIG CHECKPOINT \
        [--requests 20] [--seed 0] [--work-dir DIR] [--cfg-options ...]

The deployer is built once (for ECMT its accuracy predictor must already be
cached in the work dir, or it is built first: run one ``tools/deploy.py``
request before). Then ``--requests`` requests, preferences drawn from the
simplex and budgets uniform over the feasible range (fixed ``--seed``), are
answered in-process; the median and the 90th percentile of ``plan`` +
``macs`` per request are printed. Time it on a quiet machine.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..',
                                        '..')))

import numpy as np  # noqa: E402

from mmecmt.structures.request import sample_simplex  # noqa: E402
from mmecmt.utils.tool_cli import (build_tool_deployer,  # noqa: E402
                                   cfg_options_dict, run_main)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Warm deployment speed')
    parser.add_argument('config')
    parser.add_argument('checkpoints', nargs='+', metavar='CHECKPOINT')
    parser.add_argument('--requests', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--work-dir')
    parser.add_argument('--cfg-options', nargs='+', default=[])
    args = parser.parse_args(argv)
    args.cfg_dict = cfg_options_dict(parser, args.cfg_options)
    return args


def run(args):
    t0 = time.perf_counter()
    cfg, deployer = build_tool_deployer(args.config, args.checkpoints,
                                        args.cfg_dict, args.work_dir)
    build = time.perf_counter() - t0
    print(f'deployer built in {build:.2f} s: {deployer.describe()}')
    deployer.warm_up()
    if hasattr(deployer, 'search_space'):  # ECMT: its MACs model
        from mmecmt.search.macs import load_or_build_macs_model
        t0 = time.perf_counter()
        load_or_build_macs_model(deployer.model, deployer.input_shape, None)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        load_or_build_macs_model(deployer.model, deployer.input_shape,
                                 deployer.work_dir)
        warm = time.perf_counter() - t0
        print(f'MACs model: built from scratch in {cold:.2f} s, loaded from '
              f'its cache in {warm:.3f} s')
    lo, hi = deployer.macs_range()
    rng = np.random.default_rng(args.seed)
    prefs = sample_simplex(args.requests, len(deployer.tasks), args.seed)
    seconds = []
    for row in prefs:
        pref = dict(zip(deployer.tasks, (float(v) for v in row)))
        budget = int(rng.uniform(lo, hi))
        t0 = time.perf_counter()
        plan = deployer.plan(pref, budget)
        deployer.macs(plan.spec)
        seconds.append(time.perf_counter() - t0)
    seconds = np.array(seconds)
    print(f'plan + macs over {len(seconds)} requests: median '
          f'{np.median(seconds):.3f} s, 90th percentile '
          f'{np.percentile(seconds, 90):.3f} s, max {seconds.max():.3f} s')
    return seconds


def main(argv=None):
    run_main(run, parse_args(argv), 'deploy_speed.py')


if __name__ == '__main__':
    main()
