"""How controllable are trained models? Run the same (preference, budget)
requests through every method, measure every answer and write the
controllability report.

    python tools/evaluate_control.py [CONFIG CHECKPOINT] \
        [--method NAME CONFIG CHECKPOINT [CHECKPOINT ...]] ... \
        --stl-reference work_dirs/stl/reference.json \
        [--budgets 0.4x 0.55x 0.7x 0.85x 1.0x] [--num-preferences 20] \
        [--ecmt-modes evolution random random_subnet uniform] \
        [--fixed CONFIG CHECKPOINT] [--pair A B] ... \
        [--predictor-subnets N] [--out-dir DIR] [--seed 0]

Methods (any number, each on the deployment contract, ``docs/deploy.md``):

* ``CONFIG CHECKPOINT`` (positional, optional): an ECMT supernet, run in
  every ECMT search mode of ``--ecmt-modes``: ``evolution`` (ECMT: preference
  rule + evolution with the accuracy predictor), ``random`` (random search
  with the same predictor, decoders and number of fitness evaluations),
  ``random_subnet`` (one random subnet within the budget, no predictor) and
  ``uniform`` (one width ratio for the whole network; preference-blind, so
  one request per budget); the first three widen a subnet that uses less
  than ``--min-utilization`` of its budget, several values run them once
  per value (named e.g. ``ECMT (min use 0%)``);
* ``--method NAME CONFIG CHECKPOINT [CHECKPOINT ...]`` (repeatable): any
  trained model, deployed by its config's deployer (an ECMT supernet in
  its default mode, a fixed model or a family of trained static models,
  a CDMA controller, ...), reported as NAME;
* ``--fixed CONFIG CHECKPOINT``: short for ``--method 'fixed MTL' CONFIG
  CHECKPOINT`` (a fixed multi-task model, a family of one).

Requests: ``--num-preferences`` preferences drawn from the simplex
(Dirichlet(1), fixed ``--seed``) plus the one-hot preference of every task
and the uniform one, at every budget, the same for every method. Budgets
are MACs (``120M``) or fractions (``0.7x``) of the **first** method's
largest network, counted at its input size (padded to the divisor). A
request below a method's feasible range is reported as *infeasible* for
that method (never as a violation); a budget that no method can answer is
an error naming the ranges.

Every answer is measured on its config's val set (scored by the first
method's ``val_evaluator``, so that all share one metric), with its task
losses (for CDMA's uniformity); measurements are cached per spec in
``DIR/measurements.jsonl`` (an interrupted run resumes where it stopped).

Written to ``DIR`` (default ``<work_dir>/control``) by
:func:`~mmecmt.evaluation.control.write_control_report`:
``control_results.json`` / ``.md`` (every request, its spec, MACs,
per-task metrics and Delta_m; HV per method and budget with its reference
point; task controllability, uniformity, budget controllability,
violations, the share of requests answered; the paired comparisons of
``--pair A B``, default the first method against each other one) and the
PNG figures (pairwise task scores with the Pareto front per budget,
preference vs score, budget vs MACs, HV vs MACs of every method).

Single-task references (``--stl-reference``): a JSON file ``{task: primary
metric}`` or ``task=value,...``; default: the first config's
``val_evaluator.stl_reference``. They must be measured with the metric
settings used here (e.g. ``--cfg-options
val_evaluator.edge_matching=distance_transform`` makes the edge score an
``odsF_dt``). ``--cfg-options`` apply to every config. ``--stl-set-macs``
(the MACs of the single-task models together) adds the single-task set to
the HV-vs-MACs figure: every normalised score 1, so HV 1 with the zero
reference point.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import numpy as np

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.logging import print_log  # noqa: E402

from mmecmt.evaluation.control import (hypervolume,  # noqa: E402
                                       write_control_report)
from mmecmt.evaluation.functional.delta_m import (  # noqa: E402
    extract_primary_scores, task_kind)
from mmecmt.search.budget import (DEFAULT_MIN_UTILIZATION,  # noqa: E402
                                  format_macs, macs_unit, parse_budget)
from mmecmt.search.preference import PREFERENCE_RULES  # noqa: E402
from mmecmt.search.session import SEARCH_MODES  # noqa: E402
from mmecmt.structures.request import (InfeasibleBudget,  # noqa: E402
                                       evaluation_preferences,
                                       uniform_preference)
from mmecmt.utils.input_shape import format_shape  # noqa: E402
from mmecmt.utils.tool_cli import (UserError,  # noqa: E402
                                   add_predictor_args, build_tool_deployer,
                                   cfg_options_dict, load_stl_reference,
                                   predictor_kwargs, run_main,
                                   utilization_arg)

#: report name of each ECMT search mode
METHOD_NAMES = dict(evolution='ECMT', random='random search',
                    random_subnet='random subnet', uniform='uniform width')
FIXED_NAME = 'fixed MTL'
STL_SET_NAME = 'single-task set'
MEASUREMENTS_FILE = 'measurements.jsonl'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Controllability evaluation of one or more methods')
    parser.add_argument('config', nargs='?',
                        help='config of an ECMT supernet (run in every mode '
                        'of --methods)')
    parser.add_argument('checkpoint', nargs='?',
                        help='its trained checkpoint')
    parser.add_argument('--method', nargs='+', action='append', default=[],
                        metavar='NAME CONFIG CHECKPOINT',
                        help='a method to evaluate: its report name, config '
                        'and checkpoint(s) (repeatable)')
    parser.add_argument('--stl-reference',
                        help='single-task references: a JSON file {task: '
                        'primary metric} or task=value,... (default: the '
                        "first config's val_evaluator.stl_reference)")
    parser.add_argument('--budgets', nargs='+',
                        default=['0.4x', '0.55x', '0.7x', '0.85x', '1.0x'],
                        help='budgets: MACs ("1.2G") or fractions of the '
                        'first method\'s largest network ("0.7x"). With B '
                        'budgets the budget-vs-MACs Spearman of distinct '
                        'MACs is at most about sqrt(1 - 1 / B^2) (0.943 for '
                        '3, 0.980 for 5)')
    parser.add_argument('--num-preferences', type=int, default=20,
                        help='preferences sampled from the simplex (plus the '
                        'one-hot and uniform ones)')
    parser.add_argument('--ecmt-modes', '--methods', dest='methods',
                        nargs='+', default=list(SEARCH_MODES),
                        choices=SEARCH_MODES,
                        help='ECMT search modes run for the positional '
                        'supernet (default: all; --methods is the old '
                        'name)')
    parser.add_argument('--fixed', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                        help=f'short for --method "{FIXED_NAME}" CONFIG '
                        'CHECKPOINT')
    parser.add_argument('--pair', nargs=2, action='append', default=None,
                        metavar=('A', 'B'),
                        help='compare methods A and B request by request '
                        '(repeatable; default: the first method against '
                        'each other one)')
    parser.add_argument('--stl-set-macs', metavar='MACS',
                        help='MACs of the single-task models together (e.g. '
                        '"413.2M"): drawn as the single-task set on the '
                        'HV-vs-MACs figure (every normalised score 1)')
    parser.add_argument('--rule', default='rank_by_max',
                        choices=PREFERENCE_RULES)
    parser.add_argument('--min-utilization', type=utilization_arg, nargs='+',
                        default=[DEFAULT_MIN_UTILIZATION],
                        help='ECMT modes but uniform: widen each found '
                        'subnet until it uses this fraction of its budget '
                        '(0: the search alone, 1: all that fits); several '
                        'values run the modes once per value; values other '
                        'than the default %(default)s are named in the '
                        'report')
    add_predictor_args(parser)
    parser.add_argument('--calib-images', type=int, default=None)
    parser.add_argument('--population', type=int, default=100)
    parser.add_argument('--generations', type=int, default=50)
    parser.add_argument('--shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'))
    parser.add_argument('--out-dir', help='output directory')
    parser.add_argument('--work-dir', help='override the work_dir of every '
                        'config (holds the caches)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='override settings in every config '
                        '(key=value)')
    args = parser.parse_args(argv)
    args.cfg_dict = cfg_options_dict(parser, args.cfg_options)
    if args.num_preferences < 0:
        parser.error('--num-preferences must be >= 0')
    if (args.config is None) != (args.checkpoint is None):
        parser.error('give both CONFIG and CHECKPOINT of the supernet, or '
                     'neither')
    for entry in args.method:
        if len(entry) < 3:
            parser.error(f'--method {" ".join(entry)}: expected NAME CONFIG '
                         'CHECKPOINT [CHECKPOINT ...]')
    if args.fixed:
        args.method.append([FIXED_NAME, *args.fixed])
    if args.config is None and not args.method:
        parser.error('nothing to evaluate: give CONFIG CHECKPOINT and/or '
                     '--method NAME CONFIG CHECKPOINT')
    args.min_utilization = list(dict.fromkeys(args.min_utilization))
    return args


def method_name(mode: str, min_utilization: float) -> str:
    """Report name of an ECMT search mode: ``'ECMT'``, or ``'ECMT (min use
    0%)'`` when ``min_utilization`` is not the default (the uniform mode is
    never widened)."""
    name = METHOD_NAMES[mode]
    if mode == 'uniform' or min_utilization == DEFAULT_MIN_UTILIZATION:
        return name
    return f'{name} (min use {min_utilization:.0%})'


class MeasurementCache:
    """Val metrics and task losses per spec, appended to a JSON-lines file
    as they come (one line per spec: ``{"key": ..., "metrics": {...},
    "losses": {...}}``). The key is the spec's canonical JSON (method,
    checkpoint sha256, architecture, input size) plus the measurement
    settings (``context``)."""

    def __init__(self, path: str, context: dict):
        self.path = path
        self.context = json.dumps(context, sort_keys=True)
        self.entries = {}
        if osp.isfile(path):
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if line:
                        entry = json.loads(line)
                        self.entries[entry['key']] = (entry['metrics'],
                                                      entry.get('losses'))

    def key(self, spec) -> str:
        return self.context + spec.key()

    def get(self, spec):
        return self.entries.get(self.key(spec))

    def put(self, spec, metrics, losses) -> None:
        key = self.key(spec)
        self.entries[key] = (metrics, losses)
        with open(self.path, 'a') as f:
            f.write(json.dumps(dict(key=key, metrics=metrics,
                                    losses=losses)) + '\n')


def build_methods(args):
    """``[(name, deployer, request preferences kind)]`` in report order:
    the positional supernet's modes, then every ``--method``."""
    common = dict(cfg_options=args.cfg_dict, work_dir=args.work_dir,
                  shape=args.shape)
    search = dict(rule=args.rule, population=args.population,
                  generations=args.generations, seed=args.seed,
                  calib_images=args.calib_images,
                  **_predictor_options(args))
    methods = []
    if args.config is not None:
        cfg = None
        for mode in args.methods:
            uses = args.min_utilization if mode != 'uniform' else \
                args.min_utilization[:1]
            for use in uses:
                cfg, deployer = build_tool_deployer(
                    args.config, [args.checkpoint], **common,
                    type='ECMTDeployer', mode=mode, min_utilization=use,
                    **search)
                methods.append((method_name(mode, use), deployer,
                                mode == 'uniform'))
    for name, config, *checkpoints in args.method:
        cfg, deployer = build_tool_deployer(config, checkpoints, **common)
        methods.append((name, deployer, False))
    names = [m[0] for m in methods]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UserError(f'method names must be unique; repeated: {repeated}')
    return methods


