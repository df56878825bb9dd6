"""Softmax cross-entropy losses: per-pixel (segmentation) and per-image
(classification), both averaged over the labelled entries only."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmecmt.registry import MODELS
from mmecmt.structures.tasks import CLS_IGNORE_INDEX, IGNORE_INDEX
from .utils import check_ndim, safe_divide


def _check_integer_labels(loss_name: str, target: Tensor) -> None:
    if target.dtype.is_floating_point or target.dtype.is_complex \
            or target.dtype == torch.bool:
        raise ValueError(
            f'{loss_name}: target must hold integer class labels, got dtype '
            f'{target.dtype}')


def _check_label_range(loss_name: str, labels: Tensor, num_classes: int,
                       ignore_index: int) -> None:
    """Raise ValueError if a label is neither in [0, K) nor ignore_index."""
    bad = ((labels < 0) | (labels >= num_classes)) & (labels != ignore_index)
    if bool(bad.any()):
        values = torch.unique(labels[bad])[:10].tolist()
        raise ValueError(
            f'{loss_name}: target labels {values} are outside the valid range '
            f'[0, {num_classes - 1}] and are not the ignore index '
            f'{ignore_index}')


def masked_cross_entropy(logits: Tensor,
                         labels: Tensor,
                         ignore_index: int,
                         class_weight: Optional[Tensor] = None) -> Tensor:
    """Cross-entropy averaged over the entries whose label != ignore_index.

    Args:
        logits: (N, K) or (B, K, H, W) raw scores.
        labels: (N,) or (B, H, W) int64 labels in [0, K) or ``ignore_index``.
        ignore_index: label value that contributes nothing.
        class_weight: optional (K,) weights ``w``.

    Returns:
        Scalar ``sum_i w[y_i] * CE_i / sum_i w[y_i]`` over the labelled entries
        ``i`` (PyTorch's weighted mean; the plain mean when ``w`` is None),
        and 0 (attached to the graph, zero gradient) when no entry is
        labelled, where ``F.cross_entropy(reduction='mean')`` gives nan.
    """
    per_entry = F.cross_entropy(
        logits, labels, weight=class_weight, ignore_index=ignore_index,
        reduction='none')
    valid = labels != ignore_index
    if class_weight is None:
        denominator = valid.sum()
    else:
        safe_labels = torch.where(valid, labels, torch.zeros_like(labels))
        denominator = (class_weight[safe_labels] * valid).sum()
    return safe_divide(per_entry.sum(), denominator)


@MODELS.register_module()
class SegCrossEntropyLoss(nn.Module):
    """Per-pixel softmax cross-entropy for segmentation (semseg, human parts).

    Reduction: mean over the non-ignored pixels of the whole batch (as
    MTL-PyTorch's ``SoftMaxwithLoss``, i.e. ``nn.NLLLoss(ignore_index=255)``;
    unlike mmseg's ``CrossEntropyLoss`` with ``avg_non_ignore=False`` the
    ignored pixels do not enter the denominator). With ``class_weight`` the
    weighted mean ``sum w[y] CE / sum w[y]``. A batch without a labelled pixel
    gives 0 (with a zero gradient), not nan.

    Args:
        loss_weight: factor applied to the loss: 1 for semseg; the
            human-parts task uses 2, set by its config (as in MTI-Net /
            ATRC / Multi-Task-Learning-PyTorch).
        ignore_index: label value to ignore (255 in the packed format).
        class_weight: optional per-class weights, length = class count.

    Shapes:
        pred: (B, K, H, W) logits, already at the target resolution.
        target: (B, 1, H, W) or (B, H, W) integer labels.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 ignore_index: int = IGNORE_INDEX,
                 class_weight: Optional[Sequence[float]] = None):
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.ignore_index = int(ignore_index)
        if class_weight is not None:
            class_weight = torch.as_tensor(class_weight, dtype=torch.float32)
            if class_weight.dim() != 1 or class_weight.numel() < 2:
                raise ValueError(
                    f'{type(self).__name__}: class_weight must be a 1-d '
                    f'sequence with one weight per class, got '
                    f'{class_weight.tolist()}')
            if bool((class_weight < 0).any()):
                raise ValueError(
                    f'{type(self).__name__}: class_weight must be >= 0, got '
                    f'{class_weight.tolist()}')
        self.register_buffer('class_weight', class_weight, persistent=False)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Return ``loss_weight * mean CE`` (a scalar tensor)."""
        name = type(self).__name__
        check_ndim(name, 'prediction', pred, (4, ), '(B, K, H, W)')
        _check_integer_labels(name, target)
        if target.dim() == 4 and target.shape[1] == 1:
            labels = target[:, 0]
        elif target.dim() == 3:
            labels = target
        else:
            raise ValueError(
                f'{name}: expected target of layout (B, 1, H, W) or '
                f'(B, H, W), got shape {tuple(target.shape)}')
        if labels.shape != (pred.shape[0], ) + tuple(pred.shape[2:]):
            raise ValueError(
                f'{name}: prediction shape {tuple(pred.shape)} does not match '
                f'target shape {tuple(target.shape)} (batch and spatial size '
                f'must agree)')
        num_classes = pred.shape[1]
        class_weight = self.class_weight
        if class_weight is not None:
            if class_weight.numel() != num_classes:
                raise ValueError(
                    f'{name}: class_weight has {class_weight.numel()} entries '
                    f'but the prediction has {num_classes} classes')
            class_weight = class_weight.to(pred.dtype)
        labels = labels.long()
        _check_label_range(name, labels, num_classes, self.ignore_index)
        loss = masked_cross_entropy(pred, labels, self.ignore_index,
                                    class_weight)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, '
                f'ignore_index={self.ignore_index}')


@MODELS.register_module()
class ClsCrossEntropyLoss(nn.Module):
    """Softmax cross-entropy for image classification.

    Reduction: mean over the labelled images of the batch (label !=
    ``ignore_index``); 0 with a zero gradient when none is labelled (in the
    CIFAR-100 MTL setting a batch may carry images of other tasks only).

    Args:
        loss_weight: factor applied to the loss (1, the usual weight of a
            classification task).
        ignore_index: label value meaning "no label" (-1 in the packed format).

    Shapes:
        pred: (B, K) logits.
        target: (B, ) or (B, 1) integer labels in [0, K) or ``ignore_index``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 ignore_index: int = CLS_IGNORE_INDEX):
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.ignore_index = int(ignore_index)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Return ``loss_weight * mean CE`` (a scalar tensor)."""
        name = type(self).__name__
        check_ndim(name, 'prediction', pred, (2, ), '(B, K)')
        _check_integer_labels(name, target)
        if target.dim() == 2 and target.shape[1] == 1:
            labels = target[:, 0]
        elif target.dim() == 1:
            labels = target
        else:
            raise ValueError(
                f'{name}: expected target of layout (B, ) or (B, 1), got '
                f'shape {tuple(target.shape)}')
        if labels.shape[0] != pred.shape[0]:
            raise ValueError(
                f'{name}: prediction shape {tuple(pred.shape)} does not match '
                f'target shape {tuple(target.shape)} (batch sizes differ)')
        labels = labels.long()
        _check_label_range(name, labels, pred.shape[1], self.ignore_index)
        loss = masked_cross_entropy(pred, labels, self.ignore_index)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, '
                f'ignore_index={self.ignore_index}')
