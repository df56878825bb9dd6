"""Write the export of one spec: static weights, a config to test them,
the spec, and optionally an ONNX file (checked with onnxruntime).

One function serves every method and both tools that export
(``tools/deploy.py --export`` and ``tools/export_subnet.py``).
"""
import os
import os.path as osp

import torch

from mmecmt.structures.arch_spec import ArchSpec
from mmecmt.utils.flops import count_macs
from mmecmt.utils.input_shape import format_shape

STATIC_WEIGHTS = 'static_model.pth'
STATIC_CONFIG = 'static_config.py'
SPEC_FILE = 'spec.json'
ONNX_FILE = 'model.onnx'


def write_export(deployer, spec: ArchSpec, out_dir: str,
                 onnx: bool = False, log_fn=None) -> dict:
    """Export ``spec`` of ``deployer`` into ``out_dir``.

    Writes ``static_model.pth`` (weights + meta), ``static_config.py``
    (``tools/test.py out_dir/static_config.py out_dir/static_model.pth``
    evaluates it; its ``work_dir`` is ``out_dir/test``, apart from the
    trained model's), ``spec.json``, and with ``onnx`` ``model.onnx``.

    Returns:
        The meta: spec, MACs (fvcore on the static model, equal to the
        analytic ``deployer.macs(spec)``), params, input shape, files, and
        ``onnx_max_abs_diff`` with ``onnx``.

    Raises:
        RuntimeError: the fvcore and analytic MACs differ (a bug).
    """
    os.makedirs(out_dir, exist_ok=True)
    static = deployer.export(spec).eval()
    shape = tuple(spec.input_shape)
    macs_static = count_macs(static, shape)
    macs_analytic = deployer.macs(spec)
    if macs_static != macs_analytic:
        raise RuntimeError(
            f'MACs disagree for {spec.to_dict()}: analytic {macs_analytic} vs'
            f' fvcore {macs_static} on the export')
    params = sum(p.numel() for p in static.parameters())
    meta = dict(spec=spec.to_dict(), macs=int(macs_static),
                input_shape=list(shape), params=int(params),
                checkpoints=[osp.abspath(c) for c in deployer.checkpoints])
    torch.save(dict(state_dict=static.state_dict(), meta=meta),
               osp.join(out_dir, STATIC_WEIGHTS))
    spec.to_json(osp.join(out_dir, SPEC_FILE))
    static_cfg = deployer.static_config(spec)
    static_cfg.work_dir = osp.join(out_dir, 'test')
    static_cfg.dump(osp.join(out_dir, STATIC_CONFIG))
    files = [STATIC_WEIGHTS, STATIC_CONFIG, SPEC_FILE]
    if onnx:
        from .onnx_export import export_onnx
        diffs = export_onnx(static, deployer.tasks, shape,
                            osp.join(out_dir, ONNX_FILE))
        meta['onnx_max_abs_diff'] = diffs
        files.append(ONNX_FILE)
    meta['files'] = files
    if log_fn is not None:
        text = (f'Exported {spec.method} spec to {out_dir}: '
                f'{params / 1e6:.3f} M params, {macs_static / 1e6:.2f} MMACs '
                f'at {format_shape(shape)} (fvcore == analytic)')
        if onnx:
            text += (f'; ONNX: max |onnxruntime - PyTorch| = '
                     f'{meta["onnx_max_abs_diff"]["max"]:.2e}')
        log_fn(text)
    return meta


__all__ = ['write_export', 'STATIC_WEIGHTS', 'STATIC_CONFIG', 'SPEC_FILE',
           'ONNX_FILE']
