"""Turn one task's map (ground truth or prediction) into an RGB image.

Every function takes a NumPy map in the canonical layout of
:mod:`mmecmt.structures.tasks` (without the leading channel axis for
one-channel maps) and returns an ``(H, W, 3)`` uint8 RGB image:

==============  ==========================================================
kind            colours
==============  ==========================================================
segmentation    a fixed palette per class; ignore (255) -> black
depth           a perceptual colour map (viridis) over a value range shared
                by the ground truth and the prediction; invalid -> black
normals         ``round((n + 1) / 2 * 255)`` per axis; zero vector -> black
edge/saliency   grey ``round(p * 255)``; ignore (255) -> dark blue
==============  ==========================================================
"""
from typing import Optional, Tuple

import numpy as np

from mmecmt.structures.tasks import IGNORE_INDEX

#: colour of ignored / invalid pixels of segmentation, depth and normals.
INVALID_RGB = (0, 0, 0)
#: colour of ignored pixels of binary (edge / saliency) maps, whose black
#: already means "probability 0".
BINARY_IGNORE_RGB = (0, 0, 128)
#: matplotlib colour map of depth.
DEPTH_COLORMAP = 'viridis'


def default_palette(num_classes: int = IGNORE_INDEX) -> np.ndarray:
    """Fixed, distinct class colours: the PASCAL VOC bit-pattern palette.

    Class ``i`` gets VOC colour ``i + 1``, so that no class is black (black is
    reserved for ignored pixels).

    Returns:
        (num_classes, 3) uint8 RGB.
    """
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, got {num_classes}')
    palette = np.zeros((num_classes, 3), dtype=np.uint8)
    for cls in range(num_classes):
        code = cls + 1
        rgb = [0, 0, 0]
        shift = 7
        while code:
            for channel in range(3):
                rgb[channel] |= ((code >> channel) & 1) << shift
            code >>= 3
            shift -= 1
        palette[cls] = rgb
    return palette


def check_palette(palette, name: str = 'palette') -> np.ndarray:
    """Validate a palette given as (K, 3) values in [0, 255]; return uint8."""
    arr = np.asarray(palette)
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] < 1:
        raise ValueError(
            f'{name} must have shape (K, 3) with K >= 1, got {arr.shape}')
    if arr.min() < 0 or arr.max() > 255:
        raise ValueError(f'{name} values must lie in [0, 255], got '
                         f'[{arr.min()}, {arr.max()}]')
    return arr.astype(np.uint8)


def colorize_labels(labels: np.ndarray,
                    palette: Optional[np.ndarray] = None,
                    name: str = 'labels') -> np.ndarray:
    """Class map -> palette colours.

    Args:
        labels: (H, W) integer class indices; ``IGNORE_INDEX`` (255) = ignore.
        palette: (K, 3) uint8 RGB; default :func:`default_palette`.
        name: used in error messages (e.g. ``'gt_semseg'``).

    Returns:
        (H, W, 3) uint8; ignored pixels black.
    """
    labels = _as_2d(labels, name)
    palette = default_palette() if palette is None else check_palette(
        palette, f'palette of {name}')
    if not np.all(np.equal(np.mod(labels, 1), 0)):
        raise ValueError(f'{name} must hold integer class indices')
    labels = labels.astype(np.int64)
    ignore = labels == IGNORE_INDEX
    valid = labels[~ignore]
    bad = valid[(valid < 0) | (valid >= len(palette))]
    if bad.size:
        raise ValueError(
            f'{name} holds class {int(bad[0])}, outside the palette range '
            f'[0, {len(palette) - 1}] (and {IGNORE_INDEX} = ignore)')
    rgb = palette[np.where(ignore, 0, labels)]
    rgb[ignore] = INVALID_RGB
    return rgb


def depth_value_range(*depth_maps: Optional[np.ndarray]
                      ) -> Tuple[float, float]:
    """(min, max) over the valid pixels (finite and > 0) of all maps.

    Give the ground truth and the prediction of one image so that both are
    drawn on the same scale. ``None`` entries are skipped. Returns (0, 1)
    when no pixel is valid.
    """
    lows, highs = [], []
    for depth in depth_maps:
        if depth is None:
            continue
        depth = np.asarray(depth, dtype=np.float64)
        valid = depth[np.isfinite(depth) & (depth > 0)]
        if valid.size:
            lows.append(valid.min())
            highs.append(valid.max())
    if not lows:
        return 0.0, 1.0
    return float(min(lows)), float(max(highs))


