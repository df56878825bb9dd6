"""Search the subnet of a trained ECMT supernet for a task preference and a
MACs budget.

    python tools/search.py CONFIG CHECKPOINT \
        --preference semseg=0.4,depth=0.3,normals=0.1,edge=0.1,sal=0.1 \
        --budget 0.5x [--out-dir DIR] \
        [--mode evolution|random|random_subnet|uniform] \
        [--rule rank_by_max|linear] [--min-utilization 0.9] \
        [--predictor-subnets 200] [--refine-rounds 0] [--refine-subnets 25]
        [--measure] [--export] [--seed 0]

* ``--preference``: a distribution over exactly the model's tasks.
* ``--budget``: MACs (``1.2G``, ``350M``) or a fraction of the largest
  subnet's MACs (``0.5x``), at the training crop size (``--shape``).
* Modes: ``evolution`` (default): decoder widths from the preference
  (:class:`PreferenceRule`), encoder widths by :class:`EvolutionSearcher`
  with the accuracy predictor's preference-weighted fitness; ``random``: the
  best of as many random subnets as the evolution evaluates (decoders fixed
  the same way); ``random_subnet``: one random subnet within the budget
  (decoders fixed the same way, no predictor); ``uniform``: the widest
  uniform-width subnet in the budget (no preference rule, no predictor).
* ``--min-utilization`` (all modes but uniform; default 0.9): a subnet using
  less of the budget is widened, one width step at a time within the
  budget, decoders by decreasing preference first, then encoder stages
  (:func:`~mmecmt.search.budget.fill_budget`); 0: the search alone, 1: all
  that fits.

Accuracy predictor: fitted on the max, the min and ``--predictor-subnets``
random subnets, each evaluated after BN recalibration on a held-out split of
the **training** data: the last 10 % of the training dataset's indices
(``--holdout-fraction``), with the test pipeline; BN calibration uses the
first 90 %. Its quality (Spearman / Kendall per task) is measured on a
held-out 20 % of the evaluated subnets, then it is refitted on all of them
and cached at ``<work_dir>/predictor_<sha256[:12] of the checkpoint>.npz``
(keyed by the checkpoint's sha256; a non-default size, seed or measurement
setting gets its own file, ``..._p<hash>.npz``, and reuses the subnets
already measured). The default build (202 subnets, two processes, BN
statistics of 8 subnets per pass) takes about 8 minutes on 2 cores
(``docs/results/predictor_build.md``); the tool says what it builds before
it starts and estimates the time after the first subnets.
``--refine-rounds R`` then refines it where the search looks
(:class:`~mmecmt.search.refinement.PredictorRefiner`): R rounds, each
answering ``--refine-subnets`` training requests of its own (preference ~
Dirichlet(0.5), budget uniform in the feasible range) with the default ECMT
search, measuring the picks on the same held-out split and refitting; the
predictor's quality on each round's picks before they are added is printed.
That predictor is cached apart (``predictor_<sha>_refine<R>x<K>.npz``); all
evaluated subnets are kept in ``<work_dir>/predictor_<sha>_subnets/``.

This tool is ECMT's research front end: the same request through
``tools/deploy.py`` (any method) gives the same subnet; both run on
:class:`~mmecmt.deploy.ECMTDeployer`.

Output (printed and written to ``DIR/search_result.json``, default
``DIR = <work_dir>/search``): the subnet (also ``DIR/subnet.json``, loadable
by ``tools/export_subnet.py --subnet``) and its spec (``DIR/spec.json``),
its analytic MACs at the stated input size, the predicted scores (higher is
better: rmse / mean angle negated), the search time; with ``--measure`` the
subnet's val metrics after BN recalibration; with ``--export`` the static
model exported to ``DIR/export`` (:func:`mmecmt.deploy.write_export`).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.logging import print_log  # noqa: E402

from mmecmt.search.budget import (DEFAULT_MIN_UTILIZATION,  # noqa: E402
                                  format_macs)
from mmecmt.search.preference import PREFERENCE_RULES  # noqa: E402
from mmecmt.search.session import SEARCH_MODES  # noqa: E402
from mmecmt.search.subnet_evaluator import HOLDOUT_FRACTION  # noqa: E402
from mmecmt.utils.tool_cli import (add_predictor_args,  # noqa: E402
                                   build_tool_deployer, cfg_options_dict,
                                   parse_request, predictor_kwargs, run_main,
                                   utilization_arg, write_result)


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
    parser.add_argument('--mode', default='evolution', choices=SEARCH_MODES)
    parser.add_argument('--min-utilization', type=utilization_arg,
                        default=DEFAULT_MIN_UTILIZATION,
                        help='all modes but uniform: widen the found subnet '
                        '(decoders by preference, then the encoder) until it '
                        'uses this fraction of the budget; 0: the search '
                        'alone, 1: all that fits (default: %(default)s)')
    parser.add_argument('--rule', default='rank_by_max',
                        choices=PREFERENCE_RULES,
                        help='preference -> decoder widths rule')
    add_predictor_args(parser)
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
    args.cfg_dict = cfg_options_dict(parser, args.cfg_options)
    return args


def run(args):
    kwargs = predictor_kwargs(args)
    _, deployer = build_tool_deployer(
        args.config, [args.checkpoint], args.cfg_dict, args.work_dir,
        args.shape, type='ECMTDeployer', mode=args.mode, rule=args.rule,
        population=args.population, generations=args.generations,
        seed=args.seed, min_utilization=args.min_utilization,
        predictor_subnets=kwargs.pop('num_subnets'),
        predictor_workers=kwargs.pop('num_workers', None),
        refine_rounds=kwargs.pop('refine_rounds'),
        refine_subnets=kwargs.pop('refine_subnets'),
        holdout_fraction=args.holdout_fraction,
        calib_images=args.calib_images)
    plan = parse_request(deployer, args.preference, args.budget)
    spec = deployer.subnet(plan.spec.arch)
    min_macs, max_macs = deployer.macs_range()
    info = plan.info
    result = dict(
        mode=args.mode, preference=plan.preference,
        rule=None if args.mode == 'uniform' else args.rule,
        min_utilization=None if args.mode == 'uniform' else
        args.min_utilization,
        budget=plan.budget, budget_text=args.budget,
        above_range=plan.above_range, note=plan.note,
        input_shape=list(deployer.input_shape), subnet=spec.to_dict(),
        spec=plan.spec.to_dict(), macs=plan.macs, min_macs=min_macs,
        max_macs=max_macs, fitness=info.get('fitness'),
        fitness_evaluations=info.get('fitness_evaluations', 0),
        decoder_scale=info.get('decoder_scale', 1.0),
        search_seconds=plan.seconds,
        checkpoint=osp.abspath(args.checkpoint),
        predictor=deployer.predictor_info)
    if 'predicted_scores' in info:
        result['predicted_scores'] = info['predicted_scores']
    if plan.note:
        print_log(plan.note, logger='current')
    print_log(f'Search ({args.mode}) took {plan.seconds:.2f} s: subnet '
              f'{spec.to_dict()}, {format_macs(plan.macs)} <= budget '
              f'{format_macs(plan.budget)} at {deployer.input_shape[0]}x'
              f'{deployer.input_shape[1]}', logger='current')
    if args.measure:
        result['measured'], _ = deployer.measure(plan.spec)
        print_log(f'Measured val metrics: {result["measured"]}',
                  logger='current')

    out_dir = args.out_dir or osp.join(deployer.cfg.work_dir, 'search')
    os.makedirs(out_dir, exist_ok=True)
    spec.to_json(osp.join(out_dir, 'subnet.json'))
    plan.spec.to_json(osp.join(out_dir, 'spec.json'))
    if args.export:
        from mmecmt.deploy import write_export
        export_dir = osp.join(out_dir, 'export')
        result['export'] = write_export(
            deployer, plan.spec, export_dir,
            log_fn=lambda m: print_log(m, logger='current'))
        result['export_dir'] = export_dir
    return write_result(result, osp.join(out_dir, 'search_result.json'))


def main(argv=None):
    run_main(run, parse_args(argv), 'search.py')


if __name__ == '__main__':
    main()
