"""Ground-truth decoders: one function per on-disk annotation format.

A dataset names, per task, the decoder that turns its stored annotation into
the canonical array of :mod:`mmecmt.structures.tasks` (``data_info
['gt_formats'][task]``); :class:`~mmecmt.datasets.transforms.
LoadMultiTaskAnnotations` looks the name up here. This keeps every
dataset-specific decoding rule in one place and identifiable by name, and
lets one loading transform serve every dataset.

A decoder is called as ``decoder(results, task)``; it reads what it needs
from the pipeline's ``results`` dict (usually ``results[f'{task}_path']``)
and returns

* a dense map in the canonical format of the task's kind
  (segmentation / edge / saliency: (H, W) uint8; depth: (H, W) float32;
  normals: (H, W, 3) float32), or
* an ``int`` for classification.

Every decoder raises an exception naming the file (or key) and the problem
on a missing / corrupt file or on values outside the documented range.

The generic decoders of this module:

==========================  ==================================================
name                        stored as -> canonical
==========================  ==================================================
``nyud_semseg_png``         PNG uint8, 0 = unlabeled, 1..C -> x - 1, 0 -> 255
``label_png``               PNG uint8 labels 0..C-1, 255 = ignore (as is)
``depth_npy``               .npy (H, W) or (H, W, 1) float metres, 0 = invalid
``normals_npy``             .npy (H, W, 3) float, zero vector = invalid
``edge_npy``                .npy (H, W) binary {0, 1} -> uint8
``saliency_png``            PNG grayscale, x / 255 > 0.5 -> {0, 1}
``label``                   ``results[f'{task}_label']`` (int) as is
==========================  ==================================================

The PASCAL-Context decoders live in :mod:`mmecmt.datasets.pascal_decoders`.
"""
import os.path as osp
from typing import Any, Callable, Dict

import numpy as np

from mmecmt.structures.tasks import IGNORE_INDEX

#: decoder name -> ``decoder(results, task)``
GT_DECODERS: Dict[str, Callable[[dict, str], Any]] = {}

#: Vectors shorter than this are treated as "invalid" (zero) normals.
NORMALS_EPS = 1e-6


def register_gt_decoder(name: str) -> Callable:
    """Decorator registering ``decoder(results, task)`` under ``name``."""

    def _register(fn: Callable) -> Callable:
        if name in GT_DECODERS:
            raise KeyError(f'gt decoder {name!r} is already registered')
        GT_DECODERS[name] = fn
        return fn

    return _register


def get_gt_decoder(name: str) -> Callable[[dict, str], Any]:
    """The decoder registered as ``name`` (KeyError listing valid names)."""
    if name not in GT_DECODERS:
        raise KeyError(f'unknown gt format {name!r}; registered formats are '
                       f'{sorted(GT_DECODERS)}')
    return GT_DECODERS[name]


# --------------------------------------------------------------------------
# File readers shared by decoders.
# --------------------------------------------------------------------------
def task_path(results: dict, task: str) -> str:
    """``results[f'{task}_path']``, checked to exist."""
    key = f'{task}_path'
    if key not in results:
        raise KeyError(f'task {task!r}: the data info has no {key!r}; keys '
                       f'present: {sorted(results)}')
    path = results[key]
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'task {task!r}: annotation file {path} does not exist')
    return path


def read_png(path: str) -> np.ndarray:
    """Read a PNG's stored values: (H, W) or (H, W, C) in stored (RGB) order.

    Decoded with Pillow, like the reference loaders: a palette ('P') PNG -
    the format of the PASCAL VOC label maps - gives its palette indices
    (OpenCV would expand it to colours), a colour PNG its channels in RGB
    order (channel 0 = the first stored channel, e.g. the x component of an
    encoded normal map).
    """
    from PIL import Image
    try:
        with Image.open(path) as img:
            arr = np.array(img)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f'cannot decode image file {path} (missing, empty '
                         f'or corrupt): {err}') from err
    return np.ascontiguousarray(arr)


def read_single_channel_png(path: str) -> np.ndarray:
    """Read a PNG that must hold one channel: (H, W) uint8.

    A 3-channel PNG whose channels are identical (a grey image saved as RGB)
    is accepted and reduced to one channel; anything else raises.
    """
    img = read_png(path)
    if img.dtype == bool:  # 1-bit PNG: white = 255
        img = img.astype(np.uint8) * np.uint8(255)
    if img.ndim == 3:
        if img.shape[2] == 3 and (img == img[..., :1]).all():
            img = img[..., 0]
        else:
            raise ValueError(
                f'{path}: expected a single-channel PNG, got shape '
                f'{img.shape}')
    if img.dtype != np.uint8:
        raise ValueError(f'{path}: expected uint8 pixels, got {img.dtype}')
    return img


