"""CDMA's controllable network: anchor net + edge and weight hypernets.

:class:`CDMANet` answers a request (task preference r, cost knob c) with a
tree of the anchor net's nodes and BN changes for them (Raychaudhuri et
al., "Controllable Dynamic Multi-Task Architectures", CVPR 2022)::

    (r, c) -> EdgeHypernet -> logits (L, N, N) -> most likely tree
    (r, c) -> WeightHypernet -> {(level, stream): {bn: (d_gamma, d_beta)}}
    image  -> used nodes of the tree (BN changed) -> each task's head

It is the *architecture* of CDMA (what deploys): :meth:`set_request` /
:meth:`set_tree` choose the running tree (the ``set_subnet`` of ECMT), and
its ``predict`` / ``val_step`` run it. How the hypernets are trained is the
algorithm's (:class:`~mmecmt.models.algorithms.CDMAAlgorithm`).
"""
from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModel
from torch import Tensor

from mmecmt.models.tree import BranchingTree, run_relaxed
from mmecmt.registry import MODELS
from mmecmt.structures.request import validate_preference
from .anchor_net import AnchorNet
from .multitask_encoder_decoder import MultiTaskEncoderDecoder


def check_cost(cost) -> float:
    """``cost`` as a float in [0, 1], else a ValueError naming it."""
    value = float(cost)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f'cost knob c={cost!r} is outside [0, 1]')
    return value


