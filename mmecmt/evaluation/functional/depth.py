"""Depth estimation: RMSE, absolute relative error, delta < 1.25.

All three are pixel-wise over the whole set, on valid pixels only
(ground truth > 0; NaN ground truth is invalid too):

* ``rmse = sqrt(sum (p - g)^2 / N)`` in metres;
* ``abs_rel = sum |p - g| / g / N``;
* ``delta1 = #{max(p / g, g / p) < 1.25} / N``; a prediction ``p <= 0`` at a
  valid pixel counts as outside the threshold (the ratio is undefined).

N is the number of valid pixels of the whole set (not a mean of per-image
values).
"""
from typing import Dict

import numpy as np

from .accumulator import Accumulator, Statistics, check_same_shape, to_numpy

DELTA1_THRESHOLD = 1.25


def depth_statistics(pred, gt) -> Statistics:
    """Summable statistics of one depth map.

    Args:
        pred: predicted depth in metres, float array of any shape, e.g.
            (1, H, W) or (H, W).
        gt: ground-truth depth in metres, same shape, ``<= 0`` or NaN =
            invalid.

    Returns:
        dict of float64 / int64 scalars (0-d arrays): ``sq_err_sum``,
        ``abs_rel_sum``, ``delta1_count``, ``valid_count``.

    Raises:
        ValueError: shapes differ, or the prediction is not finite at a
            valid pixel.
    """
    pred = to_numpy(pred).astype(np.float64)
    gt = to_numpy(gt).astype(np.float64)
    check_same_shape(pred, gt, 'depth')
    valid = gt > 0  # NaN > 0 is False
    p = pred[valid]
    g = gt[valid]
    if not np.isfinite(p).all():
        raise ValueError(
            f'depth prediction has {int((~np.isfinite(p)).sum())} non-finite '
            'values at valid pixels')
    err = p - g
    positive = p > 0
    ratio = np.full_like(p, np.inf)
    ratio[positive] = np.maximum(p[positive] / g[positive],
                                 g[positive] / p[positive])
    return dict(sq_err_sum=np.float64(np.sum(err * err)),
                abs_rel_sum=np.float64(np.sum(np.abs(err) / g)),
                delta1_count=np.int64(
                    np.count_nonzero(ratio < DELTA1_THRESHOLD)),
                valid_count=np.int64(p.size))


def depth_scores(stats: Statistics) -> Dict[str, float]:
    """``rmse`` (metres), ``abs_rel``, ``delta1`` (fraction); nan if N = 0."""
    n = float(stats['valid_count'])
    if n == 0:
        return dict(rmse=np.nan, abs_rel=np.nan, delta1=np.nan)
    return dict(rmse=float(np.sqrt(float(stats['sq_err_sum']) / n)),
                abs_rel=float(stats['abs_rel_sum']) / n,
                delta1=float(stats['delta1_count']) / n)


class DepthAccumulator(Accumulator):
    """Sums :func:`depth_statistics`; computes :func:`depth_scores`."""

    def statistics(self, pred, gt) -> Statistics:
        return depth_statistics(pred, gt)

    def scores(self, stats: Statistics) -> Dict[str, float]:
        return depth_scores(stats)