def read_npy(path: str) -> np.ndarray:
    """``np.load`` with an error naming the file on a corrupt file."""
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f'cannot read .npy file {path}: {err}') from err
    if not isinstance(arr, np.ndarray):
        raise ValueError(f'{path}: expected one array, got {type(arr)}')
    return arr


def normalise_normals(normals: np.ndarray) -> np.ndarray:
    """Scale every vector of an (H, W, 3) map to unit length.

    Vectors shorter than :data:`NORMALS_EPS` (invalid pixels) become exactly
    zero. Returns a new float32 array.
    """
    normals = normals.astype(np.float32, copy=True)
    norm = np.linalg.norm(normals, axis=-1, keepdims=True)
    valid = norm > NORMALS_EPS
    np.divide(normals, norm, out=normals, where=valid)
    normals[~valid[..., 0]] = 0
    return normals


def check_finite(arr: np.ndarray, path: str) -> None:
    if not np.isfinite(arr).all():
        raise ValueError(f'{path}: contains NaN or infinite values')


# --------------------------------------------------------------------------
# Generic / NYUD decoders.
# --------------------------------------------------------------------------
@register_gt_decoder('nyud_semseg_png')
def decode_nyud_semseg_png(results: dict, task: str) -> np.ndarray:
    """NYUD segmentation PNG: 0 = unlabeled -> 255, class x (1..C) -> x - 1.

    Returns (H, W) uint8. A stored 255 would decode to the valid-looking
    label 254, so it is rejected.
    """
    path = task_path(results, task)
    raw = read_single_channel_png(path)
    if (raw == 255).any():
        raise ValueError(f'{path}: value 255 is not a valid NYUD label '
                         '(expected 0 = unlabeled or 1..C)')
    labels = raw.astype(np.int16) - 1
    labels[raw == 0] = IGNORE_INDEX
    return labels.astype(np.uint8)


@register_gt_decoder('label_png')
def decode_label_png(results: dict, task: str) -> np.ndarray:
    """Label PNG stored canonically: 0..C-1, 255 = ignore. (H, W) uint8."""
    return read_single_channel_png(task_path(results, task))


@register_gt_decoder('depth_npy')
def decode_depth_npy(results: dict, task: str) -> np.ndarray:
    """Depth in metres from .npy, (H, W) or (H, W, 1) -> (H, W) float32.

    0 marks invalid pixels; negative or non-finite values raise.
    """
    path = task_path(results, task)
    depth = read_npy(path)
    if depth.ndim == 3 and depth.shape[2] == 1:
        depth = depth[..., 0]
    if depth.ndim != 2:
        raise ValueError(f'{path}: depth must have shape (H, W), got '
                         f'{depth.shape}')
    depth = depth.astype(np.float32)
    check_finite(depth, path)
    if (depth < 0).any():
        raise ValueError(f'{path}: depth has negative values (min '
                         f'{depth.min()}); expected metres >= 0, 0 = invalid')
    return depth


@register_gt_decoder('normals_npy')
def decode_normals_npy(results: dict, task: str) -> np.ndarray:
    """Surface normals from .npy (H, W, 3) -> unit vectors (H, W, 3) float32.

    Zero vectors (invalid pixels) stay zero; the others are re-normalised to
    unit length (removes storage rounding).
    """
    path = task_path(results, task)
    normals = read_npy(path)
    if normals.ndim != 3 or normals.shape[2] != 3:
        raise ValueError(f'{path}: normals must have shape (H, W, 3), got '
                         f'{normals.shape}')
    check_finite(normals, path)
    return normalise_normals(normals)


@register_gt_decoder('edge_npy')
def decode_edge_npy(results: dict, task: str) -> np.ndarray:
    """Binary edge map from .npy (H, W) with values {0, 1} -> uint8."""
    path = task_path(results, task)
    edge = read_npy(path)
    if edge.ndim == 3 and edge.shape[2] == 1:
        edge = edge[..., 0]
    if edge.ndim != 2:
        raise ValueError(f'{path}: edge map must have shape (H, W), got '
                         f'{edge.shape}')
    values = np.unique(edge)
    if not np.isin(values, (0, 1)).all():
        raise ValueError(f'{path}: edge map must be binary (0 or 1), found '
                         f'values {values[:10].tolist()}')
    return edge.astype(np.uint8)


@register_gt_decoder('saliency_png')
def decode_saliency_png(results: dict, task: str) -> np.ndarray:
    """Saliency PNG, grayscale 0..255 -> (x / 255 > 0.5) as (H, W) uint8."""
    path = task_path(results, task)
    sal = read_single_channel_png(path)
    return (sal.astype(np.float32) / 255. > 0.5).astype(np.uint8)


@register_gt_decoder('label')
def decode_label(results: dict, task: str) -> int:
    """Classification label stored in ``results[f'{task}_label']``."""
    key = f'{task}_label'
    if key not in results:
        raise KeyError(f'task {task!r}: the data info has no {key!r}')
    return int(results[key])
