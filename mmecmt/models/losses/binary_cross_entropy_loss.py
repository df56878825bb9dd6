"""Class-weighted binary cross-entropy losses for edge and saliency maps.

Both follow ``BalancedCrossEntropyLoss`` of Multi-Task-Learning-PyTorch
(losses/loss_functions.py, itself from facebookresearch/astmt): per-pixel BCE
on logits, positives and negatives summed separately and mixed with weights
``w`` and ``1 - w`` that sum to 1, then divided by a pixel count
(``size_average=True``). Here the count is the number of *valid* pixels
(target != ignore_index) instead of all pixels; without ignored pixels the two
agree exactly.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmecmt.registry import MODELS
from mmecmt.structures.tasks import IGNORE_INDEX
from .utils import check_channels, check_same_shape, safe_divide


def binary_bce_sums(
        loss_name: str, pred: Tensor, target: Tensor,
        ignore_index: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per-class sums of the per-pixel BCE over the valid pixels.

    Args:
        loss_name: name used in error messages.
        pred: (B, 1, H, W) logits.
        target: (B, 1, H, W) labels in {0, 1} or ``ignore_index``.
        ignore_index: label value of pixels that do not count.

    Returns:
        ``(bce_pos, bce_neg, num_pos, num_neg)``: the summed
        ``-log sigmoid(x)`` over positive pixels, the summed
        ``-log(1 - sigmoid(x))`` over negative pixels, and the two pixel
        counts (float tensors).
    """
    check_channels(loss_name, pred, 1, '(B, 1, H, W)')
    check_same_shape(loss_name, pred, target)
    valid = target != ignore_index
    positive = (target == 1) & valid
    negative = (target == 0) & valid
    bad = valid & ~positive & ~negative
    if bool(bad.any()):
        values = torch.unique(target[bad])[:10].tolist()
        raise ValueError(
            f'{loss_name}: target values {values} are neither 0, 1 nor the '
            f'ignore index {ignore_index}')
    labels = positive.to(pred.dtype)
    per_pixel = F.binary_cross_entropy_with_logits(
        pred, labels, reduction='none')
    bce_pos = (per_pixel * positive).sum()
    bce_neg = (per_pixel * negative).sum()
    return (bce_pos, bce_neg, positive.sum().to(pred.dtype),
            negative.sum().to(pred.dtype))


@MODELS.register_module()
class BalancedBCELoss(nn.Module):
    """Class-balanced BCE (HED-style) for saliency.

    Over the valid pixels of the whole batch, with ``P`` positives, ``N``
    negatives and ``T = P + N``::

        w_pos = N / T,   w_neg = P / T
        loss = loss_weight * (w_pos * sum_{pos} -log s(x)
                              + w_neg * sum_{neg} -log(1 - s(x))) / T

    (``s`` = sigmoid; MTL-PyTorch ``BalancedCrossEntropyLoss(size_average=
    True, pos_weight=None)``, which divides by all pixels; we divide by the
    valid ones). Without a valid pixel the loss is 0 with a zero gradient.

    Args:
        loss_weight: factor applied to the loss (5 for saliency,
            as in MTI-Net / ATRC / Multi-Task-Learning-PyTorch).
        ignore_index: label value of ignored pixels (255).

    Shapes:
        pred: (B, 1, H, W) logits, at the target resolution.
        target: (B, 1, H, W) in {0, 1}, ``ignore_index`` = ignore.
    """

    def __init__(self, loss_weight: float = 5.0,
                 ignore_index: int = IGNORE_INDEX):
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.ignore_index = int(ignore_index)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Return ``loss_weight * balanced BCE`` (a scalar tensor)."""
        bce_pos, bce_neg, num_pos, num_neg = binary_bce_sums(
            type(self).__name__, pred, target, self.ignore_index)
        num_total = num_pos + num_neg
        w_pos = safe_divide(num_neg, num_total)
        w_neg = safe_divide(num_pos, num_total)
        loss = safe_divide(w_pos * bce_pos + w_neg * bce_neg, num_total)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, '
                f'ignore_index={self.ignore_index}')


@MODELS.register_module()
class WeightedBCEEdgeLoss(nn.Module):
    """BCE with a fixed positive-class weight, for edge detection.

    Over the valid pixels of the whole batch (``T`` of them)::

        loss = loss_weight * (pos_weight * sum_{pos} -log s(x)
                              + (1 - pos_weight) * sum_{neg} -log(1 - s(x)))
                           / T

    This is MTL-PyTorch's ``BalancedCrossEntropyLoss(size_average=True,
    pos_weight=0.95)`` (its edge loss, weight 50), which divides by the total
    pixel count; we exclude ``ignore_index`` pixels from both the sums and
    ``T`` (that code ignores ``void_pixels`` whenever ``pos_weight`` is set).
    Without a valid pixel the loss is 0 with a zero gradient.

    Args:
        loss_weight: factor applied to the loss (50 for edges,
            as in MTI-Net / ATRC / Multi-Task-Learning-PyTorch).
        pos_weight: weight of positive pixels in [0, 1]; negatives get
            ``1 - pos_weight``.
        ignore_index: label value of ignored pixels (255).

    Shapes:
        pred: (B, 1, H, W) logits, at the target resolution.
        target: (B, 1, H, W) in {0, 1}, ``ignore_index`` = ignore.
    """

    def __init__(self,
                 loss_weight: float = 50.0,
                 pos_weight: float = 0.95,
                 ignore_index: int = IGNORE_INDEX):
        super().__init__()
        if not 0.0 <= float(pos_weight) <= 1.0:
            raise ValueError(
                f'{type(self).__name__}: pos_weight must be in [0, 1], got '
                f'{pos_weight!r}')
        self.loss_weight = float(loss_weight)
        self.pos_weight = float(pos_weight)
        self.ignore_index = int(ignore_index)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Return ``loss_weight * weighted BCE`` (a scalar tensor)."""
        bce_pos, bce_neg, num_pos, num_neg = binary_bce_sums(
            type(self).__name__, pred, target, self.ignore_index)
        weighted = (self.pos_weight * bce_pos +
                    (1.0 - self.pos_weight) * bce_neg)
        loss = safe_divide(weighted, num_pos + num_neg)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, '
                f'pos_weight={self.pos_weight}, '
                f'ignore_index={self.ignore_index}')
