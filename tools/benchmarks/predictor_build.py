"""Time an accuracy-predictor build and measure its quality.

    python tools/benchmarks/predictor_build.py CONFIG CHECKPOINT \
        --out-dir DIR --name NAME [--num-subnets 200] [--seed 0] \
        [--calib-images N] [--edge-matching one_to_one|distance_transform] \
        [--workers 2] [--group-size 8] [--truth DIR ...]

Builds the predictor of ``SearchSession.load_or_build_predictor`` with the
given settings into ``DIR/NAME/`` (its evaluated subnets in
``DIR/NAME/subnets/``; a second run reads them back and only refits), and
writes ``DIR/NAME/result.json``:

* ``build_seconds``, ``seconds_per_subnet`` (wall time / subnets evaluated
  by this run) and the settings;
* ``quality``: per-task Spearman / Kendall on the held-out 20 % of its own
  subnets (the figure the tools print);
* per ``--truth`` folder (an ``EvaluatedSubnetStore`` of another run, e.g.
  subnets measured with the old, expensive protocol): the predictor's
  Spearman against those measurements on the subnets it was not fitted on
  (``vs_truth``), and the Spearman between this run's and that run's
  measurements of the subnets both measured (``measurement_agreement``).

The old default (one process, one subnet at a time, 256 calibration images,
one-to-one edge matching) is ``--workers 1 --group-size 1 --calib-images 256
--edge-matching one_to_one`` (run with ``OMP_NUM_THREADS=2``, as the tools
ran).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from mmecmt.search.session import SearchSession, sha256_of  # noqa: E402
from mmecmt.search.subnet_evaluator import (  # noqa: E402
    DEFAULT_PREDICTOR_GROUP, DEFAULT_PREDICTOR_SUBNETS,
    DEFAULT_PREDICTOR_WORKERS, EvaluatedSubnetStore)
from mmecmt.utils.json_io import to_strict_json  # noqa: E402
from mmecmt.utils.tool_cli import (build_supernet, cfg_options_dict,  # noqa
                                   load_weights)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--name', required=True,
                        help='sub-folder of this run in --out-dir')
    parser.add_argument('--num-subnets', type=int,
                        default=DEFAULT_PREDICTOR_SUBNETS,
                        help='random subnets (+ max and min)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random subnets')
    parser.add_argument('--calib-images', type=int, default=None,
                        help='BN-calibration images per subnet (default: '
                        'the build default)')
    parser.add_argument('--edge-matching', default='default',
                        choices=('default', 'config', 'one_to_one',
                                 'distance_transform'),
                        help="'config': the val metric's own")
    parser.add_argument('--workers', type=int,
                        default=DEFAULT_PREDICTOR_WORKERS)
    parser.add_argument('--group-size', type=int,
                        default=DEFAULT_PREDICTOR_GROUP)
    parser.add_argument('--truth', nargs='*', default=[],
                        help='subnet stores to score the predictor against')
    parser.add_argument('--cfg-options', nargs='+', default=[])
    args = parser.parse_args(argv)
    args.cfg_dict = cfg_options_dict(parser, args.cfg_options)
    return args


def spearman(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float('nan')
    return float(stats.spearmanr(a, b)[0])


def compare_with_truth(predictor, own_store: str, truth_dir: str) -> dict:
    """The predictor against another store's measurements (subnets it was
    not fitted on), and the two stores' measurements of common subnets."""
    own_specs, own = EvaluatedSubnetStore(own_store).entries()
    specs, truth = EvaluatedSubnetStore(truth_dir).entries()
    own_index = {s.key(): i for i, s in enumerate(own_specs)}
    unseen = [i for i, s in enumerate(specs) if s.key() not in own_index]
    out = dict(truth=truth_dir, num_unseen=len(unseen))
    if unseen:
        pred = predictor.predict([specs[i] for i in unseen])
        out['vs_truth'] = {t: spearman(pred[t], truth[t][unseen])
                           for t in predictor.tasks}
    common = [(i, own_index[s.key()]) for i, s in enumerate(specs)
              if s.key() in own_index]
    out['num_common'] = len(common)
    if common:
        ti, oi = (list(v) for v in zip(*common))
        out['measurement_agreement'] = {
            t: spearman(truth[t][ti], own[t][oi]) for t in predictor.tasks}
    return out


def main(argv=None):
    args = parse_args(argv)
    cfg, model = build_supernet(args.config, args.cfg_dict, None)
    load_weights(model, args.checkpoint)
    session = SearchSession(cfg, model)
    folder = osp.join(args.out_dir, args.name)
    os.makedirs(folder, exist_ok=True)
    store = osp.join(folder, 'subnets')
    cache = osp.join(folder, 'predictor.npz')
    if osp.isfile(cache):
        os.remove(cache)  # always refit; evaluated subnets are kept
    already = (EvaluatedSubnetStore(store).num_done(args.num_subnets + 2)
               if osp.isdir(store) else 0)
    edge = None if args.edge_matching == 'config' else args.edge_matching
    t0 = time.perf_counter()
    info = session.load_or_build_predictor(
        cache, sha256_of(args.checkpoint), num_subnets=args.num_subnets,
        seed=args.seed, store=store, calib_images=args.calib_images,
        edge_matching=edge, num_workers=args.workers,
        group_size=args.group_size)
    seconds = time.perf_counter() - t0
    evaluated = args.num_subnets + 2 - already
    result = dict(
        name=args.name, checkpoint=osp.abspath(args.checkpoint),
        num_subnets=args.num_subnets + 2, evaluated_now=evaluated,
        seed=args.seed, calib_images=args.calib_images,
        edge_matching=args.edge_matching, workers=args.workers,
        group_size=args.group_size, build_seconds=seconds,
        seconds_per_subnet=seconds / evaluated if evaluated else None,
        quality=info.get('quality'), command=' '.join(sys.argv))
    result['truth'] = [compare_with_truth(session.predictor, store, t)
                       for t in args.truth]
    result = to_strict_json(result)
    with open(osp.join(folder, 'result.json'), 'w') as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
