"""Pack a pipeline ``results`` dict into model inputs and a data sample."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import LabelData, PixelData

from mmecmt.registry import TRANSFORMS
from mmecmt.structures import MultiTaskDataSample
from mmecmt.structures.tasks import DENSE_KINDS

DEFAULT_META_KEYS = ('img_path', 'img_id', 'ori_shape', 'img_shape',
                     'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                     'sample_idx')


def pack_dense_gt(gt: np.ndarray, kind: str, key: str) -> PixelData:
    """Canonical (H, W[, 3]) array -> PixelData with a (C, H, W) tensor.

    segmentation: (1, H, W) int64; depth, edge, saliency: (1, H, W) float32
    (label values 0 / 1 / 255 kept); normals: (3, H, W) float32.
    """
    expected_ndim = 3 if kind == 'normals' else 2
    if not isinstance(gt, np.ndarray) or gt.ndim != expected_ndim:
        raise ValueError(f'PackMultiTaskInputs: {key} ({kind}) must be a '
                         f'{expected_ndim}-D array, got '
                         f'{type(gt).__name__} {getattr(gt, "shape", None)}')
    if kind == 'normals':
        data = torch.from_numpy(
            np.ascontiguousarray(gt.transpose(2, 0, 1), dtype=np.float32))
    elif kind == 'segmentation':
        data = torch.from_numpy(gt.astype(np.int64))[None]
    else:
        data = torch.from_numpy(gt.astype(np.float32))[None]
    return PixelData(data=data)


@TRANSFORMS.register_module()
class PackMultiTaskInputs(BaseTransform):
    """Pack image and ground truths for a multi-task model.

    Output: ``inputs`` (C, H, W) tensor of the image's dtype (uint8, BGR as
    loaded) and ``data_samples``: a :class:`MultiTaskDataSample` with
    ``gt_<task>`` for every task of ``results['task_kinds']`` whose
    ``gt_<task>`` is present (dense: ``PixelData(data=...)`` shaped as in
    :mod:`mmecmt.structures.tasks`; classification:
    ``LabelData(label=tensor([k]))`` int64), and the ``meta_keys`` present
    in ``results`` as metainfo (plus ``task_kinds``).

    Args:
        meta_keys: keys copied into the sample's metainfo when present.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError('PackMultiTaskInputs: results has no "img"; keys: '
                           f'{sorted(results)}')
        img = results['img']
        if img.ndim == 2:
            img = img[..., None]
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0,
                                                                     1)))
        sample = MultiTaskDataSample()
        kinds = results.get('task_kinds', {})
        for task, kind in kinds.items():
            key = f'gt_{task}'
            if key not in results:
                continue
            if kind in DENSE_KINDS:
                value = pack_dense_gt(results[key], kind, key)
            else:
                value = LabelData(
                    label=torch.tensor([int(results[key])], dtype=torch.int64))
            sample.set_field(value, key)
        meta = {k: results[k] for k in self.meta_keys if k in results}
        meta['task_kinds'] = dict(kinds)
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
