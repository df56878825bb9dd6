"""CDMA's training: two stages of hypernetwork training on a frozen anchor
net (Raychaudhuri et al., "Controllable Dynamic Multi-Task Architectures",
CVPR 2022).

Every step draws one request, ``r ~ Dirichlet(alpha, ..., alpha)`` (alpha =
0.2) and ``c ~ U(0, 1)``, and trains on ``sum_i r_i w_i L_i`` (``L_i`` the
stream's own task loss with its loss weight, ``w_i`` optional extra
``loss_scales``):

- **stage 1** (edge hypernet): edges sampled with a straight-through
  Gumbel-softmax at ``temperature`` (set by a
  :class:`~mmecmt.engine.hooks.ScheduledValueHook`); every node runs on its
  sampled parent (:meth:`~mmecmt.models.architectures.CDMANet.
  relaxed_forward`); plus the branching regulariser ``Omega``
  (:class:`~mmecmt.models.losses.BranchingRegularizer`) on the edge
  marginals, with the task affinity set by
  :class:`~mmecmt.engine.hooks.TaskAffinityHook` before training;
- **stage 2** (weight hypernet): the edge hypernet frozen, the most likely
  tree of the request, the weight hypernet's BN changes, task loss only.

The anchor net is frozen in both stages; the draws come from torch's global
generator (seeded by the config's ``randomness``).
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from mmecmt.registry import MODELS
from .base import BaseAlgorithm

STAGES = (1, 2)


@MODELS.register_module()
class CDMAAlgorithm(BaseAlgorithm):
    """Train a :class:`~mmecmt.models.architectures.CDMANet`'s hypernets.

    Args:
        architecture: the ``CDMANet`` config.
        stage: 1 (edge hypernet) or 2 (weight hypernet).
        regularizer: ``BranchingRegularizer`` config (stage 1).
        dirichlet_alpha: concentration of the preference draws (0.2).
        temperature: the Gumbel-softmax temperature (scheduled by a hook).
        loss_scales: optional ``{task: w_i}`` (default 1 for every task).
        hard_samples: straight-through one-hot edge samples (every node
            runs on one parent, as at test time); False: the soft
            Gumbel-softmax mixture of the parents (lower-variance
            gradients; the paper does not say which).
        data_preprocessor / init_cfg: as :class:`BaseAlgorithm`.

    Attributes:
        task_affinity (Tensor): (N, N) buffer; NaN until set by
            :meth:`set_task_affinity`.
    """

    def __init__(self,
                 architecture: dict,
                 stage: int = 1,
                 regularizer: dict = dict(type='BranchingRegularizer'),
                 dirichlet_alpha: float = 0.2,
                 temperature: float = 5.0,
                 loss_scales: Optional[Dict[str, float]] = None,
                 hard_samples: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(architecture, data_preprocessor, init_cfg)
        if stage not in STAGES:
            raise ValueError(f'CDMA stage {stage!r}; valid: {STAGES}')
        if not dirichlet_alpha > 0:
            raise ValueError(f'dirichlet_alpha must be > 0, got '
                             f'{dirichlet_alpha}')
        self.stage = stage
        self.regularizer = MODELS.build(regularizer)
        self.dirichlet_alpha = float(dirichlet_alpha)
        self.temperature = float(temperature)
        self.hard_samples = bool(hard_samples)
        tasks = self.architecture.tasks
        scales = dict(loss_scales or {})
        unknown = set(scales) - set(tasks)
        if unknown:
            raise KeyError(f'loss_scales: unknown tasks {sorted(unknown)}; '
                           f'valid: {tasks}')
        self.register_buffer('loss_scales', torch.tensor(
            [float(scales.get(t, 1.0)) for t in tasks]), persistent=False)
        n = len(tasks)
        self.register_buffer('task_affinity', torch.full((n, n),
                                                         float('nan')))
        trained = (self.architecture.edge_hypernet if stage == 1 else
                   self.architecture.weight_hypernet)
        for p in self.architecture.parameters():
            p.requires_grad_(False)
        for p in trained.parameters():
            p.requires_grad_(True)

    @property
    def anchor(self):
        """The architecture's anchor net (the task affinity's features)."""
        return self.architecture.anchor

    def set_task_affinity(self, matrix) -> None:
        """Set the (N, N) task affinity of the branching regulariser."""
        matrix = torch.as_tensor(matrix, dtype=torch.float32)
        if matrix.shape != self.task_affinity.shape:
            raise ValueError(f'task affinity of shape {tuple(matrix.shape)};'
                             f' expected {tuple(self.task_affinity.shape)}')
        self.task_affinity.copy_(matrix)

    def sample_request(self):
        """One training request: ``(r (N,), c)``."""
        n = len(self.architecture.tasks)
        alpha = torch.full((n, ), self.dirichlet_alpha)
        preference = torch.distributions.Dirichlet(alpha).sample()
        return preference, float(torch.rand(()))

    def forward(self, inputs: Tensor, data_samples=None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """One request's losses: ``loss_task`` (``sum_i r_i w_i L_i``),
        stage 1 also ``loss_branch_active`` / ``loss_branch_inactive``;
        the unweighted task losses are logged as ``task_<name>``."""
        arch = self.architecture
        preference, cost = self.sample_request()
        preference = preference.to(inputs.device)
        losses: Dict[str, Tensor] = {}
        if self.stage == 1:
            if torch.isnan(self.task_affinity).any():
                raise RuntimeError(
                    'CDMA stage 1 needs the task affinity: add '
                    "dict(type='TaskAffinityHook') to custom_hooks")
            logits = arch.edge_logits(preference, cost)
            edges = F.gumbel_softmax(logits, tau=self.temperature,
                                    hard=self.hard_samples)
            outputs = arch.relaxed_forward(inputs, edges)
            losses.update(self.regularizer(
                logits.softmax(-1), preference, cost,
                self.task_affinity.to(inputs.device)))
        else:
            tree = arch.most_likely_tree(preference, cost)
            outputs = arch.tree_forward(inputs, tree,
                                        arch.bn_deltas(preference, cost))
        task_losses = arch.compute_task_losses(outputs, data_samples)
        weighted = 0.0
        for i, task in enumerate(arch.tasks):
            value = task_losses[f'loss_{task}']
            weighted = weighted + preference[i] * self.loss_scales[i] * value
            losses[f'task_{task}'] = value.detach()
        losses['loss_task'] = weighted
        losses['cost'] = torch.tensor(cost)
        return losses


__all__ = ['CDMAAlgorithm', 'STAGES']
