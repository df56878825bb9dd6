"""Surface normals: angular error statistics over the whole set.

On valid pixels (ground-truth vector not all zero) both vectors are
L2-normalised and the angle is ``2 * atan2(|p - g|, |p + g|)`` in degrees
(numerically exact near 0 and 180, unlike ``arccos`` of the dot product).
A zero predicted vector stays zero after normalisation and yields 90 degrees.

Scores, pixel-wise over the whole set:

* ``mean`` and ``rmse`` of the angle: exact (from summed angles / squares);
* ``within_<t>``: fraction of valid pixels with angle ``< t`` degrees, exact
  (counted per threshold);
* ``median``: from a histogram of the angles with bins of ``bin_width``
  degrees (default 0.01) on [0, 180]; inside the bin holding a rank the values
  are taken as evenly spread, so the reported median lies within one bin
  width (0.01 degree) of the exact median. Keeping exact values would cost
  4 bytes per pixel of the whole set; the histogram costs at most
  ``180 / bin_width`` entries per image (stored sparse).
"""
from typing import Dict, Mapping, Sequence

import numpy as np

from .accumulator import Accumulator, Statistics, check_same_shape, to_numpy

WITHIN_THRESHOLDS = (11.25, 22.5, 30.0)
DEFAULT_BIN_WIDTH = 0.01


def normal_angles(pred, gt) -> np.ndarray:
    """Angular errors in degrees on the valid pixels of one normal map.

    Args:
        pred: predicted normals, (3, ...) e.g. (3, H, W), any length.
        gt: ground-truth normals, same shape; a zero vector = invalid.

    Returns:
        (N,) float64 angles in [0, 180] of the N valid pixels.

    Raises:
        ValueError: shapes differ, the first axis is not 3, or the
            prediction is not finite at a valid pixel.
    """
    pred = to_numpy(pred).astype(np.float64)
    gt = to_numpy(gt).astype(np.float64)
    check_same_shape(pred, gt, 'normals')
    if pred.ndim < 1 or pred.shape[0] != 3:
        raise ValueError(
            f'normals must have 3 channels first, (3, H, W); got shape '
            f'{pred.shape}')
    p = pred.reshape(3, -1)
    g = gt.reshape(3, -1)
    valid = np.any(g != 0, axis=0)
    p = p[:, valid]
    g = g[:, valid]
    if not np.isfinite(p).all():
        raise ValueError('normals prediction has non-finite values at valid '
                         'pixels')
    p = p / np.maximum(np.linalg.norm(p, axis=0, keepdims=True), 1e-12)
    g = g / np.linalg.norm(g, axis=0, keepdims=True)
    angles = 2.0 * np.arctan2(np.linalg.norm(p - g, axis=0),
                              np.linalg.norm(p + g, axis=0))
    return np.degrees(angles)


def num_angle_bins(bin_width: float) -> int:
    """Number of histogram bins covering [0, 180] degrees."""
    if not bin_width > 0:
        raise ValueError(f'bin_width must be > 0 degrees, got {bin_width}')
    return int(np.ceil(180.0 / bin_width - 1e-9))


def normals_statistics(
        pred,
        gt,
        bin_width: float = DEFAULT_BIN_WIDTH,
        within: Sequence[float] = WITHIN_THRESHOLDS) -> Statistics:
    """Summable statistics of one normal map.

    Args:
        pred, gt: see :func:`normal_angles`.
        bin_width: histogram bin width in degrees (median resolution).
        within: angle thresholds t (degrees) for the ``within_<t>`` scores.

    Returns:
        dict: ``angle_sum``, ``angle_sq_sum`` (float64 scalars), ``count``
        (int64 scalar), ``within_count`` ((len(within),) int64, angles < t),
        and the sparse histogram ``hist_bins`` ((B,) bin indices; uint16
        up to 65536 bins, else int32) with ``hist_counts`` ((B,) int32).
        Bin i covers ``[i w, (i + 1) w)``; the last bin also holds 180.
    """
    angles = normal_angles(pred, gt)
    n_bins = num_angle_bins(bin_width)
    bins = np.minimum((angles / bin_width).astype(np.int64), n_bins - 1)
    hist_bins, hist_counts = np.unique(bins, return_counts=True)
    within = np.asarray(within, dtype=np.float64)
    bin_dtype = np.uint16 if n_bins <= 1 << 16 else np.int32
    return dict(angle_sum=np.float64(angles.sum()),
                angle_sq_sum=np.float64(np.sum(angles * angles)),
                count=np.int64(angles.size),
                within_count=(angles[None, :]
                              < within[:, None]).sum(1).astype(np.int64),
                hist_bins=hist_bins.astype(bin_dtype),
                hist_counts=hist_counts.astype(np.int32))


