"""Segmentation mIoU / accuracies against hand-computed values."""
import numpy as np
import pytest

from mmecmt.evaluation.functional import (SegmentationAccumulator,
                                          confusion_matrix,
                                          segmentation_scores)

# 3x3 maps, one ignored pixel (centre), 4 classes, class 3 absent everywhere.
GT = np.array([[0, 0, 1], [1, 255, 2], [0, 1, 1]])
PRED = np.array([[0, 1, 1], [1, 0, 2], [0, 0, 1]])


def test_confusion_matrix_by_hand():
    cm = confusion_matrix(PRED, GT, num_classes=4)
    expected = np.zeros((4, 4), np.int64)
    # (gt, pred) pairs of the 8 valid pixels
    for g, p in [(0, 0), (0, 1), (1, 1), (1, 1), (2, 2), (0, 0), (1, 0),
                 (1, 1)]:
        expected[g, p] += 1
    np.testing.assert_array_equal(cm, expected)


def test_miou_with_ignore_and_absent_class():
    s = segmentation_scores(confusion_matrix(PRED, GT, 4))
    # IoU0 = 2 / (3 + 3 - 2), IoU1 = 3 / (4 + 4 - 3), IoU2 = 1, IoU3 = nan
    np.testing.assert_allclose(s['IoU'][:3], [0.5, 0.6, 1.0])
    assert np.isnan(s['IoU'][3])
    assert s['mIoU'] == pytest.approx((0.5 + 0.6 + 1.0) / 3)
    assert s['aAcc'] == pytest.approx(6 / 8)
    assert s['mAcc'] == pytest.approx((2 / 3 + 3 / 4 + 1) / 3)


def test_class_only_in_prediction_counts_with_iou_zero():
    pred = PRED.copy()
    pred[2, 2] = 3  # was a correct class-1 pixel
    s = segmentation_scores(confusion_matrix(pred, GT, 4))
    # class 1: TP 2, gt 4, pred 3 -> 2 / 5; class 3: 0 / 1
    np.testing.assert_allclose(s['IoU'], [0.5, 0.4, 1.0, 0.0])
    assert s['mIoU'] == pytest.approx((0.5 + 0.4 + 1.0 + 0.0) / 4)


def test_prediction_at_ignored_pixel_does_not_matter():
    pred = PRED.copy()
    pred[1, 1] = 99  # out of range, but at an ignored pixel
    np.testing.assert_array_equal(confusion_matrix(pred, GT, 4),
                                  confusion_matrix(PRED, GT, 4))


def test_bad_labels_and_shapes_raise():
    with pytest.raises(ValueError, match='outside the valid range'):
        confusion_matrix(PRED, np.where(GT == 2, 7, GT), 4)
    with pytest.raises(ValueError, match='outside the valid range'):
        confusion_matrix(np.where(PRED == 2, -1, PRED), GT, 4)
    with pytest.raises(ValueError, match='shape'):
        confusion_matrix(PRED[:2], GT, 4)


def test_dataset_level_accumulation_not_mean_of_images():
    gt2 = np.array([[3, 3], [0, 255]])
    pred2 = np.array([[3, 0], [0, 1]])
    acc = SegmentationAccumulator(4)
    acc.update(PRED[None], GT[None])  # (1, H, W) like packed samples
    other = SegmentationAccumulator(4).update(pred2, gt2)
    acc.merge(other)
    cm = confusion_matrix(PRED, GT, 4) + confusion_matrix(pred2, gt2, 4)
    # IoU3 = 1 / 2; IoU0 = 3 / (4 + 5 - 3) = 0.5
    expected = segmentation_scores(cm)
    np.testing.assert_allclose(expected['IoU'], [0.5, 0.6, 1.0, 0.5])
    assert acc.compute()['mIoU'] == pytest.approx(0.65)
    assert acc.compute()['aAcc'] == pytest.approx(8 / 11)
    assert acc.num_samples == 2


def test_empty_accumulator_raises():
    with pytest.raises(ValueError, match='nothing accumulated'):
        SegmentationAccumulator(3).compute()
