"""CDMA's controllers: hypernetworks from a request (r, c) to an
architecture (Raychaudhuri et al., "Controllable Dynamic Multi-Task
Architectures", CVPR 2022).

Both read the *preference embedding* ``p = sum_i r_i e_i + c e_c`` of a task
preference r (a distribution over the N tasks) and a cost knob c in [0, 1]
(larger = more frugal: more sharing), with learnable 32-d embeddings
``e_1..e_N, e_c`` of their own:

- :class:`EdgeHypernet`: an MLP (2 hidden layers of width 100) and L linear
  heads of N x N branching logits: ``logits[l, k, i]`` scores parent
  ``(l, i)`` for child node ``(l + 1, k)``;
- :class:`WeightHypernet`: an MLP (3 hidden layers of width 100) predicting
  a change ``(delta_gamma, delta_beta)`` of every BN layer of every node.

Our choices (not given by the paper): the embeddings start from N(0, 1);
the edge heads' biases start at ``identity_bias`` on the own-stream parent
(so an untrained controller proposes the full anchor net); the weight
hypernet's output layer starts at zero (no BN change before training).
"""
from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmecmt.registry import MODELS


def _mlp(in_dim: int, hidden: Sequence[int]) -> nn.Sequential:
    layers: List[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU(inplace=True)]
        in_dim = width
    return nn.Sequential(*layers)


class PreferenceEmbedding(nn.Module):
    """``p = sum_i r_i e_i + c e_c``: (N,), () -> (embed_dim,)."""

    def __init__(self, num_tasks: int, embed_dim: int = 32):
        super().__init__()
        self.task_embeddings = nn.Parameter(torch.randn(num_tasks,
                                                        embed_dim))
        self.cost_embedding = nn.Parameter(torch.randn(embed_dim))

    def forward(self, preference: Tensor, cost: Tensor) -> Tensor:
        preference = torch.as_tensor(preference, dtype=torch.float32,
                                     device=self.cost_embedding.device)
        cost = torch.as_tensor(cost, dtype=torch.float32,
                               device=self.cost_embedding.device)
        if preference.shape != (self.task_embeddings.shape[0], ):
            raise ValueError(
                f'preference of shape {tuple(preference.shape)}; expected '
                f'({self.task_embeddings.shape[0]},)')
        return preference @ self.task_embeddings + cost * self.cost_embedding


@MODELS.register_module()
class EdgeHypernet(nn.Module):
    """(r, c) -> branching logits (L, N, N).

    Args:
        num_tasks: N.
        num_levels: L (edge levels of the anchor net).
        embed_dim: size of the preference embedding (32 in the paper).
        hidden: widths of the MLP's hidden layers ((100, 100)).
        identity_bias: initial logit bonus of the own-stream parent.
    """

    def __init__(self, num_tasks: int, num_levels: int, embed_dim: int = 32,
                 hidden: Sequence[int] = (100, 100),
                 identity_bias: float = 1.0):
        super().__init__()
        self.num_tasks, self.num_levels = int(num_tasks), int(num_levels)
        self.embedding = PreferenceEmbedding(num_tasks, embed_dim)
        self.mlp = _mlp(embed_dim, hidden)
        width = hidden[-1] if hidden else embed_dim
        self.heads = nn.ModuleList(
            nn.Linear(width, num_tasks * num_tasks)
            for _ in range(num_levels))
        eye = torch.eye(num_tasks).flatten() * identity_bias
        for head in self.heads:
            with torch.no_grad():
                head.bias.copy_(eye)

    def forward(self, preference: Tensor, cost) -> Tensor:
        """(N,) preference, scalar cost -> (L, N, N) logits."""
        h = self.mlp(self.embedding(preference, cost))
        n = self.num_tasks
        return torch.stack([head(h).view(n, n) for head in self.heads])


@MODELS.register_module()
class WeightHypernet(nn.Module):
    """(r, c) -> a BN change for every BN layer of every node.

    Args:
        num_tasks: N.
        bn_layout: ``[((level, stream), bn_name, channels), ...]``
            (:meth:`~mmecmt.models.architectures.AnchorNet.bn_layout`).
        embed_dim: size of the preference embedding (32).
        hidden: widths of the MLP's hidden layers ((100, 100, 100)).
    """

    def __init__(self, num_tasks: int,
                 bn_layout: Sequence[Tuple[Tuple[int, int], str, int]],
                 embed_dim: int = 32,
                 hidden: Sequence[int] = (100, 100, 100)):
        super().__init__()
        self.bn_layout = [((int(n[0]), int(n[1])), str(name), int(c))
                          for n, name, c in bn_layout]
        if not self.bn_layout:
            raise ValueError('WeightHypernet: the anchor net has no BN layer '
                             'to modulate')
        self.num_outputs = 2 * sum(c for _, _, c in self.bn_layout)
        self.embedding = PreferenceEmbedding(num_tasks, embed_dim)
        self.mlp = _mlp(embed_dim, hidden)
        self.out = nn.Linear(hidden[-1] if hidden else embed_dim,
                             self.num_outputs)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, preference: Tensor, cost
                ) -> Dict[Tuple[int, int], Dict[str, Tuple[Tensor, Tensor]]]:
        """-> ``{(level, stream): {bn_name: (delta_gamma (C,),
        delta_beta (C,))}}``."""
        flat = self.out(self.mlp(self.embedding(preference, cost)))
        deltas: Dict[Tuple[int, int], Dict[str, Tuple[Tensor, Tensor]]] = {}
        offset = 0
        for node, name, channels in self.bn_layout:
            gamma = flat[offset:offset + channels]
            beta = flat[offset + channels:offset + 2 * channels]
            offset += 2 * channels
            deltas.setdefault(node, {})[name] = (gamma, beta)
        return deltas


__all__ = ['PreferenceEmbedding', 'EdgeHypernet', 'WeightHypernet']