def dense_histogram(hist_bins, hist_counts, n_bins: int) -> np.ndarray:
    """(n_bins,) int64 histogram from sparse (bin index, count) pairs."""
    hist_bins = np.asarray(hist_bins, dtype=np.int64)
    if hist_bins.size and (hist_bins.min() < 0 or hist_bins.max() >= n_bins):
        raise ValueError(
            f'histogram bin indices must lie in [0, {n_bins}), got range '
            f'[{hist_bins.min()}, {hist_bins.max()}]')
    return np.bincount(hist_bins,
                       weights=np.asarray(hist_counts),
                       minlength=n_bins).astype(np.int64)


def histogram_median(hist: np.ndarray, bin_width: float) -> float:
    """Median of values binned in ``hist`` (bin i = ``[i w, (i+1) w)``).

    The k-th smallest value (0-based) in a bin holding ``c`` values of which
    ``j`` are below it is estimated as ``(i + (j + 0.5) / c) * w``; the median
    is the mean of ranks ``(N-1)//2`` and ``N//2`` (as ``numpy.median``).
    The estimate is within ``bin_width`` of the exact median. nan if N = 0.
    """
    hist = np.asarray(hist, dtype=np.int64)
    n = int(hist.sum())
    if n == 0:
        return np.nan
    cum = np.cumsum(hist)

    def order_statistic(rank: int) -> float:
        i = int(np.searchsorted(cum, rank, side='right'))
        below = cum[i] - hist[i]
        return (i + (rank - below + 0.5) / hist[i]) * bin_width

    return 0.5 * (order_statistic((n - 1) // 2) + order_statistic(n // 2))


class NormalsAccumulator(Accumulator):
    """Sums :func:`normals_statistics`; the histogram is kept dense here.

    Args:
        bin_width: histogram bin width in degrees (default 0.01).
        within: thresholds of the ``within_<t>`` fractions.
    """

    def __init__(self,
                 bin_width: float = DEFAULT_BIN_WIDTH,
                 within: Sequence[float] = WITHIN_THRESHOLDS):
        super().__init__()
        self.bin_width = float(bin_width)
        self.n_bins = num_angle_bins(self.bin_width)
        self.within = tuple(float(t) for t in within)

    def statistics(self, pred, gt) -> Statistics:
        return normals_statistics(pred, gt, self.bin_width, self.within)

    def _expand(self, stats: Mapping[str, np.ndarray]) -> Statistics:
        out = {
            k: np.asarray(v)
            for k, v in stats.items() if k not in ('hist_bins', 'hist_counts')
        }
        if 'hist' not in out:
            out['hist'] = dense_histogram(stats['hist_bins'],
                                          stats['hist_counts'], self.n_bins)
        if out['within_count'].shape != (len(self.within), ):
            raise ValueError(
                f'within_count has shape {out["within_count"].shape}, '
                f'expected ({len(self.within)},) for thresholds '
                f'{self.within}')
        return out

    def scores(self, stats: Statistics) -> Dict[str, float]:
        """``mean``, ``median``, ``rmse`` (degrees), ``within_<t>``
        (fractions); nan when there is no valid pixel."""
        n = float(stats['count'])
        out = dict(mean=float(stats['angle_sum']) / n if n else np.nan,
                   median=histogram_median(stats['hist'], self.bin_width),
                   rmse=float(np.sqrt(float(stats['angle_sq_sum']) /
                                      n)) if n else np.nan)
        for t, c in zip(self.within, stats['within_count']):
            out[f'within_{t:g}'] = float(c) / n if n else np.nan
        return out
