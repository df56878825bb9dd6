"""CDMA on the deployment contract: (preference, MACs budget) -> a tree.

CDMA's controller reads a cost knob c in [0, 1], not MACs. :meth:`plan`
maps the budget to c by the rule (ours; the paper sets c directly):

    evaluate the edge hypernet at r on a grid of c (``cost_grid`` points,
    0, 0.01, ..., 1 by default), take every grid point's most likely tree
    and its exact MACs, and answer with the tree of the **largest MACs
    within the budget** (ties: the smallest c, the least frugal request
    giving that tree).

A budget below the cheapest tree any c gives for that preference is an
:class:`~mmecmt.structures.request.InfeasibleBudget` stating that
preference's range; :meth:`macs_range` is the range of all trees (the
cheapest possible tree - the full anchor net). A spec's ``arch`` holds the
tree, the c used, the preference (the weight hypernet's input) and the BN
changes' source, so a saved spec re-exports the same model::

    {"tree": [[...], ...], "cost": 0.37, "preference": [...],
     "bn": "weight_hypernet"}
"""
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from mmecmt.models.architectures import TreeMultiTaskNet
from mmecmt.models.architectures.cdma_net import check_cost
from mmecmt.models.tree import BranchingTree
from mmecmt.registry import DEPLOYERS
from mmecmt.structures.request import (InfeasibleBudget, check_feasible,
                                       validate_preference)
from mmecmt.utils.checkpoint import load_trained
from .base import DeployableModel
from .ecmt import build_architecture

#: sources of a spec's BN changes.
BN_SOURCES = ('weight_hypernet', 'none')


