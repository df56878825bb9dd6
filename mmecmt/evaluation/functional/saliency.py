"""Saliency: maxF (beta^2 = 0.3) over thresholds and IoU at the best one.

Per threshold t (default 0.05, 0.10, ..., 0.95: 19 thresholds) a pixel is
predicted salient when ``prob >= t`` (compared in the dtype of ``prob``).
TP / FP / FN are summed over the valid pixels (ground truth != 255) of the
whole set, then

* ``P = TP / (TP + FP)``, ``R = TP / (TP + FN)`` (0 when undefined),
* ``F = (1 + b2) P R / (b2 P + R)`` with ``b2 = 0.3`` (0 when undefined),
* ``maxF = max_t F``, ``best_threshold`` the first threshold reaching it,
* ``IoU = TP / (TP + FP + FN)`` at ``best_threshold``.

All values are fractions in [0, 1].
"""
from typing import Dict, Sequence

import numpy as np

from .accumulator import (Accumulator, Statistics, check_same_shape,
                          safe_ratio, to_numpy)

IGNORE_INDEX = 255
BETA_SQUARED = 0.3


def saliency_thresholds(step: float = 0.05) -> np.ndarray:
    """Thresholds ``step, 2 step, ... < 1``; for 0.05: 0.05..0.95 (19)."""
    if not 0 < step < 1:
        raise ValueError(f'saliency threshold step must be in (0, 1), got '
                         f'{step}')
    num = int(np.ceil(1.0 / step - 1e-9)) - 1
    return np.round(np.arange(1, num + 1) * step, 10)


def saliency_statistics(prob,
                        gt,
                        thresholds: Sequence[float] = None) -> Statistics:
    """Per-threshold TP / FP / FN of one saliency map.

    Args:
        prob: saliency probabilities in [0, 1], any shape, e.g. (1, H, W).
        gt: same shape, values 0 / 1 (salient) / 255 (ignore).
        thresholds: (K,) thresholds; default :func:`saliency_thresholds`.

    Returns:
        dict of (K,) int64 arrays ``tp``, ``fp``, ``fn``.

    Raises:
        ValueError: shapes differ, probabilities outside [0, 1] or not
            finite, ground-truth values other than 0, 1, 255.
    """
    prob = to_numpy(prob)
    gt = to_numpy(gt)
    check_same_shape(prob, gt, 'saliency')
    if not np.issubdtype(prob.dtype, np.floating):
        prob = prob.astype(np.float64)
    thresholds = saliency_thresholds() if thresholds is None else \
        np.asarray(thresholds, dtype=np.float64)
    valid = gt != IGNORE_INDEX
    p = prob[valid]
    g = gt[valid]
    if not np.isfinite(p).all() or (p.size and (p.min() < 0 or p.max() > 1)):
        raise ValueError(
            'saliency prediction must be probabilities in [0, 1]; got range '
            f'[{np.nanmin(p)}, {np.nanmax(p)}]')
    bad = (g != 0) & (g != 1)
    if bad.any():
        raise ValueError(f'saliency ground truth must be 0, 1 or '
                         f'{IGNORE_INDEX}; found {np.unique(g[bad])[:10]}')
    thr = thresholds.astype(prob.dtype)
    pos = np.sort(p[g == 1])
    neg = np.sort(p[g == 0])
    # number of values >= t in a sorted array
    tp = pos.size - np.searchsorted(pos, thr, side='left')
    fp = neg.size - np.searchsorted(neg, thr, side='left')
    return dict(tp=tp.astype(np.int64),
                fp=fp.astype(np.int64),
                fn=(pos.size - tp).astype(np.int64))


def saliency_scores(stats: Statistics,
                    thresholds: Sequence[float],
                    beta_squared: float = BETA_SQUARED) -> Dict[str, object]:
    """maxF, its threshold, IoU there, and the per-threshold curves.

    Returns:
        dict: ``maxF``, ``best_threshold``, ``IoU`` (floats) and
        ``precision``, ``recall``, ``F`` ((K,) float64 arrays).
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    tp, fp, fn = (np.asarray(stats[k], dtype=np.float64)
                  for k in ('tp', 'fp', 'fn'))
    if tp.shape != thresholds.shape:
        raise ValueError(f'saliency statistics have {tp.shape} thresholds, '
                         f'expected {thresholds.shape}')
    precision = safe_ratio(tp, tp + fp)
    recall = safe_ratio(tp, tp + fn)
    f = safe_ratio((1 + beta_squared) * precision * recall,
                   beta_squared * precision + recall)
    best = int(np.argmax(f))
    iou = safe_ratio(tp, tp + fp + fn)
    return dict(maxF=float(f[best]),
                best_threshold=float(thresholds[best]),
                IoU=float(iou[best]),
                precision=precision,
                recall=recall,
                F=f)


class SaliencyAccumulator(Accumulator):
    """Sums :func:`saliency_statistics`; computes maxF and IoU.

    Args:
        threshold_step: thresholds ``step, 2 step, ...`` below 1 (0.05 -> 19).
        beta_squared: F-measure weight (0.3).
    """

    def __init__(self,
                 threshold_step: float = 0.05,
                 beta_squared: float = BETA_SQUARED):
        super().__init__()
        self.thresholds = saliency_thresholds(threshold_step)
        self.beta_squared = float(beta_squared)

    def statistics(self, prob, gt) -> Statistics:
        return saliency_statistics(prob, gt, self.thresholds)

    def scores(self, stats: Statistics) -> Dict[str, float]:
        """``maxF``, ``IoU`` and ``best_threshold`` (floats)."""
        s = saliency_scores(stats, self.thresholds, self.beta_squared)
        return dict(maxF=s['maxF'],
                    IoU=s['IoU'],
                    best_threshold=s['best_threshold'])
