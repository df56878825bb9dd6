"""Branching regulariser of CDMA.

Controllable Dynamic Multi-Task Architectures (Raychaudhuri et al., CVPR
2022) steer the tree sampled from the edge marginals ``nu`` with the task
preference ``r`` and the compute budget ``c``:

* the *active* term pulls the edge distributions of related active tasks
  together (more sharing, a cheaper tree), weighted by the budget ``c``, the
  task affinity ``A``, the depth of the level (shallow levels more) and the
  probability that both child nodes are used;
* the *inactive* term pulls each inactive task's edge distribution towards
  the closest active task's, so that low-preference tasks ride on the
  branches of the active ones.

Node-usage probabilities come from
:func:`mmecmt.models.tree.node_usage_probability`.
"""
from typing import Dict, Optional, Union

import torch
from torch import Tensor, nn

from mmecmt.registry import MODELS
from ..tree import node_usage_probability

#: The paper's active-task threshold is ``TAU_FACTOR / N``.
TAU_FACTOR = 0.6

#: Tolerance on ``|sum_i r_i - 1|``.
PREFERENCE_SUM_ATOL = 1e-4


@MODELS.register_module()
class BranchingRegularizer(nn.Module):
    """Active / inactive branching losses of CDMA.

    With 0-based edge levels ``l = 0..L-1``, ``P_use`` the (L + 1, N) node
    usage probabilities of ``nu``, active tasks ``A_set = {i: r_i >= tau}``
    and inactive tasks ``I_set = {i: r_i < tau}``::

        L_active = sum_{l=0}^{L-1} sum_{i != j in A_set} ((L - l) / L)
                   * A[i, j] * P_use[l + 1, i] * P_use[l + 1, j]
                   * ||nu[l, i] - nu[l, j]||^2

    where the inner sum runs over *ordered* pairs ``(i, j)``, ``i != j`` (each
    unordered pair counts twice, once with ``A[i, j]`` and once with
    ``A[j, i]``), and::

        L_inactive = sum_{l=0}^{L-1} sum_{j in I_set}
                     min_{i in A_set} ||nu[l, i] - nu[l, j]||^2

    Args:
        lambda_active: weight of the active term (>= 0).
        lambda_inactive: weight of the inactive term (>= 0).
        tau: active-task threshold in [0, 1]; ``None`` uses the paper's rule
            ``0.6 / N`` (N read from the inputs), which always leaves at
            least one task active.
        inactive_follows_active: the inactive term moves only the inactive
            tasks' rows (the active rows are its fixed targets; ours, the
            paper does not say). Without it, a skewed preference's many
            inactive tasks pull the active task's row off its own stream.

    Shapes:
        nu: (L, N, N) edge marginals, rows summing to 1 (see
            :func:`mmecmt.models.tree.node_usage_probability`).
        preference: (N,) ``r``, non-negative, summing to 1.
        cost: float or 0-d tensor ``c`` in [0, 1].
        affinity: (N, N) task affinity ``A``, finite.
        output: dict of two 0-d tensors, ``loss_branch_active =
            c * lambda_active * L_active`` and ``loss_branch_inactive =
            lambda_inactive * L_inactive``.
    """

    def __init__(self,
                 lambda_active: float = 1.0,
                 lambda_inactive: float = 0.1,
                 tau: Optional[float] = None,
                 inactive_follows_active: bool = True):
        super().__init__()
        self.inactive_follows_active = bool(inactive_follows_active)
        for name, value in (('lambda_active', lambda_active),
                            ('lambda_inactive', lambda_inactive)):
            if not value >= 0:
                raise ValueError(f'BranchingRegularizer: {name} must be >= '
                                 f'0, got {value}')
        if tau is not None and not 0 <= tau <= 1:
            raise ValueError('BranchingRegularizer: tau must be None (0.6 / '
                             f'N) or in [0, 1], got {tau}')
        self.lambda_active = float(lambda_active)
        self.lambda_inactive = float(lambda_inactive)
        self.tau = None if tau is None else float(tau)

    def threshold(self, num_tasks: int) -> float:
        """The active-task threshold for ``num_tasks`` tasks."""
        return TAU_FACTOR / num_tasks if self.tau is None else self.tau

    def active_tasks(self, preference: Tensor) -> Tensor:
        """(N,) boolean mask of the active tasks, ``r_i >= tau``.

        Args:
            preference: (N,) task preference, non-negative, summing to 1.
        """
        preference = self._check_preference(preference, None)
        return preference >= self.threshold(preference.numel())

    @staticmethod
    def _check_preference(preference, num_tasks: Optional[int]) -> Tensor:
        preference = torch.as_tensor(preference)
        if preference.dim() != 1 or (num_tasks is not None
                                     and preference.numel() != num_tasks):
            expected = 'N' if num_tasks is None else str(num_tasks)
            raise ValueError('BranchingRegularizer: preference must have '
                             f'shape ({expected},), got '
                             f'{tuple(preference.shape)}')
        if preference.numel() == 0:
            raise ValueError('BranchingRegularizer: preference is empty')
        values = preference.detach().double()
        if not torch.isfinite(values).all() or (values < 0).any():
            raise ValueError('BranchingRegularizer: preference entries must '
                             'be finite and >= 0, got '
                             f'{values.tolist()}')
        total = values.sum().item()
        if abs(total - 1) > PREFERENCE_SUM_ATOL:
            raise ValueError('BranchingRegularizer: preference must sum to 1 '
                             f'(within {PREFERENCE_SUM_ATOL}), sums to '
                             f'{total:.6g}')
        return preference

    def forward(self, nu: Tensor, preference: Tensor,
                cost: Union[float, Tensor],
                affinity: Tensor) -> Dict[str, Tensor]:
        """Compute the two branching losses (shapes in the class docstring).

        Raises:
            ValueError: a bad shape or value of an input, or no active task
                (possible only with an explicit ``tau > 1 / N``).
        """
        # Validates nu: (L, N, N), rows summing to 1.
        usage = node_usage_probability(nu)  # (L + 1, N)
        num_levels, num_tasks = nu.shape[0], nu.shape[1]
        if num_levels < 1:
            raise ValueError('BranchingRegularizer: nu needs at least one '
                             f'edge level, got shape {tuple(nu.shape)}')
        preference = self._check_preference(preference, num_tasks)
        cost = torch.as_tensor(cost)
        if cost.numel() != 1 or cost.dim() > 1:
            raise ValueError('BranchingRegularizer: cost must be a float or '
                             f'0-d tensor, got shape {tuple(cost.shape)}')
        cost = cost.reshape(()).to(dtype=nu.dtype, device=nu.device)
        cost_value = cost.item()
        if not 0 <= cost_value <= 1:
            raise ValueError('BranchingRegularizer: cost must be in [0, 1], '
                             f'got {cost_value}')
        affinity = torch.as_tensor(affinity)
        if tuple(affinity.shape) != (num_tasks, num_tasks):
            raise ValueError('BranchingRegularizer: affinity must have shape '
                             f'({num_tasks}, {num_tasks}), got '
                             f'{tuple(affinity.shape)}')
        affinity = affinity.to(dtype=nu.dtype, device=nu.device)
        if not torch.isfinite(affinity).all():
            raise ValueError('BranchingRegularizer: affinity must be finite')

        tau = self.threshold(num_tasks)
        active = (preference >= tau).to(nu.device)  # (N,)
        if not active.any():
            raise ValueError(
                f'BranchingRegularizer: no active task: tau={tau} exceeds '
                f'max preference {preference.max().item():.6g}; use tau <= '
                f'1 / N = {1 / num_tasks:.6g} or None')
        inactive = ~active

        # sq_dist[l, i, j] = ||nu[l, i] - nu[l, j]||^2, (L, N, N).
        sq_dist = (nu[:, :, None, :] - nu[:, None, :, :]).pow(2).sum(-1)

        # Active term.
        depth = (num_levels - torch.arange(
            num_levels, dtype=nu.dtype, device=nu.device)) / num_levels
        child_usage = usage[1:]  # (L, N): P_use[l + 1, :]
        both_used = child_usage[:, :, None] * child_usage[:, None, :]
        eye = torch.eye(num_tasks, dtype=torch.bool, device=nu.device)
        pair_mask = (active[:, None] & active[None, :] & ~eye).to(nu.dtype)
        loss_active = (depth[:, None, None] * affinity * both_used * sq_dist *
                       pair_mask).sum()

        # Inactive term: (L, |A_set|, |I_set|) -> min over active -> sum.
        # The inactive rows move towards the active ones, not the reverse
        # (inactive_follows_active; ours): otherwise the many inactive tasks
        # of a skewed preference drag an active task off its own stream.
        target = nu.detach() if self.inactive_follows_active else nu
        to_active = (target[:, :, None, :] - nu[:, None, :, :]).pow(2).sum(
            -1)[:, active][:, :, inactive]
        loss_inactive = to_active.amin(dim=1).sum()

        return dict(
            loss_branch_active=cost * self.lambda_active * loss_active,
            loss_branch_inactive=self.lambda_inactive * loss_inactive)

    def extra_repr(self) -> str:
        tau = '0.6 / N' if self.tau is None else self.tau
        return (f'lambda_active={self.lambda_active}, '
                f'lambda_inactive={self.lambda_inactive}, tau={tau}, '
                f'inactive_follows_active={self.inactive_follows_active}')
