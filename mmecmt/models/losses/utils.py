"""Helpers shared by the task losses: shape checks and safe masked means."""
from typing import Sequence

import torch
from torch import Tensor


def check_same_shape(loss_name: str, pred: Tensor, target: Tensor) -> None:
    """Raise ValueError unless ``pred`` and ``target`` have the same shape."""
    if pred.shape != target.shape:
        raise ValueError(
            f'{loss_name}: prediction shape {tuple(pred.shape)} does not '
            f'match target shape {tuple(target.shape)}')


def check_ndim(loss_name: str, what: str, tensor: Tensor,
               ndims: Sequence[int], layout: str) -> None:
    """Raise ValueError unless ``tensor.dim()`` is one of ``ndims``."""
    if tensor.dim() not in tuple(ndims):
        raise ValueError(
            f'{loss_name}: expected {what} of layout {layout}, got shape '
            f'{tuple(tensor.shape)}')


def check_channels(loss_name: str, pred: Tensor, channels: int,
                   layout: str) -> None:
    """Raise ValueError unless ``pred`` is 4-d with ``channels`` channels."""
    if pred.dim() != 4 or pred.shape[1] != channels:
        raise ValueError(
            f'{loss_name}: expected prediction of layout {layout}, got shape '
            f'{tuple(pred.shape)}')


def safe_divide(numerator: Tensor, denominator: Tensor) -> Tensor:
    """``numerator / denominator`` that returns 0 (with a valid, zero
    gradient) where ``denominator`` is 0.

    Used for "mean over valid pixels" reductions: when no pixel is valid the
    numerator is a sum over an empty set (0, still attached to the graph), so
    dividing by 1 instead of 0 yields 0 rather than nan. Dividing by a
    substituted 1 (not by ``torch.where(...)`` of the two results) keeps the
    backward pass free of ``0 * inf``.
    """
    denominator = denominator.to(numerator.dtype)
    safe = torch.where(denominator > 0, denominator,
                       torch.ones_like(denominator))
    return numerator / safe
