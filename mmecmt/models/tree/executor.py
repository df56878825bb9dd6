"""Run a branching of N streams: hard trees (each used node once) and the
relaxed (Gumbel-softmax) mixture CDMA's edge hypernet is trained through.

A *node map* gives the module of node ``(level, stream)``: level 0 the
stem, levels 1..L the blocks (:func:`~mmecmt.models.tree.blocks.
split_backbone`). ``tap_levels`` are the node levels whose outputs a head
reads (the backbone's ``out_indices``). BN changes, when given, are
``{(level, stream): {bn_name: (delta_gamma, delta_beta)}}`` with (C,)
tensors added to the named BN layers' affine parameters of that node (CDMA's
weight hypernet); they are applied functionally (the module keeps its own
parameters), so gradients reach the hypernet.
"""
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor, nn
from torch.func import functional_call

from .branching_tree import BranchingTree

NodeMap = Callable[[int, int], nn.Module]
BNDeltas = Mapping[Tuple[int, int], Mapping[str, Tuple[Tensor, Tensor]]]


def run_node(module: nn.Module, x: Tensor,
             deltas: Optional[Mapping[str, Tuple[Tensor, Tensor]]] = None
             ) -> Tensor:
    """``module(x)``, with ``deltas`` added to its BN layers' gamma / beta.

    Args:
        module: a node (stem or block).
        x: (B, C_in, H, W).
        deltas: ``{bn_name: (delta_gamma (C,), delta_beta (C,))}``.
    """
    if not deltas:
        return module(x)
    params = {}
    for name, (d_gamma, d_beta) in deltas.items():
        bn = module.get_submodule(name)
        params[f'{name}.weight'] = bn.weight + d_gamma
        params[f'{name}.bias'] = bn.bias + d_beta
    return functional_call(module, params, (x, ), strict=False)


def run_tree(nodes: NodeMap, tree: BranchingTree,
             tap_levels: Tuple[int, ...], x: Tensor,
             bn_deltas: Optional[BNDeltas] = None
             ) -> List[Tuple[Tensor, ...]]:
    """Run ``tree``, computing every used node once.

    Args:
        nodes: the node map.
        tree: the branching.
        tap_levels: node levels read by the heads, in the backbone's output
            order.
        x: (B, 3, H, W) images.
        bn_deltas: optional BN changes per node.

    Returns:
        For every task (stream order), its path's features at the tap
        levels: a tuple of (B, C_o, H_o, W_o).
    """
    used = tree.used_nodes()
    bn_deltas = bn_deltas or {}
    outputs: Dict[Tuple[int, int], Tensor] = {}
    for k in sorted(used[0]):
        outputs[(0, k)] = run_node(nodes(0, k), x, bn_deltas.get((0, k)))
    for level in range(1, tree.num_levels + 1):
        for k in sorted(used[level]):
            parent = outputs[(level - 1, tree.parents[level - 1][k])]
            outputs[(level, k)] = run_node(nodes(level, k), parent,
                                           bn_deltas.get((level, k)))
    feats = []
    for task in range(tree.num_streams):
        path = tree.path(task)
        feats.append(tuple(outputs[(lv, path[lv])] for lv in tap_levels))
    return feats


def run_relaxed(nodes: NodeMap, edges: Tensor, tap_levels: Tuple[int, ...],
                x: Tensor, bn_deltas: Optional[BNDeltas] = None
                ) -> List[Tuple[Tensor, ...]]:
    """Run every node on the edge-weighted mixture of its parents.

    Child ``(l + 1, k)`` reads ``sum_i edges[l, k, i] Y_i^l``; task t's
    features at a tap level are the mixture along its soft path
    ``q_t^l = q_t^{l+1} @ edges[l]`` (``q_t^L`` = one-hot of t). With
    one-hot ``edges`` (a hard Gumbel-softmax sample, straight-through) the
    values equal :func:`run_tree` of that tree, and the gradients reach the
    edge logits.

    Args:
        nodes: the node map.
        edges: (L, N, N), rows over parents (one-hot or a distribution).
        tap_levels / x / bn_deltas: as :func:`run_tree`.

    Returns:
        As :func:`run_tree`.
    """
    num_levels, num_streams = edges.shape[0], edges.shape[1]
    bn_deltas = bn_deltas or {}
    level_out = torch.stack([
        run_node(nodes(0, k), x, bn_deltas.get((0, k)))
        for k in range(num_streams)
    ])  # (N, B, C, H, W)
    tapped = {0: level_out}
    for level in range(1, num_levels + 1):
        mixed = torch.einsum('kn,n...->k...', edges[level - 1].to(
            level_out.dtype), level_out)
        level_out = torch.stack([
            run_node(nodes(level, k), mixed[k], bn_deltas.get((level, k)))
            for k in range(num_streams)
        ])
        if level in tap_levels:
            tapped[level] = level_out
    # soft paths: q[l] (N tasks, N streams)
    q = {num_levels: torch.eye(num_streams, dtype=edges.dtype,
                               device=edges.device)}
    for level in range(num_levels, 0, -1):
        q[level - 1] = q[level] @ edges[level - 1]
    feats = []
    for task in range(num_streams):
        feats.append(tuple(
            torch.einsum('n,n...->...', q[lv][task].to(tapped[lv].dtype),
                         tapped[lv]) for lv in tap_levels))
    return feats


__all__ = ['run_node', 'run_tree', 'run_relaxed', 'NodeMap', 'BNDeltas']
