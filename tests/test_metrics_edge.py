"""Edge odsF with one-to-one matching, against hand-computed values."""
import math

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from mmecmt.evaluation.functional import (EdgeAccumulator, edge_scores,
                                          edge_statistics, edge_thresholds,
                                          maximum_matching_size, thin,
                                          tolerance_pixels)

# A 3 x 4 image has a diagonal of 5 px: max_dist 0.2 -> tolerance 1.0 px.
TOL_ONE = 0.2


def _maps(pred_pixels, gt_pixels, shape=(3, 4)):
    prob = np.zeros(shape, np.float32)
    gt = np.zeros(shape, np.uint8)
    for (y, x), p in pred_pixels.items():
        prob[y, x] = p
    for y, x in gt_pixels:
        gt[y, x] = 1
    return prob, gt


def _at(stats, t):
    i = int(np.argmin(np.abs(edge_thresholds() - t)))
    return {k: int(v[i]) for k, v in stats.items()}


def test_thresholds_and_tolerance():
    thr = edge_thresholds(99)
    assert thr.size == 99
    assert thr[0] == pytest.approx(0.01) and thr[-1] == pytest.approx(0.99)
    assert tolerance_pixels((96, 128), 0.0075) == pytest.approx(1.2)
    assert tolerance_pixels((3, 4), TOL_ONE) == pytest.approx(1.0)


def test_two_predictions_near_one_gt_pixel_match_once():
    prob, gt = _maps({(1, 1): 0.9, (1, 2): 0.9}, [(1, 1)])
    one = edge_statistics(prob, gt, max_dist=TOL_ONE)
    assert _at(one, 0.5) == dict(matched_pred=1,
                                 total_pred=2,
                                 matched_gt=1,
                                 total_gt=1)
    s = edge_scores(one, edge_thresholds())
    # P = 1/2, R = 1 -> F = 2/3 (below 0.9); above 0.9 nothing is predicted
    assert s['odsF'] == pytest.approx(2 / 3)
    assert s['ods_threshold'] == pytest.approx(0.01)
    # a distance transform counts both predictions: optimistic F = 1
    dt = edge_statistics(prob,
                         gt,
                         max_dist=TOL_ONE,
                         matching='distance_transform')
    assert _at(dt, 0.5)['matched_pred'] == 2
    acc = EdgeAccumulator(max_dist=TOL_ONE, matching='distance_transform')
    assert acc.add(dt).compute() == {
        'odsF_dt': 1.0,
        'ods_threshold_dt': pytest.approx(0.01)
    }


def test_one_to_one_needs_augmenting_path():
    # gt at x = 0 and x = 2; predictions at x = 1 (near both) with the
    # higher probability and at x = 0 (near the first only). A greedy
    # matching of x = 1 to gt x = 0 would leave one gt unmatched.
    prob, gt = _maps({(0, 1): 0.9, (0, 0): 0.5}, [(0, 0), (0, 2)])
    st = edge_statistics(prob, gt, max_dist=TOL_ONE)
    assert _at(st, 0.3)['matched_pred'] == 2
    assert _at(st, 0.7)['matched_pred'] == 1
    assert edge_scores(st, edge_thresholds())['odsF'] == 1.0


def test_tolerance_boundary():
    prob, gt = _maps({(1, 1): 0.9}, [(0, 0)])  # distance sqrt(2)
    assert _at(edge_statistics(prob, gt, max_dist=TOL_ONE),
               0.5)['matched_pred'] == 0
    at_boundary = math.sqrt(2) / 5  # tolerance exactly sqrt(2) px
    assert _at(edge_statistics(prob, gt, max_dist=at_boundary),
               0.5)['matched_pred'] == 1
    prob, gt = _maps({(0, 1): 0.9}, [(0, 0)])  # distance 1 = tolerance
    assert _at(edge_statistics(prob, gt, max_dist=TOL_ONE),
               0.5)['matched_pred'] == 1


def test_thresholds_select_the_best_f():
    # gt at (1, 1): a hit with p = 0.8 and a miss with p = 0.3
    prob, gt = _maps({(1, 1): 0.8, (0, 3): 0.3}, [(1, 1)])
    st = edge_statistics(prob, gt, max_dist=TOL_ONE)
    s = edge_scores(st, edge_thresholds())
    assert s['F'][29] == pytest.approx(2 / 3)  # t = 0.30: both predicted
    assert s['odsF'] == 1.0
    assert s['ods_threshold'] == pytest.approx(0.31)
    assert s['F'][80] == 0.0  # t = 0.81: nothing predicted


