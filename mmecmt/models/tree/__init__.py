"""CDMA's branching trees over N task streams (Raychaudhuri et al., CVPR
2022): the tree structure, the cut of a backbone into node levels, the
executors and the node usage probabilities."""
from .blocks import GRANULARITIES, ResNetStem, split_backbone
from .branching_tree import BranchingTree
from .executor import run_node, run_relaxed, run_tree
from .usage import node_usage_probability

__all__ = ['BranchingTree', 'split_backbone', 'ResNetStem', 'GRANULARITIES',
           'run_node', 'run_tree', 'run_relaxed', 'node_usage_probability']
