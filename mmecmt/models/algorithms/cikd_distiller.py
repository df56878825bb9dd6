"""The CI-KD distiller of ECMT: which backbone outputs are distilled and
with which loss.

Configuration-Invariant Knowledge Distillation (the ECMT paper) pulls the
encoder features of every sandwich member towards the detached features of
the largest subnet of the same step, on the leading channels they share
(:class:`~mmecmt.models.losses.CIKDLoss`). The distiller picks the levels
(backbone outputs) compared; the algorithm decides when and with which
weight (:class:`~mmecmt.models.algorithms.SandwichAlgorithm`).
"""
from typing import Optional, Sequence, Tuple, Union

from torch import Tensor, nn

from mmecmt.registry import MODELS


@MODELS.register_module()
class CIKDDistiller(nn.Module):
    """CI-KD between a student's and the teacher's backbone outputs.

    Args:
        loss: the distance, a config (default
            ``dict(type='CIKDLoss', distance='mse')``) or a built module.
        levels: indices into the backbone outputs (negative indices count
            from the end). None: the levels the architecture's decoders read
            (its ``decoder_levels()``, set by :meth:`prepare`); when that is
            None too (a head declares no ``in_index``), every output.

    Shapes:
        feats: L tensors (B, C_l, H_l, W_l), the backbone outputs at the
            active widths; the student's C_l <= the teacher's.
        output of :meth:`forward`: scalar (unweighted).
    """

    def __init__(self,
                 loss: Union[dict, nn.Module] = dict(
                     type='CIKDLoss', distance='mse'),
                 levels: Optional[Sequence[int]] = None):
        super().__init__()
        self.loss = MODELS.build(dict(loss)) if isinstance(loss, dict) \
            else loss
        if not isinstance(self.loss, nn.Module):
            raise TypeError('CIKDDistiller: loss must be a config dict or an '
                            f'nn.Module, got {type(loss).__name__}')
        if levels is not None:
            bad = [i for i in levels if int(i) != i]
            if bad or isinstance(levels, (str, bytes)):
                raise ValueError('CIKDDistiller: levels must be integers '
                                 f'(backbone output indices), got {levels!r}')
            levels = tuple(int(i) for i in levels)
            if not levels:
                raise ValueError('CIKDDistiller: levels=() distils nothing; '
                                 'give indices of backbone outputs or None')
        self.explicit_levels = levels
        self.levels: Optional[Tuple[int, ...]] = levels

    def prepare(self, architecture: nn.Module) -> None:
        """Resolve ``levels=None`` to the levels ``architecture``'s decoders
        read (``architecture.decoder_levels()``, None = every output)."""
        if self.explicit_levels is None:
            decoder_levels = getattr(architecture, 'decoder_levels', None)
            self.levels = decoder_levels() if callable(decoder_levels) \
                else None

    def level_indices(self, num_levels: int) -> Tuple[int, ...]:
        """Sorted indices of the compared outputs of a backbone with
        ``num_levels`` outputs (negative indices resolved).

        Raises:
            IndexError: a level outside ``[-num_levels, num_levels)``.
        """
        if self.levels is None:
            return tuple(range(num_levels))
        bad = [i for i in self.levels if not -num_levels <= i < num_levels]
        if bad:
            raise IndexError(
                f'CI-KD levels {list(self.levels)}: {bad} out of range for '
                f'{num_levels} backbone outputs')
        return tuple(sorted({i % num_levels for i in self.levels}))

    def select(self, feats: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """The compared levels of ``feats``."""
        return tuple(feats[i] for i in self.level_indices(len(feats)))

    def forward(self, student_feats: Sequence[Tensor],
                teacher_feats: Sequence[Tensor]) -> Tensor:
        """The CI-KD loss (unweighted) of all backbone outputs of the
        student vs the (detached) ones of the teacher."""
        if len(student_feats) != len(teacher_feats):
            raise ValueError(
                f'CIKDDistiller: the student has {len(student_feats)} '
                f'backbone outputs, the teacher {len(teacher_feats)}')
        return self.loss(self.select(student_feats),
                         self.select(teacher_feats))


__all__ = ['CIKDDistiller']
