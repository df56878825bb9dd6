"""CDMA's anchor net: N frozen single-task streams, cut into node levels.

Each stream is a complete single-task model (a
:class:`~mmecmt.models.architectures.MultiTaskEncoderDecoder` with one task)
built from a single-task config and loaded from its checkpoint in
:meth:`AnchorNet.init_weights` (the Runner calls it before training; a
deployed CDMA checkpoint already holds the streams' weights). The streams
are frozen: no parameter takes gradients and the streams always run in eval
mode (BN statistics are never updated), as in "Controllable Dynamic
Multi-Task Architectures" (Raychaudhuri et al., CVPR 2022).

Node ``(0, k)`` is stream k's stem, nodes ``(l, k)``, l = 1..L its blocks
(:func:`~mmecmt.models.tree.blocks.split_backbone`); task k's head is stream
k's head. Every stream must cut into the same levels with the same feature
shapes (a child may read any stream's parent), which is checked on a small
input when the anchor is built.
"""
import hashlib
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmecmt.models.tree import BranchingTree, run_tree, split_backbone
from mmecmt.registry import MODELS
from mmecmt.utils.checkpoint import file_sha256, load_trained
from mmecmt.utils.flops import count_call_macs, count_module_macs

#: (H, W) of the dry run that checks the streams fit together.
CHECK_SHAPE = (64, 64)


def _stream_model_cfg(task: str, stream: Mapping) -> dict:
    if not isinstance(stream, Mapping):
        raise TypeError(f'stream {task!r}: expected a dict(config=... or '
                        f'model=..., checkpoint=...), got {stream!r}')
    unknown = set(stream) - {'config', 'model', 'checkpoint'}
    if unknown:
        raise KeyError(f'stream {task!r}: unknown keys {sorted(unknown)}; '
                       'valid: config, model, checkpoint')
    if ('config' in stream) == ('model' in stream):
        raise KeyError(f'stream {task!r}: give exactly one of "config" (a '
                       'single-task config file) and "model" (a model '
                       'config)')
    if 'model' in stream:
        return dict(stream['model'])
    path = stream['config']
    if not osp.isfile(path):
        raise FileNotFoundError(f'stream {task!r}: config {path} does not '
                                'exist')
    return dict(Config.fromfile(path).model)


