"""The side-by-side study of the method families in one command: train what
is missing, measure the single-task references, ask every method the same
(preference, budget) requests, measure what a deployment costs, and write
the study's page.

    python tools/benchmarks/compare_methods.py configs/comparison/synthscenes_mbv2.py \
        [--work-root DIR] [--seed N] [--share-references ROOT] \
        [--stages train references evaluate costs report] [--dry-run] \
        [--across ROOT ...] [--publish DIR] [--cfg-options KEY=VALUE ...]

The STUDY config (``configs/comparison/``) names the single-task
``references`` (``{task: config}``: the normalisation of every score and the
single-task set's point), the ``methods`` (``dict(name, pipeline, configs,
deploy_config=None)``; ``pipeline``: ``'train'`` trains each config with
``tools/train.py``, ``'cdma'`` runs the CDMA pipeline of a stage-2 config,
``'interrogate'`` the InterroGate pipeline of its budget configs, with the
single-task / multi-task models they start from), the ``budgets``,
``num_preferences``, ``pairs``, ``evaluate_options`` (config overrides of
the measurement, e.g. the edge matching), ``evaluate_args`` (more
``tools/evaluate_control.py`` arguments), ``cost_methods`` and
``cost_budgets`` (``tools/benchmarks/method_costs.py``).

Stages (default: all, in this order):

* ``train``: every step whose checkpoint is missing (``tools/train.py`` in
  a subprocess; a finished step is never rerun); wall and CPU time of each
  step in ``WORK_ROOT/work_dirs/study_times.json``;
* ``references``: each single-task model measured on the val set, written
  as ``stl_reference.json`` (``{task: primary metric}``) and
  ``stl_set.json`` (the MACs of each and of the set);
* ``evaluate``: ``tools/evaluate_control.py`` over every method (its
  measurement cache makes an interrupted run resume);
* ``costs``: ``tools/benchmarks/method_costs.py`` (parameters, plan time,
  batch-1 latency; run it on a quiet machine);
* ``report``: ``study.md`` with the tables (training cost in core-hours
  per method and step, HV and controllability per method and budget, the
  paired comparisons, each method's largest network, the deployment
  costs) and the figures.

Everything the study writes goes to
``WORK_ROOT/work_dirs/compare_<study name>/``.
The configs' paths (``work_dirs/...``, ``data/...``) are relative to the
work root: ``--work-root`` (default: the repository) runs every step there,
with ``configs/`` linked into it, so a variant of the study (``--seed``,
another SynthScenes through ``--cfg-options
train_dataloader.dataset.generate.seed=3 ...``) trains into its own
``work_dirs/`` and generates its own ``data/``. ``--seed N`` sets
``randomness.seed`` of every training step and needs its own work root;
``--share-references ROOT`` links the single-task models (``configs/stl/``)
trained in another work root instead of training them again. A work root
remembers its seed and overrides (``study_options.json``); another value is
an error. ``--dry-run`` prints the steps.

Seeds: run the study once per seed, each in its own work root, then
``--across ROOT ...`` (the other seeds' roots; with ``--stages report``)
writes ``seeds.md`` / ``seeds.json`` / ``hv_seeds.png``: every group's HV
and every pair's HV gap with a t interval over the seeds
(:func:`mmecmt.evaluation.control.seed_summary`). ``--publish DIR`` copies
the pages, the small JSON files and the main figures (not the measurement
caches) into ``DIR`` (e.g. ``docs/results/comparison``).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, REPO)

from mmengine.config import Config, DictAction  # noqa: E402

from mmecmt.utils.pipeline import (cdma_steps, final_checkpoint,  # noqa: E402
                                   interrogate_steps, load_step_config,
                                   run_steps)
from mmecmt.utils.tool_cli import UserError, run_main  # noqa: E402

STAGES = ('train', 'references', 'evaluate', 'costs', 'report')
PIPELINES = ('train', 'cdma', 'interrogate')
TIMES_FILE = 'study_times.json'
OPTIONS_FILE = 'study_options.json'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train, evaluate and compare every method of a study')
    parser.add_argument('study', help='study config (configs/comparison/)')
    parser.add_argument('--work-root', default=REPO,
                        help='where the steps run (default: the repository)')
    parser.add_argument('--seed', type=int, default=None,
                        help='randomness.seed of every training step (needs '
                        'its own --work-root)')
    parser.add_argument('--share-references', metavar='ROOT',
                        help='link the single-task models trained in this '
                        'other work root')
    parser.add_argument('--stages', nargs='+', choices=STAGES,
                        default=list(STAGES))
    parser.add_argument('--across', nargs='+', metavar='ROOT',
                        help='work roots of the same study with other seeds: '
                        'summarise HV and the pairs\' HV gaps over this '
                        'root and them (seeds.md)')
    parser.add_argument('--publish', metavar='DIR',
                        help='copy the study page and its figures (not the '
                        'caches) into DIR, e.g. docs/results/comparison')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the training steps and exit')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='overrides for every config')
    return parser.parse_args(argv)


def shown(path: str) -> str:
    """``path`` as the pages show it: relative to the repository when it
    is inside it."""
    rel = osp.relpath(path, REPO)
    return path if rel.startswith('..') else rel


def stem(config: str) -> str:
    """A step's name: its config's path below ``configs/``, without
    ``.py`` (``stl/synthscenes_mbv2_semseg``)."""
    path = osp.normpath(config)
    if path.startswith('configs' + os.sep):
        path = path[len('configs') + 1:]
    return osp.splitext(path)[0]


# ----------------------------------------------------------------------
# the study and its work root
# ----------------------------------------------------------------------
def load_study(path: str) -> Config:
    """The study config, checked."""
    if not osp.isfile(path):
        raise UserError(f'study config {path} does not exist')
    study = Config.fromfile(path)
    for key in ('references', 'methods', 'budgets'):
        if not study.get(key):
            raise UserError(f'{path}: `{key}` is missing or empty')
    names = [m.get('name') for m in study.methods]
    if len(set(names)) != len(names) or None in names:
        raise UserError(f'{path}: method names must be given and unique, '
                        f'got {names}')
    for m in study.methods:
        if m.get('pipeline') not in PIPELINES:
            raise UserError(f'{path}: method {m.name!r} has pipeline '
                            f'{m.get("pipeline")!r}; valid: {PIPELINES}')
        if not m.get('configs'):
            raise UserError(f'{path}: method {m.name!r} names no configs')
    for a, b in study.get('pairs', []):
        for name in (a, b):
            if name not in names:
                raise UserError(f'{path}: pair ({a!r}, {b!r}) names an '
                                f'unknown method; the methods are {names}')
    for name in study.get('cost_methods', names):
        if name not in names:
            raise UserError(f'{path}: cost_methods names {name!r}; the '
                            f'methods are {names}')
    study.name = osp.splitext(osp.basename(path))[0]
    return study


def prepare_root(root: str, options: dict, shared: str = None) -> str:
    """Create the work root (``configs/`` linked into it), check that it
    was not used with other options, and return its study-options file."""
    os.makedirs(osp.join(root, 'work_dirs'), exist_ok=True)
    link = osp.join(root, 'configs')
    if not osp.exists(link):
        os.symlink(osp.join(REPO, 'configs'), link)
    record = dict(cfg_options=options,
                  share_references=osp.abspath(shared) if shared else None)
    path = osp.join(root, 'work_dirs', OPTIONS_FILE)
    if osp.isfile(path):
        with open(path) as f:
            old = json.load(f)
        if old.get('cfg_options') != options:
            raise UserError(
                f'work root {root} was trained with --seed / --cfg-options '
                f'{old.get("cfg_options")}, not {options}: give another '
                '--work-root')
    else:
        with open(path, 'w') as f:
            json.dump(record, f, indent=2)
    return path


# ----------------------------------------------------------------------
# training
# ----------------------------------------------------------------------
def method_steps(method, options: dict) -> List[tuple]:
    """``[(name, config, options, checkpoint)]`` of one method, every step
    with ``options``; its deployment checkpoints are the last ones."""
    if method.pipeline == 'cdma':
        if len(method.configs) != 1:
            raise UserError(f'method {method.name!r}: a CDMA pipeline has '
                            'one stage-2 config')
        raw, _ = cdma_steps(method.configs[0], options)
    elif method.pipeline == 'interrogate':
        raw, _ = interrogate_steps(method.configs, options)
    else:
        return [train_step(config, options, f'method {method.name!r}')
                for config in method.configs]
    return [(stem(config) if config else label, config, options, ckpt)
            for label, config, _, ckpt in raw]


def train_step(config: str, options: dict, what: str) -> tuple:
    """``(name, config, options, checkpoint)`` of one ``tools/train.py``
    run of ``config``."""
    cfg = load_step_config(config, options, what)
    return stem(config), config, options, final_checkpoint(cfg)


def reference_steps(study, options: dict) -> List[tuple]:
    return [train_step(config, options, f'reference {task!r}')
            for task, config in study.references.items()]


def plan(study, options: dict):
    """``(steps, {method: [step names]}, {method: checkpoints})``: every
    step once, the references first."""
    steps, seen = [], {}
    per_method, checkpoints = {}, {}

    def add(step):
        key = osp.normpath(step[3])
        if key not in seen:
            seen[key] = step[0]
            steps.append(step)
        return seen[key]

    for step in reference_steps(study, options):
        add(step)
    for method in study.methods:
        ms = method_steps(method, options)
        per_method[method.name] = [add(s) for s in ms]
        count = len(method.configs) if method.pipeline != 'cdma' else 1
        checkpoints[method.name] = [s[3] for s in ms[-count:]]
    return steps, per_method, checkpoints


def share_references(steps, other_root: str) -> None:
    """Link the single-task models' work dirs of ``other_root`` (configs
    under ``configs/stl/``) where this root has no checkpoint."""
    for name, config, _, ckpt in steps:
        if config is None or not osp.normpath(config).startswith(
                osp.join('configs', 'stl')) or osp.isfile(ckpt):
            continue
        source = osp.join(osp.abspath(other_root), osp.dirname(ckpt))
        if not osp.isfile(osp.join(osp.abspath(other_root), ckpt)):
            raise UserError(f'--share-references: {other_root} has no '
                            f'{ckpt}')
        if osp.lexists(osp.dirname(ckpt)):
            raise UserError(f'--share-references: {osp.dirname(ckpt)} '
                            'exists without its checkpoint; remove it')
        os.symlink(source, osp.dirname(ckpt))
        print(f'{name}: linked from {source}', flush=True)


# ----------------------------------------------------------------------
# the single-task references
# ----------------------------------------------------------------------
def measure_references(study, steps_by_config, options: dict,
                       out_dir: str) -> dict:
    """Measure every single-task model; write ``stl_reference.json`` and
    ``stl_set.json``; return the latter."""
    from mmecmt.evaluation.functional.delta_m import (extract_primary_scores,
                                                      task_kind)
    from mmecmt.utils.tool_cli import build_tool_deployer
    reference, macs = {}, {}
    evaluate = dict(options, **study.get('evaluate_options', {}))
    for i, (task, config) in enumerate(study.references.items(), 1):
        ckpt = steps_by_config[config]
        _, deployer = build_tool_deployer(config, [ckpt],
                                          cfg_options=evaluate)
        if list(deployer.tasks) != [task]:
            raise UserError(f'reference {task!r}: {config} has tasks '
                            f'{deployer.tasks}')
        low, high = deployer.macs_range()
        spec = deployer.plan({task: 1.0}, high).spec
        metrics, _ = deployer.measure(spec)
        evaluator = deployer.cfg.val_evaluator
        kinds = {t: task_kind(t, s) for t, s in deployer.task_specs.items()}
        reference[task] = extract_primary_scores(
            metrics, kinds, edge_matching=evaluator.get('edge_matching')
            or 'one_to_one')[task]
        macs[task] = int(high)
        print(f'[references {i}/{len(study.references)}] {task}: '
              f'{reference[task]:.4g} ({high / 1e6:.1f} MMACs)', flush=True)
    with open(osp.join(out_dir, 'stl_reference.json'), 'w') as f:
        json.dump(reference, f, indent=2)
    stl_set = dict(reference=reference, macs=macs,
                   total_macs=sum(macs.values()))
    with open(osp.join(out_dir, 'stl_set.json'), 'w') as f:
        json.dump(stl_set, f, indent=2)
    return stl_set


# ----------------------------------------------------------------------
# evaluation and deployment costs (the existing tools, in subprocesses)
# ----------------------------------------------------------------------
def method_args(study, checkpoints, names) -> List[str]:
    args = []
    for method in study.methods:
        if method.name in names:
            deploy = method.get('deploy_config') or method.configs[-1]
            args += ['--method', method.name, deploy,
                     *checkpoints[method.name]]
    return args


def options_args(options: dict) -> List[str]:
    return ['--cfg-options'] + [f'{k}={v}' for k, v in options.items()
                                ] if options else []


def run_tool(args: List[str], log: str) -> float:
    """Run a repository tool (its output to ``log`` and to stdout);
    return its wall time."""
    start = time.time()
    with open(log, 'w') as f:
        proc = subprocess.Popen([sys.executable] + args,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            f.write(line)
            if line.startswith('[control]') or 'distinct networks' in line \
                    or 'Error' in line:  # progress of either tool
                print(line.rstrip(), flush=True)
        proc.wait()
    if proc.returncode != 0:
        raise UserError(f'{args[0]} failed (exit code {proc.returncode}); '
                        f'its log: {log}')
    return time.time() - start


def evaluate(study, checkpoints, options, out_dir, stl_set) -> float:
    names = [m.name for m in study.methods]
    args = [osp.join(REPO, 'tools', 'evaluate_control.py'),
            *method_args(study, checkpoints, names),
            '--stl-reference', osp.join(out_dir, 'stl_reference.json'),
            '--stl-set-macs', str(stl_set['total_macs']),
            '--budgets', *study.budgets,
            '--num-preferences', str(study.get('num_preferences', 10)),
            '--out-dir', osp.join(out_dir, 'control')]
    for a, b in study.get('pairs', []):
        args += ['--pair', a, b]
    args += [str(a) for a in study.get('evaluate_args', [])]
    args += options_args(dict(options, **study.get('evaluate_options', {})))
    return run_tool(args, osp.join(out_dir, 'evaluate.log'))


def costs(study, checkpoints, options, out_dir) -> float:
    names = study.get('cost_methods', [m.name for m in study.methods])
    args = [osp.join(REPO, 'tools', 'benchmarks', 'method_costs.py'),
            *method_args(study, checkpoints, names),
            '--budgets', *study.get('cost_budgets', ['0.5x', '1.0x']),
            '--out-dir', osp.join(out_dir, 'costs')]
    args += [str(a) for a in study.get('cost_args', [])]
    args += options_args(options)
    return run_tool(args, osp.join(out_dir, 'costs.log'))


# ----------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------
def _read_json(path: str, what: str):
    if not osp.isfile(path):
        raise UserError(f'{path} is missing: run the {what} stage first')
    with open(path) as f:
        return json.load(f)


def training_costs(study, per_method, times) -> List[dict]:
    """Per method: its steps (references included) and their cost."""
    rows = []
    for method in study.methods:
        steps = per_method[method.name]
        timed = [s for s in steps if s in times]
        rows.append(dict(
            method=method.name, steps=steps,
            untimed=[s for s in steps if s not in times],
            wall_h=sum(times[s]['wall_s'] for s in timed) / 3600,
            core_h=sum(times[s]['cpu_s'] for s in timed) / 3600))
    return rows


def _fmt(value, spec='.3f'):
    return '-' if value is None else format(value, spec)


def largest_networks(control: dict) -> Dict[str, dict]:
    """Per method, its answer with the most MACs to the uniform preference
    (the largest network it deploys for a balanced request)."""
    best = {}
    for r in control['records']:
        if not r.get('feasible'):
            continue
        pref = list(r['preference'].values())
        if max(pref) - min(pref) > 1e-9:
            continue
        if r['method'] not in best or r['macs'] > best[r['method']]['macs']:
            best[r['method']] = r
    return best


def write_report(study, args, root, out_dir, per_method, times,
                 stl_set) -> str:
    control = _read_json(osp.join(out_dir, 'control', 'control_results.json'),
                         'evaluate')
    lines = [f'# Method comparison: `{study.name}`', '',
             f'Written by `tools/benchmarks/compare_methods.py '
             f'{osp.relpath(study.filename, REPO)}` on '
             f'{time.strftime("%Y-%m-%d")}; work root `{shown(root)}`'
             + (f', seed {args.seed}' if args.seed is not None else '')
             + (f', overrides `{args.cfg_options}`' if args.cfg_options
                else '') + '.', '',
             'Scores are normalised by the single-task references '
             '(1.0 = the single-task model of that task); HV over the '
             'normalised scores with reference point '
             f'{control["hv_reference_point"]}. The single-task set '
             f'(every score 1, HV 1) costs '
             f'{stl_set["total_macs"] / 1e6:.1f} MMACs.', '',
             '## Training cost, from nothing', '',
             'CPU time of every step (core-hours: all cores a step used, '
             'its data loader workers included) and wall time on '
             f'{os.cpu_count()} cores; a method counts the single-task / '
             'multi-task models it starts from.', '',
             '| method | core-hours | wall hours | steps | not timed here |',
             '| --- | --- | --- | --- | --- |']
    for row in training_costs(study, per_method, times):
        # steps trained before this root timed them: their cost is unknown
        partial = ' + not timed' if row['untimed'] else ''
        cost = ('-', '-') if len(row['untimed']) == len(row['steps']) else (
            f'{row["core_h"]:.3f}{partial}', f'{row["wall_h"]:.3f}{partial}')
        lines.append(
            f'| {row["method"]} | {cost[0]} | {cost[1]} | '
            f'{len(row["steps"])} | {", ".join(row["untimed"]) or "-"} |')
    lines += ['', '| step | wall min | core-hours |', '| --- | --- | --- |']
    for name, t in times.items():
        lines.append(f'| {name} | {t["wall_s"] / 60:.1f} | '
                     f'{t["cpu_s"] / 3600:.3f} |')
    lines += ['', '## Controllability per method and budget', '',
              '| method | budget | answered | mean MMACs | HV | task '
              'Spearman | uniformity | budget Spearman | violations | mean '
              'Delta_m (%) |', '| --- ' * 10 + '|']
    for method, groups in control['summary'].items():
        for label, s in groups.items():
            dms = [r['delta_m'] for r in control['records']
                   if r['method'] == method and r.get('budget_label') == label
                   and r.get('feasible') and r.get('delta_m') is not None]
            mean_dm = sum(dms) / len(dms) if dms else None
            lines.append(
                f'| {method} | {label} | {s["answered"]}/{s["requests"]} | '
                f'{_fmt(s["mean_macs"] and s["mean_macs"] / 1e6, ".1f")} | '
                f'{_fmt(s["hv"])} | {_fmt(s["mean_task_spearman"])} | '
                f'{_fmt(s["uniformity"])} | {_fmt(s["budget_spearman"])} | '
                f'{s["violations"]} | {_fmt(mean_dm, "+.2f")} |')
    lines += ['', '![HV against MACs](control/hv_vs_macs.png)', '',
              'Every request, its network and its Delta_m: '
              '[control/control_results.md](control/control_results.md).',
              '', '## Paired comparisons', '',
              '| budget | A vs B | requests | wins / ties / losses of A | '
              'HV gap A - B [95 % interval] |', '| --- | --- | --- | --- | '
              '--- |']
    for label, pairs in control.get('paired', {}).items():
        for key, p in pairs.items():
            lines.append(
                f'| {label} | {key} | {p["num_requests"]} | {p["wins"]} / '
                f'{p["ties"]} / {p["losses"]} | {p["hv_gap"]:+.3f} '
                f'[{p["hv_gap_low"]:+.3f}, {p["hv_gap_high"]:+.3f}] |')
    lines += ['', '## Each method\'s largest network (uniform preference)',
              '', '| method | MMACs | Delta_m | ' + ' | '.join(
                  control['tasks']) + ' |',
              '| --- | --- | --- |' + ' --- |' * len(control['tasks'])]
    for method, r in largest_networks(control).items():
        lines.append(f'| {method} | {r["macs"] / 1e6:.1f} | '
                     f'{r["delta_m"]:+.2f} % | ' + ' | '.join(
                         f'{r["normalised_scores"][t]:.3f}'
                         for t in control['tasks']) + ' |')
    cost_md = osp.join(out_dir, 'costs', 'method_costs.md')
    if osp.isfile(cost_md):
        with open(cost_md) as f:
            body = f.read().strip().splitlines()
        table = [ln for ln in body if ln.startswith('|')]
        lines += ['', '## What a deployment costs', ''] + table + [
            '', '![latency against MACs](costs/latency_vs_macs.png)']
    path = osp.join(out_dir, 'study.md')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def seed_label(root: str) -> str:
    path = osp.join(root, 'work_dirs', OPTIONS_FILE)
    options = {}
    if osp.isfile(path):
        with open(path) as f:
            options = json.load(f).get('cfg_options') or {}
    seed = options.get('randomness.seed')
    return f'seed {seed}' if seed is not None else 'seed of the configs'


def write_seeds(study, roots: List[str], out_dir: str) -> str:
    """``seeds.md`` / ``seeds.json`` / ``hv_seeds.png``: the study's HV and
    pair gaps over the work roots ``roots`` (one training seed each)."""
    from mmecmt.evaluation.control import plot_hv_over_seeds, seed_summary
    results = {}
    for root in roots:
        label = seed_label(root)
        if label in results:
            raise UserError(f'--across: {root} has the {label} of another '
                            'root')
        results[label] = _read_json(osp.join(
            root, 'work_dirs', f'compare_{study.name}', 'control',
            'control_results.json'), f'evaluate stage in {root} (the')
    summary = seed_summary(results, [tuple(p) for p in study.get(
        'pairs', [])])
    with open(osp.join(out_dir, 'seeds.json'), 'w') as f:
        json.dump(dict(summary, roots=[shown(r) for r in roots]), f,
                  indent=2)
    plot_hv_over_seeds(summary, osp.join(out_dir, 'hv_seeds.png'),
                       budgets=list(study.budgets))
    n = len(summary['seeds'])
    conf = f'{summary["confidence"]:.0%}'
    lines = [f'# `{study.name}` over {n} training seeds', '',
             'Work roots: ' + ', '.join(
                 f'`{shown(r)}` ({seed_label(r)})' for r in roots) + '.', '',
             f'HV per method and budget: mean over the seeds and its {conf} '
             f'Student-t interval (n = {n}), then each seed.', '',
             '| method | budget | mean HV [interval] | ' + ' | '.join(
                 summary['seeds']) + ' |',
             '| --- | --- | --- |' + ' --- |' * n]

    def cell(v):
        return '-' if v is None else f'{v:.3f}'

    for method, groups in summary['hv'].items():
        for budget, e in groups.items():
            if e['mean'] is None:
                continue
            lines.append(f'| {method} | {budget} | {e["mean"]:.3f} '
                         f'[{e["low"]:.3f}, {e["high"]:.3f}] | ' +
                         ' | '.join(cell(v) for v in e['values']) + ' |')
    lines += ['', f'HV gap A - B per budget over the seeds ({conf} t '
              'interval); a method is *ahead* only where the interval '
              'excludes 0.', '',
              '| budget | A vs B | mean gap [interval] | verdict | ' +
              ' | '.join(summary['seeds']) + ' |',
              '| --- | --- | --- | --- |' + ' --- |' * n]
    for budget, pairs in summary['gaps'].items():
        for key, g in pairs.items():
            lines.append(f'| {budget} | {key} | {g["mean"]:+.3f} '
                         f'[{g["low"]:+.3f}, {g["high"]:+.3f}] | '
                         f'{g["verdict"]} | ' + ' | '.join(
                             '-' if v is None else f'{v:+.3f}'
                             for v in g['values']) + ' |')
    lines += ['', '![HV over the seeds](hv_seeds.png)']
    path = osp.join(out_dir, 'seeds.md')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


#: what --publish copies: the pages, their figures and the small JSONs
PUBLISHED = ('study.md', 'stl_reference.json', 'stl_set.json', 'seeds.md',
             'seeds.json', 'hv_seeds.png', 'control/control_results.md',
             'control/control_setup.json', 'control/hv_vs_macs.png',
             'costs/method_costs.md', 'costs/method_costs.json',
             'costs/latency_vs_macs.png')


def publish(out_dir: str, target: str) -> List[str]:
    """Copy the study's pages and figures that exist into ``target``."""
    import shutil
    copied = []
    for name in PUBLISHED:
        source = osp.join(out_dir, name)
        if osp.isfile(source):
            os.makedirs(osp.dirname(osp.join(target, name)), exist_ok=True)
            shutil.copyfile(source, osp.join(target, name))
            copied.append(name)
    return copied


