"""Turning a built static network into a slimmable one.

Two pieces, both used by the slimmable backbones and heads:

* the **width rule** :func:`scale_channels`: a layer with ``full`` output
  channels runs ``min(full, make_divisible(full * ratio, divisor))`` channels
  at width ratio ``ratio`` in (0, 1];
* the **module surgery** :func:`convert_to_dynamic_`: every ``nn.Conv2d`` /
  ``nn.BatchNorm2d`` / ``nn.Linear`` below a module is replaced, in place and
  under the same attribute name, by its dynamic twin
  (:class:`DynamicConv2d`, :class:`DynamicBatchNorm2d`,
  :class:`DynamicLinear`) that shares the original parameter and buffer
  tensors. State-dict keys, initialisation, ``requires_grad`` flags and
  train/eval modes are therefore unchanged, and at full width the forward is
  the static one (the dynamic ops slice views of the full weights).
"""
import numbers
from typing import Dict, Type

from torch import nn
from torch.nn.modules.batchnorm import _NormBase
from torch.nn.modules.conv import _ConvNd

from .dynamic_ops import (DYNAMIC_OPS, DynamicBatchNorm2d, DynamicConv2d,
                          DynamicLinear, make_divisible)

#: exact static type -> dynamic twin. Subclasses of these (e.g.
#: ``nn.SyncBatchNorm``, padded / weight-standardised convs) change the
#: computation and are rejected rather than silently converted.
DYNAMIC_TWINS: Dict[Type[nn.Module], Type[nn.Module]] = {
    nn.Conv2d: DynamicConv2d,
    nn.BatchNorm2d: DynamicBatchNorm2d,
    nn.Linear: DynamicLinear,
}

# Layers that hold channel-sized weights but have no dynamic twin.
_WEIGHTED_LAYERS = (_ConvNd, _NormBase, nn.GroupNorm, nn.LayerNorm, nn.Linear)


def check_width_ratio(ratio, where: str) -> float:
    """``ratio`` as a float in (0, 1]; ``ValueError`` naming ``where`` else."""
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) \
            or not 0.0 < float(ratio) <= 1.0:
        raise ValueError(
            f'{where}: width ratio must be a number in (0, 1], got {ratio!r}')
    return float(ratio)


def scale_channels(full: int, ratio: float, divisor: int = 8) -> int:
    """Active channels of a layer with ``full`` channels at width ``ratio``.

    ``min(full, make_divisible(full * ratio, divisor))``: a multiple of
    ``divisor`` (at least ``divisor``), never above ``full``; ``ratio == 1``
    gives ``full``. Example: ``scale_channels(96, 0.5) == 48``,
    ``scale_channels(24, 0.25) == 8``, ``scale_channels(4, 0.5) == 4``.
    """
    if ratio == 1.0:
        return int(full)
    return min(int(full), make_divisible(full * ratio, divisor))


def check_divisor(divisor, where: str) -> int:
    """``divisor`` as a positive int; ``ValueError`` naming ``where`` else."""
    if isinstance(divisor, bool) or not isinstance(divisor, int) \
            or divisor < 1:
        raise ValueError(
            f'{where}: divisor must be a positive int, got {divisor!r}')
    return divisor


def to_dynamic_op(module: nn.Module) -> nn.Module:
    """The dynamic twin of a plain Conv2d / BatchNorm2d / Linear.

    The twin shares ``module``'s parameter and buffer tensors (no copy) and
    its train/eval mode; it is built on the meta device first so that no
    throw-away weights are allocated or initialised.
    """
    twin_type = DYNAMIC_TWINS.get(type(module))
    if twin_type is None:
        raise TypeError(
            f'no dynamic twin for {type(module).__name__}; supported: '
            f'{sorted(t.__name__ for t in DYNAMIC_TWINS)}')
    if isinstance(module, nn.Conv2d):
        twin = twin_type(
            module.in_channels, module.out_channels, module.kernel_size,
            stride=module.stride, padding=module.padding,
            dilation=module.dilation, groups=module.groups,
            bias=module.bias is not None, padding_mode=module.padding_mode,
            device='meta')
    elif isinstance(module, nn.BatchNorm2d):
        twin = twin_type(
            module.num_features, eps=module.eps, momentum=module.momentum,
            affine=module.affine,
            track_running_stats=module.track_running_stats, device='meta')
    else:
        twin = twin_type(module.in_features, module.out_features,
                         bias=module.bias is not None, device='meta')
    share_tensors_(module, twin)
    return twin


def share_tensors_(source: nn.Module, target: nn.Module) -> None:
    """Make ``target`` hold ``source``'s own parameters, buffers and mode.

    Both must have the same parameter and buffer names (a layer and its
    dynamic twin do).
    """
    if set(source._parameters) != set(target._parameters) or \
            set(source._buffers) != set(target._buffers):
        raise ValueError(
            f'cannot share tensors between {type(source).__name__} '
            f'(parameters {sorted(source._parameters)}, buffers '
            f'{sorted(source._buffers)}) and {type(target).__name__} '
            f'(parameters {sorted(target._parameters)}, buffers '
            f'{sorted(target._buffers)})')
    for name, param in source._parameters.items():
        target._parameters[name] = param
    for name, buffer in source._buffers.items():
        target._buffers[name] = buffer
    target._non_persistent_buffers_set = set(
        source._non_persistent_buffers_set)
    target.train(source.training)


def convert_to_dynamic_(root: nn.Module, prefix: str = '') -> nn.Module:
    """Replace, in place, every static Conv2d / BatchNorm2d / Linear below
    ``root`` by its dynamic twin (same attribute name, shared tensors).

    Modules that already are dynamic ops are kept. Any other layer holding
    channel-sized weights (SyncBatchNorm, GroupNorm, LayerNorm, Conv1d/3d,
    conv subclasses, ...) raises ``TypeError`` naming its path, since it
    could not follow an active width.

    Args:
        root: the module to convert (its own type is not changed).
        prefix: path of ``root``, for error messages.

    Returns:
        ``root``.
    """
    for name, child in root.named_children():
        path = f'{prefix}.{name}' if prefix else name
        if isinstance(child, DYNAMIC_OPS):
            continue
        if type(child) in DYNAMIC_TWINS:
            setattr(root, name, to_dynamic_op(child))
        elif isinstance(child, _WEIGHTED_LAYERS):
            raise TypeError(
                f'{path} is a {type(child).__name__}, which cannot be made '
                f'slimmable; only {sorted(t.__name__ for t in DYNAMIC_TWINS)}'
                ' are supported (check conv_cfg / norm_cfg)')
        else:
            convert_to_dynamic_(child, path)
    return root
