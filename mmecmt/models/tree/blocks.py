"""Cut a backbone into CDMA's node levels: a stem and L blocks.

:func:`split_backbone` returns modules that *share* the backbone's
parameters (nothing is copied), in the order the backbone runs them, and the
block levels whose outputs are the backbone's outputs (``out_indices``).
Supported: backbones with a ``layers`` list run after ``conv1``
(mmpretrain / mmseg MobileNetV2) and ResNets with ``res_layers`` (mmpretrain
``ResNet``, ``ResNetV1c/d``, ``ResNet_CIFAR``; mmseg ``ResNet``,
``ResNetV1c/d``). Blocks past the last tapped level (MobileNetV2's
``conv2``, whose output no head reads) are not part of the tree.

Granularity (``blocks``):

- ``'stages'`` (default): one block per stage (``layer1``, ``layer2``, ...);
- ``'units'``: one block per residual unit (each inverted residual / basic
  block / bottleneck of every stage), i.e. finer branching points.
"""
from typing import List, Sequence, Tuple

from torch import Tensor, nn

GRANULARITIES = ('stages', 'units')


class ResNetStem(nn.Module):
    """A ResNet's stem as one module: ``stem`` (deep stem) or ``conv1 ->
    norm1 -> relu``, then ``maxpool`` (absent in ``ResNet_CIFAR``). Holds the
    backbone's own modules: (B, 3, H, W) -> (B, C, H / s, W / s)."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        if getattr(backbone, 'deep_stem', False):
            self.stem = backbone.stem
        else:
            self.conv1 = backbone.conv1
            self.norm1 = getattr(backbone, backbone.norm1_name)
            self.relu = backbone.relu
        cifar = type(backbone).__name__ == 'ResNet_CIFAR'
        self.maxpool = None if cifar else backbone.maxpool

    def forward(self, x: Tensor) -> Tensor:
        if hasattr(self, 'stem'):
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        return x


def _stages(backbone: nn.Module) -> Tuple[nn.Module, List[nn.Module]]:
    name = type(backbone).__name__
    if hasattr(backbone, 'res_layers'):
        return ResNetStem(backbone), [getattr(backbone, n)
                                      for n in backbone.res_layers]
    if hasattr(backbone, 'layers') and hasattr(backbone, 'conv1'):
        return backbone.conv1, [getattr(backbone, n)
                                for n in backbone.layers]
    raise TypeError(
        f'cannot cut backbone {name} into blocks: supported are backbones '
        'with `res_layers` (ResNets) or with `conv1` + `layers` '
        '(MobileNetV2)')


def split_backbone(backbone: nn.Module, blocks: str = 'stages'
                   ) -> Tuple[nn.Module, List[nn.Module], Tuple[int, ...]]:
    """``(stem, [block_1, ..., block_L], tap_levels)`` of ``backbone``.

    ``tap_levels[o]`` is the node level (1..L) whose output is the
    backbone's ``o``-th output. The blocks stop at the last tapped level.

    Raises:
        ValueError: an unknown granularity.
        TypeError: an unsupported backbone.
    """
    if blocks not in GRANULARITIES:
        raise ValueError(f'unknown block granularity {blocks!r}; valid: '
                         f'{GRANULARITIES}')
    stem, stages = _stages(backbone)
    out_indices: Sequence[int] = backbone.out_indices
    if isinstance(out_indices, int):
        out_indices = (out_indices, )
    out_indices = tuple(int(i) for i in out_indices)
    bad = [i for i in out_indices if not 0 <= i < len(stages)]
    if bad:
        raise ValueError(f'out_indices {out_indices} of '
                         f'{type(backbone).__name__} name stage {bad[0]}, '
                         f'not one of 0..{len(stages) - 1}')
    stages = stages[:max(out_indices) + 1]
    if blocks == 'stages':
        return stem, list(stages), tuple(i + 1 for i in out_indices)
    units, stage_end = [], []
    for stage in stages:
        children = list(stage.children()) if isinstance(
            stage, nn.Sequential) else [stage]
        units.extend(children)
        stage_end.append(len(units))
    return stem, units, tuple(stage_end[i] for i in out_indices)


__all__ = ['split_backbone', 'ResNetStem', 'GRANULARITIES']
