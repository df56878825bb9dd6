"""How controllable is a trained ECMT supernet? Run many (preference,
budget) requests through the search, measure every chosen subnet and write
the controllability report.

    python tools/evaluate_control.py CONFIG CHECKPOINT \
        --stl-reference work_dirs/stl/reference.json \
        [--budgets 0.4x 0.55x 0.7x 0.85x 1.0x] [--num-preferences 20] \
        [--methods evolution random random_subnet uniform] \
        [--fixed CONFIG CHECKPOINT] [--predictor-subnets 200] \
        [--refine-rounds 0] [--refine-subnets 25] \
        [--out-dir DIR] [--seed 0]

Requests: ``--num-preferences`` preferences drawn from the simplex
(Dirichlet(1), fixed ``--seed``) plus the one-hot preference of every task
and the uniform one, at every budget. Each method answers them
(:class:`~mmecmt.search.session.SearchSession`):

* ``evolution``: ECMT (preference rule for the decoders, evolution search
  over the encoder with the accuracy predictor);
* ``random``: random search with the same predictor, decoders and number of
  fitness evaluations;
* ``random_subnet``: one random subnet within the budget (seeded per
  request), decoders fixed the same way, no predictor: what the predictor
  and the search add over drawing a subnet;
* these three widen a subnet that uses less than ``--min-utilization``
  (default 0.9) of its budget; several values run each of them once per
  value, named e.g. ``ECMT (min use 0%)`` in the report;
* ``uniform``: one width ratio for the whole network, the widest within the
  budget; preference-blind, so it answers one request per budget.

``--fixed CONFIG CHECKPOINT`` adds a fixed multi-task model as one point
(its own MACs as its budget). Every chosen subnet is measured on the val set
after BN recalibration; measurements are cached per subnet in
``DIR/measurements.jsonl`` (an interrupted run resumes where it stopped).

Written to ``DIR`` (default ``<work_dir>/control``) by
:func:`~mmecmt.evaluation.control.write_control_report`:
``control_results.json`` / ``.md`` (every request, its subnet, MACs,
per-task metrics and Delta_m vs the single-task references; HV per method
and budget with its reference point; task and budget controllability;
budget violations, budget used; the first method against each other one
on the same requests) and the PNG figures (pairwise task scores with the
Pareto front per budget, preference vs score, budget vs MACs).

Single-task references (``--stl-reference``): a JSON file ``{task: primary
metric}`` or ``task=value,...``; default: the config's
``val_evaluator.stl_reference``. They must be measured with the metric
settings used here: e.g. with ``--cfg-options
val_evaluator.edge_matching=distance_transform`` (about 10x faster edge
scoring) the edge reference is an ``odsF_dt``. The fixed model is scored by
this config's ``val_evaluator``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.evaluator import Evaluator  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmecmt.evaluation.control import write_control_report  # noqa: E402
from mmecmt.evaluation.functional.delta_m import (  # noqa: E402
    extract_primary_scores, task_kind)
from mmecmt.registry import MODELS  # noqa: E402
from mmecmt.search.budget import (DEFAULT_MIN_UTILIZATION,  # noqa: E402
                                  format_macs)
from mmecmt.search.preference import (PREFERENCE_RULES,  # noqa: E402
                                      one_hot_preferences, sample_simplex,
                                      uniform_preference)
from mmecmt.search.session import (PREDICTOR_MODES, SEARCH_MODES,  # noqa: E402
                                   SearchSession, sha256_of)
from mmecmt.utils.flops import count_macs  # noqa: E402
from mmecmt.utils.runner_setup import load_tool_config  # noqa: E402
from mmecmt.utils.tool_cli import (UserError,  # noqa: E402
                                   add_predictor_args, build_supernet,
                                   cfg_options_dict, load_weights,
                                   predictor_kwargs, run_main,
                                   utilization_arg)

#: report name of each search mode
METHOD_NAMES = dict(evolution='ECMT', random='random search',
                    random_subnet='random subnet', uniform='uniform width')
FIXED_NAME = 'fixed MTL'
MEASUREMENTS_FILE = 'measurements.jsonl'



def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Controllability evaluation of an ECMT supernet')
    parser.add_argument('config', help='config of the supernet')
    parser.add_argument('checkpoint', help='trained supernet checkpoint')
    parser.add_argument('--stl-reference',
                        help='single-task references: a JSON file {task: '
                        'primary metric} or task=value,... (default: the '
                        "config's val_evaluator.stl_reference)")
    parser.add_argument('--budgets', nargs='+',
                        default=['0.4x', '0.55x', '0.7x', '0.85x', '1.0x'],
                        help='budgets: MACs ("1.2G") or fractions of the '
                        'largest subnet ("0.7x"). With B budgets the '
                        'budget-vs-MACs Spearman of distinct MACs is at most '
                        'about sqrt(1 - 1 / B^2) (0.943 for 3, 0.980 for '
                        '5)')
    parser.add_argument('--num-preferences', type=int, default=20,
                        help='preferences sampled from the simplex (plus the '
                        'one-hot and uniform ones)')
    parser.add_argument('--methods', nargs='+', default=list(SEARCH_MODES),
                        choices=SEARCH_MODES)
    parser.add_argument('--fixed', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                        help='a fixed multi-task model to add as one point')
    parser.add_argument('--rule', default='rank_by_max',
                        choices=PREFERENCE_RULES)
    parser.add_argument('--min-utilization', type=utilization_arg, nargs='+',
                        default=[DEFAULT_MIN_UTILIZATION],
                        help='all methods but uniform: widen each found '
                        'subnet until it uses this fraction of its budget '
                        '(0: the '
                        'search alone, 1: all that fits); several values run '
                        'the methods once per value; values other than the '
                        'default %(default)s are named in the report')
    add_predictor_args(parser)
    parser.add_argument('--calib-images', type=int, default=None)
    parser.add_argument('--population', type=int, default=100)
    parser.add_argument('--generations', type=int, default=50)
    parser.add_argument('--shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'))
    parser.add_argument('--out-dir', help='output directory')
    parser.add_argument('--work-dir', help='override the config work_dir '
                        '(holds the predictor cache)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='override settings in the config (key=value)')
    args = parser.parse_args(argv)
    args.cfg_dict = cfg_options_dict(parser, args.cfg_options)
    if args.num_preferences < 0:
        raise SystemExit('--num-preferences must be >= 0')
    args.min_utilization = list(dict.fromkeys(args.min_utilization))
    return args


def method_name(mode: str, min_utilization: float) -> str:
    """Report name of a search mode: ``'ECMT'``, or ``'ECMT (min use 0%)'``
    when ``min_utilization`` is not the default (the uniform mode is never
    widened)."""
    name = METHOD_NAMES[mode]
    if mode == 'uniform' or min_utilization == DEFAULT_MIN_UTILIZATION:
        return name
    return f'{name} (min use {min_utilization:.0%})'


def load_stl_reference(text, cfg, tasks):
    """``{task: primary metric}`` of the single-task models, for exactly
    ``tasks``."""
    if text is None:
        ref = dict(cfg.get('val_evaluator', {}).get('stl_reference') or {})
        if not ref:
            raise UserError('no single-task references: give '
                            '--stl-reference FILE.json or task=value,... '
                            '(or set val_evaluator.stl_reference)')
    elif osp.isfile(text):
        try:
            with open(text) as f:
                ref = json.load(f)
        except json.JSONDecodeError as err:
            raise UserError(f'--stl-reference {text}: not JSON ({err})')
        if not isinstance(ref, dict):
            raise UserError(f'--stl-reference {text}: expected a JSON object'
                            ' {task: value}')
    else:
        ref = {}
        for item in text.split(','):
            name, sep, value = item.partition('=')
            try:
                ref[name.strip()] = float(value)
            except ValueError:
                sep = ''
            if not sep:
                raise UserError(
                    f'--stl-reference: {item!r} is not task=value (and '
                    f'{text!r} is not a file)')
    missing = sorted(set(tasks) - set(ref))
    unknown = sorted(set(ref) - set(tasks))
    if missing or unknown:
        raise UserError(f'--stl-reference: tasks {missing} are missing and '
                        f'{unknown} unknown; the model\'s tasks are {tasks}')
    for name, value in ref.items():
        if not isinstance(value, (int, float)) or value <= 0:
            raise UserError(f'--stl-reference: {name}={value!r} must be a '
                            'positive number')
    return {t: float(ref[t]) for t in tasks}


def request_preferences(tasks, num, seed):
    """``num`` simplex samples, then one-hot per task, then uniform."""
    sampled = [dict(zip(tasks, (float(v) for v in row)))
               for row in sample_simplex(num, len(tasks), seed)]
    return sampled + one_hot_preferences(tasks) + [uniform_preference(tasks)]


class MeasurementCache:
    """Val metrics per subnet, appended to a JSON-lines file as they come
    (one line per subnet: ``{"key": ..., "metrics": {...}}``)."""

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
                        self.entries[entry['key']] = entry['metrics']

    def key(self, spec) -> str:
        return self.context + json.dumps(spec.to_dict(), sort_keys=True)

    def get(self, spec):
        return self.entries.get(self.key(spec))

    def put(self, spec, metrics) -> None:
        key = self.key(spec)
        self.entries[key] = metrics
        with open(self.path, 'a') as f:
            f.write(json.dumps(dict(key=key, metrics=metrics)) + '\n')


def measure_fixed_model(config, checkpoint, evaluator_cfg, input_shape):
    """(metrics, MACs, tasks) of a fixed multi-task model on its val set,
    scored by ``evaluator_cfg`` (the supernet's, so both use one metric)."""
    cfg = load_tool_config(config, None)
    model = MODELS.build(cfg.model)
    load_weights(model, checkpoint)
    val_cfg = dict(cfg.val_dataloader, persistent_workers=False)
    loader = Runner.build_dataloader(val_cfg,
                                     seed=cfg.get('randomness',
                                                  {}).get('seed', 0))
    evaluator = Evaluator(evaluator_cfg)
    evaluator.dataset_meta = getattr(loader.dataset, 'metainfo', None)
    num = 0
    for data in loader:
        outputs = model.val_step(data)
        evaluator.process(data_samples=outputs, data_batch=data)
        num += len(outputs)
    metrics = dict(evaluator.evaluate(num))
    return metrics, count_macs(model, input_shape), list(model.tasks)


def run(args):
    cfg, model = build_supernet(args.config, args.cfg_dict, args.work_dir)
    tasks = list(model.search_space.decoders)
    stl_reference = load_stl_reference(args.stl_reference, cfg, tasks)
    load_weights(model, args.checkpoint)
    try:
        session = SearchSession(cfg, model, input_shape=args.shape,
                                calib_images=args.calib_images)
        budgets = [(text, session.budget(text)) for text in args.budgets]
    except ValueError as err:
        raise UserError(str(err)) from None
    sha = sha256_of(args.checkpoint)
    predictor_info = None
    if set(args.methods) & set(PREDICTOR_MODES):
        try:
            predictor_info = session.predictor_for_checkpoint(
                cfg.work_dir, args.checkpoint, **predictor_kwargs(args))
        except ValueError as err:
            raise UserError(f'predictor: {err}') from None

    out_dir = args.out_dir or osp.join(cfg.work_dir, 'control')
    os.makedirs(out_dir, exist_ok=True)
    cache = MeasurementCache(
        osp.join(out_dir, MEASUREMENTS_FILE),
        dict(checkpoint=sha, calib_images=session.calib_images,
             val=str(cfg.val_dataloader.dataset)))
    kinds = {name: task_kind(name, spec)
             for name, spec in model.task_specs.items()}
    # the edge score the metric reports (odsF, or odsF_dt with
    # val_evaluator.edge_matching='distance_transform')
    edges = session.val_evaluator.edge_matching
    prefs = request_preferences(tasks, args.num_preferences, args.seed)
    requests = [(mode, use, text, budget, pref) for mode in args.methods
                for use in (args.min_utilization if mode != 'uniform' else
                            args.min_utilization[:1])
                for text, budget in budgets
                for pref in (prefs if mode != 'uniform' else
                             [uniform_preference(tasks)])]
    print_log(f'{len(requests)} requests: {len(prefs)} preferences x '
              f'{len(budgets)} budgets ({", ".join(args.budgets)}) for '
              f'{", ".join(args.methods)}', logger='current')
    records = []
    t0 = time.perf_counter()
    for i, (mode, use, text, budget, pref) in enumerate(requests):
        found = session.search(pref, budget, mode=mode, rule=args.rule,
                               population=args.population,
                               generations=args.generations, seed=args.seed,
                               min_utilization=use)
        metrics = cache.get(found.spec)
        if metrics is None:
            metrics = session.measure(found.spec)
            cache.put(found.spec, metrics)
        scores = extract_primary_scores(metrics, kinds, edge_matching=edges)
        records.append(dict(
            method=method_name(mode, use), preference=pref,
            budget=budget,
            budget_text=text, macs=found.macs, scores=scores,
            subnet=found.spec.to_dict(), metrics=metrics,
            decoder_scale=found.decoder_scale,
            search_seconds=found.seconds))
        elapsed = time.perf_counter() - t0
        eta = elapsed / (i + 1) * (len(requests) - i - 1)
        print(f'[control] {i + 1}/{len(requests)} ({elapsed:.0f} s, eta '
              f'{eta:.0f} s) {method_name(mode, use)} @ {text}: '
              f'{format_macs(found.macs)}, ' + ', '.join(
                  f'{t}={v:.4g}' for t, v in scores.items()),
              flush=True)

    if args.fixed:
        metrics, macs, fixed_tasks = measure_fixed_model(
            args.fixed[0], args.fixed[1], cfg.val_evaluator,
            session.input_shape)
        if sorted(fixed_tasks) != sorted(tasks):
            raise UserError(f'--fixed: its tasks {fixed_tasks} differ from '
                            f'the supernet\'s {tasks}')
        records.append(dict(
            method=FIXED_NAME, preference=uniform_preference(tasks),
            budget=macs, budget_text=f'{format_macs(macs)} (own)', macs=macs,
            scores=extract_primary_scores(metrics, kinds,
                                          edge_matching=edges),
            metrics=metrics,
            subnet=None))

    def label(macs_budget):
        for text, budget in budgets:
            if budget == macs_budget:
                return text
        return format_macs(macs_budget)

    summary = write_control_report(records, stl_reference, kinds, out_dir,
                                   budgets_label_fn=label,
                                   edge_matching=edges)
    with open(osp.join(out_dir, 'control_setup.json'), 'w') as f:
        json.dump(dict(config=args.config,
                       checkpoint=osp.abspath(args.checkpoint),
                       budgets={t: b for t, b in budgets},
                       input_shape=list(session.input_shape),
                       methods=args.methods, rule=args.rule,
                       min_utilization=args.min_utilization,
                       num_preferences=args.num_preferences, seed=args.seed,
                       predictor=predictor_info,
                       stl_reference=stl_reference), f, indent=2,
                  default=str)
    print_log(f'Controllability report written to {out_dir} '
              f'({time.perf_counter() - t0:.0f} s)', logger='current')
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
