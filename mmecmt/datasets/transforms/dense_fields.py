"""Helpers for the dense ground-truth maps inside a pipeline ``results`` dict.

A dense ground truth is listed by its key in ``results['dense_gt_fields']``
(e.g. ``'gt_depth'``); its kind is ``results['task_kinds'][task]``. mmseg's
``results['seg_fields']`` (e.g. ``'gt_seg_map'``) are also honoured, as
segmentation maps, so an mmseg single-task pipeline is not silently
misaligned by these transforms.

Per kind (canonical formats of :mod:`mmecmt.structures.tasks`):

==============  ====================  ===========  ===================
kind            array                 pad value    resize
==============  ====================  ===========  ===================
segmentation    (H, W) uint8          255          nearest
edge            (H, W) uint8          255          nearest
saliency        (H, W) uint8          255          nearest
depth           (H, W) float32        0 (invalid)  nearest
normals         (H, W, 3) float32     0 (invalid)  nearest + renormalise
==============  ====================  ===========  ===================
"""
from typing import List, Tuple

import cv2
import numpy as np

from mmecmt.structures.tasks import IGNORE_INDEX
from ..gt_decoders import normalise_normals

#: kind -> value of padded pixels.
PAD_VALUES = dict(
    segmentation=IGNORE_INDEX,
    edge=IGNORE_INDEX,
    saliency=IGNORE_INDEX,
    depth=0.,
    normals=0.)


def dense_gt_items(results: dict) -> List[Tuple[str, str]]:
    """[(key, kind)] of every dense ground truth present in ``results``."""
    kinds = results.get('task_kinds', {})
    items = []
    for key in results.get('dense_gt_fields', []):
        if key not in results:
            continue
        task = key[3:] if key.startswith('gt_') else key
        if task not in kinds:
            raise KeyError(f'dense gt field {key!r} has no kind in '
                           f'results["task_kinds"] ({sorted(kinds)})')
        items.append((key, kinds[task]))
    listed = {k for k, _ in items}
    for key in results.get('seg_fields', []):
        if key in results and key not in listed:
            items.append((key, 'segmentation'))
    return items


def check_same_size(results: dict, items: List[Tuple[str, str]],
                    transform: str) -> None:
    """Raise unless every dense gt has the image's height and width."""
    img_hw = results['img'].shape[:2]
    for key, _ in items:
        if results[key].shape[:2] != img_hw:
            raise ValueError(
                f'{transform}: {key} has size {results[key].shape[:2]} but '
                f'the image {img_hw}; dense ground truths must match the '
                f'image (img_path={results.get("img_path")})')


def resize_dense(gt: np.ndarray, kind: str, size_wh: Tuple[int, int]
                 ) -> np.ndarray:
    """Nearest-neighbour resize to (width, height); normals re-normalised."""
    out = cv2.resize(gt, tuple(int(v) for v in size_wh),
                     interpolation=cv2.INTER_NEAREST)
    if kind == 'normals':
        out = normalise_normals(out)
    return out


def pad_dense(gt: np.ndarray, kind: str, pad_h: int, pad_w: int
              ) -> np.ndarray:
    """Pad ``pad_h`` rows at the bottom and ``pad_w`` columns on the right."""
    if pad_h == 0 and pad_w == 0:
        return gt
    widths = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (gt.ndim - 2)
    return np.pad(gt, widths, mode='constant',
                  constant_values=PAD_VALUES[kind])


def pad_image(img: np.ndarray, pad_h: int, pad_w: int, value: float
              ) -> np.ndarray:
    """Pad an (H, W) or (H, W, C) image at the bottom / right."""
    if pad_h == 0 and pad_w == 0:
        return img
    widths = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (img.ndim - 2)
    return np.pad(img, widths, mode='constant', constant_values=value)
