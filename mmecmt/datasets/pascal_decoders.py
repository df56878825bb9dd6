"""Ground-truth decoders of the PASCAL_MT (PASCAL-Context multi-task) layout.

They follow the loader of the public Multi-Task-Learning-PyTorch / ATRC code
(``data/pascal_context.py``), with the differences stated per decoder.

==========================  ==================================================
name                        stored as -> canonical
==========================  ==================================================
``pascal_semseg_png``       PNG 0..20 (0 = background), 255 = ignore, as is
``pascal_human_parts_mat``  PASCAL-Part ``.mat`` (key ``anno``) -> 6 parts
                            + background; no person: all 255
``pascal_saliency_png``     PNG, x / 255 > 0.5
``pascal_normals_png``      RGB PNG, 2 x / 255 - 1; (0, 0, 0) = invalid
``pascal_edge_mat``         ``LabelMap`` of pascal-context/trainval/<id>.mat
                            -> 1-px boundaries between different labels
==========================  ==================================================
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from mmecmt.structures.tasks import IGNORE_INDEX
from .gt_decoders import (decode_label_png, decode_saliency_png,
                          normalise_normals, read_png, register_gt_decoder,
                          task_path)

#: PASCAL-Part class index of 'person' (VOC class order, background = 0).
PASCAL_PERSON_CLASS = 15

#: The 6 human parts + background, in label order.
HUMAN_PART_CLASSES = ('background', 'head', 'torso', 'upper_arms',
                      'lower_arms', 'upper_legs', 'lower_legs')

#: PASCAL-Part person part name -> label in :data:`HUMAN_PART_CLASSES`.
#: The grouping of Multi-Task-Learning-PyTorch (``HUMAN_PART[6]``):
#: head = hair, head, ears, eyebrows, eyes, mouth, nose; torso = neck, torso;
#: upper arms; lower arms = lower arms + hands; upper legs;
#: lower legs = lower legs + feet.
HUMAN_PART_NAME_TO_LABEL = {
    'hair': 1, 'head': 1, 'lear': 1, 'rear': 1, 'lebrow': 1, 'rebrow': 1,
    'leye': 1, 'reye': 1, 'mouth': 1, 'nose': 1,
    'neck': 2, 'torso': 2,
    'luarm': 3, 'ruarm': 3,
    'llarm': 4, 'rlarm': 4, 'lhand': 4, 'rhand': 4,
    'luleg': 5, 'ruleg': 5,
    'llleg': 6, 'rlleg': 6, 'lfoot': 6, 'rfoot': 6,
}


def _load_mat(path: str, key: str) -> np.ndarray:
    """``scipy.io.loadmat(path)[key]`` with errors naming file and key."""
    from scipy.io import loadmat
    try:
        mat = loadmat(path)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f'cannot read .mat file {path}: {err}') from err
    if key not in mat:
        found = sorted(k for k in mat if not k.startswith('__'))
        raise KeyError(f'{path}: no key {key!r} in the .mat file (keys: '
                       f'{found})')
    return mat[key]


@register_gt_decoder('pascal_semseg_png')
def decode_pascal_semseg_png(results: dict, task: str) -> np.ndarray:
    """PASCAL semseg PNG, 0..20 with 255 = ignore: (H, W) uint8 as stored.

    The range (< 21 or 255) is checked by the loading transform against the
    task's class count.
    """
    return decode_label_png(results, task)


@register_gt_decoder('pascal_saliency_png')
def decode_pascal_saliency_png(results: dict, task: str) -> np.ndarray:
    """Distilled saliency PNG: x / 255 > 0.5 -> (H, W) uint8 {0, 1}."""
    return decode_saliency_png(results, task)


def human_parts_from_anno(anno: np.ndarray, path: str,
                          fallback_shape: Optional[Tuple[int, int]] = None
                          ) -> np.ndarray:
    """Decode a PASCAL-Part ``anno`` struct to a (H, W) uint8 part map.

    Structure (as returned by ``scipy.io.loadmat``): ``anno[0][0][1][0]`` is
    the array of objects; object ``o``: ``o[1]`` class index (15 = person),
    ``o[2]`` (H, W) object mask, ``o[3]`` parts (empty when the object has no
    part annotation), part ``p``: ``p[0][0]`` part name, ``p[1]`` (H, W) mask.

    As in Multi-Task-Learning-PyTorch: every person object with parts paints
    its part masks (later objects over earlier ones) with the labels of
    :data:`HUMAN_PART_NAME_TO_LABEL`; all other pixels are background (0).
    An image without a person that has parts is all 255 (ignore) - the
    reference loader returns zeros there and drops such images from the
    part metric instead.

    Args:
        anno: the ``anno`` entry of the .mat file.
        path: file name for error messages.
        fallback_shape: (H, W) used when the file has no object at all.
    """
    try:
        objects = anno[0][0][1][0]
    except (IndexError, TypeError, KeyError) as err:
        raise ValueError(f'{path}: "anno" does not have the PASCAL-Part '
                         f'structure anno[0][0][1][0] = objects ({err})')
    target = None
    shape = None
    for obj_idx, obj in enumerate(objects):
        try:
            class_ind = int(np.asarray(obj[1]).ravel()[0])
            obj_mask = np.asarray(obj[2])
            parts = obj[3]
        except (IndexError, TypeError, ValueError) as err:
            raise ValueError(f'{path}: object {obj_idx} is not a PASCAL-Part '
                             f'object (class, class_ind, mask, parts): {err}')
        if obj_mask.ndim != 2:
            raise ValueError(f'{path}: object {obj_idx} mask must be (H, W), '
                             f'got shape {obj_mask.shape}')
        if shape is None:
            shape = obj_mask.shape
        elif obj_mask.shape != shape:
            raise ValueError(f'{path}: object {obj_idx} mask shape '
                             f'{obj_mask.shape} differs from {shape}')
        if class_ind != PASCAL_PERSON_CLASS or len(parts) == 0:
            continue
        if target is None:
            target = np.zeros(shape, dtype=np.uint8)
        for part in parts[0]:
            name = str(np.asarray(part[0]).ravel()[0])
            if name not in HUMAN_PART_NAME_TO_LABEL:
                raise ValueError(
                    f'{path}: unknown person part name {name!r}; known '
                    f'names are {sorted(HUMAN_PART_NAME_TO_LABEL)}')
            part_mask = np.asarray(part[1]).astype(bool)
            if part_mask.shape != shape:
                raise ValueError(f'{path}: mask of part {name!r} has shape '
                                 f'{part_mask.shape}, object mask {shape}')
            target[part_mask] = HUMAN_PART_NAME_TO_LABEL[name]
    if target is not None:
        return target
    if shape is None:
        shape = fallback_shape
    if shape is None:
        raise ValueError(f'{path}: no object in the file and no image shape '
                         'known to size the all-ignore part map')
    return np.full(shape, IGNORE_INDEX, dtype=np.uint8)


@register_gt_decoder('pascal_human_parts_mat')
def decode_pascal_human_parts_mat(results: dict, task: str) -> np.ndarray:
    """human_parts/<id>.mat -> (H, W) uint8, 0 background, 1..6 parts."""
    path = task_path(results, task)
    fallback = results.get('ori_shape', results.get('img_shape'))
    return human_parts_from_anno(
        _load_mat(path, 'anno'), path,
        None if fallback is None else tuple(fallback[:2]))


def edges_from_label_map(label_map: np.ndarray) -> np.ndarray:
    """1-pixel-thick boundaries of a label map: (H, W) -> (H, W) uint8.

    The reference marks ``cv2.Laplacian(LabelMap) != 0`` (every pixel with a
    4-neighbour of another label: a 2-px band on each boundary) and thins the
    band with ``skimage.morphology.thin``. Without scikit-image we keep one
    side of each boundary: a pixel is an edge when its right or its lower
    neighbour has another label. This gives the same boundaries at
    1-px thickness, possibly shifted by one pixel against the thinned band.
    """
    label_map = np.asarray(label_map)
    edge = np.zeros(label_map.shape, dtype=bool)
    edge[:, :-1] |= label_map[:, :-1] != label_map[:, 1:]
    edge[:-1, :] |= label_map[:-1, :] != label_map[1:, :]
    return edge.astype(np.uint8)


@register_gt_decoder('pascal_edge_mat')
def decode_pascal_edge_mat(results: dict, task: str) -> np.ndarray:
    """pascal-context/trainval/<id>.mat ``LabelMap`` -> edges (H, W) uint8."""
    path = task_path(results, task)
    label_map = _load_mat(path, 'LabelMap')
    if label_map.ndim != 2:
        raise ValueError(f'{path}: LabelMap must be (H, W), got '
                         f'{label_map.shape}')
    return edges_from_label_map(label_map)


def mask_normals_by_labels(normals: np.ndarray, label_map: np.ndarray,
                           valid_labels: Sequence[int]) -> np.ndarray:
    """Zero the normals of pixels whose context label is not valid.

    Args:
        normals: (H, W, 3) float32.
        label_map: (H, W) PASCAL-Context (459-class) labels.
        valid_labels: labels whose normals are kept.
    """
    keep = np.isin(label_map, np.asarray(valid_labels))
    normals = normals.copy()
    normals[~keep] = 0
    return normals


@register_gt_decoder('pascal_normals_png')
def decode_pascal_normals_png(results: dict, task: str) -> np.ndarray:
    """Distilled normals PNG (RGB = xyz) -> (H, W, 3) float32 unit vectors.

    ``n = 2 x / 255 - 1``; pixels stored as (0, 0, 0) are invalid (zero
    vector); valid vectors are re-normalised to unit length (8-bit storage
    leaves them slightly off). Optionally (``results
    ['normals_valid_labels']`` not None) pixels whose PASCAL-Context label in
    ``results['normals_label_map_path']`` is not listed are also invalid -
    this is what the reference loader does to keep only classes that also
    exist in NYUD (see :data:`~mmecmt.datasets.pascal_context.
    MTL_NORMALS_VALID_CONTEXT_LABELS`).
    """
    path = task_path(results, task)
    raw = read_png(path)
    if raw.ndim != 3 or raw.shape[2] != 3 or raw.dtype != np.uint8:
        raise ValueError(f'{path}: normals PNG must be (H, W, 3) uint8, got '
                         f'shape {raw.shape} dtype {raw.dtype}')
    invalid = (raw == 0).all(axis=-1)
    normals = 2. * raw.astype(np.float32) / 255. - 1.
    normals[invalid] = 0
    normals = normalise_normals(normals)
    valid_labels = results.get('normals_valid_labels')
    if valid_labels is not None:
        map_path = results['normals_label_map_path']
        label_map = _load_mat(map_path, 'LabelMap')
        if label_map.shape != normals.shape[:2]:
            raise ValueError(f'{map_path}: LabelMap shape {label_map.shape} '
                             f'differs from normals {normals.shape[:2]} of '
                             f'{path}')
        normals = mask_normals_by_labels(normals, label_map, valid_labels)
    return normals
