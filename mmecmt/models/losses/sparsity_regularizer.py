"""InterroGate's budget: a hinge on the gates, as a rate or as MACs.

Two modes (:class:`SparsityRegularizer`):

- ``'rate'`` (the paper's sparsity regulariser, Bejnordi et al., arXiv
  2402.16848): ``lambda_s * sum_t max(0, rate_t - tau_t)``, ``rate_t`` the
  mean gate of task ``t`` over every channel of every unit (the fraction of
  its task-specific channels) and ``tau_t`` its target rate;
- ``'macs'`` (ours): ``lambda_s * max(0, E / B - 1)``, ``E`` the
  differentiable estimate of the pruned model's MACs
  (:meth:`~mmecmt.models.architectures.GatedMultiTaskNet.expected_macs`,
  exact at hard gates) and ``B`` the budget: MACs (``150e6``), a text
  (``'150M'``) or a fraction of the fully specialised model (``'0.5x'``),
  counted at ``input_shape``. With ``lower_margin`` m (ours) also
  ``lambda_s * max(0, 1 - m - E / B)``: the estimate is held in
  ``[(1 - m) B, B]`` rather than only below ``B`` (the task losses alone
  may not spend a large budget).

Both are zero while the gates are within the target and push every gate
down (towards the shared unit) with equal weight per MAC or per channel
otherwise; the task losses decide which channels stay specialised.
"""
from typing import Dict, Mapping, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from mmecmt.registry import MODELS
from mmecmt.structures.request import format_macs, parse_budget

MODES = ('rate', 'macs')


@MODELS.register_module()
class SparsityRegularizer(nn.Module):
    """The budget hinge of a gated multi-task network.

    Args:
        mode: ``'macs'`` or ``'rate'``.
        budget: ``'macs'`` mode: MACs, or a text (``'150M'``, ``'0.5x'``
            of the fully specialised model).
        rate: ``'rate'`` mode: ``tau`` for every task, or ``{task: tau}``,
            each in [0, 1].
        input_shape: (H, W) at which the MACs are counted (the deployment
            input: the training crop padded to the preprocessor's divisor).
        loss_weight: ``lambda_s``.
        lower_margin: ``'macs'`` mode: also penalise an estimate below
            ``(1 - lower_margin) * budget`` (in (0, 1); None: the one-sided
            hinge).

    Returns (forward): ``{'loss_sparsity': scalar}`` plus, logged only,
    ``macs_estimate`` (MMACs) in ``'macs'`` mode.
    """

    def __init__(self,
                 mode: str = 'macs',
                 budget: Union[int, float, str, None] = None,
                 rate: Union[float, Mapping[str, float], None] = None,
                 input_shape: Sequence[int] = (96, 128),
                 loss_weight: float = 1.0,
                 lower_margin: Optional[float] = None):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f'SparsityRegularizer: unknown mode {mode!r}; '
                             f'valid: {MODES}')
        if mode == 'macs' and budget is None:
            raise ValueError("SparsityRegularizer: mode 'macs' needs a "
                             "budget (MACs, '150M' or '0.5x')")
        if mode == 'rate' and rate is None:
            raise ValueError("SparsityRegularizer: mode 'rate' needs a target"
                             ' rate (a float or {task: float})')
        rates = rate.values() if isinstance(rate, Mapping) else [rate]
        if mode == 'rate' and not all(
                isinstance(r, (int, float)) and 0 <= r <= 1 for r in rates):
            raise ValueError(f'SparsityRegularizer: target rates must be in '
                             f'[0, 1], got {rate!r}')
        if not loss_weight >= 0:
            raise ValueError(f'SparsityRegularizer: loss_weight must be >= 0,'
                             f' got {loss_weight}')
        if lower_margin is not None and (
                mode != 'macs' or not 0 < lower_margin < 1):
            raise ValueError(f'SparsityRegularizer: lower_margin must be in '
                             f"(0, 1) and only in mode 'macs', got "
                             f'{lower_margin!r} in mode {mode!r}')
        self.lower_margin = lower_margin
        self.mode = mode
        self.budget = budget
        self.rate = rate
        self.input_shape = tuple(int(s) for s in input_shape)
        self.loss_weight = float(loss_weight)
        self._budget_macs: Optional[int] = None

    def budget_macs(self, model) -> int:
        """The budget in MACs for ``model`` (checked against its range)."""
        if self._budget_macs is None:
            low, high = model.macs_bounds(self.input_shape)
            macs = parse_budget(self.budget, high)
            if not low <= macs <= high:
                raise ValueError(
                    f'SparsityRegularizer: budget {format_macs(macs)} is '
                    f'outside the model\'s range {format_macs(low)} (fully '
                    f'shared) - {format_macs(high)} (fully specialised) at '
                    f'input {self.input_shape}')
            self._budget_macs = int(macs)
        return self._budget_macs

    def target_rates(self, tasks: Sequence[str]) -> Tensor:
        """(T,) targets ``tau_t``."""
        if isinstance(self.rate, Mapping):
            missing = set(tasks) - set(self.rate)
            unknown = set(self.rate) - set(tasks)
            if missing or unknown:
                raise KeyError(f'SparsityRegularizer: rate targets for '
                               f'{sorted(self.rate)}; the tasks are '
                               f'{list(tasks)}')
            return torch.tensor([float(self.rate[t]) for t in tasks])
        return torch.full((len(tasks), ), float(self.rate))

    def forward(self, model, gates: Sequence[Tensor],
                hard: bool = True) -> Dict[str, Tensor]:
        """The hinge of ``model`` whose forward pass used ``gates`` ((T,
        C_l) per unit; hard or soft as ``hard``)."""
        if self.mode == 'macs':
            budget = self.budget_macs(model)
            estimate = model.expected_macs(list(model.gate_logits),
                                           self.input_shape, hard)
            loss = torch.relu(estimate / budget - 1)
            if self.lower_margin is not None:
                loss = loss + torch.relu(1 - self.lower_margin -
                                         estimate / budget)
            return dict(loss_sparsity=self.loss_weight * loss,
                        macs_estimate=estimate.detach() / 1e6)
        rates = torch.cat([g for g in gates], dim=1).mean(1)
        target = self.target_rates(model.tasks).to(rates)
        loss = torch.relu(rates - target).sum()
        return dict(loss_sparsity=self.loss_weight * loss)


__all__ = ['SparsityRegularizer', 'MODES']