@MODELS.register_module()
class CDMANet(MultiTaskEncoderDecoder):
    """Anchor net, edge hypernet and weight hypernet.

    Args:
        anchor: :class:`AnchorNet` config.
        edge_hypernet: :class:`~mmecmt.models.controllers.EdgeHypernet`
            config (``num_tasks`` and ``num_levels`` are filled in).
        weight_hypernet: :class:`~mmecmt.models.controllers.WeightHypernet`
            config (``num_tasks`` and ``bn_layout`` are filled in).
        default_request: the request run when none was set (validation
            during training): ``dict(preference=None | {task: r},
            cost=c)``; ``None`` is the uniform preference.
        data_preprocessor / align_corners / init_cfg: as
            :class:`MultiTaskEncoderDecoder`.
    """

    def __init__(self,
                 anchor: dict,
                 edge_hypernet: dict = dict(type='EdgeHypernet'),
                 weight_hypernet: dict = dict(type='WeightHypernet'),
                 default_request: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultiTaskDataPreProcessor')
        BaseModel.__init__(self, data_preprocessor=data_preprocessor,
                           init_cfg=init_cfg)
        self.anchor: AnchorNet = MODELS.build(dict(anchor, type=anchor.get(
            'type', 'AnchorNet')))
        self.neck = None
        self.align_corners = align_corners
        n, levels = self.anchor.num_streams, self.anchor.num_levels
        self.edge_hypernet = MODELS.build(
            dict(edge_hypernet, num_tasks=n, num_levels=levels))
        self.weight_hypernet = MODELS.build(
            dict(weight_hypernet, num_tasks=n,
                 bn_layout=self.anchor.bn_layout()))
        request = dict(default_request or {})
        unknown = set(request) - {'preference', 'cost'}
        if unknown:
            raise KeyError(f'default_request: unknown keys {sorted(unknown)}'
                           '; valid: preference, cost')
        self.default_request = (request.get('preference'),
                                check_cost(request.get('cost', 0.5)))
        self._active: Optional[Tuple[BranchingTree, Optional[dict]]] = None

    # ------------------------------------------------------------------
    # tasks and losses: the anchor's
    # ------------------------------------------------------------------
    @property
    def task_specs(self) -> Dict:
        return self.anchor.task_specs

    @property
    def tasks(self):
        return list(self.anchor.tasks)

    @property
    def task_losses(self) -> Dict:
        return {t: self.anchor.task_loss(i)
                for i, t in enumerate(self.anchor.tasks)}

    @property
    def heads(self) -> Dict:
        return {t: self.anchor.head(i)
                for i, t in enumerate(self.anchor.tasks)}

    # ------------------------------------------------------------------
    # requests
    # ------------------------------------------------------------------
    def preference_tensor(self, preference) -> Tensor:
        """A validated preference (dict, sequence or None = uniform) as an
        (N,) tensor in task order."""
        if preference is None:
            n = self.anchor.num_streams
            return torch.full((n, ), 1.0 / n)
        if isinstance(preference, Tensor):
            preference = preference.detach().cpu().tolist()
        pref = validate_preference(preference, self.tasks)
        return torch.tensor([pref[t] for t in self.tasks],
                            dtype=torch.float32)

    def edge_logits(self, preference, cost) -> Tensor:
        """(L, N, N) branching logits of the request."""
        if not isinstance(preference, Tensor):
            preference = self.preference_tensor(preference)
        return self.edge_hypernet(preference, cost)

    def most_likely_tree(self, preference, cost) -> BranchingTree:
        """The test-time tree: every child's most likely parent."""
        with torch.no_grad():
            logits = self.edge_logits(preference, check_cost(cost))
        return BranchingTree(logits.argmax(-1).tolist())

    def bn_deltas(self, preference, cost) -> Dict:
        """BN changes of every node for the request (weight hypernet)."""
        if not isinstance(preference, Tensor):
            preference = self.preference_tensor(preference)
        return self.weight_hypernet(preference, cost)

    def set_tree(self, tree: BranchingTree,
                 bn_deltas: Optional[Mapping] = None) -> None:
        """Run ``tree`` (with ``bn_deltas``) from now on."""
        if (tree.num_levels, tree.num_streams) != (
                self.anchor.num_levels, self.anchor.num_streams):
            raise ValueError(
                f'a tree of {tree.num_levels} x {tree.num_streams}; this '
                f'anchor net has {self.anchor.num_levels} edge levels x '
                f'{self.anchor.num_streams} streams')
        self._active = (tree, bn_deltas)

    def set_request(self, preference, cost) -> BranchingTree:
        """Run the answer to (r, c): its most likely tree and BN changes."""
        cost = check_cost(cost)
        tree = self.most_likely_tree(preference, cost)
        with torch.no_grad():
            deltas = self.bn_deltas(preference, cost)
        self.set_tree(tree, deltas)
        return tree

    @property
    def active_tree(self) -> BranchingTree:
        if self._active is None:
            self.set_request(*self.default_request)
        return self._active[0]

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def extract_feat(self, inputs: Tensor):
        raise NotImplementedError(
            'CDMANet has one feature tuple per task: use _forward')

    def decode_tasks(self, feats: Sequence[Tuple[Tensor, ...]],
                     input_size) -> Dict[str, Tensor]:
        """Every task's head on its own features."""
        return {t: self.anchor.decode(i, feats[i], input_size)
                for i, t in enumerate(self.tasks)}

    def _forward(self, inputs: Tensor, data_samples=None) -> Dict[str, Tensor]:
        """The active tree: (B, 3, H, W) -> {task: raw output}."""
        tree = self.active_tree
        feats = self.anchor.forward_tree(inputs, tree, self._active[1])
        return self.decode_tasks(feats, inputs.shape[-2:])

    def tree_forward(self, inputs: Tensor, tree: BranchingTree,
                     bn_deltas=None) -> Dict[str, Tensor]:
        """``tree`` (used nodes only) with ``bn_deltas``."""
        feats = self.anchor.forward_tree(inputs, tree, bn_deltas)
        return self.decode_tasks(feats, inputs.shape[-2:])

    def relaxed_forward(self, inputs: Tensor, edges: Tensor,
                        bn_deltas=None) -> Dict[str, Tensor]:
        """Every node on its edge-weighted parents (training of the edge
        hypernet; ``edges`` (L, N, N))."""
        feats = run_relaxed(self.anchor.node, edges, self.anchor.tap_levels,
                            inputs, bn_deltas)
        return self.decode_tasks(feats, inputs.shape[-2:])


__all__ = ['CDMANet', 'check_cost']
