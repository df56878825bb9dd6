"""L1 loss for depth regression with invalid pixels masked out."""
import torch
import torch.nn as nn
from torch import Tensor

from mmecmt.registry import MODELS
from .utils import check_channels, check_same_shape, safe_divide


@MODELS.register_module()
class DepthL1Loss(nn.Module):
    """Masked L1 loss for depth.

    ``loss = loss_weight * sum_{i valid} |pred_i - target_i| / #valid``

    A pixel is valid where the target is finite and > 0 (the packed format
    stores invalid depth as 0). The mean runs over the valid pixels of the
    whole batch (MTL-PyTorch's ``DepthLoss``: ``nn.L1Loss`` over the masked
    pixels). Without a valid pixel the loss is 0 with a zero gradient.

    Args:
        loss_weight: factor applied to the loss (1, as in MTI-Net / ATRC
            / Multi-Task-Learning-PyTorch).

    Shapes:
        pred: (B, 1, H, W) depth in metres, at the target resolution.
        target: (B, 1, H, W) float depth in metres, 0 = invalid.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = float(loss_weight)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Return ``loss_weight * masked mean |pred - target|``."""
        name = type(self).__name__
        check_channels(name, pred, 1, '(B, 1, H, W)')
        check_same_shape(name, pred, target)
        target = target.to(pred.dtype)
        valid = torch.isfinite(target) & (target > 0)
        # Replace invalid targets before subtracting: a nan/inf target times a
        # zero mask would still be nan.
        clean_target = torch.where(valid, target, torch.zeros_like(target))
        abs_error = (pred - clean_target).abs() * valid
        loss = safe_divide(abs_error.sum(), valid.sum())
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'