@MODELS.register_module()
class AnchorNet(BaseModule):
    """N single-task streams as one net of node levels ``0..L``.

    Args:
        streams: ``{task: dict(config=<single-task config file> | model=
            <model config>, checkpoint=<file or None>)}``, in task order.
            ``checkpoint=None`` leaves the stream randomly initialised (a
            warning says so; for smoke tests only).
        blocks: the cut of the backbones, ``'stages'`` or ``'units'``
            (:func:`~mmecmt.models.tree.blocks.split_backbone`).

    Attributes:
        tasks (list): task names; stream k serves task k.
        num_levels (int): L, the number of blocks (edge levels).
        tap_levels (tuple): node levels the heads read.
    """

    def __init__(self, streams: Mapping[str, Mapping], blocks: str = 'stages',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not streams:
            raise ValueError('AnchorNet needs at least one stream')
        self.tasks: List[str] = list(streams)
        self.checkpoints: List[Optional[str]] = []
        self.streams = nn.ModuleList()
        for task, stream in streams.items():
            model = MODELS.build(_stream_model_cfg(task, stream))
            own = list(getattr(model, 'task_specs', {}))
            if own != [task]:
                raise ValueError(
                    f'stream {task!r} must be a single-task model of task '
                    f'{task!r}; its model has tasks {own}')
            self.streams.append(model)
            self.checkpoints.append(stream.get('checkpoint'))
        self.blocks = blocks
        self._stems, self._blocks, taps = [], [], set()
        for model in self.streams:
            stem, units, tap_levels = split_backbone(model.backbone, blocks)
            self._stems.append(stem)
            self._blocks.append(units)
            taps.add(tap_levels)
        levels = {len(b) for b in self._blocks}
        if len(levels) != 1 or len(taps) != 1:
            raise ValueError(
                'every stream must cut into the same blocks and taps; got '
                f'{sorted(levels)} blocks and tap levels {sorted(taps)}')
        self.num_levels = levels.pop()
        self.tap_levels: Tuple[int, ...] = taps.pop()
        for p in self.parameters():
            p.requires_grad_(False)
        self.train(False)
        self._check_shapes()
        self._macs_cache: Dict[Tuple[int, int], tuple] = {}

    # ------------------------------------------------------------------
    # structure
    # ------------------------------------------------------------------
    @property
    def num_streams(self) -> int:
        return len(self.streams)

    @property
    def task_specs(self) -> Dict:
        return {t: m.task_specs[t] for t, m in zip(self.tasks, self.streams)}

    def node(self, level: int, stream: int) -> nn.Module:
        """The module of node ``(level, stream)``."""
        if not 0 <= stream < self.num_streams:
            raise IndexError(f'stream {stream} not in [0, '
                             f'{self.num_streams - 1}]')
        if level == 0:
            return self._stems[stream]
        if not 1 <= level <= self.num_levels:
            raise IndexError(f'node level {level} not in [0, '
                             f'{self.num_levels}]')
        return self._blocks[stream][level - 1]

    def head(self, task: int) -> nn.Module:
        return self.streams[task].heads[self.tasks[task]]

    def task_loss(self, task: int) -> nn.Module:
        return self.streams[task].task_losses[self.tasks[task]]

    def decode(self, task: int, feats: Tuple[Tensor, ...],
               input_size: Tuple[int, int]) -> Tensor:
        """Task ``task``'s head on ``feats`` (its stream's decode)."""
        return self.streams[task].decode_head(self.tasks[task], feats,
                                              input_size)

    def bn_layout(self) -> List[Tuple[Tuple[int, int], str, int]]:
        """Every BN layer of every node: ``[((level, stream), name,
        channels), ...]`` in node order (the weight hypernet's outputs)."""
        layout = []
        for level in range(self.num_levels + 1):
            for k in range(self.num_streams):
                for name, m in self.node(level, k).named_modules():
                    if isinstance(m, _BatchNorm) and m.affine:
                        layout.append(((level, k), name, m.num_features))
        return layout

    def train(self, mode: bool = True) -> 'AnchorNet':
        """The anchor net always runs in eval mode (frozen BN)."""
        return super().train(False)

    # ------------------------------------------------------------------
    # weights
    # ------------------------------------------------------------------
    def init_weights(self) -> None:
        """Initialise, then load every stream's checkpoint (strictly)."""
        super().init_weights()
        for task, model, path in zip(self.tasks, self.streams,
                                     self.checkpoints):
            if path is None:
                print_log(f'AnchorNet: stream {task!r} has no checkpoint: '
                          'randomly initialised (smoke tests only)',
                          logger='current', level=30)
                continue
            load_trained(model, path)
            print_log(f'AnchorNet: stream {task!r} loaded from {path}',
                      logger='current')
        self.train(False)

    def affinity_key(self, num_images: int, seed: int) -> str:
        """Identifies a task affinity computed on this anchor: the streams'
        checkpoints (sha256), the cut, the images and the seed."""
        shas = [file_sha256(p) if p else 'random' for p in self.checkpoints]
        text = ','.join(shas) + f'|{self.blocks}|{num_images}|{seed}'
        return hashlib.sha256(text.encode()).hexdigest()

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def forward_tree(self, inputs: Tensor, tree: BranchingTree,
                     bn_deltas=None) -> List[Tuple[Tensor, ...]]:
        """Tap features of every task on ``tree`` (used nodes only)."""
        return run_tree(self.node, tree, self.tap_levels, inputs, bn_deltas)

    def block_features(self, inputs: Tensor) -> List[List[Tensor]]:
        """Every stream on its own: ``[task][level - 1]`` = the output of
        block ``level`` (B, C_l, H_l, W_l), levels 1..L (task affinity)."""
        feats = []
        for k in range(self.num_streams):
            x = self.node(0, k)(inputs)
            own = []
            for level in range(1, self.num_levels + 1):
                x = self.node(level, k)(x)
                own.append(x)
            feats.append(own)
        return feats

    def _check_shapes(self) -> None:
        x = torch.zeros(1, 3, *CHECK_SHAPE)
        with torch.no_grad():
            feats = self.block_features(x)
        for level in range(self.num_levels):
            shapes = {tuple(f[level].shape) for f in feats}
            if len(shapes) != 1:
                raise ValueError(
                    f'the streams differ at node level {level + 1}: '
                    f'feature shapes {sorted(shapes)}; a child must be able '
                    'to read any stream')

    # ------------------------------------------------------------------
    # MACs
    # ------------------------------------------------------------------
    def macs_table(self, input_shape: Sequence[int]
                   ) -> Tuple[Dict[Tuple[int, int], int], List[int]]:
        """``(node_macs, head_macs)`` at input (H, W), batch 1: MACs of
        every node ``(level, stream)`` on its input and of every task's head
        on its tap features (with the resize to the input), counted by
        fvcore module by module (cached per shape)."""
        key = tuple(int(s) for s in input_shape)
        if key not in self._macs_cache:
            x = torch.zeros(1, 3, *key)
            node_macs, head_macs = {}, []
            with torch.no_grad():
                for k in range(self.num_streams):
                    h, taps = x, {}
                    for level in range(self.num_levels + 1):
                        module = self.node(level, k)
                        node_macs[(level, k)] = count_module_macs(
                            module, (h, ))
                        h = module(h)
                        taps[level] = h
                    feats = tuple(taps[lv] for lv in self.tap_levels)
                    head_macs.append(count_call_macs(
                        lambda f, k=k: self.decode(k, f, key), (feats, ),
                        self))
            self._macs_cache[key] = (node_macs, head_macs)
        return self._macs_cache[key]

    def tree_macs(self, tree: BranchingTree,
                  input_shape: Sequence[int]) -> int:
        """Exact MACs of ``tree``: its used nodes plus every head."""
        node_macs, head_macs = self.macs_table(input_shape)
        used = tree.used_nodes()
        return int(sum(node_macs[(lv, k)] for lv, nodes in enumerate(used)
                       for k in nodes) + sum(head_macs))

    def macs_bounds(self, input_shape: Sequence[int]) -> Tuple[int, int]:
        """MACs of the cheapest tree (the cheapest node of every level
        below L, all nodes of level L) and of the full anchor net."""
        node_macs, head_macs = self.macs_table(input_shape)
        n, top = self.num_streams, self.num_levels
        low = sum(min(node_macs[(lv, k)] for k in range(n))
                  for lv in range(top))
        low += sum(node_macs[(top, k)] for k in range(n)) + sum(head_macs)
        high = sum(node_macs.values()) + sum(head_macs)
        return int(low), int(high)


__all__ = ['AnchorNet']
