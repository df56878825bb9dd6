"""Search the subnet of a trained ECMT supernet for a task preference and a
MACs budget.

    python tools/search.py CONFIG CHECKPOINT \
        --preference semseg=0.4,depth=0.3,normals=0.1,edge=0.1,sal=0.1 \
        --budget 0.5x [--out-dir DIR] [--mode evolution|random|uniform] \
        [--rule rank_by_max|linear] [--predictor-subnets 200] [--measure] \
        [--export] [--seed 0]

* ``--preference``: a distribution over exactly the model's tasks.
* ``--budget``: MACs (``1.2G``, ``350M``) or a fraction of the largest
  subnet's MACs (``0.5x``), at the training crop size (``--shape``).
* Modes: ``evolution`` (default): decoder widths from the preference
  (:class:`PreferenceRule`), encoder widths by :class:`EvolutionSearcher`
  with the accuracy predictor's preference-weighted fitness; ``random``: the
  best of as many random subnets as the evolution evaluates (decoders fixed
  the same way); ``uniform``: the widest uniform-width subnet in the budget
  (no preference rule, no predictor).

Accuracy predictor: fitted on the max, the min and ``--predictor-subnets``
random subnets, each evaluated after BN recalibration on a held-out split of
the **training** data: the last 10 % of the training dataset's indices
(``--holdout-fraction``), with the test pipeline; BN calibration uses the
first 90 %. Its quality (Spearman / Kendall per task) is measured on a
held-out 20 % of the evaluated subnets, then it is refitted on all of them
and cached at ``<work_dir>/predictor_<sha256[:12] of the checkpoint>.npz``
(keyed by the checkpoint's sha256); a later call loads it whatever its
``--predictor-subnets`` (delete the file to rebuild with other settings).

Output (printed and written to ``DIR/search_result.json``, default
``DIR = <work_dir>/search``): the subnet (also ``DIR/subnet.json``, loadable
by ``tools/export_subnet.py --subnet``), its analytic MACs, the predicted
scores (higher is better: rmse / mean angle negated), the search time; with
``--measure`` the subnet's val metrics after BN recalibration; with
``--export`` the static model exported to ``DIR/export``.
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner, load_checkpoint  # noqa: E402

from mmecmt.engine.bn_calibration import (BNCalibrator,  # noqa: E402
                                          calibration_dataloader_cfg)
from mmecmt.registry import DATASETS, MODELS  # noqa: E402
from mmecmt.search.budget import (check_feasible, format_macs,  # noqa: E402
                                  parse_budget)
from mmecmt.search.evolution import (EvolutionSearcher,  # noqa: E402
                                     largest_uniform_under_budget)
from mmecmt.search.macs import MacsModel  # noqa: E402
from mmecmt.search.predictor import AccuracyPredictor  # noqa: E402
from mmecmt.search.preference import (PREFERENCE_RULES,  # noqa: E402
                                      PreferenceRule, parse_preference)
from mmecmt.search.subnet_evaluator import (  # noqa: E402
    HOLDOUT_FRACTION, SubnetEvaluator, build_predictor_dataset,
    holdout_split, subset_dataloader_cfg)
from mmecmt.utils import register_all_modules  # noqa: E402
from mmecmt.utils.runner_setup import load_tool_config  # noqa: E402

#: fraction of the evaluated subnets kept out of the predictor's fit to
#: measure its quality.
QUALITY_FRACTION = 0.2


class UserError(Exception):
    """Bad command-line input: printed to stderr, exit code 2."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Search an ECMT subnet for a preference and a budget')
    parser.add_argument('config', help='config of the supernet')
    parser.add_argument('checkpoint', help='trained supernet checkpoint')
    parser.add_argument('--preference', required=True,
                        help='task=weight,... summing to 1 over all tasks')
    parser.add_argument('--budget', required=True,
                        help='MACs ("1.2G", "350M") or a fraction of the '
                        'largest subnet ("0.5x")')
    parser.add_argument('--out-dir', help='output directory')
    parser.add_argument('--work-dir', help='override the config work_dir '
                        '(holds the predictor cache)')
    parser.add_argument('--mode', default='evolution',
                        choices=('evolution', 'random', 'uniform'))
    parser.add_argument('--rule', default='rank_by_max',
                        choices=PREFERENCE_RULES,
                        help='preference -> decoder widths rule')
    parser.add_argument('--predictor-subnets', type=int, default=200,
                        help='random subnets evaluated to fit the predictor '
                        '(+ max and min)')
    parser.add_argument('--holdout-fraction', type=float,
                        default=HOLDOUT_FRACTION,
                        help='last fraction of the training set the '
                        'predictor subnets are evaluated on')
    parser.add_argument('--calib-images', type=int, default=None,
                        help='training images for BN recalibration (default: '
                        "the config's val_cfg.calibrate_bn.num_images, else "
                        '1024)')
    parser.add_argument('--population', type=int, default=100)
    parser.add_argument('--generations', type=int, default=50)
    parser.add_argument('--shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help='input size of the MACs count (default: the '
                        'training crop)')
    parser.add_argument('--measure', action='store_true',
                        help='measure the subnet on the val set')
    parser.add_argument('--export', action='store_true',
                        help='export the subnet (tools/export_subnet.py)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='override settings in the config (key=value)')
    args = parser.parse_args(argv)
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='cfg_dict')(parser, namespace,
                                                   args.cfg_options)
    args.cfg_dict = namespace.cfg_dict if args.cfg_options else None
    return args


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def predictor_cache_path(work_dir: str, checkpoint_sha: str) -> str:
    return osp.join(work_dir, f'predictor_{checkpoint_sha[:12]}.npz')


def build_predictor(args, cfg, model, search_space, tasks, cache, key):
    """Load the cached predictor, or evaluate subnets and fit one; returns
    ``(predictor, info dict)``."""
    if osp.isfile(cache):
        try:
            predictor = AccuracyPredictor.load(cache, search_space, key=key)
        except ValueError as err:
            raise UserError(f'predictor cache: {err}') from None
        print_log(f'Loaded the accuracy predictor from {cache} (fitted on '
                  f'{predictor.num_train} subnets)', logger='current')
        return predictor, dict(cache=cache, loaded=True,
                               num_train=predictor.num_train)
    t0 = time.perf_counter()
    train_loader_cfg = cfg.train_dataloader
    dataset = DATASETS.build(dict(train_loader_cfg.dataset, pipeline=[]))
    calib_idx, holdout_idx = holdout_split(len(dataset),
                                           args.holdout_fraction)
    seed = cfg.get('randomness', {}).get('seed', 0)
    calib_loader = Runner.build_dataloader(
        subset_dataloader_cfg(calibration_dataloader_cfg(train_loader_cfg),
                              calib_idx, shuffle=True), seed=seed)
    eval_cfg = subset_dataloader_cfg(train_loader_cfg, holdout_idx,
                                     pipeline=cfg.val_dataloader.dataset.
                                     pipeline)
    eval_cfg['batch_size'] = cfg.val_dataloader.get('batch_size', 1)
    eval_loader = Runner.build_dataloader(eval_cfg, seed=seed)
    print_log(
        f'Building the accuracy predictor: {args.predictor_subnets} random '
        f'subnets + max + min, each BN-recalibrated on training images '
        f'[0, {len(calib_idx)}) and evaluated on the held-out training '
        f'images [{holdout_idx[0]}, {holdout_idx[-1] + 1})',
        logger='current')
    evaluator = SubnetEvaluator(
        model, eval_loader, cfg.val_evaluator,
        BNCalibrator(model, calib_loader, num_images=calib_images(args, cfg),
                     show_progress=False))
    specs, scores = build_predictor_dataset(
        evaluator, search_space, args.predictor_subnets, seed=args.seed)
    # quality on a held-out 20 % of the evaluated subnets
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(specs))
    num_test = max(1, int(round(QUALITY_FRACTION * len(specs))))
    test, train = order[:num_test], order[num_test:]
    quality = None
    if len(train) >= 2:
        probe = AccuracyPredictor(search_space, tasks).fit(
            [specs[i] for i in train],
            {t: v[train] for t, v in scores.items()})
        quality = probe.evaluate([specs[i] for i in test],
                                 {t: v[test] for t, v in scores.items()})
        print_log('Predictor quality on %d held-out subnets: %s' % (
            len(test), ', '.join(
                f'{t}: spearman={q["spearman"]:.3f} '
                f'kendall={q["kendall"]:.3f}' for t, q in quality.items())),
            logger='current')
    predictor = AccuracyPredictor(search_space, tasks).fit(specs, scores)
    predictor.save(cache, key=key)
    seconds = time.perf_counter() - t0
    print_log(f'Saved the accuracy predictor to {cache} ({seconds:.1f} s)',
              logger='current')
    return predictor, dict(cache=cache, loaded=False, num_train=len(specs),
                           quality=quality, build_seconds=seconds)


