"""Answer one deployment request with any method: a task preference and a
MACs budget give a network of the trained model, its exact MACs, and on
request its val metrics, a static export and an ONNX file.

    python tools/deploy.py CONFIG CHECKPOINT [CHECKPOINT ...] \
        --preference semseg=0.4,depth=0.3,normals=0.1,edge=0.1,sal=0.1 \
        --budget 0.5x [--out-dir DIR] [--export] [--onnx] [--measure] \
        [--method DEPLOYER] [--shape H W] [--work-dir DIR] \
        [--cfg-options KEY=VALUE ...]

The method is the config's (``deploy = dict(type=...)``; by default a
slimmable supernet is deployed by ECMT and any other model as a family of
trained static models, one per CHECKPOINT; see ``docs/deploy.md``).

* ``--preference``: a distribution over exactly the model's tasks.
* ``--budget``: MACs (``120M``, ``1.2G``, ``350000000``) or a fraction of the
  largest network (``0.5x``), counted at the padded input size the network
  runs (the training crop padded to the preprocessor's divisor, or
  ``--shape``; printed with every figure). Below the feasible range: an
  error naming the range. Above it: the largest network, and the output
  says so (``above_range``).

Output (printed, and written to DIR, default ``<work_dir>/deploy``):
``deploy_result.json`` (the spec, its MACs, the budget, the preference,
``above_range`` and its note, the plan time, the method's own facts; with
``--measure`` the val metrics) and ``spec.json``. ``--export`` writes
``DIR/export/`` (``static_model.pth``, ``static_config.py``, ``spec.json``;
``tools/test.py DIR/export/static_config.py DIR/export/static_model.pth``
evaluates it in its own work dir); ``--onnx`` (implies ``--export``) adds
``model.onnx`` and prints the largest onnxruntime-vs-PyTorch difference.

The first ECMT request on a new checkpoint builds the accuracy predictor
(see ``docs/deploy.md``); it is cached in the work dir by the checkpoint's
sha256, and later requests take well under a second.

Bad input (a preference that is not a distribution, an unknown task, an
infeasible budget, a missing, unreadable or mismatched checkpoint) is
reported in one line on stderr with exit code 2.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.logging import print_log  # noqa: E402

from mmecmt.utils.tool_cli import (build_tool_deployer,  # noqa: E402
                                   cfg_options_dict, parse_request,
                                   run_main, write_result)

RESULT_FILE = 'deploy_result.json'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Deploy one (preference, budget) request of a trained '
        'model (any method)')
    parser.add_argument('config', help='config of the trained model')
    parser.add_argument('checkpoints', nargs='+', metavar='CHECKPOINT',
                        help='its checkpoint (several: a family of trained '
                        'static models of this config)')
    parser.add_argument('--preference', required=True,
                        help='task=weight,... summing to 1 over all tasks')
    parser.add_argument('--budget', required=True,
                        help='MACs ("120M", "1.2G") or a fraction of the '
                        'largest network ("0.5x")')
    parser.add_argument('--out-dir', help='output directory (default: '
                        '<work_dir>/deploy)')
    parser.add_argument('--export', action='store_true',
                        help='write the static model to OUT_DIR/export')
    parser.add_argument('--onnx', action='store_true',
                        help='also write OUT_DIR/export/model.onnx and check '
                        'it with onnxruntime (implies --export)')
    parser.add_argument('--measure', action='store_true',
                        help='measure the network on the val set')
    parser.add_argument('--method', default=None,
                        help='the deployer (default: the config\'s deploy '
                        'entry, else ECMTDeployer for a slimmable supernet '
                        'and StaticFamily for any other model)')
    parser.add_argument('--shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help='input size of the MACs count before padding '
                        '(default: the training crop)')
    parser.add_argument('--work-dir', help='override the config work_dir '
                        '(holds the caches)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='override settings in the config (key=value)')
    args = parser.parse_args(argv)
    args.cfg_dict = cfg_options_dict(parser, args.cfg_options)
    args.export = args.export or args.onnx
    return args


def run(args):
    options = dict(type=args.method) if args.method else {}
    cfg, deployer = build_tool_deployer(args.config, args.checkpoints,
                                        args.cfg_dict, args.work_dir,
                                        args.shape, **options)
    print_log(deployer.describe(), logger='current')
    plan = parse_request(deployer, args.preference, args.budget)
    if plan.note:
        print_log(plan.note, logger='current')
    result = plan.to_dict()
    result.update(budget_text=args.budget, config=args.config,
                  checkpoints=[osp.abspath(c) for c in args.checkpoints])
    lo, hi = deployer.macs_range()
    result.update(min_macs=lo, max_macs=hi)
    out_dir = args.out_dir or osp.join(cfg.work_dir, 'deploy')
    os.makedirs(out_dir, exist_ok=True)
    plan.spec.to_json(osp.join(out_dir, 'spec.json'))
    print_log(f'{deployer.method}: {plan.macs / 1e6:.2f} MMACs at '
              f'{plan.spec.input_shape[0]}x{plan.spec.input_shape[1]} <= '
              f'budget {plan.budget / 1e6:.2f} MMACs, planned in '
              f'{plan.seconds:.3f} s: {json.dumps(plan.spec.arch)}',
              logger='current')
    if args.measure:
        metrics, _ = deployer.measure(plan.spec)
        result['measured'] = metrics
        print_log('Measured val metrics: ' + ', '.join(
            f'{k}={v:.4g}' for k, v in metrics.items()
            if isinstance(v, (int, float))), logger='current')
    if args.export:
        from mmecmt.deploy import write_export
        result['export'] = write_export(
            deployer, plan.spec, osp.join(out_dir, 'export'),
            onnx=args.onnx, log_fn=lambda m: print_log(m, logger='current'))
        result['export_dir'] = osp.join(out_dir, 'export')
    return write_result(result, osp.join(out_dir, RESULT_FILE))


def main(argv=None):
    run_main(run, parse_args(argv), 'deploy.py')


if __name__ == '__main__':
    main()
