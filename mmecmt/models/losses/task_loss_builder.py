"""Default loss of each task kind and the literature loss weights.

The weights of MTI-Net / ATRC / Multi-Task-Learning-PyTorch on
PASCAL-Context and NYUD-v2:

==============  ====================  ======
task            loss                  weight
==============  ====================  ======
semseg          SegCrossEntropyLoss   1
parts           SegCrossEntropyLoss   2
sal             BalancedBCELoss       5
normals         NormalsL1Loss         10
depth           DepthL1Loss           1
edge            WeightedBCEEdgeLoss   50
classification  ClsCrossEntropyLoss   1
==============  ====================  ======

:func:`build_task_loss` works per *kind*, so the human-parts task (kind
``'segmentation'``) gets the segmentation default weight 1; its weight 2 is set
by the config, e.g. ``loss=dict(loss_weight=DEFAULT_LOSS_WEIGHTS['parts'])``.
"""
from typing import Dict, Mapping, Optional, Type, Union

import torch.nn as nn

from mmecmt.registry import MODELS
from mmecmt.structures.tasks import TASK_KINDS
from .binary_cross_entropy_loss import BalancedBCELoss, WeightedBCEEdgeLoss
from .cross_entropy_loss import ClsCrossEntropyLoss, SegCrossEntropyLoss
from .depth_loss import DepthL1Loss
from .normals_loss import NormalsL1Loss

#: Literature loss weight by task name. ``human_parts`` and ``saliency`` are
#: aliases of ``parts`` and ``sal``.
DEFAULT_LOSS_WEIGHTS: Dict[str, float] = {
    'semseg': 1.0,
    'parts': 2.0,
    'human_parts': 2.0,
    'sal': 5.0,
    'saliency': 5.0,
    'normals': 10.0,
    'depth': 1.0,
    'edge': 50.0,
    'classification': 1.0,
}

#: Loss class used by default for each task kind (every class's default
#: ``loss_weight`` is the literature weight of that kind, above). Classes
#: rather than names, so that building them does not depend on the current
#: default scope.
DEFAULT_LOSS_TYPES: Dict[str, Type[nn.Module]] = {
    'segmentation': SegCrossEntropyLoss,
    'depth': DepthL1Loss,
    'normals': NormalsL1Loss,
    'edge': WeightedBCEEdgeLoss,
    'saliency': BalancedBCELoss,
    'classification': ClsCrossEntropyLoss,
}
assert set(DEFAULT_LOSS_TYPES) == set(TASK_KINDS)


def build_task_loss(
        kind: str,
        cfg: Optional[Union[Mapping, nn.Module]] = None) -> nn.Module:
    """Build the loss of a task of kind ``kind``.

    Args:
        kind: a task kind of :data:`mmecmt.structures.tasks.TASK_KINDS`.
        cfg: ``None`` for the kind's default loss with its default weight;
            a dict without ``type`` to override the default loss's arguments
            (e.g. ``dict(loss_weight=2.0)``); a dict with ``type`` to build
            any registered loss instead (``MODELS.build``); or an already
            built ``nn.Module``, returned unchanged.

    Returns:
        The loss module, ``loss(pred, target) -> scalar``.
    """
    if kind not in DEFAULT_LOSS_TYPES:
        raise ValueError(
            f'unknown task kind {kind!r}; valid kinds are '
            f'{sorted(DEFAULT_LOSS_TYPES)}')
    if isinstance(cfg, nn.Module):
        return cfg
    if cfg is None:
        cfg = {}
    if not isinstance(cfg, Mapping):
        raise TypeError(
            f'loss cfg of a {kind!r} task must be None, a dict or an '
            f'nn.Module, got {type(cfg).__name__}: {cfg!r}')
    cfg = dict(cfg)
    cfg.setdefault('type', DEFAULT_LOSS_TYPES[kind])
    return MODELS.build(cfg)