def test_ignored_pixels_leave_prediction_and_gt():
    prob, gt = _maps({(1, 1): 0.9, (2, 3): 0.9}, [(1, 1), (0, 3)])
    gt[2, 3] = 255  # predicted there: not counted
    gt[0, 0] = 255
    st = edge_statistics(prob, gt, max_dist=TOL_ONE)
    # gt (0, 3) is not near any prediction: R = 1/2, P = 1
    assert _at(st, 0.5) == dict(matched_pred=1,
                                total_pred=1,
                                matched_gt=1,
                                total_gt=2)


def test_dataset_level_counts():
    a = _maps({(1, 1): 0.9, (1, 2): 0.9}, [(1, 1)])
    b = _maps({(0, 0): 0.9}, [(0, 0), (2, 3)])
    acc = EdgeAccumulator(max_dist=TOL_ONE)
    acc.update(*a)
    acc.update(*b)
    # P = 2/3, R = 2/3 -> F = 2/3 (mean of per-image F would be 2/3 too,
    # so check the counts directly)
    np.testing.assert_array_equal(acc.stats['matched_pred'][:90], 2)
    np.testing.assert_array_equal(acc.stats['total_pred'][:90], 3)
    np.testing.assert_array_equal(acc.stats['total_gt'], 3)
    assert acc.compute()['odsF'] == pytest.approx(2 / 3)


def test_matching_size_equals_hopcroft_karp():
    rng = np.random.default_rng(0)
    for _ in range(30):
        dense = rng.random(rng.integers(1, 25, size=2)) < 0.15
        graph = csr_matrix(dense.astype(np.int32))
        ref = maximum_bipartite_matching(graph, perm_type='column')
        assert maximum_matching_size(graph) == int((ref >= 0).sum())


def test_thinning_and_thin_option():
    band = np.zeros((7, 9), bool)
    band[2:5, 1:8] = True
    expected = np.zeros((7, 9), bool)
    expected[3, 2:7] = True  # middle row, one pixel off each end
    np.testing.assert_array_equal(thin(band), expected)
    # thick predicted band (3 rows) around a 1-px gt line
    prob = np.zeros((9, 20), np.float32)
    prob[3:6, 2:18] = 0.9
    gt = np.zeros((9, 20), np.uint8)
    gt[4, 2:18] = 1
    thick = edge_statistics(prob, gt)  # tolerance 0.16 px: exact hits
    assert _at(thick, 0.5)['matched_pred'] == 16
    assert _at(thick, 0.5)['total_pred'] == 48
    thinned = edge_statistics(prob, gt, thin=True)
    assert _at(thinned, 0.5) == dict(matched_pred=14,
                                     total_pred=14,
                                     matched_gt=14,
                                     total_gt=16)


def test_bad_input_raises():
    prob, gt = _maps({(1, 1): 0.9}, [(1, 1)])
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        edge_statistics(prob * 2, gt)
    gt[0, 0] = 3
    with pytest.raises(ValueError, match='0, 1 or 255'):
        edge_statistics(prob, gt)
    with pytest.raises(ValueError, match='matching'):
        EdgeAccumulator(matching='hungarian')


def _brute_force_counts(prob, gt, t, tol, thin_first=False):
    """Counts at one threshold from an explicit distance matrix."""
    valid = gt != 255
    pred = valid & (prob >= np.float32(t))
    if thin_first:
        pred = thin(pred)
    gts = valid & (gt == 1)
    p = np.argwhere(pred)
    g = np.argwhere(gts)
    if len(p) == 0 or len(g) == 0:
        return 0, len(p), 0, 0, 0
    d = np.linalg.norm(p[:, None, :] - g[None, :, :], axis=2)
    near = d <= tol + 1e-9
    match = maximum_bipartite_matching(csr_matrix(near.astype(np.int32)),
                                       perm_type='column')
    return (int((match >= 0).sum()), len(p), int(near.any(1).sum()),
            int(near.any(0).sum()), len(g))


@pytest.mark.parametrize('thin_first', [False, True])
def test_all_thresholds_against_brute_force(thin_first):
    rng = np.random.default_rng(3)
    shape = (12, 16)  # diagonal 20: max_dist 0.075 -> 1.5 px
    gt = (rng.random(shape) < 0.15).astype(np.uint8)
    gt[0, :4] = 255
    prob = rng.random(shape).astype(np.float32)
    one = edge_statistics(prob, gt, max_dist=0.075, thin=thin_first)
    dt = edge_statistics(prob,
                         gt,
                         max_dist=0.075,
                         thin=thin_first,
                         matching='distance_transform')
    for i, t in enumerate(edge_thresholds()):
        m, n_pred, near_pred, near_gt, n_gt = _brute_force_counts(
            prob, gt, t, 1.5, thin_first)
        assert (one['matched_pred'][i], one['total_pred'][i],
                one['matched_gt'][i], one['total_gt'][i]) == \
            (m, n_pred, m, n_gt), t
        assert (dt['matched_pred'][i], dt['matched_gt'][i]) == \
            (near_pred, near_gt), t
