"""Count the MACs and parameters of a config's model (fvcore).

fvcore counts one multiply-add as one "flop": the figures printed here are
MACs (multiply-accumulate operations), measured on ``model._forward`` (the
raw outputs of every task head) for one zero image, in eval mode.
Element-wise operations (activations, additions) are not counted; the tool
lists them.

Replaces mmseg's tools/analysis_tools/get_flops.py, which is broken on
mmengine 0.10.7.

Examples:
    python tools/analysis_tools/get_flops.py CONFIG --shape 480 640
    python tools/analysis_tools/get_flops.py CONFIG --shape 512 \\
        --cfg-options model.backbone.widen_factor=0.5
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.model import revert_sync_batchnorm  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmecmt.utils import register_all_modules  # noqa: E402
from mmecmt.utils.flops import (count_macs, flop_count_analysis,  # noqa: E402
                                full_input_shape)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Count the MACs (fvcore "flops") and parameters of a '
        'model')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[512, 512],
        help='input image size: H W, or one value for a square image '
        '(default 512 512)')
    parser.add_argument(
        '--max-depth',
        type=int,
        default=3,
        help='depth of the per-module table (default 3)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs')
    args = parser.parse_args(argv)
    if len(args.shape) == 1:
        args.shape = [args.shape[0]] * 2
    if len(args.shape) != 2:
        parser.error(f'--shape takes H W or one size, got {args.shape}')
    return args


def build_model(config: str, cfg_options=None) -> torch.nn.Module:
    """Build ``cfg.model`` (eval mode, plain BN instead of SyncBN); of a
    training algorithm (e.g. ECMT's ``SandwichAlgorithm``), its architecture
    (the largest subnet of a supernet), so the rows name its modules."""
    from mmecmt.models.algorithms import architecture_of
    from mmecmt.registry import MODELS

    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config!r} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'config {config!r} has no "model"')
    init_default_scope(cfg.get('default_scope', 'mmecmt'))
    model = revert_sync_batchnorm(architecture_of(MODELS.build(cfg.model)))
    return model.eval()


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    model = build_model(args.config, args.cfg_options)
    input_shape = full_input_shape(args.shape)

    macs = count_macs(model, input_shape)
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        analysis = flop_count_analysis(model, input_shape)
        from fvcore.nn import flop_count_table
        table = flop_count_table(analysis, max_depth=args.max_depth)
        uncounted = dict(analysis.unsupported_ops())

    line = '=' * 60
    print(line)
    print(f'Input shape: {input_shape}')
    print(f'MACs: {macs / 1e9:.4f} G ({macs} multiply-accumulates; '
          'fvcore reports them as "flops")')
    print(f'Params: {params / 1e6:.4f} M ({params})')
    print(line)
    print(table)
    if uncounted:
        print('Operators not counted (element-wise or unknown to fvcore): ' +
              ', '.join(f'{op} x{n}' for op, n in sorted(uncounted.items())))


if __name__ == '__main__':
    main()