def colorize_depth(depth: np.ndarray,
                   value_range: Tuple[float, float],
                   name: str = 'depth') -> np.ndarray:
    """Depth map -> viridis colours.

    Args:
        depth: (H, W) metres; pixels that are not finite or <= 0 are invalid.
        value_range: (low, high) metres mapped to the two ends of the colour
            map; every valid pixel must lie inside (see
            :func:`depth_value_range`).
        name: used in error messages.

    Returns:
        (H, W, 3) uint8; invalid pixels black.
    """
    from matplotlib import colormaps

    depth = _as_2d(depth, name).astype(np.float64)
    low, high = float(value_range[0]), float(value_range[1])
    if not high >= low:
        raise ValueError(f'value_range of {name} must have low <= high, got '
                         f'{value_range}')
    valid = np.isfinite(depth) & (depth > 0)
    values = depth[valid]
    if values.size and (values.min() < low or values.max() > high):
        raise ValueError(
            f'{name} has values in [{values.min():g}, {values.max():g}], '
            f'outside value_range [{low:g}, {high:g}]')
    scaled = np.zeros_like(depth)
    if high > low:
        scaled[valid] = (depth[valid] - low) / (high - low)
    lut = colormaps[DEPTH_COLORMAP](np.linspace(0.0, 1.0, 256))[:, :3]
    lut = np.round(lut * 255).astype(np.uint8)
    rgb = lut[np.round(scaled * 255).astype(np.int64)]
    rgb[~valid] = INVALID_RGB
    return rgb


def colorize_normals(normals: np.ndarray, name: str = 'normals') -> np.ndarray:
    """Surface normals -> RGB ``round((n + 1) / 2 * 255)``.

    Args:
        normals: (3, H, W) unit vectors; all-zero or non-finite vectors are
            invalid. Components must lie in [-1, 1].
        name: used in error messages.

    Returns:
        (H, W, 3) uint8; invalid pixels black.
    """
    normals = np.asarray(normals, dtype=np.float64)
    if normals.ndim != 3 or normals.shape[0] != 3:
        raise ValueError(f'{name} must have shape (3, H, W), got '
                         f'{normals.shape}')
    finite = np.all(np.isfinite(normals), axis=0)
    valid = finite & np.any(normals != 0, axis=0)
    vectors = np.where(finite[None], normals, 0.0)
    if np.abs(vectors).max(initial=0.0) > 1.0 + 1e-6:
        raise ValueError(f'{name} components must lie in [-1, 1], got max '
                         f'|n| = {np.abs(vectors).max():g}')
    rgb = np.round((np.clip(vectors, -1, 1) + 1) / 2 * 255)
    rgb = rgb.transpose(1, 2, 0).astype(np.uint8)
    rgb[~valid] = INVALID_RGB
    return rgb


def colorize_probability(prob: np.ndarray,
                         name: str = 'probability') -> np.ndarray:
    """Binary label or probability map (edge, saliency) -> grey.

    Args:
        prob: (H, W) values in [0, 1] (probabilities or {0, 1} labels);
            ``IGNORE_INDEX`` (255) marks ignored pixels of a ground truth.
        name: used in error messages.

    Returns:
        (H, W, 3) uint8 grey ``round(p * 255)``; ignored pixels dark blue
        (:data:`BINARY_IGNORE_RGB`).
    """
    prob = _as_2d(prob, name).astype(np.float64)
    ignore = prob == IGNORE_INDEX
    values = prob[~ignore]
    if values.size and not (np.all(np.isfinite(values)) and values.min() >= 0
                            and values.max() <= 1):
        raise ValueError(
            f'{name} must lie in [0, 1] (or be {IGNORE_INDEX} = ignore), got '
            f'values in [{np.nanmin(values):g}, {np.nanmax(values):g}]')
    grey = np.round(np.where(ignore, 0.0, prob) * 255).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    rgb[ignore] = BINARY_IGNORE_RGB
    return rgb


def _as_2d(array, name: str) -> np.ndarray:
    """Accept (H, W) or (1, H, W); return (H, W)."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f'{name} must have shape (H, W) or (1, H, W), got '
                         f'{array.shape}')
    return array

