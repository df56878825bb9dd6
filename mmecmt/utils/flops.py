"""Measure a model's multiply-accumulate operations (MACs) with fvcore.

fvcore counts one fused multiply-add as one "flop", so its totals are MACs:
a ``Conv2d(C_in, C_out, k)`` producing an (N, C_out, H, W) output counts
``N * C_out * H * W * C_in / groups * k * k`` (the bias is not counted), a
``Linear(I, O)`` on N rows counts ``N * I * O``. fvcore also adds small
per-element counts: batch norm in eval mode 2 per input element (1 without
affine parameters), bilinear upsampling 4 per output element, adaptive average
pooling 1 per input element. Element-wise operations (activations, additions)
are not counted (see ``FlopCountAnalysis.unsupported_ops()``).
"""
from contextlib import contextmanager
from typing import Sequence, Tuple

import torch
from torch import nn


@contextmanager
def _forward_is_forward_tensors(model: nn.Module):
    """While active, calling ``model(x)`` runs ``model._forward(x)`` (the raw
    head outputs of an mmengine ``BaseModel``), so that fvcore's trace is
    rooted at the model itself. Plain modules are left as they are."""
    if not hasattr(model, '_forward'):
        yield
        return
    previous = model.__dict__.get('forward')
    model.forward = model._forward
    try:
        yield
    finally:
        del model.forward
        if previous is not None:
            model.forward = previous


def full_input_shape(input_shape: Sequence[int]) -> Tuple[int, int, int, int]:
    """(H, W) -> (1, 3, H, W); (C, H, W) -> (1, C, H, W); (N, C, H, W) kept."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 2:
        shape = (1, 3) + shape
    elif len(shape) == 3:
        shape = (1, ) + shape
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError(
            'input_shape must be (H, W), (C, H, W) or (N, C, H, W) with '
            f'positive sizes, got {tuple(input_shape)}')
    return shape


def zero_input(model: nn.Module, input_shape: Sequence[int]) -> torch.Tensor:
    """A zero image batch of ``input_shape`` on ``model``'s device."""
    inputs = torch.zeros(full_input_shape(input_shape))
    device = next((p.device for p in model.parameters()), None)
    return inputs if device is None else inputs.to(device)


def flop_count_analysis(model: nn.Module, input_shape: Sequence[int]):
    """An fvcore ``FlopCountAnalysis`` of the model on a zero input, already
    run (its results are cached, so ``total()``, ``by_module()`` and
    ``flop_count_table`` do not trace again).

    Warnings about uncounted operators are switched off; ask the analysis
    for ``unsupported_ops()``. Call it in eval mode under ``torch.no_grad()``
    (as :func:`count_macs` does).

    Args:
        model: an mmengine ``BaseModel`` (its ``_forward`` is analysed) or
            any module taking one image tensor.
        input_shape: see :func:`full_input_shape`.
    """
    from fvcore.nn import FlopCountAnalysis

    inputs = zero_input(model, input_shape)
    analysis = FlopCountAnalysis(model, (inputs, ))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    with _forward_is_forward_tensors(model):
        analysis.total()  # trace now, while forward is _forward
    return analysis


def count_module_macs(module: nn.Module, inputs: Tuple) -> int:
    """MACs of ``module(*inputs)`` (fvcore), in eval mode without gradients
    (the training mode is restored): for a part of a network (a block, a
    head on its feature tuple) run on the inputs it gets in the network."""
    from fvcore.nn import FlopCountAnalysis

    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            analysis = FlopCountAnalysis(module, tuple(inputs))
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            return int(analysis.total())
    finally:
        module.train(was_training)


class _Call(nn.Module):
    """A callable as a module (fvcore traces modules); ``owner``, the module
    whose parameters the callable uses, is registered so that the trace
    sees them as parameters."""

    def __init__(self, fn, owner: nn.Module):
        super().__init__()
        self.fn = fn
        self.owner = owner
        self.training = owner.training

    def forward(self, *args):
        return self.fn(*args)


def count_call_macs(fn, inputs: Tuple, owner: nn.Module) -> int:
    """MACs of ``fn(*inputs)`` (e.g. a head with its resize,
    ``lambda feats: model.decode_head(task, feats, size)``), run with
    ``owner`` (the module holding its parameters) in eval mode."""
    return count_module_macs(_Call(fn, owner), inputs)


def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Total MACs of one forward pass on a zero input of ``input_shape``.

    The model is analysed in eval mode without gradients and put back into
    its previous training mode afterwards.

    Args:
        model: an mmengine ``BaseModel`` (its ``_forward`` is counted) or any
            module taking one image tensor.
        input_shape: (H, W) for one 3-channel image, (C, H, W) or
            (N, C, H, W).

    Returns:
        MACs as an exact integer (fvcore's "flops").
    """
    inputs = zero_input(model, input_shape)
    with _forward_is_forward_tensors(model):
        return count_module_macs(model, (inputs, ))
