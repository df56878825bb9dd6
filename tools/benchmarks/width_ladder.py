"""Evaluate a trained ECMT supernet over a ladder of uniform widths.

    python tools/benchmarks/width_ladder.py CONFIG CHECKPOINT [--levels 4]

Rungs: the smallest subnet, evenly spaced uniform-width subnets (the same
relative position in every stage's and task's choice list), the largest.
Each is BN-recalibrated (the config's ``test_cfg.calibrate_bn``) and
evaluated on the test set; prints a table of MACs and every task's primary
metric per rung, whether each task improves monotonically from the smallest
to the largest rung (within ``--tolerance``, relative), and saves it as JSON
in the work dir.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmecmt.evaluation.functional.delta_m import PRIMARY_METRICS  # noqa
from mmecmt.registry import MODELS  # noqa: E402
from mmecmt.search.evolution import (num_uniform_levels,  # noqa: E402
                                     uniform_level_spec)
from mmecmt.utils import register_all_modules  # noqa: E402
from mmecmt.utils.runner_setup import (load_tool_config,  # noqa: E402
                                       prepare_runner_cfg)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--levels', type=int, default=4,
                        help='number of rungs (>= 2)')
    parser.add_argument('--tolerance', type=float, default=0.01,
                        help='relative noise allowed in the monotonicity '
                        'check')
    parser.add_argument('--work-dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def ladder_specs(search_space, levels):
    n = num_uniform_levels(search_space)
    if not 2 <= levels <= n:
        raise ValueError(f'--levels must be in [2, {n}], got {levels}')
    positions = np.round(np.linspace(0, n - 1, levels)).astype(int)
    return [(f'rung{i}', uniform_level_spec(search_space, int(p)))
            for i, p in enumerate(positions)]


def main():
    args = parse_args()
    register_all_modules()
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir)
    model = MODELS.build(cfg.model)
    tasks = {t: spec.kind for t, spec in model.task_specs.items()}
    space = model.search_space
    rungs = ladder_specs(space, args.levels)
    cfg.test_cfg.subnets = [dict(name=n, spec=s.to_dict()) for n, s in rungs]
    cfg.test_cfg.log_macs = True
    cfg.load_from = args.checkpoint
    prepare_runner_cfg(cfg)
    metrics = Runner.from_cfg(cfg).test()

    rows, monotone = [], {}
    for name, spec in rungs:
        row = dict(name=name, subnet=spec.to_dict(),
                   macs=metrics.get(f'{name}/macs'))
        for task, kind in tasks.items():
            metric, _ = PRIMARY_METRICS[kind]
            row[task] = metrics[f'{name}/{task}/{metric}']
        rows.append(row)
    header = ['rung', 'GMACs'] + [
        f'{t} {PRIMARY_METRICS[k][0]}' for t, k in tasks.items()]
    print('| ' + ' | '.join(header) + ' |')
    print('|' + ' --- |' * len(header))
    for row in rows:
        macs = row['macs'] / 1e9 if row['macs'] is not None else float('nan')
        print(f"| {row['name']} | {macs:.4f} | " + ' | '.join(
            f'{row[t]:.4f}' for t in tasks) + ' |')
    for task, kind in tasks.items():
        lower_better = PRIMARY_METRICS[kind][1]
        values = [r[task] * (-1 if lower_better else 1) for r in rows]
        monotone[task] = all(
            b >= a - args.tolerance * abs(a)
            for a, b in zip(values, values[1:]))
    print('monotonic within tolerance:', monotone)
    out = osp.join(cfg.work_dir, 'width_ladder.json')
    with open(out, 'w') as f:
        json.dump(dict(rows=rows, monotonic=monotone,
                       tolerance=args.tolerance), f, indent=2)
    print(f'saved {out}')


if __name__ == '__main__':
    main()
