"""How strongly do the task loss and the branching regulariser pull on
CDMA's edge logits? The balance that decides whether a trained controller
answers its inputs or gives one tree for every request.

    python tools/benchmarks/cdma_gradient_balance.py CONFIG \
        [--checkpoint CKPT] [--batches 4] [--preference uniform|one-hot] \
        [--cost 1.0] [--cfg-options ...]

Builds the config's CDMA model (the anchor loaded from its streams'
checkpoints; with ``--checkpoint`` a trained stage-1 checkpoint), sets its
task affinity (``<work_dir>/task_affinity.json`` when present, else all
ones), and on ``--batches`` training batches of one request (the uniform
preference, or one-hot on the first task; cost c = ``--cost``) prints:

- the norm of the gradient of ``sum_i r_i L_i`` (task loss through the
  straight-through Gumbel-softmax sample, at the config's starting
  temperature) w.r.t. the (L, N, N) edge logits, per batch and of the mean
  over batches, and its mean on the own-stream logits (negative: the task
  loss raises them);
- the norm of the gradient of the regulariser (``loss_branch_active +
  loss_branch_inactive``, with the config's lambdas) w.r.t. the same logits.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..',
                                        '..')))

from mmecmt.utils.tool_cli import (UserError, cfg_options_dict,  # noqa: E402
                                   int_at_least, run_main)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a CDMA stage-1 config')
    parser.add_argument('--checkpoint', help='a trained CDMA checkpoint')
    parser.add_argument('--batches', type=int_at_least(1), default=4)
    parser.add_argument('--preference', choices=('uniform', 'one-hot'),
                        default='uniform')
    parser.add_argument('--cost', type=float, default=1.0)
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='config overrides, KEY=VALUE')
    args = parser.parse_args(argv)
    args.cfg_options = cfg_options_dict(parser, args.cfg_options)
    return args


def run(args) -> dict:
    import torch
    import torch.nn.functional as F
    from mmengine.runner import Runner

    from mmecmt.registry import MODELS
    from mmecmt.utils import register_all_modules
    from mmecmt.utils.checkpoint import load_trained
    from mmecmt.utils.runner_setup import load_tool_config
    register_all_modules()
    if not osp.isfile(args.config):
        raise UserError(f'config {args.config} does not exist')
    cfg = load_tool_config(args.config, args.cfg_options, work_dir=None)
    torch.manual_seed(0)
    algo = MODELS.build(cfg.model)
    if not hasattr(algo, 'set_task_affinity'):
        raise UserError(f'{args.config} is not a CDMA config')
    algo.architecture.anchor.init_weights()
    if args.checkpoint:
        load_trained(algo.architecture, args.checkpoint)
    arch = algo.architecture
    n = len(arch.tasks)
    affinity_file = osp.join(cfg.work_dir, 'task_affinity.json')
    affinity = torch.ones(n, n)
    if osp.isfile(affinity_file):
        with open(affinity_file) as f:
            affinity = torch.tensor(json.load(f)['matrix'])
    algo.set_task_affinity(affinity)
    pref = torch.full((n, ), 1.0 / n) if args.preference == 'uniform' \
        else torch.eye(n)[0]
    tau = float([h for h in cfg.custom_hooks
                 if h['type'] == 'ScheduledValueHook'][0]['value'])
    loader = Runner.build_dataloader(dict(
        cfg.train_dataloader, num_workers=0, persistent_workers=False),
        seed=0)
    task_grads, reg_grads = [], []
    for _, batch in zip(range(args.batches), loader):
        data = algo.data_preprocessor(batch, True)
        logits = arch.edge_logits(pref, args.cost).detach().requires_grad_()
        edges = F.gumbel_softmax(logits, tau=tau, hard=True)
        out = arch.relaxed_forward(data['inputs'], edges)
        losses = arch.compute_task_losses(out, data['data_samples'])
        task = sum(pref[i] * losses[f'loss_{t}']
                   for i, t in enumerate(arch.tasks))
        task_grads.append(torch.autograd.grad(task, logits)[0])
        reg = algo.regularizer(logits.softmax(-1), pref, args.cost,
                               algo.task_affinity)
        reg_grads.append(torch.autograd.grad(sum(reg.values()), logits)[0])
    task_grads, reg_grads = torch.stack(task_grads), torch.stack(reg_grads)
    own = torch.eye(n, dtype=torch.bool)
    result = dict(
        temperature=tau, preference=args.preference, cost=args.cost,
        task_grad_norm=float(task_grads.flatten(1).norm(dim=1).mean()),
        task_mean_grad_norm=float(task_grads.mean(0).norm()),
        task_mean_grad_own_stream=float(task_grads.mean(0)[:, own].mean()),
        regulariser_grad_norm=float(reg_grads.flatten(1).norm(dim=1).mean()))
    for key, value in result.items():
        print(f'{key}: {value}')
    return result


def main(argv=None):
    run_main(run, parse_args(argv), 'cdma_gradient_balance.py')


if __name__ == '__main__':
    main()
