"""Depth and surface-normal metrics against hand-computed values."""
import math

import numpy as np
import pytest

from mmecmt.evaluation.functional import (DepthAccumulator, NormalsAccumulator,
                                          depth_scores, depth_statistics,
                                          histogram_median, normal_angles)


def test_depth_rmse_absrel_delta1_with_invalid_pixels():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    gt = np.array([[1.0, 0.0], [2.0, 5.0]])  # (0, 1) invalid
    s = depth_scores(depth_statistics(pred, gt))
    # errors on valid pixels: 0, 1, -1
    assert s['rmse'] == pytest.approx(math.sqrt(2 / 3))
    assert s['abs_rel'] == pytest.approx((0 + 1 / 2 + 1 / 5) / 3)
    # ratios 1, 1.5, 1.25: 1.25 is not < 1.25
    assert s['delta1'] == pytest.approx(1 / 3)


def test_depth_nonpositive_prediction_and_nan_gt():
    pred = np.array([-1.0, 0.0, 2.0, 7.0])
    gt = np.array([2.0, 2.0, 2.0, np.nan])  # nan = invalid
    st = depth_statistics(pred, gt)
    assert int(st['valid_count']) == 3
    assert int(st['delta1_count']) == 1  # p <= 0 fails delta1
    s = depth_scores(st)
    assert s['rmse'] == pytest.approx(math.sqrt((9 + 4 + 0) / 3))
    assert s['abs_rel'] == pytest.approx((1.5 + 1 + 0) / 3)


def test_depth_is_pixel_wise_over_the_set():
    acc = DepthAccumulator()
    acc.update(np.array([[3.0]]), np.array([[1.0]]))  # 1 pixel, error 2
    acc.update(np.full((1, 3), 2.0), np.ones((1, 3)))  # 3 pixels, error 1
    s = acc.compute()
    # pooled: sqrt((4 + 3) / 4); the mean of per-image RMSEs would be 1.5
    assert s['rmse'] == pytest.approx(math.sqrt(7 / 4))
    assert s['abs_rel'] == pytest.approx((2 + 3) / 4)
    assert s['delta1'] == 0.0


def test_depth_bad_input_raises():
    with pytest.raises(ValueError, match='shape'):
        depth_statistics(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match='non-finite'):
        depth_statistics(np.array([np.nan]), np.array([1.0]))


def _normals_case():
    """(3, 1, 6) maps: angles 0, 20, 45, 90, 180 and one invalid pixel."""
    s20, c20 = math.sin(math.radians(20)), math.cos(math.radians(20))
    pred = np.array([[0, 0, 2], [s20, 0, c20], [1, 0, 1], [1, 0, 0],
                     [0, 0, -1], [1, 0, 0]],
                    dtype=np.float64).T[:, None]
    gt = np.array(
        [[0, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 0]],
        dtype=np.float64).T[:, None]
    return pred, gt


def test_normal_angles_identical_orthogonal_opposite():
    pred, gt = _normals_case()
    np.testing.assert_allclose(normal_angles(pred, gt), [0, 20, 45, 90, 180],
                               atol=1e-9)


def test_normals_scores_by_hand():
    pred, gt = _normals_case()
    s = NormalsAccumulator().update(pred, gt).compute()
    assert s['mean'] == pytest.approx(335 / 5)
    assert s['median'] == pytest.approx(45, abs=0.01)
    assert s['rmse'] == pytest.approx(
        math.sqrt((400 + 2025 + 8100 + 32400) / 5))
    assert s['within_11.25'] == pytest.approx(1 / 5)
    assert s['within_22.5'] == pytest.approx(2 / 5)
    assert s['within_30'] == pytest.approx(2 / 5)


def test_zero_prediction_is_90_degrees():
    gt = np.array([0.0, 1.0, 0.0])[:, None]
    assert normal_angles(np.zeros((3, 1)), gt)[0] == pytest.approx(90)


def test_histogram_median_rule():
    # bin width 1: two values in [1, 2), one in [3, 4): median = rank 1,
    # the second of two evenly spread values in bin 1 -> 1 + 1.5 / 2
    assert histogram_median(np.array([0, 2, 0, 1]), 1.0) == 1.75
    # even count: mean of ranks 1 (1.75) and 2 (3 + 0.5 / 2)
    assert histogram_median(np.array([0, 2, 0, 2]), 1.0) == \
        pytest.approx((1.75 + 3.25) / 2)
    assert np.isnan(histogram_median(np.zeros(4), 1.0))


def test_median_resolution_and_set_level_accumulation():
    rng = np.random.default_rng(0)
    acc = NormalsAccumulator(bin_width=0.01)
    all_angles = []
    for _ in range(3):
        pred = rng.normal(size=(3, 8, 8))
        gt = rng.normal(size=(3, 8, 8))
        gt[:, 0, :3] = 0  # invalid pixels
        all_angles.append(normal_angles(pred, gt))
        acc.update(pred, gt)
    angles = np.concatenate(all_angles)
    s = acc.compute()
    assert angles.size == 3 * 61
    assert s['mean'] == pytest.approx(angles.mean())
    assert abs(s['median'] - np.median(angles)) <= 0.01
    assert s['within_30'] == pytest.approx(np.mean(angles < 30))


def test_normals_bad_shape_raises():
    with pytest.raises(ValueError, match='3 channels'):
        normal_angles(np.ones((2, 4, 4)), np.ones((2, 4, 4)))
