"""Gated units: the pieces of a backbone that InterroGate gates and prunes.

A unit is one node of :func:`~mmecmt.models.tree.split_backbone`'s cut (the
stem, then every residual block with ``'units'`` or every stage with
``'stages'``). Pruning a unit keeps a set of its *output* channels (those a
task reads): the layers that write the unit's output
(:func:`output_layers`: the last conv + BN of its last block, and of a
downsampling shortcut) take a channel index (the dynamic ops'
``set_out_index`` / ``set_index``), and an identity shortcut gathers the same
channels of the block input (:func:`run_unit`). Everything else in the unit
runs at full width. Supported blocks: the inverted residual of mmpretrain /
mmseg MobileNetV2 and the basic block of mmpretrain / mmseg ResNets
(``ResNet``, ``ResNetV1c/d``, ``ResNet_CIFAR``); a stem (a conv module, a
ResNet stem) has no shortcut.
"""
from typing import List, Optional, Tuple

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

RESIDUAL_BLOCKS = ('InvertedResidual', 'BasicBlock')


def _is_block(module: nn.Module) -> bool:
    return type(module).__name__ in RESIDUAL_BLOCKS


def last_block(unit: nn.Module) -> nn.Module:
    """The module that writes ``unit``'s output: the last block of a stage
    (a Sequential of blocks), else the unit itself."""
    if isinstance(unit, nn.Sequential) and len(unit) and \
            all(_is_block(m) for m in unit):
        return unit[-1]
    return unit


def has_identity_shortcut(block: nn.Module) -> bool:
    """Whether ``block`` adds its input unchanged to its output."""
    name = type(block).__name__
    if name == 'InvertedResidual':
        return bool(block.use_res_connect)
    if name == 'BasicBlock':
        return block.downsample is None
    return False


def _last_conv_bn(module: nn.Module, where: str) -> List[nn.Module]:
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    if not convs or not norms or \
            norms[-1].num_features != convs[-1].out_channels:
        raise TypeError(
            f'{where}: cannot find the conv + BN that write its output '
            f'({type(module).__name__}); supported units: '
            f'{RESIDUAL_BLOCKS}, conv modules and ResNet stems')
    return [convs[-1], norms[-1]]


def output_layers(unit: nn.Module) -> List[Tuple[nn.Module, nn.Module]]:
    """``[(conv, bn), ...]``: the layers whose output channels are the
    unit's (indexed together when the unit is pruned).

    Raises:
        TypeError: a block type whose output layers are unknown
            (e.g. a bottleneck), named.
    """
    block = last_block(unit)
    name = type(block).__name__
    if name == 'InvertedResidual':
        project = block.conv[-1]
        pairs = [(project.conv, project.bn)]
    elif name == 'BasicBlock':
        pairs = [(block.conv2, block.norm2)]
        if block.downsample is not None:
            pairs.append(tuple(_last_conv_bn(block.downsample,
                                             'a downsample')))
    elif any(_is_block(m) for m in block.modules()) or \
            type(block).__name__ == 'Bottleneck':
        raise TypeError(f'gated units of {type(block).__name__} are not '
                        f'supported; supported blocks: {RESIDUAL_BLOCKS}')
    else:
        pairs = [tuple(_last_conv_bn(block, type(block).__name__))]
    return pairs


def unit_out_channels(unit: nn.Module) -> int:
    """C, the number of output channels of ``unit``."""
    return int(output_layers(unit)[0][0].out_channels)


def set_unit_out_index(unit: nn.Module, index: Optional[Tensor]) -> None:
    """Make ``unit`` produce output channels ``index`` (None: all) by
    setting the index of its output layers, which must be dynamic ops
    (:func:`~mmecmt.models.slimmable.convert.convert_to_dynamic_`)."""
    for conv, bn in output_layers(unit):
        if not hasattr(conv, 'set_out_index') or \
                not hasattr(bn, 'set_index'):
            raise TypeError(
                'set_unit_out_index needs dynamic ops (convert the unit with '
                f'convert_to_dynamic_ first); got {type(conv).__name__} / '
                f'{type(bn).__name__}')
        conv.set_out_index(index)
        bn.set_index(index)


def _residual_forward(block: nn.Module, x: Tensor, index: Tensor) -> Tensor:
    """``block(x)`` of an identity-shortcut block whose output layers keep
    channels ``index``: the shortcut gathers the same input channels."""
    identity = x.index_select(1, index)
    if type(block).__name__ == 'InvertedResidual':
        return block.conv(x) + identity
    out = block.relu(block.norm1(block.conv1(x)))
    out = block.norm2(block.conv2(out))
    drop_path = getattr(block, 'drop_path', None)
    if drop_path is not None:
        out = drop_path(out)
    return block.relu(out + identity)


def run_unit(unit: nn.Module, x: Tensor,
             out_index: Optional[Tensor] = None) -> Tensor:
    """``unit(x)``; with ``out_index`` (the unit pruned to those output
    channels, its output layers already indexed) an identity shortcut
    gathers the kept channels of its input.

    Shapes: x (B, C_in, H, W) -> (B, C_out or len(out_index), H', W').
    """
    if out_index is None:
        return unit(x)
    block = last_block(unit)
    if not has_identity_shortcut(block):
        return unit(x)
    if block is not unit:
        for m in list(unit)[:-1]:
            x = m(x)
    return _residual_forward(block, x, out_index.to(x.device))


def index_of_mask(mask: Tensor) -> Tensor:
    """The channel indices of a boolean mask (C,), as a LongTensor."""
    return torch.nonzero(mask.flatten(), as_tuple=False).flatten()


__all__ = ['output_layers', 'set_unit_out_index', 'run_unit', 'last_block',
           'has_identity_shortcut', 'unit_out_channels', 'index_of_mask',
           'RESIDUAL_BLOCKS']
