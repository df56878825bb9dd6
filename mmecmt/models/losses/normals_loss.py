"""L1 loss for surface normals on the L2-normalised prediction."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmecmt.registry import MODELS
from .utils import check_channels, check_same_shape, safe_divide


@MODELS.register_module()
class NormalsL1Loss(nn.Module):
    """Masked L1 loss between the unit-normalised prediction and the target.

    ``n_i = pred_i / max(||pred_i||_2, eps)``

    ``loss = loss_weight * sum_{i valid} sum_{c=1..3} |n_ic - t_ic| / #valid``

    i.e. the L1 distance is **summed over the 3 components and averaged over
    the valid pixels** of the batch (MTL-PyTorch's
    ``NormalsLoss(normalize=True, size_average=True, norm=1)``: sum over the
    masked elements divided by the number of valid entries). A pixel is valid
    where its target is finite and not the zero vector. Without a valid pixel
    the loss is 0 with a zero gradient.

    Args:
        loss_weight: factor applied to the loss (10, as in MTI-Net / ATRC
            / Multi-Task-Learning-PyTorch).
        eps: lower bound on the prediction norm in the normalisation.

    Shapes:
        pred: (B, 3, H, W) unnormalised normals, at the target resolution.
        target: (B, 3, H, W) unit normals, zero vector = invalid.
    """

    def __init__(self, loss_weight: float = 10.0, eps: float = 1e-12):
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.eps = float(eps)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Return ``loss_weight * masked per-pixel L1 of the unit normals``."""
        name = type(self).__name__
        check_channels(name, pred, 3, '(B, 3, H, W)')
        check_same_shape(name, pred, target)
        target = target.to(pred.dtype)
        finite = torch.isfinite(target).all(dim=1, keepdim=True)
        nonzero = (target != 0).any(dim=1, keepdim=True)
        valid = finite & nonzero  # (B, 1, H, W)
        clean_target = torch.where(valid, target, torch.zeros_like(target))
        unit_pred = F.normalize(pred, p=2, dim=1, eps=self.eps)
        abs_error = (unit_pred - clean_target).abs() * valid
        loss = safe_divide(abs_error.sum(), valid.sum())
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, eps={self.eps}'
