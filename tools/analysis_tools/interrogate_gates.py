"""The gate patterns and MACs of trained InterroGate models.

    python tools/analysis_tools/interrogate_gates.py \
        configs/interrogate/synthscenes_mbv2_150m.py \
        configs/interrogate/synthscenes_mbv2_200m.py \
        configs/interrogate/synthscenes_mbv2_250m.py \
        [--checkpoints A.pth B.pth C.pth] [--out-dir DIR] \
        [--measure [--stl-reference FILE.json]] [--cfg-options KEY=VALUE ...]

For every config (one trained budget; its checkpoint is the final one of
its work dir unless ``--checkpoints`` names them, in the same order) it
reads the hard gates and writes to ``--out-dir`` (default
``work_dirs/interrogate_gates``):

- ``gate_patterns.png``: per model, the fraction of task-specific channels
  per gated unit and task (the paper's Figure 5);
- ``gates.md``: per model the budget, the pruned model's MACs (analytic,
  equal to fvcore on the pruned model) and their gap, and the MACs of every
  task branch, of the shared branch and of the heads;
- ``gates.json``: the same figures and every model's gate pattern.

With ``--measure`` every pruned model is also evaluated on the val set
(its primary metric per task in a second table) and, with the single-task
references (``--stl-reference``, a JSON file or ``task=value,...``; default:
the config's ``val_evaluator.stl_reference``), its Delta_m.

Bad input (a config that is not InterroGate's, a missing or mismatched
checkpoint) is one line on stderr, exit code 2.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmengine.config import DictAction  # noqa: E402

from mmecmt.utils.tool_cli import UserError, load_weights, run_main  # noqa


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Gate patterns and MACs per branch of trained '
        'InterroGate models')
    parser.add_argument('configs', nargs='+', metavar='CONFIG')
    parser.add_argument('--checkpoints', nargs='+', default=None,
                        help='one per config (default: each config\'s '
                        'final checkpoint)')
    parser.add_argument('--out-dir', default='work_dirs/interrogate_gates')
    parser.add_argument('--measure', action='store_true',
                        help='evaluate every pruned model on the val set')
    parser.add_argument('--stl-reference', default=None,
                        help='single-task references for Delta_m (with '
                        '--measure)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='overrides for every config')
    return parser.parse_args(argv)


def measure(cfg, model, stl_reference=None) -> dict:
    """``dict(metrics, primary, primary_names)`` of the pruned ``model`` on
    the val set (``metrics['delta_m']`` with the single-task
    references)."""
    from mmengine.runner import Runner

    from mmecmt.evaluation.functional.delta_m import (extract_primary_scores,
                                                      primary_metric,
                                                      task_kind)
    from mmecmt.evaluation.val_pass import evaluate_model
    from mmecmt.models.gating import GatePruner
    from mmecmt.utils.tool_cli import load_stl_reference
    evaluator = dict(cfg.val_evaluator)
    if stl_reference is not None or evaluator.get('stl_reference'):
        evaluator['stl_reference'] = load_stl_reference(
            stl_reference, cfg, list(model.tasks))
    loader = Runner.build_dataloader(
        dict(cfg.val_dataloader, persistent_workers=False),
        seed=int(cfg.get('randomness', {}).get('seed', 0)))
    metrics, _ = evaluate_model(GatePruner()(model), loader, evaluator)
    kinds = {t: task_kind(t, s) for t, s in model.task_specs.items()}
    edge = evaluator.get('edge_matching') or 'one_to_one'
    return dict(metrics=metrics,
                primary=extract_primary_scores(metrics, kinds,
                                               edge_matching=edge),
                primary_names={t: primary_metric(k, edge)
                               for t, k in kinds.items()})


def model_row(config: str, checkpoint: str, cfg_options: dict,
              with_metrics: bool = False, stl_reference=None) -> dict:
    """The figures of one trained budget."""
    from mmecmt.deploy import build_architecture
    from mmecmt.utils.input_shape import macs_input_shape
    from mmecmt.utils.runner_setup import load_tool_config
    cfg = load_tool_config(config, cfg_options)
    model = build_architecture(cfg)
    if not hasattr(model, 'gate_pattern'):
        raise UserError(f'{config}: {type(model).__name__} is not a gated '
                        'InterroGate network')
    load_weights(model, checkpoint)
    shape = macs_input_shape(cfg)
    pattern = model.gate_pattern()
    macs = model.pattern_macs(pattern, shape)
    budget = None
    if model.sparsity is not None and model.sparsity.mode == 'macs':
        budget = model.sparsity.budget_macs(model)
    low, high = model.macs_bounds(shape)
    name = osp.splitext(osp.basename(config))[0]
    measured = measure(cfg, model, stl_reference) if with_metrics else dict(
        metrics=None)
    return dict(name=name, config=config, checkpoint=checkpoint,
                **measured,
                input_shape=list(shape), budget=budget, macs=macs,
                gap=None if budget is None else macs / budget - 1,
                fully_shared=low, fully_specialised=high,
                branch_macs=model.branch_macs(pattern, shape),
                specific_fraction=pattern.specific_fraction().tolist(),
                tasks=list(model.tasks), pattern=pattern.to_dict())


def markdown(rows) -> str:
    tasks = rows[0]['tasks']
    head = (['model', 'budget (M)', 'pruned (M)', 'gap'] +
            [f'{t} (M)' for t in tasks] + ['shared (M)', 'heads (M)',
                                           'task-specific'])
    lines = ['| ' + ' | '.join(head) + ' |',
             '|' + ' --- |' * len(head)]
    for r in rows:
        frac = sum(map(sum, r['specific_fraction'])) / (
            len(r['specific_fraction']) * len(tasks))
        cells = [r['name'],
                 '-' if r['budget'] is None else f'{r["budget"] / 1e6:.1f}',
                 f'{r["macs"] / 1e6:.1f}',
                 '-' if r['gap'] is None else f'{r["gap"]:+.1%}']
        cells += [f'{r["branch_macs"][t] / 1e6:.1f}' for t in tasks]
        cells += [f'{r["branch_macs"]["shared"] / 1e6:.1f}',
                  f'{r["branch_macs"]["heads"] / 1e6:.1f}', f'{frac:.0%}']
        lines.append('| ' + ' | '.join(cells) + ' |')
    r = rows[0]
    lines.append('')
    lines.append(f'MACs at input {r["input_shape"][0]}x{r["input_shape"][1]}'
                 f'; fully shared {r["fully_shared"] / 1e6:.1f} M, fully '
                 f'specialised {r["fully_specialised"] / 1e6:.1f} M.')
    if rows[0]['metrics'] is not None:
        lines += ['', metrics_table(rows)]
    return '\n'.join(lines) + '\n'


def metrics_table(rows) -> str:
    """Val primary metric per task (and Delta_m) of every pruned model."""
    tasks = rows[0]['tasks']
    with_delta = 'delta_m' in rows[0]['metrics']
    head = ['model', 'MACs (M)'] + [
        f'{t} {rows[0]["primary_names"][t]}' for t in tasks] + (
            ['Delta_m (%)'] if with_delta else [])
    lines = ['| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head)]
    for r in rows:
        cells = [r['name'], f'{r["macs"] / 1e6:.1f}']
        cells += [f'{r["primary"][t]:.4f}' for t in tasks]
        if with_delta:
            cells.append(f'{r["metrics"]["delta_m"]:+.2f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def run(args) -> dict:
    from mmecmt.evaluation.control.plots import plot_gate_patterns
    from mmecmt.utils import register_all_modules
    from mmecmt.utils.json_io import dump_json
    from mmecmt.utils.pipeline import final_checkpoint
    from mmecmt.utils.runner_setup import load_tool_config
    register_all_modules()
    checkpoints = args.checkpoints
    if checkpoints is not None and len(checkpoints) != len(args.configs):
        raise UserError(f'{len(args.configs)} configs but '
                        f'{len(checkpoints)} checkpoints')
    if checkpoints is None:
        checkpoints = [final_checkpoint(load_tool_config(c, args.cfg_options))
                       for c in args.configs]
    rows = []
    for config, ckpt in zip(args.configs, checkpoints):
        rows.append(model_row(config, ckpt, args.cfg_options, args.measure,
                              args.stl_reference))
        r = rows[-1]
        print(f'{r["name"]}: {r["macs"] / 1e6:.2f} MMACs pruned'
              + ('' if r['budget'] is None else
                 f', budget {r["budget"] / 1e6:.2f} M ({r["gap"]:+.1%})'),
              flush=True)
    os.makedirs(args.out_dir, exist_ok=True)
    plot_gate_patterns({r['name']: r['specific_fraction'] for r in rows},
                       rows[0]['tasks'],
                       osp.join(args.out_dir, 'gate_patterns.png'))
    table = markdown(rows)
    with open(osp.join(args.out_dir, 'gates.md'), 'w') as f:
        f.write(table)
    dump_json(dict(models=rows), osp.join(args.out_dir, 'gates.json'))
    print(table)
    return dict(models=rows)


def main(argv=None):
    run_main(run, parse_args(argv), 'interrogate_gates.py')


if __name__ == '__main__':
    main()
