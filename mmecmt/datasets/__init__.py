"""Multi-task datasets and their pipeline transforms.

Datasets (registered in ``mmecmt.registry.DATASETS``; on-disk layouts in
each module's docstring):

* :class:`NYUDv2Dataset` (:mod:`.nyud`): NYUD_MT layout ``gt_sets/``,
  ``images/``, ``segmentation/`` (0 = unlabeled -> 255, x -> x - 1),
  ``depth/``, ``normals/``, ``edge/`` (+ optional ``saliency/``,
  ``parts/``). Tasks semseg, depth, normals, edge (+ sal, parts).
* :class:`SynthScenesDataset` (:mod:`.synthscenes`): the same layout plus
  ``meta.json`` with the class and part names; can generate itself
  (``generate=dict(...)``, via :mod:`.synthscenes_generator`).
* :class:`PascalContextMTDataset` (:mod:`.pascal_context`): PASCAL_MT layout
  ``ImageSets/Context/``, ``JPEGImages/``, ``semseg/``, ``human_parts/``,
  ``sal_distill/``, ``normals_distill/``, ``pascal-context/trainval/``.
  Tasks semseg, parts, sal, normals, edge.
* :class:`CIFAR100MTLDataset` (:mod:`.cifar100_mtl`): ``cifar-100-python``
  pickles; 20 five-way classification tasks ``cls_00`` .. ``cls_19``.

Every dataset's ``metainfo['tasks']`` is ``{task: dict(kind, num_classes)}``
for the selected tasks; each data info names, per task, its decoder
(``gt_formats``, :mod:`.gt_decoders` / :mod:`.pascal_decoders`), which
:class:`~.transforms.LoadMultiTaskAnnotations` applies.
"""
from .base_multitask import BaseMultiTaskDataset
from .cifar100_mtl import CIFAR100MTLDataset
from .gt_decoders import GT_DECODERS, get_gt_decoder, register_gt_decoder
from .nyud import NYUD_CLASSES, NYUDv2Dataset
from .pascal_context import (MTL_NORMALS_VALID_CONTEXT_LABELS,
                             PASCAL_MT_SEMSEG_CLASSES, PascalContextMTDataset)
from .pascal_decoders import HUMAN_PART_CLASSES
from .synthscenes import SynthScenesDataset
from .transforms import (LoadMultiTaskAnnotations, PackMultiTaskInputs, Pad,
                         RandomCrop, RandomFlip, RandomResize, Resize)

__all__ = [
    'BaseMultiTaskDataset', 'NYUDv2Dataset', 'SynthScenesDataset',
    'PascalContextMTDataset', 'CIFAR100MTLDataset', 'NYUD_CLASSES',
    'PASCAL_MT_SEMSEG_CLASSES', 'HUMAN_PART_CLASSES',
    'MTL_NORMALS_VALID_CONTEXT_LABELS', 'GT_DECODERS', 'get_gt_decoder',
    'register_gt_decoder', 'LoadMultiTaskAnnotations', 'RandomResize',
    'RandomCrop', 'RandomFlip', 'Resize', 'Pad', 'PackMultiTaskInputs'
]
