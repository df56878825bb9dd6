"""Export one network of a trained model as a static model (and ONNX).

    python tools/export_subnet.py CONFIG CHECKPOINT [CHECKPOINT ...] \
        --subnet SUBNET.json|SPEC.json|max|min|random:<seed> \
        [--out-dir DIR] [--onnx] [--calib-images N] [--shape H W] \
        [--cfg-options KEY=VALUE ...]

``--subnet`` is an ECMT width spec (``{"encoder": {stage: ratio},
"decoders": {task: ratio}}``, e.g. ``subnet.json`` written by
``tools/search.py``), ``max`` / ``min`` / ``random:<seed>`` of the
supernet, or an architecture spec of any method (``spec.json`` written by
``tools/deploy.py``; its checkpoint sha256 must match). The export is
:func:`mmecmt.deploy.write_export`, the same as ``tools/deploy.py
--export``: an ECMT subnet is BN-recalibrated on the training set, then
every dynamic layer becomes a plain ``nn`` layer. Written to DIR (default
``<work_dir>/export_<name>``):

    static_model.pth   the static model's weights (+ meta: spec, MACs)
    static_config.py   its config (work_dir DIR/test), so that
                       ``tools/test.py DIR/static_config.py
                       DIR/static_model.pth`` evaluates it
    spec.json          the exported spec
    model.onnx         with --onnx (checked with onnxruntime)

The tool checks that fvcore's MACs of the export equal the analytic figure.
Bad input (a malformed or missing subnet file, an invalid width, a missing
or mismatched checkpoint) is one line on stderr with exit code 2.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.logging import print_log  # noqa: E402

from mmecmt.deploy import write_export  # noqa: E402
from mmecmt.engine.loops.subnet_val_loop import (  # noqa: E402
    parse_subnet_entry, resolve_subnet)
from mmecmt.structures.arch_spec import SPEC_KEYS, ArchSpec  # noqa: E402
from mmecmt.utils.json_io import read_json_file  # noqa: E402
from mmecmt.utils.tool_cli import (UserError,  # noqa: E402
                                   build_tool_deployer, cfg_options_dict,
                                   run_main)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export a network of a trained model as a static model')
    parser.add_argument('config', help='config of the trained model')
    parser.add_argument('checkpoints', nargs='+', metavar='CHECKPOINT',
                        help='its checkpoint(s)')
    parser.add_argument(
        '--subnet', required=True,
        help='subnet JSON file (ECMT width spec), spec JSON file (any '
        'method), "max", "min" or "random:<seed>"')
    parser.add_argument('--out-dir', help='output directory')
    parser.add_argument('--onnx', action='store_true',
                        help='also write model.onnx, checked with '
                        'onnxruntime')
    parser.add_argument(
        '--calib-images', type=int, default=None,
        help='ECMT: training images for BN recalibration (default: the '
        "config's val_cfg.calibrate_bn.num_images, else 1024)")
    parser.add_argument(
        '--shape', type=int, nargs=2, default=None, metavar=('H', 'W'),
        help='input size of the MACs count before padding (default: the '
        'training crop)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='override settings in the config (key=value)')
    args = parser.parse_args(argv)
    args.cfg_dict = cfg_options_dict(parser, args.cfg_options)
    return args


def _read_spec_file(path: str):
    """An :class:`ArchSpec` when ``path`` holds one, else None."""
    if not osp.isfile(path):
        return None
    try:
        data = read_json_file(path, 'subnet file')
    except ValueError as err:
        raise UserError(f'--subnet: {err}') from None
    if isinstance(data, dict) and set(data) == set(SPEC_KEYS):
        try:
            return ArchSpec.from_dict(data, source=path)
        except ValueError as err:
            raise UserError(f'--subnet: {err}') from None
    return None


def run(args):
    spec = _read_spec_file(args.subnet)
    options = {}
    if spec is None or spec.method == 'ECMT':
        options = dict(type='ECMTDeployer', mode='uniform',
                       calib_images=args.calib_images)
    cfg, deployer = build_tool_deployer(args.config, args.checkpoints,
                                        args.cfg_dict, None, args.shape,
                                        **options)
    if spec is not None:
        name = osp.splitext(osp.basename(args.subnet))[0]
        try:
            deployer.check_spec(spec)
        except ValueError as err:
            raise UserError(f'--subnet {args.subnet}: {err}') from None
    else:
        try:
            name, source = parse_subnet_entry(args.subnet, 0)
            subnet = resolve_subnet(source, deployer.search_space)
        except (ValueError, FileNotFoundError) as err:
            raise UserError(f'--subnet: {err}') from None
        spec = deployer.spec(subnet.to_dict())
    out_dir = args.out_dir or osp.join(cfg.work_dir, f'export_{name}')
    meta = write_export(deployer, spec, out_dir, onnx=args.onnx,
                        log_fn=lambda m: print_log(m, logger='current'))
    print(json.dumps(meta, indent=2))
    return meta


def main(argv=None):
    run_main(run, parse_args(argv), 'export_subnet.py')


if __name__ == '__main__':
    main()
