"""What a task is: its kind, its output channels and how its labels look.

Every layer (datasets, transforms, heads, losses, metrics) agrees on this
canonical form of a task's ground truth inside the pipeline's ``results`` dict
(key ``gt_<task>``) and, after packing, inside a :class:`MultiTaskDataSample`:

================  ============================  ===============================
kind              ``results['gt_<task>']``      packed ``gt_<task>`` (tensor)
================  ============================  ===============================
segmentation      (H, W) uint8, 255 = ignore    PixelData data (1, H, W) int64
depth             (H, W) float32 metres,        PixelData data (1, H, W) float32
                  0 = invalid
normals           (H, W, 3) float32 unit        PixelData data (3, H, W) float32
                  vectors, zero = invalid
edge              (H, W) uint8 in {0, 1},       PixelData data (1, H, W) float32
                  255 = ignore
saliency          (H, W) uint8 in {0, 1},       PixelData data (1, H, W) float32
                  255 = ignore
classification    int, -1 = no label            LabelData label (1,) int64
================  ============================  ===============================

Predictions use the key ``pred_<task>``: segmentation (1, H, W) int64 labels
(plus ``logits``), depth (1, H, W) metres, normals (3, H, W) unit vectors,
edge / saliency (1, H, W) probabilities in [0, 1], classification LabelData
with ``score`` (K,) probabilities and ``label`` (1,).
"""
from dataclasses import dataclass
from typing import Dict, Mapping, Optional

#: task kind -> number of output channels of a head (None: the class count).
TASK_KINDS: Dict[str, Optional[int]] = {
    'segmentation': None,
    'depth': 1,
    'normals': 3,
    'edge': 1,
    'saliency': 1,
    'classification': None,
}

#: Kinds whose ground truth is a per-pixel map.
DENSE_KINDS = ('segmentation', 'depth', 'normals', 'edge', 'saliency')

#: Ignore value of label maps (segmentation, edge, saliency).
IGNORE_INDEX = 255
#: Ignore value of classification labels.
CLS_IGNORE_INDEX = -1


@dataclass(frozen=True)
class TaskSpec:
    """One task of a multi-task model.

    Args:
        name: task name, e.g. ``'semseg'``, ``'depth'``, ``'cls_03'``.
        kind: one of :data:`TASK_KINDS`.
        num_classes: class count for segmentation / classification tasks.
    """
    name: str
    kind: str
    num_classes: Optional[int] = None

    def __post_init__(self):
        if self.kind not in TASK_KINDS:
            raise ValueError(
                f'task {self.name!r}: unknown kind {self.kind!r}; valid kinds '
                f'are {sorted(TASK_KINDS)}')
        needs_classes = TASK_KINDS[self.kind] is None
        if needs_classes and (self.num_classes is None
                              or int(self.num_classes) < 2):
            raise ValueError(
                f'task {self.name!r} of kind {self.kind!r} needs num_classes '
                f'>= 2, got {self.num_classes!r}')

    @property
    def out_channels(self) -> int:
        """Channels a head must output for this task."""
        fixed = TASK_KINDS[self.kind]
        return int(self.num_classes) if fixed is None else fixed

    @property
    def is_dense(self) -> bool:
        return self.kind in DENSE_KINDS

    @classmethod
    def from_cfg(cls, name: str, cfg) -> 'TaskSpec':
        """Build from a config entry ``dict(kind=..., num_classes=...)``."""
        if isinstance(cfg, TaskSpec):
            return cfg
        if isinstance(cfg, str):
            return cls(name, cfg)
        if not isinstance(cfg, Mapping) or 'kind' not in cfg:
            raise ValueError(
                f'task {name!r}: expected dict(kind=..., num_classes=...), '
                f'got {cfg!r}')
        return cls(name, cfg['kind'], cfg.get('num_classes'))


def parse_tasks(tasks) -> Dict[str, TaskSpec]:
    """Normalise ``{name: dict(kind=..., num_classes=...)}`` to TaskSpecs."""
    if not isinstance(tasks, Mapping) or not tasks:
        raise ValueError(f'tasks must be a non-empty dict, got {tasks!r}')
    return {name: TaskSpec.from_cfg(name, cfg) for name, cfg in tasks.items()}
