"""Load every task's ground truth in its canonical format."""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmecmt.registry import TRANSFORMS
from mmecmt.structures.tasks import (CLS_IGNORE_INDEX, DENSE_KINDS,
                                     IGNORE_INDEX)
# the PASCAL decoders register themselves on import
from .. import pascal_decoders  # noqa: F401
from ..gt_decoders import get_gt_decoder

#: dtype and ndim of each dense kind's canonical array.
_DENSE_LAYOUT = dict(
    segmentation=(np.uint8, 2),
    edge=(np.uint8, 2),
    saliency=(np.uint8, 2),
    depth=(np.float32, 2),
    normals=(np.float32, 3))


@TRANSFORMS.register_module()
class LoadMultiTaskAnnotations(BaseTransform):
    """Decode the ground truth of every task of a sample.

    Works for every mmecmt dataset: the decoder of task ``t`` is named by
    ``results['gt_formats'][t]`` (see :mod:`mmecmt.datasets.gt_decoders`).
    Place it after ``LoadImageFromFile``: every dense gt must have the
    loaded image's size (``ori_shape``).

    Required keys: ``gt_formats``, ``task_kinds``, what the decoders read
    (``<task>_path`` / ``<task>_label``); optional ``task_num_classes``
    (labels are then range-checked), ``img`` / ``ori_shape``.

    Added keys: ``gt_<task>`` (canonical format of
    :mod:`mmecmt.structures.tasks`: segmentation / edge / saliency (H, W)
    uint8 with 255 = ignore, depth (H, W) float32, normals (H, W, 3) float32,
    classification int with -1 = no label), ``dense_gt_fields`` (list of the
    dense ``gt_<task>`` keys); ``task_kinds`` is reduced to the loaded tasks.

    Args:
        tasks: tasks to load (default: all of ``results['gt_formats']``).
    """

    def __init__(self, tasks: Optional[Sequence[str]] = None):
        self.tasks = None if tasks is None else tuple(tasks)

    def transform(self, results: dict) -> dict:
        formats = results.get('gt_formats')
        kinds = results.get('task_kinds')
        if formats is None or kinds is None:
            raise KeyError('LoadMultiTaskAnnotations needs "gt_formats" and '
                           '"task_kinds" in the data info (use an mmecmt '
                           f'multi-task dataset); keys: {sorted(results)}')
        tasks = self.tasks if self.tasks is not None else tuple(formats)
        unknown = [t for t in tasks if t not in formats]
        if unknown:
            raise ValueError(f'LoadMultiTaskAnnotations: tasks {unknown} are '
                             f'not provided by the dataset; available: '
                             f'{sorted(formats)}')
        # the gts have the size of the image as loaded (ori_shape), also
        # when a Resize of the image ran before this transform
        img_hw = None
        if 'ori_shape' in results:
            img_hw = tuple(results['ori_shape'][:2])
        elif 'img' in results:
            img_hw = tuple(results['img'].shape[:2])
        num_classes = results.get('task_num_classes', {})
        dense = list(results.get('dense_gt_fields', []))
        for task in tasks:
            kind = kinds[task]
            gt = get_gt_decoder(formats[task])(results, task)
            source = results.get(f'{task}_path',
                                 results.get('img_path', f'{task}_label'))
            if kind in DENSE_KINDS:
                self._check_dense(gt, kind, task, source, img_hw,
                                  num_classes.get(task))
                if f'gt_{task}' not in dense:
                    dense.append(f'gt_{task}')
            else:
                gt = self._check_label(gt, task, source,
                                       num_classes.get(task))
            results[f'gt_{task}'] = gt
        results['task_kinds'] = {t: kinds[t] for t in tasks}
        results['dense_gt_fields'] = dense
        return results

    @staticmethod
    def _check_dense(gt: np.ndarray, kind: str, task: str, source: str,
                     img_hw, num_classes: Optional[int]) -> None:
        dtype, ndim = _DENSE_LAYOUT[kind]
        if not isinstance(gt, np.ndarray) or gt.dtype != dtype \
                or gt.ndim != ndim or (kind == 'normals'
                                       and gt.shape[2] != 3):
            raise ValueError(
                f'task {task!r} ({kind}) from {source}: decoded to '
                f'{type(gt).__name__} {getattr(gt, "shape", None)} '
                f'{getattr(gt, "dtype", None)}, expected {ndim}-D '
                f'{np.dtype(dtype).name}' +
                (' (H, W, 3)' if kind == 'normals' else ' (H, W)'))
        if img_hw is not None and gt.shape[:2] != img_hw:
            raise ValueError(
                f'task {task!r} ({kind}): {source} has size '
                f'{tuple(gt.shape[:2])} but the image has {img_hw}')
        if kind == 'segmentation' and num_classes is not None:
            bad = (gt >= num_classes) & (gt != IGNORE_INDEX)
            if bad.any():
                raise ValueError(
                    f'task {task!r}: {source} has labels '
                    f'{np.unique(gt[bad])[:10].tolist()} outside '
                    f'[0, {num_classes}) and != {IGNORE_INDEX}')
        elif kind in ('edge', 'saliency'):
            bad = (gt > 1) & (gt != IGNORE_INDEX)
            if bad.any():
                raise ValueError(
                    f'task {task!r}: {source} has values '
                    f'{np.unique(gt[bad])[:10].tolist()}; expected 0, 1 or '
                    f'{IGNORE_INDEX}')

    @staticmethod
    def _check_label(label, task: str, source: str,
                     num_classes: Optional[int]) -> int:
        label = int(label)
        upper = num_classes if num_classes is not None else np.inf
        if not (label == CLS_IGNORE_INDEX or 0 <= label < upper):
            raise ValueError(
                f'task {task!r} ({source}): label {label} outside '
                f'[0, {num_classes}) and != {CLS_IGNORE_INDEX}')
        return label

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(tasks={self.tasks})'
