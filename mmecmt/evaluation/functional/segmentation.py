"""Semantic segmentation / human parts: confusion matrix, mIoU, pixel accuracy.

Conventions (as mmseg's ``IoUMetric``):

* pixels whose ground truth is ``ignore_index`` (255) are left out entirely;
* the confusion matrix is summed over the whole set before any ratio is taken
  (dataset-level IoU, not a mean of per-image IoUs);
* ``IoU_c = TP_c / (TP_c + FP_c + FN_c)``; a class whose union is 0 (absent
  from both ground truth and prediction over the whole set) gets ``nan`` and
  is left out of the mean: ``mIoU = nanmean(IoU)``, i.e. the mean over the
  classes that appear in the ground truth or the prediction;
* ``aAcc`` = correctly labelled valid pixels / valid pixels;
  ``mAcc`` = mean over classes present in the ground truth of
  ``TP_c / (TP_c + FN_c)``.

All values are fractions in [0, 1].
"""
from typing import Dict

import numpy as np

from .accumulator import Accumulator, Statistics, check_same_shape, to_numpy

IGNORE_INDEX = 255


def confusion_matrix(pred,
                     gt,
                     num_classes: int,
                     ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Confusion matrix of one label map.

    Args:
        pred: predicted labels, integer array of any shape, e.g. (H, W) or
            (1, H, W), values in ``[0, num_classes)`` at valid pixels.
        gt: ground-truth labels, same shape, values in ``[0, num_classes)``
            or ``ignore_index``.
        num_classes: number of classes C.
        ignore_index: ground-truth value to ignore.

    Returns:
        (C, C) int64 matrix; entry ``[g, p]`` counts the valid pixels of
        ground-truth class g predicted as p.

    Raises:
        ValueError: shapes differ, or a label at a valid pixel lies outside
            ``[0, num_classes)``.
    """
    pred = to_numpy(pred)
    gt = to_numpy(gt)
    check_same_shape(pred, gt, 'segmentation')
    num_classes = int(num_classes)
    valid = gt != ignore_index
    gt_valid = gt[valid].astype(np.int64)
    pred_valid = pred[valid].astype(np.int64)
    for name, values in (('ground truth', gt_valid), ('prediction',
                                                      pred_valid)):
        bad = (values < 0) | (values >= num_classes)
        if bad.any():
            raise ValueError(
                f'segmentation {name} has labels {np.unique(values[bad])[:10]}'
                f' outside the valid range [0, {num_classes}) '
                f'(ignore value {ignore_index} excepted)')
    index = gt_valid * num_classes + pred_valid
    counts = np.bincount(index, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def segmentation_scores(confmat: np.ndarray) -> Dict[str, object]:
    """mIoU, per-class IoU and accuracies from a summed confusion matrix.

    Args:
        confmat: (C, C) counts, rows = ground truth, columns = prediction.

    Returns:
        dict with ``mIoU``, ``aAcc``, ``mAcc`` (python floats, fractions;
        ``nan`` when there is no valid pixel at all) and ``IoU`` ((C,) float64
        array, ``nan`` for classes absent from ground truth and prediction).
    """
    confmat = np.asarray(confmat, dtype=np.float64)
    if confmat.ndim != 2 or confmat.shape[0] != confmat.shape[1]:
        raise ValueError(
            f'confusion matrix must be (C, C), got shape {confmat.shape}')
    tp = np.diag(confmat)
    gt_area = confmat.sum(axis=1)
    pred_area = confmat.sum(axis=0)
    union = gt_area + pred_area - tp
    iou = np.full_like(tp, np.nan)
    np.divide(tp, union, out=iou, where=union > 0)
    acc = np.full_like(tp, np.nan)
    np.divide(tp, gt_area, out=acc, where=gt_area > 0)
    total = gt_area.sum()
    return dict(mIoU=float(np.mean(iou[union > 0])) if
                (union > 0).any() else np.nan,
                mAcc=float(np.mean(acc[gt_area > 0])) if
                (gt_area > 0).any() else np.nan,
                aAcc=float(tp.sum() / total) if total > 0 else np.nan,
                IoU=iou)


class SegmentationAccumulator(Accumulator):
    """Sums confusion matrices; statistics ``{'confmat': (C, C) int64}``.

    Args:
        num_classes: number of classes C.
        ignore_index: ground-truth value to ignore (255).
    """

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX):
        super().__init__()
        self.num_classes = int(num_classes)
        self.ignore_index = ignore_index

    def statistics(self, pred, gt) -> Statistics:
        return dict(confmat=confusion_matrix(pred, gt, self.num_classes,
                                             self.ignore_index))

    def scores(self, stats: Statistics) -> Dict[str, float]:
        """``mIoU``, ``aAcc``, ``mAcc`` (floats; per-class IoU left out)."""
        out = segmentation_scores(stats['confmat'])
        out.pop('IoU')
        return out