def calib_images(args, cfg) -> int:
    return args.calib_images or cfg.get('val_cfg', {}).get(
        'calibrate_bn', {}).get('num_images', 1024)


def measure(args, cfg, model, spec):
    """Val metrics of ``spec`` after BN recalibration on the training set."""
    seed = cfg.get('randomness', {}).get('seed', 0)
    calib_loader = Runner.build_dataloader(
        calibration_dataloader_cfg(cfg.train_dataloader), seed=seed)
    val_cfg = dict(cfg.val_dataloader)
    val_cfg['persistent_workers'] = False
    val_loader = Runner.build_dataloader(val_cfg, seed=seed)
    evaluator = SubnetEvaluator(
        model, val_loader, cfg.val_evaluator,
        BNCalibrator(model, calib_loader, num_images=calib_images(args, cfg),
                     show_progress=False))
    return evaluator.evaluate(spec)


def search(args, model, search_space, tasks, pref, budget, macs_model,
           predictor):
    """Returns ``(spec, fitness or None, num fitness evaluations)``."""
    if args.mode == 'uniform':
        return largest_uniform_under_budget(search_space, macs_model.macs,
                                            budget), None, 0
    decoders = PreferenceRule(search_space, args.rule)(pref)
    searcher = EvolutionSearcher(
        search_space, macs_model.macs, predictor.fitness_fn(pref),
        population_size=args.population, generations=args.generations,
        seed=args.seed, fixed=dict(decoders=decoders))
    num_evals = args.population * (1 + args.generations) - \
        searcher.num_parents * args.generations
    if args.mode == 'random':
        spec, fitness, _ = searcher.random_search(num_evals, budget)
    else:
        spec, fitness, _ = searcher.search(budget)
    return spec, fitness, num_evals


