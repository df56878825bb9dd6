"""Task losses: ``loss(pred, target) -> loss_weight * scalar``.

Predictions arrive already resized to the target resolution; targets use the
packed formats of :mod:`mmecmt.structures.tasks`.
"""
from .binary_cross_entropy_loss import BalancedBCELoss, WeightedBCEEdgeLoss
from .branching_regularizer import BranchingRegularizer
from .cikd_loss import CIKDLoss
from .cross_entropy_loss import ClsCrossEntropyLoss, SegCrossEntropyLoss
from .depth_loss import DepthL1Loss
from .normals_loss import NormalsL1Loss
from .sparsity_regularizer import SparsityRegularizer
from .task_loss_builder import (DEFAULT_LOSS_TYPES, DEFAULT_LOSS_WEIGHTS,
                                build_task_loss)

__all__ = [
    'SegCrossEntropyLoss', 'ClsCrossEntropyLoss', 'DepthL1Loss',
    'NormalsL1Loss', 'BalancedBCELoss', 'WeightedBCEEdgeLoss',
    'build_task_loss', 'DEFAULT_LOSS_WEIGHTS', 'DEFAULT_LOSS_TYPES',
    'CIKDLoss', 'BranchingRegularizer', 'SparsityRegularizer'
]
