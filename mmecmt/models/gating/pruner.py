"""Prune a gated multi-task network to its static model.

:class:`GatePruner` fixes the gates (``alpha > 0``, or a given
:class:`~mmecmt.models.gating.GatePattern`) and removes what no task reads
(InterroGate, arXiv 2402.16848, Section "pruning"; the rules are ours):

- a task unit whose channels no task reads (all its gates 0) is removed,
  else its output layers keep only the channels its task reads;
- a shared unit every task bypasses (all gates 1) is removed, else its
  output layers keep the channels some task reads;
- where a task mixes its own and shared channels, its features are one
  channel gather, ``cat([phi_kept, psi_kept])[:, order]``.

Kept channels are arbitrary index sets: the output layers become dynamic
ops with a channel index (``DynamicConv2d.set_out_index``,
``DynamicBatchNorm2d.set_index``) and are then exported to plain layers by
the same path as slimmable subnets
(:func:`~mmecmt.models.slimmable.export.replace_dynamic_ops_`). The result
is the architecture's class without gates: all tasks in one pass, outputs
equal to the hard-gated model's, MACs equal to its ``pattern_macs``.
"""
import copy
from typing import Optional

import torch
from torch import Tensor, nn

from mmecmt.models.slimmable.convert import convert_to_dynamic_
from mmecmt.models.slimmable.export import replace_dynamic_ops_
from .pattern import GatePattern
from .units import index_of_mask, set_unit_out_index


class GatePruner:
    """``GatePruner()(model)`` -> the pruned static copy of a
    :class:`~mmecmt.models.architectures.GatedMultiTaskNet` (or of a
    training algorithm around one); ``model`` is not modified.

    Args:
        example_shape: (H, W) of the input that traces the layers' widths
            during export (widths do not depend on it).
    """

    def __init__(self, example_shape=(64, 64)):
        self.example_shape = tuple(int(s) for s in example_shape)

    def __call__(self, model: nn.Module,
                 pattern: Optional[GatePattern] = None) -> nn.Module:
        from mmecmt.models.algorithms import architecture_of
        model = architecture_of(model)
        if getattr(model, 'pattern', None) is not None:
            raise ValueError('the model is already pruned')
        if not hasattr(model, 'gate_logits'):
            raise TypeError(f'{type(model).__name__} is not a gated '
                            'multi-task network')
        pattern = pattern or model.gate_pattern()
        model._check_pattern(pattern)
        pruned = copy.deepcopy(model).eval()
        self._prune_(pruned, pattern)
        device = pruned.share_logits.device
        example = torch.zeros(1, 3, *self.example_shape, device=device)
        replace_dynamic_ops_(pruned, example)
        return pruned.eval()

    @staticmethod
    def _keep(unit: nn.Module, mask: Tensor) -> Optional[Tensor]:
        """Index the unit's output layers to ``mask``; the index (None when
        every channel is kept)."""
        if bool(mask.all()):
            return None
        index = index_of_mask(mask)
        convert_to_dynamic_(unit)
        set_unit_out_index(unit, index)
        return index

    def _prune_(self, model: nn.Module, pattern: GatePattern) -> None:
        tasks = model.tasks
        for level in range(pattern.num_units):
            shared_mask = pattern.shared_keep(level)
            shared_pos = torch.cumsum(shared_mask.long(), 0) - 1
            if bool(shared_mask.any()):
                model.register_buffer(
                    f'keep_shared_{level}',
                    self._keep(model.shared_units[level], shared_mask),
                    persistent=False)
            else:
                model.shared_units[level] = None
            for k, task in enumerate(tasks):
                mask = pattern.task_keep(level, k)
                units = model.task_units[task]
                if not bool(mask.any()):
                    units[level] = None
                    continue
                model.register_buffer(f'keep_{task}_{level}',
                                      self._keep(units[level], mask),
                                      persistent=False)
                if bool(mask.all()):
                    continue
                # channel c: own kept channel number, or after the own ones
                # the shared unit's kept channel number
                own_pos = torch.cumsum(mask.long(), 0) - 1
                order = torch.where(mask, own_pos,
                                    int(mask.sum()) + shared_pos)
                model.register_buffer(f'keep_mix_{task}_{level}', order,
                                      persistent=False)
        del model.gate_logits
        model.gate_logits = None
        model.sparsity = None
        model.pattern = pattern


__all__ = ['GatePruner']
