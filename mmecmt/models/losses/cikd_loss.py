"""Configuration-Invariant Knowledge Distillation (CI-KD) loss of ECMT.

The encoder features of a sampled subnet (the student, ``c_s`` active
channels) are pulled towards the detached features of the largest subnet (the
teacher, ``c_t >= c_s`` channels) on the channels they share: the leading
``[:c_s]`` slice, which the slimmable convs compute with the same weights.
"""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmecmt.registry import MODELS

CIKD_DISTANCES = ('mse', 'cosine', 'attention')


def _attention_map(feat: Tensor) -> Tensor:
    """Attention transfer map (Zagoruyko & Komodakis): (B, C, *spatial) ->
    (B, prod(spatial)), the channel sum of squared activations, L2-normalised
    per sample."""
    return F.normalize(feat.pow(2).sum(dim=1).flatten(1), dim=1, eps=1e-12)


@MODELS.register_module()
class CIKDLoss(nn.Module):
    """Distance between student and teacher features, averaged over levels.

    Args:
        distance: ``'mse'``: mean squared difference over all elements;
            ``'cosine'``: 1 - cosine similarity of the channel vectors, mean
            over batch and pixels; ``'attention'``: MSE between the
            attention-transfer maps (normalised channel sum of squares) of
            student and teacher slice.
        loss_weight: multiplies the result.

    Shapes:
        student_feats: L tensors (B, c_s, H, W) (any (B, C, ...) works).
        teacher_feats: L tensors (B, c_t, H, W), c_t >= c_s, same B, H, W.
        output: scalar.
    """

    def __init__(self, distance: str = 'mse', loss_weight: float = 1.0):
        super().__init__()
        if distance not in CIKD_DISTANCES:
            raise ValueError(f'CIKDLoss: unknown distance {distance!r}; '
                             f'valid: {CIKD_DISTANCES}')
        if loss_weight < 0:
            raise ValueError(
                f'CIKDLoss: loss_weight must be >= 0, got {loss_weight}')
        self.distance = distance
        self.loss_weight = float(loss_weight)

    def forward(self, student_feats: Sequence[Tensor],
                teacher_feats: Sequence[Tensor]) -> Tensor:
        if isinstance(student_feats, Tensor):
            student_feats = (student_feats, )
        if isinstance(teacher_feats, Tensor):
            teacher_feats = (teacher_feats, )
        if len(student_feats) != len(teacher_feats) or not student_feats:
            raise ValueError(
                f'CIKDLoss: got {len(student_feats)} student and '
                f'{len(teacher_feats)} teacher feature levels; they must be '
                'equal and non-zero')
        losses = [
            self._level_distance(level, s, t)
            for level, (s, t) in enumerate(zip(student_feats, teacher_feats))
        ]
        return self.loss_weight * torch.stack(losses).mean()

    def _level_distance(self, level: int, student: Tensor,
                        teacher: Tensor) -> Tensor:
        c_s, c_t = student.shape[1], teacher.shape[1]
        if (c_s > c_t or student.shape[0] != teacher.shape[0]
                or student.shape[2:] != teacher.shape[2:]):
            raise ValueError(
                f'CIKDLoss: level {level}: student {tuple(student.shape)} '
                f'does not fit teacher {tuple(teacher.shape)}; need the same '
                'batch and spatial size and student channels <= teacher '
                'channels')
        teacher = teacher[:, :c_s]
        if self.distance == 'mse':
            return F.mse_loss(student, teacher)
        if self.distance == 'cosine':
            return (1 - F.cosine_similarity(student, teacher, dim=1,
                                            eps=1e-8)).mean()
        return F.mse_loss(_attention_map(student), _attention_map(teacher))

    def extra_repr(self) -> str:
        return f'distance={self.distance!r}, loss_weight={self.loss_weight}'
