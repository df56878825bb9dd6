"""Train InterroGate budgets from nothing: the missing single-task models
and multi-task baseline the branches start from, then every budget,
skipping what is already trained.

    python tools/train_interrogate.py configs/interrogate/synthscenes_mbv2_150m.py \
        configs/interrogate/synthscenes_mbv2_200m.py \
        configs/interrogate/synthscenes_mbv2_250m.py \
        [--dry-run] [--cfg-options KEY=VALUE ...]

Each CONFIG is one trained budget. Its model names the checkpoints its
branches load (``task_checkpoints``, ``shared_checkpoint``) and the config
``reference_configs`` names what trains each (``{task: config, 'shared':
config}``). A step is skipped when its checkpoint exists; each missing one
runs ``tools/train.py`` in a subprocess (its log in its work dir), and the
wall time of every step is printed and written to
``<work_dirs>/interrogate_pipeline_times.json`` (next to the first budget's
work dir). ``--cfg-options`` apply to the budgets (not to the references).
``--dry-run`` prints the plan only. Bad input (a reference without a config,
a reference config that writes another checkpoint than the one loaded, a
step that ends without its checkpoint) is one line on stderr, exit code 2.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.config import Config, DictAction  # noqa: E402

from mmecmt.utils.pipeline import final_checkpoint, run_steps  # noqa: E402
from mmecmt.utils.tool_cli import UserError, run_main  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train InterroGate budgets (and the single-task / '
        'multi-task models their branches start from), skipping the steps '
        'already done')
    parser.add_argument('configs', nargs='+', metavar='CONFIG',
                        help='InterroGate configs, one per budget')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the steps and exit')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='overrides for every budget')
    return parser.parse_args(argv)


def reference_steps(cfg, config: str):
    """``[(name, config, {}, checkpoint)]`` of the models a budget's
    branches load."""
    model = cfg.model
    if model.get('type') != 'GatedMultiTaskNet':
        raise UserError(f'{config} is not an InterroGate config (model type '
                        f'{model.get("type")!r})')
    wanted = dict(model.get('task_checkpoints') or {})
    if model.get('shared_checkpoint'):
        wanted['shared'] = model.shared_checkpoint
    trainers = dict(cfg.get('reference_configs') or {})
    steps = []
    for name, ckpt in wanted.items():
        label = ('multi-task baseline' if name == 'shared'
                 else f'single-task {name}')
        trainer = trainers.get(name)
        if trainer is None:
            steps.append((label, None, {}, ckpt))
            continue
        if not osp.isfile(trainer):
            raise UserError(f'{config}: reference config {trainer} does not '
                            'exist')
        produced = final_checkpoint(Config.fromfile(trainer))
        if osp.normpath(produced) != osp.normpath(ckpt):
            raise UserError(f'{config}: training {trainer} writes '
                            f'{produced}, but the model loads {ckpt}')
        steps.append((label, trainer, {}, ckpt))
    return steps


def plan_steps(configs, cfg_options: dict):
    """``([(name, config, options, checkpoint)], times file)``: the
    references (each once), then the budgets."""
    steps, seen, budgets = [], set(), []
    for config in configs:
        if not osp.isfile(config):
            raise UserError(f'config {config} does not exist')
        cfg = Config.fromfile(config)
        cfg.merge_from_dict(cfg_options)
        for step in reference_steps(cfg, config):
            if osp.normpath(step[3]) not in seen:
                seen.add(osp.normpath(step[3]))
                steps.append(step)
        budget = cfg.model.get('sparsity', {}).get('budget')
        budgets.append((f'InterroGate {budget}', config, cfg_options,
                        final_checkpoint(cfg)))
        if len(budgets) == 1:
            first_dir = cfg.get('work_dir') or 'work_dirs/x'
    times = osp.join(osp.dirname(first_dir),
                     'interrogate_pipeline_times.json')
    return steps + budgets, times


def run(args) -> dict:
    steps, times = plan_steps(args.configs, args.cfg_options)
    return run_steps(steps, times, args.dry_run)


def main(argv=None):
    run_main(run, parse_args(argv), 'train_interrogate.py')


if __name__ == '__main__':
    main()
