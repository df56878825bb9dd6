"""Does a trained CDMA controller answer its inputs?

    python tools/analysis_tools/cdma_controller.py CONFIG CHECKPOINT \
        [--num-preferences 20] [--costs 11] [--seed 0] [--out-dir DIR] \
        [--shape H W] [--cfg-options ...]

Asks the edge hypernet for its most likely tree at every evaluation
preference (``--num-preferences`` simplex samples + one-hot per task +
uniform, the preferences of ``tools/evaluate_control.py``) and every c of
an evenly spaced grid over [0, 1] (``--costs`` points), and reports:

- the mean MACs over the preferences at every c and the Spearman
  correlation between c and it (a controller that answers c: near -1);
- per task, for its one-hot and for the uniform preference, the node level
  from which its path is its own and how many levels of its path run its
  own stream (means over the c grid).

Writes ``DIR/cdma_controller.json``, ``DIR/cdma_controller.md`` and
``DIR/cdma_controller.png`` (default DIR: ``<work_dir>/controller``).
Bad input is reported in one line with exit code 2.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmecmt.utils.json_io import dump_json  # noqa: E402
from mmecmt.utils.tool_cli import (UserError, build_tool_deployer,  # noqa
                                   cfg_options_dict, int_at_least, run_main)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Trees of a trained CDMA controller over preferences '
        'and the cost knob c')
    parser.add_argument('config', help='the CDMA config')
    parser.add_argument('checkpoint', help='its stage-1 or stage-2 '
                        'checkpoint')
    parser.add_argument('--num-preferences', type=int_at_least(0),
                        default=20, help='simplex samples (one-hot and '
                        'uniform preferences are added)')
    parser.add_argument('--costs', type=int_at_least(2), default=11,
                        help='points of the c grid over [0, 1]')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-dir', help='output folder (default: '
                        '<work_dir>/controller)')
    parser.add_argument('--work-dir')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size of the MACs count')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='config overrides, KEY=VALUE')
    args = parser.parse_args(argv)
    args.cfg_options = cfg_options_dict(parser, args.cfg_options)
    return args


def run(args) -> dict:
    import numpy as np

    from mmecmt.deploy import CDMADeployer
    from mmecmt.evaluation.control import (format_knob_response,
                                           knob_response, plot_knob_response)
    from mmecmt.structures.request import evaluation_preferences
    cfg, deployer = build_tool_deployer(
        args.config, [args.checkpoint], args.cfg_options,
        work_dir=args.work_dir, shape=args.shape)
    if not isinstance(deployer, CDMADeployer):
        raise UserError(f'{args.config} is not a CDMA config (its deployer '
                        f'is {type(deployer).__name__})')
    tasks = deployer.tasks
    prefs = evaluation_preferences(tasks, args.num_preferences, args.seed)
    costs = np.linspace(0.0, 1.0, args.costs)
    print(f'{deployer.describe()}\n{len(prefs)} preferences x '
          f'{len(costs)} values of c', flush=True)
    result = knob_response(deployer.answer, tasks, prefs, costs)
    # one unit for every figure, in which the smallest mean is >= 1
    low = min(result['mean_macs'])
    prefix, scale = next(((p, f) for p, f in (('G', 1e9), ('M', 1e6),
                                               ('K', 1e3)) if low >= f),
                         ('', 1.0))
    unit = f'{prefix}MACs'
    out_dir = args.out_dir or osp.join(cfg.work_dir, 'controller')
    os.makedirs(out_dir, exist_ok=True)
    lines = [f'# CDMA controller: {args.checkpoint}', '',
             f'{deployer.describe()}', ''] + format_knob_response(
                 result, scale, unit)
    with open(osp.join(out_dir, 'cdma_controller.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    plot_knob_response(result, osp.join(out_dir, 'cdma_controller.png'),
                       scale, unit)
    print('\n'.join(lines[4:]))
    result.update(checkpoint=args.checkpoint, input_shape=list(
        deployer.input_shape), preferences=prefs)
    dump_json(result, osp.join(out_dir, 'cdma_controller.json'))
    print(f'written to {out_dir}')
    return result


def main(argv=None):
    run_main(run, parse_args(argv), 'cdma_controller.py')


if __name__ == '__main__':
    main()
