"""Input selection shared by the task heads (mmseg's ``in_index`` idea)."""
from typing import List, Sequence, Tuple, Union

import torch.nn as nn
from torch import Tensor

Feats = Union[Tensor, Sequence[Tensor]]


def to_tuple(value, name: str, head_name: str) -> Tuple[int, ...]:
    """``int -> (int, )``; sequences -> tuple of ints."""
    if isinstance(value, int):
        return (value, )
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, int) for v in value):
        return tuple(value)
    raise ValueError(
        f'{head_name}: {name} must be an int or a non-empty sequence of ints, '
        f'got {value!r}')


def select_levels(head_name: str,
                  feats: Feats,
                  in_index: Sequence[int],
                  in_channels: Sequence[int],
                  dense: bool = True) -> List[Tensor]:
    """Pick the levels ``in_index`` of a feature pyramid and check them.

    Args:
        head_name: name used in error messages.
        feats: sequence of (B, C_i, H_i, W_i) maps (a single tensor counts as
            a one-level pyramid).
        in_index: indices into ``feats`` (negative indices count from the end).
        in_channels: expected channel count of each selected level.
        dense: require 4-d (B, C, H, W) levels; else (B, C) is accepted too.

    Returns:
        The selected tensors, in the order of ``in_index``.
    """
    if isinstance(feats, Tensor):
        feats = [feats]
    if not isinstance(feats, (list, tuple)):
        raise TypeError(
            f'{head_name}: expected a list/tuple of feature maps, got '
            f'{type(feats).__name__}')
    selected = []
    for index, channels in zip(in_index, in_channels):
        if not -len(feats) <= index < len(feats):
            raise ValueError(
                f'{head_name}: in_index {index} is out of range for '
                f'{len(feats)} input levels (valid: {-len(feats)} to '
                f'{len(feats) - 1})')
        feat = feats[index]
        ndims = (4, ) if dense else (2, 4)
        layout = '(B, C, H, W)' if dense else '(B, C, H, W) or (B, C)'
        if feat.dim() not in ndims:
            raise ValueError(
                f'{head_name}: input level {index} has shape '
                f'{tuple(feat.shape)}, expected layout {layout}')
        if feat.shape[1] != channels:
            raise ValueError(
                f'{head_name}: input level {index} has shape '
                f'{tuple(feat.shape)}, expected {channels} channels '
                f'(in_channels)')
        selected.append(feat)
    return selected


def init_output_layer(layer: nn.Module, std: float = 0.01) -> None:
    """Small normal weights and zero bias for a head's last layer."""
    nn.init.normal_(layer.weight, mean=0.0, std=std)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def check_head_args(head_name: str, dropout_ratio: float, **positive) -> None:
    """Raise a ValueError naming the head and argument unless every
    ``positive`` value is >= 1 and ``0 <= dropout_ratio < 1``."""
    for arg, value in positive.items():
        if int(value) < 1:
            raise ValueError(f'{head_name}: {arg} must be >= 1, got {value!r}')
    if not 0.0 <= dropout_ratio < 1.0:
        raise ValueError(
            f'{head_name}: dropout_ratio must be in [0, 1), got '
            f'{dropout_ratio!r}')
