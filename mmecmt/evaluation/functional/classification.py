"""Classification: top-1 accuracy, samples labelled -1 ignored.

``top1 = #{pred == gt, gt != -1} / #{gt != -1}`` over the whole set, a
fraction in [0, 1] (nan when no sample has a label).
"""
from typing import Dict

import numpy as np

from .accumulator import Accumulator, Statistics, check_same_shape, to_numpy

CLS_IGNORE_INDEX = -1


def classification_statistics(
        pred_label,
        gt_label,
        ignore_index: int = CLS_IGNORE_INDEX) -> Statistics:
    """Correct / labelled counts.

    Args:
        pred_label: predicted class indices, int array of shape (N,) (a
            scalar or (1,) for one sample).
        gt_label: ground-truth class indices, same shape, ``-1`` = no label.
        ignore_index: ground-truth value to ignore.

    Returns:
        dict of int64 scalars ``correct`` and ``count``.
    """
    pred = np.atleast_1d(to_numpy(pred_label))
    gt = np.atleast_1d(to_numpy(gt_label))
    check_same_shape(pred, gt, 'classification')
    valid = gt != ignore_index
    return dict(correct=np.int64(np.count_nonzero(pred[valid] == gt[valid])),
                count=np.int64(np.count_nonzero(valid)))


def classification_scores(stats: Statistics) -> Dict[str, float]:
    """``top1`` (fraction; nan when nothing is labelled)."""
    count = int(stats['count'])
    return dict(top1=float(stats['correct']) / count if count else np.nan)


class ClassificationAccumulator(Accumulator):
    """Sums :func:`classification_statistics`; computes top-1."""

    def statistics(self, pred_label, gt_label) -> Statistics:
        return classification_statistics(pred_label, gt_label)

    def scores(self, stats: Statistics) -> Dict[str, float]:
        return classification_scores(stats)
