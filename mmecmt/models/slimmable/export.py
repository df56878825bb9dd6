"""Export one subnet of a slimmable supernet as a static model.

:func:`export_static` copies the supernet, sets the subnet, records the
input width each dynamic op actually receives in one forward pass, and
replaces every :class:`DynamicConv2d` / :class:`DynamicBatchNorm2d` /
:class:`DynamicLinear` by its ``export(in_channels)``: plain ``nn.Conv2d`` /
``nn.BatchNorm2d`` / ``nn.Linear`` holding the sliced weights and statistics.
The architecture class and its ``forward`` / ``_forward`` / ``predict`` are
kept, so the static model is used exactly like the supernet.
:func:`replace_dynamic_ops_` is that replacement on its own: InterroGate's
:class:`~mmecmt.models.gating.GatePruner` exports its channel-index pruned
models through it.
"""
import copy
from typing import Dict, Mapping, Optional, Union

import torch
from torch import Tensor, nn

from mmecmt.search.space import SubnetSpec
from .dynamic_ops import DYNAMIC_OPS, DynamicLinear

#: the example input used when none is given: one 64x64 RGB image.
DEFAULT_EXAMPLE_SHAPE = (1, 3, 64, 64)


def _as_spec(spec: Union[SubnetSpec, Mapping]) -> SubnetSpec:
    return spec if isinstance(spec, SubnetSpec) else SubnetSpec.from_dict(
        spec)


def _input_width(module: nn.Module, x: Tensor) -> int:
    return int(x.size(-1) if isinstance(module, DynamicLinear) else x.size(1))


def record_dynamic_input_widths(model: nn.Module,
                                example_input: Tensor) -> Dict[int, int]:
    """Run ``model._forward`` (or ``model``) once under ``torch.no_grad`` and
    return ``{id(dynamic op): input channels}`` of every dynamic op called.

    Raises:
        ValueError: a dynamic op called twice with different widths (it
            cannot be one static layer).
    """
    widths: Dict[int, int] = {}
    names = {id(m): n for n, m in model.named_modules()}

    def hook(module, args):
        width = _input_width(module, args[0])
        if widths.setdefault(id(module), width) != width:
            raise ValueError(
                f'dynamic op {names.get(id(module), "?")!r} is called with '
                f'{widths[id(module)]} and {width} input channels in one '
                'forward pass; it cannot be exported as one static layer')

    handles = [
        m.register_forward_pre_hook(hook) for m in model.modules()
        if isinstance(m, DYNAMIC_OPS)
    ]
    try:
        forward = getattr(model, '_forward', model)
        with torch.no_grad():
            forward(example_input)
    finally:
        for handle in handles:
            handle.remove()
    return widths


class FixedSubnet:
    """``set_subnet`` of an exported model: it accepts only the exported
    subnet (a no-op) and raises for any other, instead of silently running
    the exported widths under another spec's name.

    Picklable (a module-level class), so ``torch.save(model)`` still works.
    """

    def __init__(self, spec: SubnetSpec, search_space=None):
        self.spec = spec
        self.search_space = search_space

    def __call__(self, spec) -> SubnetSpec:
        if isinstance(spec, str) and self.search_space is not None \
                and spec in ('max', 'min'):
            spec = self.search_space.sample(spec)
        if isinstance(spec, Mapping):
            spec = SubnetSpec.from_dict(spec)
        if not isinstance(spec, SubnetSpec) or spec.key() != \
                self.spec.key():
            raise ValueError(
                f'this model is a static export of subnet '
                f'{self.spec.to_dict()}; it cannot switch to {spec!r}')
        return self.spec


def _static_copy_of(op: nn.Module, width: int) -> nn.Module:
    static = op.export(width)
    static.train(op.training)
    for name, param in static.named_parameters():
        param.requires_grad_(getattr(op, name).requires_grad)
    return static


def replace_dynamic_ops_(model: nn.Module,
                         example_input: Optional[Tensor] = None) -> nn.Module:
    """Replace, in place, every dynamic op of ``model`` (at its current
    widths / channel indices) by its plain ``export``: the one export path
    of slimmable subnets and pruned gate patterns.

    The input width each op receives is recorded in one eval-mode forward
    pass on ``example_input`` (default: zeros of
    :data:`DEFAULT_EXAMPLE_SHAPE`); the model is left in eval mode.

    Raises:
        ValueError: a dynamic op that the forward pass does not reach (its
            width is unknown), named with its module path.
    """
    device = next((p.device for p in model.parameters()),
                  torch.device('cpu'))
    if example_input is None:
        example_input = torch.zeros(DEFAULT_EXAMPLE_SHAPE, device=device)
    model.eval()
    widths = record_dynamic_input_widths(model, example_input.to(device))

    unreached = [
        name for name, m in model.named_modules()
        if isinstance(m, DYNAMIC_OPS) and id(m) not in widths
    ]
    if unreached:
        raise ValueError(
            f'dynamic ops {unreached} are not reached by the forward pass, '
            'so their input widths are unknown')

    exported: Dict[int, nn.Module] = {}  # shared modules stay shared
    for parent in list(model.modules()):
        for child_name, child in list(parent._modules.items()):
            if isinstance(child, DYNAMIC_OPS):
                if id(child) not in exported:
                    exported[id(child)] = _static_copy_of(
                        child, widths[id(child)])
                setattr(parent, child_name, exported[id(child)])
    left = [n for n, m in model.named_modules() if isinstance(m, DYNAMIC_OPS)]
    assert not left, f'dynamic ops left after export: {left}'
    return model


def export_static(model: nn.Module,
                  spec: Union[SubnetSpec, Mapping],
                  example_input: Optional[Tensor] = None) -> nn.Module:
    """A static copy of ``model`` at the subnet ``spec``.

    Args:
        model: a slimmable architecture with ``set_subnet(spec)``, or a
            training algorithm / model wrapper around one (its
            architecture is exported); not modified.
        spec: the subnet (a :class:`SubnetSpec` or its dict form).
        example_input: (N, C, H, W) input of the forward pass that records the
            active widths (default: zeros of :data:`DEFAULT_EXAMPLE_SHAPE`);
            widths do not depend on its values or spatial size.

    Returns:
        A deep copy of ``model`` (same class, same training mode) without
        any dynamic op, whose eval-mode outputs equal the supernet's at
        ``spec``; ``exported_subnet`` holds ``spec.to_dict()``, and its
        ``set_subnet`` (a :class:`FixedSubnet`) accepts only ``spec``.

    Raises:
        TypeError: the model has no ``set_subnet``.
        ValueError: an invalid spec (from ``set_subnet``), or a dynamic op
            that the forward pass does not reach (its width is unknown),
            named with its module path.
    """
    from mmecmt.models.algorithms import architecture_of
    model = architecture_of(model)
    if not callable(getattr(model, 'set_subnet', None)):
        raise TypeError(
            f'{type(model).__name__} has no set_subnet(spec); export_static '
            'needs a slimmable architecture')
    spec = _as_spec(spec)
    static = copy.deepcopy(model)
    static.set_subnet(spec)
    replace_dynamic_ops_(static, example_input)
    static.train(model.training)
    static.exported_subnet = spec.to_dict()
    static.set_subnet = FixedSubnet(spec,
                                    getattr(static, 'search_space', None))
    return static