@DEPLOYERS.register_module()
class CDMADeployer(DeployableModel):
    """A trained CDMA (anchor net + hypernets) on the contract.

    Args:
        cfg / checkpoints / input_shape: as :class:`DeployableModel`
            (exactly one checkpoint: stage 2, or stage 1 whose weight
            hypernet predicts no BN change).
        cost_grid: number of c values in [0, 1] :meth:`plan` evaluates
            (>= 2).
        model: an already built ``CDMANet`` (weights are loaded into it).
    """

    method = 'CDMA'
    network_name = 'tree'

    def __init__(self, cfg, checkpoints: Sequence[str],
                 input_shape: Optional[Sequence[int]] = None,
                 cost_grid: int = 101, model: Optional[nn.Module] = None):
        if len(checkpoints) != 1:
            raise ValueError(f'CDMADeployer deploys one CDMA checkpoint, got '
                             f'{len(checkpoints)}: {list(checkpoints)}')
        if int(cost_grid) < 2:
            raise ValueError(f'cost_grid must be >= 2, got {cost_grid}')
        super().__init__(cfg, checkpoints, input_shape)
        self.model = model if model is not None else build_architecture(cfg)
        if not hasattr(self.model, 'edge_hypernet'):
            raise TypeError(f'{type(self.model).__name__} is not a CDMANet; '
                            'CDMADeployer deploys CDMA configs')
        load_trained(self.model, self.checkpoints[0])
        self.costs = np.linspace(0.0, 1.0, int(cost_grid))
        self._trees: Dict[Tuple[float, ...], List[Tuple[float,
                                                        BranchingTree,
                                                        int]]] = {}

    # ------------------------------------------------------------------
    @property
    def task_specs(self):
        return dict(self.model.task_specs)

    def macs_range(self) -> Tuple[int, int]:
        return self.model.anchor.macs_bounds(self.input_shape)

    def tree_macs(self, tree: BranchingTree) -> int:
        return self.model.anchor.tree_macs(tree, self.input_shape)

    def trees_over_cost(self, preference: Mapping[str, float]
                        ) -> List[Tuple[float, BranchingTree, int]]:
        """``[(c, most likely tree, MACs)]`` over the c grid (cached per
        preference)."""
        key = tuple(round(float(preference[t]), 12) for t in self.tasks)
        if key not in self._trees:
            rows = []
            for cost in self.costs:
                tree = self.model.most_likely_tree(preference, float(cost))
                rows.append((float(cost), tree, self.tree_macs(tree)))
            self._trees[key] = rows
        return self._trees[key]

    def answer(self, preference: Mapping[str, float], cost: float) -> dict:
        """The controller's tree for (r, c) in figures: its MACs, and per
        task its branch level and own-stream levels (see
        :func:`~mmecmt.evaluation.control.knob_response`)."""
        tree = self.model.most_likely_tree(preference, check_cost(cost))
        return dict(macs=self.tree_macs(tree),
                    branch_level={t: tree.branch_level(i)
                                  for i, t in enumerate(self.tasks)},
                    own_stream_levels={t: tree.own_stream_levels(i)
                                       for i, t in enumerate(self.tasks)},
                    tree=tree.to_list())

    def _choose(self, preference, budget: int):
        rows = self.trees_over_cost(preference)
        macs = [m for _, _, m in rows]
        fitting = [r for r in rows if r[2] <= budget]
        if not fitting:
            try:
                check_feasible(budget, min(macs), max(macs), 'tree')
            except InfeasibleBudget as err:
                raise InfeasibleBudget(
                    f'{err} for preference {dict(preference)} (the trees '
                    'the controller gives over c in [0, 1])') from None
        best = max(m for _, _, m in fitting)
        cost, tree, _ = next(r for r in fitting if r[2] == best)
        arch = dict(tree=tree.to_list(), cost=cost,
                    preference=[float(preference[t]) for t in self.tasks],
                    bn='weight_hypernet')
        info = dict(cost=cost, macs_over_cost=[min(macs), max(macs)],
                    branch_levels={t: tree.branch_level(i)
                                   for i, t in enumerate(self.tasks)},
                    nodes=tree.num_used_nodes())
        return arch, info

    def _plan(self, preference, budget):
        return self._choose(preference, budget)

    def _largest(self, preference):
        return self._choose(preference, self.macs_range()[1])

    # ------------------------------------------------------------------
    def tree_of(self, arch: Mapping[str, Any]) -> BranchingTree:
        """``arch``'s tree, checked against the anchor net."""
        unknown = set(arch) - {'tree', 'cost', 'preference', 'bn'}
        if unknown or 'tree' not in arch:
            raise ValueError(
                f'a CDMA spec has keys tree, cost, preference, bn; got '
                f'{sorted(arch)}')
        anchor = self.model.anchor
        return BranchingTree.from_list(arch['tree'], anchor.num_streams,
                                       anchor.num_levels)

    def bn_deltas_of(self, arch: Mapping[str, Any]):
        """The spec's BN changes (None without any)."""
        source = arch.get('bn', 'weight_hypernet')
        if source not in BN_SOURCES:
            raise ValueError(f'spec BN source {source!r}; valid: '
                             f'{BN_SOURCES}')
        if source == 'none':
            return None
        pref = validate_preference(arch['preference'], self.tasks)
        with torch.no_grad():
            return self.model.bn_deltas(pref, check_cost(arch['cost']))

    def _macs(self, arch) -> int:
        return self.tree_macs(self.tree_of(arch))

    def _prepare(self, arch) -> nn.Module:
        self.model.set_tree(self.tree_of(arch), self.bn_deltas_of(arch))
        return self.model.eval()

    def _export(self, arch) -> nn.Module:
        return TreeMultiTaskNet(
            self.model.anchor, self.tree_of(arch), self.bn_deltas_of(arch),
            data_preprocessor=self._preprocessor_cfg(),
            align_corners=self.model.align_corners).eval()

    def _preprocessor_cfg(self) -> dict:
        model = dict(self.cfg.model)
        arch = dict(model.get('architecture') or model)
        return dict(arch.get('data_preprocessor')
                    or model.get('data_preprocessor')
                    or dict(type='MultiTaskDataPreProcessor'))

    def static_config(self, spec):
        """The CDMA config turned into the exported tree's config:
        ``model=dict(type='TreeMultiTaskNet', anchor=<anchor config>,
        tree=...)`` (weights from the export's checkpoint)."""
        self.check_spec(spec)
        model = dict(self.cfg.model)
        arch = dict(model.get('architecture') or model)
        return self.exported_config(dict(
            type='TreeMultiTaskNet', anchor=arch['anchor'],
            tree=self.tree_of(spec.arch).to_list(),
            data_preprocessor=self._preprocessor_cfg(),
            align_corners=arch.get('align_corners', False)))


__all__ = ['CDMADeployer', 'BN_SOURCES']
