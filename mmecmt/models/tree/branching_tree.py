"""A tree-structured branching of N task streams (CDMA's architecture).

The anchor net of CDMA (Raychaudhuri et al., "Controllable Dynamic
Multi-Task Architectures", CVPR 2022) is N single-task streams, each cut
into node levels ``0..L``: level 0 is the stream's stem, levels ``1..L``
its blocks. A :class:`BranchingTree` gives every child node ``(l + 1, k)``
one parent node ``(l, parents[l][k])`` among the N nodes of the level
below; node ``(L, k)`` is task k's last node (its head reads its path).
Task k's *path* is ``(L, k)``, its parent, its parent's parent, ... down to
level 0. The nodes on some task's path are *used*; tasks whose paths meet
share the nodes below the meeting point (and their compute)::

    level 0 (stems) -> level 1 -> ... -> level L (one node per task) -> heads

The cheapest tree runs every level once (one used node per level below
``L``); the full anchor net (every child picks its own stream,
:meth:`BranchingTree.full`) runs all ``N (L + 1)`` nodes.
"""
from dataclasses import dataclass
from typing import Dict, List, Sequence, Set, Tuple

import numpy as np


@dataclass(frozen=True)
class BranchingTree:
    """Parent choices of every child node.

    Attributes:
        parents: ``L`` rows of ``N`` parent indices: ``parents[l][k]`` is the
            parent (a stream index at level ``l``) of child node
            ``(l + 1, k)``, for edge levels ``l = 0..L-1``.
    """
    parents: Tuple[Tuple[int, ...], ...]

    def __post_init__(self):
        rows = tuple(tuple(int(p) for p in row) for row in self.parents)
        object.__setattr__(self, 'parents', rows)
        if not rows:
            raise ValueError('a branching tree needs at least one edge level')
        n = len(rows[0])
        for level, row in enumerate(rows):
            if len(row) != n:
                raise ValueError(
                    f'edge level {level} has {len(row)} parents; every level '
                    f'needs one per stream ({n})')
            bad = [p for p in row if not 0 <= p < n]
            if bad:
                raise ValueError(f'edge level {level}: parent {bad[0]} is '
                                 f'not a stream index in [0, {n - 1}]')

    # ------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------
    @classmethod
    def full(cls, num_streams: int, num_levels: int) -> 'BranchingTree':
        """Every child reads its own stream: the full anchor net."""
        return cls([list(range(num_streams))] * num_levels)

    @classmethod
    def shared(cls, num_streams: int, num_levels: int,
               root: int = 0) -> 'BranchingTree':
        """Every child reads stream ``root``: one node per level below L
        (the cheapest tree)."""
        return cls([[root] * num_streams] * num_levels)

    @classmethod
    def random(cls, num_streams: int, num_levels: int,
               rng: np.random.Generator) -> 'BranchingTree':
        """Uniformly random parents."""
        return cls(rng.integers(0, num_streams,
                                size=(num_levels, num_streams)).tolist())

    @classmethod
    def from_list(cls, parents: Sequence[Sequence[int]], num_streams: int,
                  num_levels: int) -> 'BranchingTree':
        """A tree from JSON, checked against the anchor's shape."""
        tree = cls(parents)
        if tree.num_levels != num_levels or tree.num_streams != num_streams:
            raise ValueError(
                f'a tree of {tree.num_levels} edge levels x '
                f'{tree.num_streams} streams; this anchor net has '
                f'{num_levels} x {num_streams}')
        return tree

    def to_list(self) -> List[List[int]]:
        return [list(row) for row in self.parents]

    # ------------------------------------------------------------------
    # structure
    # ------------------------------------------------------------------
    @property
    def num_levels(self) -> int:
        """L: the number of edge levels (node levels are 0..L)."""
        return len(self.parents)

    @property
    def num_streams(self) -> int:
        return len(self.parents[0])

    def path(self, task: int) -> List[int]:
        """The stream index of task ``task``'s node at levels ``0..L``."""
        nodes = [task]
        for level in range(self.num_levels - 1, -1, -1):
            nodes.append(self.parents[level][nodes[-1]])
        return nodes[::-1]

    def used_nodes(self) -> List[Set[int]]:
        """The used stream indices at every node level ``0..L``."""
        used = [set() for _ in range(self.num_levels + 1)]
        for task in range(self.num_streams):
            for level, node in enumerate(self.path(task)):
                used[level].add(node)
        return used

    def num_used_nodes(self) -> int:
        return sum(len(u) for u in self.used_nodes())

    def branch_level(self, task: int) -> int:
        """The first node level from which task ``task``'s path is its own
        (shared with no other task): 0 when it shares nothing, L when only
        its last node is its own."""
        paths = [self.path(t) for t in range(self.num_streams)]
        own = paths[task]
        for level in range(self.num_levels + 1):
            if all(p[level] != own[level] for t, p in enumerate(paths)
                   if t != task):
                return level
        return self.num_levels

    def own_stream_levels(self, task: int) -> int:
        """How many node levels of task ``task``'s path run its own stream's
        weights."""
        return sum(node == task for node in self.path(task))

    def describe(self, tasks: Sequence[str]) -> Dict[str, List[int]]:
        """``{task: path}`` for messages and reports."""
        return {t: self.path(i) for i, t in enumerate(tasks)}


__all__ = ['BranchingTree']
