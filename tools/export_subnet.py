"""Export one subnet of a trained ECMT supernet as a static model.

    python tools/export_subnet.py CONFIG CHECKPOINT --subnet SUBNET.json \
        [--out-dir DIR] [--calib-images N] [--shape H W]

SUBNET.json is a ``SubnetSpec`` (``{"encoder": {stage: ratio}, "decoders":
{task: ratio}}``), or ``max`` / ``min``. The subnet's BN statistics are
recalibrated on N training images, then every dynamic layer is replaced by a
plain ``nn`` layer holding the sliced weights. Written to DIR (default
``<work_dir>/export_<subnet name>``):

    static_model.pth   the static model's weights (+ meta: subnet, MACs)
    static_config.py   the config: ``model=dict(type='StaticSubnet', ...)``
                       and plain val/test loops, so
                       ``tools/test.py DIR/static_config.py DIR/static_model.pth``
                       evaluates it
    subnet.json        the exported subnet
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner, load_checkpoint  # noqa: E402

from mmecmt.models.slimmable.bn_calibration import (  # noqa: E402
    BNCalibrator, calibration_dataloader_cfg)
from mmecmt.engine.loops.subnet_val_loop import (  # noqa: E402
    parse_subnet_entry, resolve_subnet)
from mmecmt.models.slimmable import export_static  # noqa: E402
from mmecmt.registry import MODELS  # noqa: E402
from mmecmt.search.macs import MacsModel  # noqa: E402
from mmecmt.utils import register_all_modules  # noqa: E402
from mmecmt.utils.flops import count_macs  # noqa: E402
from mmecmt.utils.runner_setup import load_tool_config  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(
        description='Export a subnet of a supernet as a static model')
    parser.add_argument('config', help='config of the supernet')
    parser.add_argument('checkpoint', help='trained supernet checkpoint')
    parser.add_argument(
        '--subnet', required=True,
        help='subnet JSON file (SubnetSpec), "max", "min" or '
        '"random:<seed>"')
    parser.add_argument('--out-dir', help='output directory')
    parser.add_argument(
        '--calib-images', type=int, default=None,
        help='training images for BN recalibration (default: the '
        "config's val_cfg.calibrate_bn.num_images, else 1024)")
    parser.add_argument(
        '--shape', type=int, nargs=2, default=None, metavar=('H', 'W'),
        help='input size for the MACs count (default: the training crop)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config')
    return parser.parse_args()


def static_config(cfg, spec, example_shape):
    """The supernet config turned into the static subnet's config."""
    static = cfg.copy()
    static.model = dict(type='StaticSubnet', supernet=cfg.model,
                        subnet=spec.to_dict(),
                        example_shape=list(example_shape))
    static.val_cfg = dict(type='ValLoop')
    static.test_cfg = dict(type='TestLoop')
    for key in ('model_wrapper_cfg', 'load_from', 'resume'):
        static.pop(key, None)
    static.custom_hooks = [
        h for h in static.get('custom_hooks', []) if h['type'] != 'CIKDHook'
    ]
    return static


def main():
    args = parse_args()
    register_all_modules()
    cfg = load_tool_config(args.config, args.cfg_options)
    model = MODELS.build(cfg.model)
    if not callable(getattr(model, 'set_subnet', None)):
        raise TypeError(f'{args.config}: {type(model).__name__} is not a '
                        'slimmable supernet (no set_subnet)')
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    name, source = parse_subnet_entry(args.subnet, 0)
    spec = resolve_subnet(source, model.search_space)
    out_dir = args.out_dir or osp.join(cfg.work_dir, f'export_{name}')
    os.makedirs(out_dir, exist_ok=True)

    num_images = args.calib_images or cfg.get('val_cfg', {}).get(
        'calibrate_bn', {}).get('num_images', 1024)
    loader = Runner.build_dataloader(
        calibration_dataloader_cfg(cfg.train_dataloader),
        seed=cfg.get('randomness', {}).get('seed', 0))
    print_log(f'Recalibrating BN of subnet {spec.to_dict()} on '
              f'{num_images} training images', logger='current')
    BNCalibrator(model, loader, num_images=num_images).calibrate(spec)
    model.eval()

    shape = tuple(args.shape) if args.shape else tuple(
        next(iter(loader))['inputs'][0].shape[-2:])
    static = export_static(model, spec,
                           example_input=torch.zeros(2, 3, *shape)).eval()
    macs_analytic = MacsModel(model, input_shape=shape).macs(spec)
    macs_static = count_macs(static, shape)
    params = sum(p.numel() for p in static.parameters())
    meta = dict(subnet=spec.to_dict(), macs=macs_static,
                input_shape=list(shape), params=params,
                supernet_checkpoint=osp.abspath(args.checkpoint))
    torch.save(dict(state_dict=static.state_dict(), meta=meta),
               osp.join(out_dir, 'static_model.pth'))
    spec.to_json(osp.join(out_dir, 'subnet.json'))
    static_config(cfg, spec, shape).dump(
        osp.join(out_dir, 'static_config.py'))
    print_log(
        f'Exported subnet {name!r} to {out_dir}: {params / 1e6:.3f} M '
        f'params, {macs_static / 1e9:.4f} GMACs at {shape[0]}x{shape[1]} '
        f'(fvcore; analytic MacsModel: {macs_analytic / 1e9:.4f} G)',
        logger='current')
    if macs_analytic != macs_static:
        raise RuntimeError(
            f'MACs disagree: analytic {macs_analytic} vs fvcore '
            f'{macs_static}')


if __name__ == '__main__':
    main()
