"""ONNX export of a static multi-task model, checked with onnxruntime.

The ONNX graph has one input, ``image``: a preprocessed batch ``(N, 3, H,
W)`` float32 (normalised with the config's mean / std, padded to the
preprocessor's ``size_divisor``; the batch axis is dynamic), and one output
per task, named by the task, in the model's task order: the raw head output
at input resolution (dense tasks ``(N, C_t, H, W)``: logits, depth, normals
before normalisation; classification tasks ``(N, C_t)`` logits).

``onnx`` and ``onnxruntime`` are optional: ``pip install -e .[deploy]``.
"""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

#: the ONNX opset written.
OPSET = 17
#: the largest ONNX-vs-PyTorch difference the check accepts.
TOLERANCE = 1e-4


class TaskOutputs(nn.Module):
    """``image -> tuple(head output per task)`` of a multi-task model (the
    form ONNX exports).

    Args:
        model: a multi-task model with ``_forward(inputs) -> {task:
            Tensor}``.
        tasks: the output order.
    """

    def __init__(self, model: nn.Module, tasks: Sequence[str]):
        super().__init__()
        self.model = model
        self.tasks = list(tasks)

    def forward(self, image: Tensor):
        outputs = self.model._forward(image)
        return tuple(outputs[t] for t in self.tasks)


def _require_onnx():
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f'ONNX export needs onnx and onnxruntime ({err}); install them '
            'with `pip install -e .[deploy]`') from None


def export_onnx(model: nn.Module, tasks: Sequence[str],
                input_shape: Sequence[int], path: str,
                check_input: Optional[Tensor] = None, seed: int = 0
                ) -> Dict[str, float]:
    """Write ``model`` to ``path`` as ONNX and compare onnxruntime's outputs
    with PyTorch's on a random input.

    Args:
        model: a static multi-task model (plain layers), eval mode.
        tasks: the task outputs, in order.
        input_shape: (H, W) of the export's example input.
        path: the ``.onnx`` file to write.
        check_input: the (N, 3, H, W) input of the check (default: a
            seeded standard-normal batch of 2, which also exercises the
            dynamic batch axis).
        seed: seed of the default check input.

    Returns:
        ``{task: max |onnxruntime - PyTorch|}``, plus ``'max'``.

    Raises:
        ImportError: onnx / onnxruntime are not installed.
        RuntimeError: a difference above :data:`TOLERANCE`.
    """
    _require_onnx()
    import onnx
    import onnxruntime as ort
    wrapper = TaskOutputs(model, tasks).eval()
    example = torch.zeros(1, 3, *[int(s) for s in input_shape])
    dynamic = {'image': {0: 'batch'}}
    dynamic.update({t: {0: 'batch'} for t in tasks})
    with torch.no_grad():
        torch.onnx.export(wrapper, (example, ), path, input_names=['image'],
                          output_names=list(tasks), dynamic_axes=dynamic,
                          opset_version=OPSET, dynamo=False)
    onnx.checker.check_model(onnx.load(path))
    if check_input is None:
        gen = torch.Generator().manual_seed(seed)
        check_input = torch.randn(2, 3, *[int(s) for s in input_shape],
                                  generator=gen)
    with torch.no_grad():
        expected = [o.numpy() for o in wrapper(check_input)]
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    got = session.run(list(tasks), {'image': check_input.numpy()})
    diffs = {t: float(np.abs(g - e).max())
             for t, g, e in zip(tasks, got, expected)}
    diffs['max'] = max(diffs.values())
    if diffs['max'] > TOLERANCE:
        raise RuntimeError(
            f'ONNX export {path}: onnxruntime differs from PyTorch by '
            f'{diffs["max"]:.3g} > {TOLERANCE:g} ({diffs})')
    return diffs


__all__ = ['export_onnx', 'TaskOutputs', 'OPSET', 'TOLERANCE']
