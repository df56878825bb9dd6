"""What a deployment costs, per method: the parameters it stores, the time
``plan`` takes, and the batch-1 latency of the networks it answers with.

    python tools/benchmarks/method_costs.py \
        --method ECMT configs/ecmt/synthscenes_mbv2.py work_dirs/synthscenes_mbv2/iter_500.pth \
        --method CDMA configs/cdma/synthscenes_mbv2_stage2.py work_dirs/cdma_synthscenes_mbv2_stage2/iter_300.pth \
        --method InterroGate configs/interrogate/synthscenes_mbv2_200m.py A.pth B.pth C.pth \
        [--budgets 0.5x 1.0x] [--num-preferences 20] [--repeats 10] [--threads 2] \
        [--out-dir work_dirs/method_costs] [--cfg-options ...]

Every method answers the same ``num + T + 1`` preferences (``num`` drawn
from the simplex with ``--seed``, the one-hot ones, the uniform one; 26 for
five tasks and the default 20) at every budget of ``--budgets`` (MACs, or
relative to each method's largest network; requests below a method's range
are skipped and counted). For each method it reports

- **parameters stored**: every tensor the deployment keeps (ECMT's
  supernet, CDMA's anchor net and hypernetworks, all members of a family);
- **plan time**: median and 90th percentile of ``plan`` (after the
  deployer's one-time warm-up, e.g. ECMT's predictor load);
- **latency**: the exported static network of every distinct answer, batch
  1 at the MACs input size, ``--threads`` torch threads, median of
  ``--repeats`` runs after 3 warm-up runs, against its MACs (is a MAC as
  cheap in every method's networks?).

It writes ``method_costs.json``, ``method_costs.md`` and
``latency_vs_macs.png`` to ``--out-dir``. Time it on a quiet machine.
"""
import argparse
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..',
                                        '..')))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mmecmt.utils.tool_cli import (UserError,  # noqa: E402
                                   build_tool_deployer, cfg_options_dict,
                                   run_main)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Parameters, plan time and latency per method')
    parser.add_argument('--method', nargs='+', action='append', required=True,
                        metavar='NAME CONFIG CKPT',
                        help='a method: its name, config and checkpoint(s)')
    parser.add_argument('--budgets', nargs='+', default=['0.5x', '1.0x'],
                        help='MACs, or relative to each method\'s largest '
                        'network (default 0.5x 1.0x)')
    parser.add_argument('--num-preferences', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--out-dir', default='work_dirs/method_costs')
    parser.add_argument('--cfg-options', nargs='+', default=[])
    args = parser.parse_args(argv)
    args.cfg_dict = cfg_options_dict(parser, args.cfg_options)
    for method in args.method:
        if len(method) < 3:
            parser.error(f'--method {" ".join(method)}: give NAME CONFIG '
                         'CHECKPOINT [CHECKPOINT ...]')
    return args


def stored_parameters(deployer) -> int:
    """Every parameter and buffer element the deployment keeps."""
    modules = getattr(deployer, 'members', None) or [deployer.model]
    seen, total = set(), 0
    for module in modules:
        for tensor in list(module.parameters()) + list(module.buffers()):
            if id(tensor) not in seen and tensor.is_floating_point():
                seen.add(id(tensor))
                total += tensor.numel()
    return int(total)


@torch.no_grad()
def latency_ms(model, shape, repeats: int) -> float:
    """Median batch-1 latency (ms) of ``model._forward`` at (H, W)."""
    x = torch.zeros(1, 3, *shape)
    forward = model.eval()._forward
    for _ in range(3):
        forward(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward(x)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def measure_method(name, config, checkpoints, args) -> dict:
    from mmecmt.structures.request import (InfeasibleBudget,
                                           evaluation_preferences)
    cfg, deployer = build_tool_deployer(config, checkpoints, args.cfg_dict)
    deployer.warm_up()
    plans, skipped = [], 0
    for text in args.budgets:
        budget = deployer.budget(text)
        for pref in evaluation_preferences(deployer.tasks,
                                           args.num_preferences, args.seed):
            try:
                plans.append(deployer.plan(pref, budget))
            except InfeasibleBudget:  # below this preference's range
                skipped += 1
    if not plans:
        raise UserError(f'{name}: no request at budgets {args.budgets} is '
                        f'feasible (range {deployer.macs_range()})')
    seconds = np.array([p.seconds for p in plans])
    networks = {}
    for plan in plans:
        key = plan.spec.key()
        if key not in networks:
            static = deployer.export(plan.spec)
            networks[key] = dict(
                macs=int(plan.macs),
                latency_ms=latency_ms(static, deployer.input_shape,
                                      args.repeats))
    rows = list(networks.values())
    per_mmac = [r['latency_ms'] / (r['macs'] / 1e6) for r in rows]
    print(f'{name}: {len(plans)} requests, {len(rows)} distinct networks, '
          f'plan median {np.median(seconds) * 1e3:.1f} ms', flush=True)
    return dict(name=name, config=config, checkpoints=list(checkpoints),
                requests=len(plans), infeasible=skipped,
                params=stored_parameters(deployer),
                plan_median_s=float(np.median(seconds)),
                plan_p90_s=float(np.percentile(seconds, 90)),
                networks=rows,
                latency_per_mmac_ms=float(np.median(per_mmac)))


def markdown(results, args) -> str:
    head = ('| method | parameters stored | plan time, median (90th pct.) | '
            'requests | distinct networks | MACs of the answers | '
            'latency, batch 1 | latency per MMAC |')
    lines = [head, '|' + ' --- |' * 8]
    for r in results:
        macs = [n['macs'] / 1e6 for n in r['networks']]
        lat = [n['latency_ms'] for n in r['networks']]
        lines.append(
            f'| {r["name"]} | {r["params"] / 1e6:.2f} M | '
            f'{r["plan_median_s"] * 1e3:.1f} ms '
            f'({r["plan_p90_s"] * 1e3:.1f} ms) | {r["requests"]} | '
            f'{len(r["networks"])} | {min(macs):.1f}-{max(macs):.1f} M | '
            f'{min(lat):.1f}-{max(lat):.1f} ms | '
            f'{r["latency_per_mmac_ms"] * 1e3:.1f} us |')
    lines.append('')
    lines.append(f'Budgets {", ".join(args.budgets)}; batch-1 '
                 f'latency with {args.threads} threads, median of '
                 f'{args.repeats} runs.')
    return '\n'.join(lines) + '\n'


def plot(results, path: str) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from mmecmt.evaluation.control.plots import save_figure
    fig = Figure(figsize=(5, 4), dpi=100, layout='constrained')
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for r in results:
        ax.scatter([n['macs'] / 1e6 for n in r['networks']],
                   [n['latency_ms'] for n in r['networks']], label=r['name'],
                   s=18)
    ax.set_xlabel('MACs of the exported network (MMACs)')
    ax.set_ylabel('batch-1 latency (ms)')
    ax.set_title('Latency against MACs, per method', fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def run(args) -> list:
    from mmecmt.utils.json_io import dump_json
    torch.set_num_threads(args.threads)
    results = [measure_method(m[0], m[1], m[2:], args) for m in args.method]
    os.makedirs(args.out_dir, exist_ok=True)
    dump_json(dict(results=results, budgets=args.budgets,
                   threads=args.threads, repeats=args.repeats),
              osp.join(args.out_dir, 'method_costs.json'))
    table = markdown(results, args)
    with open(osp.join(args.out_dir, 'method_costs.md'), 'w') as f:
        f.write(table)
    plot(results, osp.join(args.out_dir, 'latency_vs_macs.png'))
    print(table)
    return results


def main(argv=None):
    run_main(run, parse_args(argv), 'method_costs.py')


if __name__ == '__main__':
    main()