def run(args):
    register_all_modules()
    cfg = load_tool_config(args.config, args.cfg_dict, work_dir=args.work_dir)
    model = MODELS.build(cfg.model)
    if not callable(getattr(model, 'set_subnet', None)):
        raise UserError(f'{args.config}: {type(model).__name__} is not a '
                        'slimmable supernet (no set_subnet)')
    search_space = model.search_space
    tasks = list(search_space.decoders)
    try:
        pref = parse_preference(args.preference, tasks)
    except ValueError as err:
        raise UserError(f'--preference: {err}') from None
    if not osp.isfile(args.checkpoint):
        raise UserError(f'checkpoint {args.checkpoint} does not exist')
    load_checkpoint(model, args.checkpoint, map_location='cpu',
                    logger='silent')
    model.eval()

    if args.shape:
        shape = tuple(args.shape)
    else:
        crop = [t for t in cfg.train_dataloader.dataset.pipeline
                if 'crop_size' in t]
        if not crop:
            raise UserError('no crop_size in the training pipeline: give '
                            '--shape H W for the MACs count')
        shape = tuple(crop[0]['crop_size'])
    t0 = time.perf_counter()
    macs_model = MacsModel(model, input_shape=shape)
    min_macs, max_macs = macs_model.macs_range()
    print_log(f'MACs model at {shape[0]}x{shape[1]}: subnets '
              f'{format_macs(min_macs)} - {format_macs(max_macs)} '
              f'({time.perf_counter() - t0:.1f} s)', logger='current')
    try:
        budget = check_feasible(parse_budget(args.budget, max_macs),
                                min_macs, max_macs)
    except ValueError as err:
        raise UserError(f'--budget: {err}') from None

    predictor, predictor_info = None, None
    if args.mode != 'uniform':
        sha = sha256_of(args.checkpoint)
        cache = predictor_cache_path(cfg.work_dir, sha)
        predictor, predictor_info = build_predictor(
            args, cfg, model, search_space, tasks, cache, sha)

    t0 = time.perf_counter()
    try:
        spec, fitness, num_evals = search(args, model, search_space, tasks,
                                          pref, budget, macs_model,
                                          predictor)
    except ValueError as err:  # budget below the fixed decoders' minimum
        raise UserError(f'--budget: {err}') from None
    search_seconds = time.perf_counter() - t0
    macs = int(macs_model.macs(spec))
    result = dict(
        mode=args.mode, preference=pref,
        rule=None if args.mode == 'uniform' else args.rule,
        budget=budget, budget_text=args.budget, input_shape=list(shape),
        subnet=spec.to_dict(), macs=macs, min_macs=int(min_macs),
        max_macs=int(max_macs), fitness=fitness,
        fitness_evaluations=num_evals, search_seconds=search_seconds,
        checkpoint=osp.abspath(args.checkpoint), predictor=predictor_info)
    if predictor is not None:
        result['predicted_scores'] = {
            t: float(v[0]) for t, v in predictor.predict([spec]).items()}
    print_log(f'Search ({args.mode}) took {search_seconds:.2f} s: subnet '
              f'{spec.to_dict()}, {format_macs(macs)} <= budget '
              f'{format_macs(budget)}', logger='current')
    if args.measure:
        result['measured'] = measure(args, cfg, model, spec)
        print_log(f'Measured val metrics: {result["measured"]}',
                  logger='current')

    out_dir = args.out_dir or osp.join(cfg.work_dir, 'search')
    os.makedirs(out_dir, exist_ok=True)
    spec.to_json(osp.join(out_dir, 'subnet.json'))
    if args.export:
        export_dir = osp.join(out_dir, 'export')
        cmd = [sys.executable,
               osp.join(osp.dirname(osp.abspath(__file__)),
                        'export_subnet.py'), args.config, args.checkpoint,
               '--subnet', osp.join(out_dir, 'subnet.json'), '--out-dir',
               export_dir, '--shape', str(shape[0]), str(shape[1])]
        if args.calib_images:
            cmd += ['--calib-images', str(args.calib_images)]
        if args.cfg_options:
            cmd += ['--cfg-options', *args.cfg_options]
        subprocess.run(cmd, check=True)
        result['export_dir'] = export_dir
    result = _json_safe(result)
    with open(osp.join(out_dir, 'search_result.json'), 'w') as f:
        json.dump(result, f, indent=2, allow_nan=False)
    print(json.dumps(result, indent=2, allow_nan=False))
    return result


def _json_safe(value):
    """``value`` with NaN / inf floats (e.g. an undefined rank correlation)
    replaced by None, so the JSON is strict."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args)
    except UserError as err:
        print(f'search.py: error: {err}', file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main()
