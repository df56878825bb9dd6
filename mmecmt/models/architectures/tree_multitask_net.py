"""The static network of one CDMA tree: plain layers, all tasks in one pass.

:class:`TreeMultiTaskNet` holds copies of the used nodes of an
:class:`~mmecmt.models.architectures.AnchorNet` for one
:class:`~mmecmt.models.tree.BranchingTree` (BN changes of the weight
hypernet folded into the BN layers' gamma / beta) and every task's head. It
is what :meth:`~mmecmt.deploy.CDMADeployer.export` returns, and it builds
from a config (``dict(type='TreeMultiTaskNet', anchor=<AnchorNet config>,
tree=[[...], ...])``, weights from the exported checkpoint), so
``tools/test.py`` evaluates an export like any model.
"""
import copy
from typing import Dict, Mapping, Optional, Sequence, Union

from mmengine.model import BaseModel
from torch import Tensor, nn

from mmecmt.models.tree import BranchingTree, run_tree
from mmecmt.registry import MODELS
from .anchor_net import AnchorNet
from .multitask_encoder_decoder import MultiTaskEncoderDecoder


def fold_bn_deltas(module: nn.Module,
                   deltas: Optional[Mapping[str, tuple]]) -> nn.Module:
    """Add ``{bn_name: (delta_gamma, delta_beta)}`` to ``module``'s BN
    layers' affine parameters, in place."""
    for name, (d_gamma, d_beta) in (deltas or {}).items():
        bn = module.get_submodule(name)
        bn.weight.data.add_(d_gamma.detach().to(bn.weight))
        bn.bias.data.add_(d_beta.detach().to(bn.bias))
    return module


@MODELS.register_module()
class TreeMultiTaskNet(MultiTaskEncoderDecoder):
    """A CDMA tree as a static multi-task model.

    Args:
        anchor: an :class:`AnchorNet` (its used nodes and heads are copied)
            or its config (built without loading checkpoints: the weights
            come from the export's checkpoint).
        tree: the branching (``L`` rows of ``N`` parents).
        bn_deltas: BN changes folded into the copies,
            ``{(level, stream): {bn_name: (delta_gamma, delta_beta)}}``.
        data_preprocessor / align_corners / init_cfg: as
            :class:`MultiTaskEncoderDecoder`.

    State dict: ``nodes.<level>_<stream>.*``, ``heads.<task>.*``.
    """

    def __init__(self,
                 anchor: Union[dict, AnchorNet],
                 tree: Union[BranchingTree, Sequence[Sequence[int]]],
                 bn_deltas: Optional[Mapping] = None,
                 data_preprocessor: Optional[dict] = None,
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultiTaskDataPreProcessor')
        BaseModel.__init__(self, data_preprocessor=data_preprocessor,
                           init_cfg=init_cfg)
        if isinstance(anchor, Mapping):
            anchor = MODELS.build(dict(anchor))
        if not isinstance(tree, BranchingTree):
            tree = BranchingTree.from_list(tree, anchor.num_streams,
                                           anchor.num_levels)
        self.tree = tree
        self.neck = None
        self.align_corners = align_corners
        self.tap_levels = tuple(anchor.tap_levels)
        self.task_specs: Dict = dict(anchor.task_specs)
        bn_deltas = bn_deltas or {}
        self.nodes = nn.ModuleDict()
        for level, used in enumerate(tree.used_nodes()):
            for k in sorted(used):
                node = copy.deepcopy(anchor.node(level, k))
                self.nodes[f'{level}_{k}'] = fold_bn_deltas(
                    node, bn_deltas.get((level, k)))
        self.heads = nn.ModuleDict({
            t: copy.deepcopy(anchor.head(i))
            for i, t in enumerate(anchor.tasks)
        })
        self.task_losses = nn.ModuleDict({
            t: copy.deepcopy(anchor.task_loss(i))
            for i, t in enumerate(anchor.tasks)
        })
        for p in self.parameters():
            p.requires_grad_(True)

    @property
    def tasks(self):
        return list(self.task_specs)

    def _node(self, level: int, stream: int) -> nn.Module:
        return self.nodes[f'{level}_{stream}']

    def extract_feat(self, inputs: Tensor):
        raise NotImplementedError(
            'a tree has one feature tuple per task: use _forward')

    def _forward(self, inputs: Tensor, data_samples=None) -> Dict[str, Tensor]:
        """(B, 3, H, W) -> {task: raw output at input resolution}."""
        feats = run_tree(self._node, self.tree, self.tap_levels, inputs)
        size = inputs.shape[-2:]
        return {t: self.decode_head(t, feats[i], size)
                for i, t in enumerate(self.task_specs)}


__all__ = ['TreeMultiTaskNet', 'fold_bn_deltas']