def _predictor_options(args) -> dict:
    kwargs = predictor_kwargs(args)
    kwargs.pop('seed', None)
    renamed = dict(num_subnets='predictor_subnets',
                   num_workers='predictor_workers')
    return {renamed.get(k, k): v for k, v in kwargs.items()}


def run(args):
    methods = build_methods(args)
    reference = methods[0][1]
    cfg = reference.cfg
    tasks = reference.tasks
    for name, deployer, _ in methods[1:]:
        if sorted(deployer.tasks) != sorted(tasks):
            raise UserError(f'method {name!r} has tasks {deployer.tasks}; '
                            f'{methods[0][0]!r} has {tasks}')
    stl_reference = load_stl_reference(args.stl_reference, cfg, tasks)
    if args.pair:
        known = [m[0] for m in methods]
        for pair in args.pair:
            unknown = [p for p in pair if p not in known]
            if unknown:
                raise UserError(f'--pair: unknown methods {unknown}; the '
                                f'methods are {known}')
    try:
        budgets = [(text, reference.budget(text)) for text in args.budgets]
    except ValueError as err:
        raise UserError(f'--budgets: {err}') from None
    stl_set_macs = None
    if args.stl_set_macs:
        try:
            stl_set_macs = parse_budget(args.stl_set_macs)
        except ValueError as err:
            raise UserError(f'--stl-set-macs: {err}') from None
    ranges = {name: d.macs_range() for name, d, _ in methods}
    for text, budget in budgets:
        if all(budget < lo for lo, _ in ranges.values()):
            raise UserError(
                f'--budgets: {text} ({format_macs(budget)}) is below the '
                'feasible range of every method: ' + '; '.join(
                    f'{n}: {format_macs(lo)} - {format_macs(hi)}'
                    for n, (lo, hi) in ranges.items()))
    for name, deployer, _ in methods:
        print_log(f'{name}: {deployer.describe()}', logger='current')
        deployer.warm_up()

    out_dir = args.out_dir or osp.join(cfg.work_dir, 'control')
    os.makedirs(out_dir, exist_ok=True)
    evaluator_cfg = cfg.val_evaluator
    cache = MeasurementCache(
        osp.join(out_dir, MEASUREMENTS_FILE),
        dict(evaluator=str(evaluator_cfg),
             calib_images=getattr(getattr(reference, 'session', None),
                                  'calib_images', None),
             val=str(cfg.val_dataloader.dataset)))
    kinds = {name: task_kind(name, spec)
             for name, spec in reference.task_specs.items()}
    edges = (evaluator_cfg.get('edge_matching') if hasattr(
        evaluator_cfg, 'get') else None) or 'one_to_one'
    prefs = evaluation_preferences(tasks, args.num_preferences, args.seed)
    requests = [(name, deployer, text, budget, pref)
                for name, deployer, blind in methods
                for text, budget in budgets
                for pref in (prefs if not blind else
                             [uniform_preference(tasks)])]
    print_log(f'{len(requests)} requests: {len(prefs)} preferences x '
              f'{len(budgets)} budgets ({", ".join(args.budgets)}) for '
              f'{", ".join(m[0] for m in methods)}', logger='current')
    records = []
    t0 = time.perf_counter()
    for i, (name, deployer, text, budget, pref) in enumerate(requests):
        record = dict(method=name, preference=pref, budget=budget,
                      budget_text=text)
        try:
            plan = deployer.plan(pref, budget)
        except InfeasibleBudget as err:
            record.update(feasible=False, reason=str(err))
            records.append(record)
            print(f'[control] {i + 1}/{len(requests)} {name} @ {text}: '
                  f'infeasible ({err})', flush=True)
            continue
        cached = cache.get(plan.spec)
        if cached is None:
            cached = deployer.measure(plan.spec, evaluator_cfg,
                                      with_losses=True)
            cache.put(plan.spec, *cached)
        metrics, losses = cached
        scores = extract_primary_scores(metrics, kinds, edge_matching=edges)
        record.update(macs=plan.macs, scores=scores, metrics=metrics,
                      losses=losses, spec=plan.spec.to_dict(),
                      above_range=plan.above_range,
                      plan_seconds=plan.seconds, info=plan.info)
        records.append(record)
        elapsed = time.perf_counter() - t0
        eta = elapsed / (i + 1) * (len(requests) - i - 1)
        print(f'[control] {i + 1}/{len(requests)} ({elapsed:.0f} s, eta '
              f'{eta:.0f} s) {name} @ {text}: {format_macs(plan.macs)}, ' +
              ', '.join(f'{t}={v:.4g}' for t, v in scores.items()),
              flush=True)

    def label(macs_budget):
        for text, budget in budgets:
            if budget == macs_budget:
                return text
        return format_macs(macs_budget)

    points = {}
    if stl_set_macs is not None:  # every normalised score of the set is 1
        points[STL_SET_NAME] = (stl_set_macs,
                                hypervolume(np.ones((1, len(tasks)))))
    summary = write_control_report(
        records, stl_reference, kinds, out_dir, budgets_label_fn=label,
        edge_matching=edges,
        pairs=[tuple(p) for p in args.pair] if args.pair else None,
        macs_unit=macs_unit(reference.macs_range()[0]),
        reference_points=points)
    with open(osp.join(out_dir, 'control_setup.json'), 'w') as f:
        json.dump(dict(
            methods={name: dict(config=d.cfg.filename if hasattr(
                d.cfg, 'filename') else None,
                checkpoints=[osp.abspath(c) for c in d.checkpoints],
                deployer=type(d).__name__, macs_range=list(ranges[name]),
                predictor=getattr(d, 'predictor_info', None))
                for name, d, _ in methods},
            budgets={t: b for t, b in budgets},
            input_shape=list(reference.input_shape),
            ecmt_modes=args.methods if args.config else [],
            rule=args.rule, min_utilization=args.min_utilization,
            num_preferences=args.num_preferences, seed=args.seed,
            stl_reference=stl_reference), f, indent=2, default=str)
    print_log(f'Controllability report written to {out_dir} '
              f'({time.perf_counter() - t0:.0f} s; MACs at '
              f'{format_shape(reference.input_shape)})', logger='current')
    for method, groups in summary.items():
        for budget_label, s in groups.items():
            print(f'{method:>14} @ {budget_label:>14}: HV {s["hv"]:.4f}, '
                  f'mean task Spearman {s["mean_task_spearman"]:.3f}, '
                  f'budget Spearman {s["budget_spearman"]:.3f}, '
                  f'violations {s["violations"]}')
    return summary


def main(argv=None):
    run_main(run, parse_args(argv), 'evaluate_control.py')


if __name__ == '__main__':
    main()