# ----------------------------------------------------------------------
def run(args):
    study_path = osp.abspath(args.study)
    study = load_study(study_path)
    root = osp.abspath(args.work_root)
    # paths given on the command line are relative to where it was run
    shared = args.share_references and osp.abspath(args.share_references)
    across = [osp.abspath(r) for r in args.across or []]
    target = args.publish and osp.abspath(args.publish)
    options = dict(args.cfg_options)
    if args.seed is not None:
        if root == REPO:
            raise UserError('--seed needs its own --work-root (the '
                            "repository's work_dirs hold the configs' seed)")
        options['randomness.seed'] = args.seed
    if shared and root == REPO:
        raise UserError('--share-references needs its own --work-root')
    prepare_root(root, options, shared)
    os.chdir(root)
    out_dir = osp.join('work_dirs', f'compare_{study.name}')
    os.makedirs(out_dir, exist_ok=True)
    steps, per_method, checkpoints = plan(study, options)
    if shared:
        share_references(steps, shared)
    times_file = osp.join('work_dirs', TIMES_FILE)
    if 'train' in args.stages or args.dry_run:
        run_steps(steps, times_file, args.dry_run)
    if args.dry_run:
        return steps
    missing = [s[3] for s in steps if not osp.isfile(s[3])]
    if missing and set(args.stages) - {'train'}:
        raise UserError(f'not trained yet: {missing} (run the train stage)')
    by_config = {config: ckpt for _, config, _, ckpt in steps}
    if 'references' in args.stages:
        stl_set = measure_references(study, by_config, options, out_dir)
    elif set(args.stages) & {'evaluate', 'report'}:
        stl_set = _read_json(osp.join(out_dir, 'stl_set.json'), 'references')
    if 'evaluate' in args.stages:
        seconds = evaluate(study, checkpoints, options, out_dir, stl_set)
        print(f'evaluate: {seconds / 60:.1f} min', flush=True)
    if 'costs' in args.stages:
        seconds = costs(study, checkpoints, options, out_dir)
        print(f'costs: {seconds / 60:.1f} min', flush=True)
    if 'report' in args.stages:
        times = {}
        if osp.isfile(times_file):
            with open(times_file) as f:
                times = json.load(f)
        path = write_report(study, args, root, out_dir, per_method, times,
                            stl_set)
        print(f'report: {osp.join(root, path)}', flush=True)
    if args.across:
        path = write_seeds(study, [root] + across, out_dir)
        print(f'seeds: {osp.join(root, path)}', flush=True)
    if target:
        copied = publish(out_dir, target)
        print(f'published to {target}: {", ".join(copied)}', flush=True)
    return steps


def main(argv=None):
    run_main(run, parse_args(argv), 'compare_methods.py')


if __name__ == '__main__':
    main()
