"""Saliency maxF, top-1 accuracy and Delta_m against hand-computed values."""
import numpy as np
import pytest

from mmecmt.evaluation import PRIMARY_METRICS, compute_delta_m
from mmecmt.evaluation.functional import (ClassificationAccumulator,
                                          SaliencyAccumulator,
                                          classification_statistics,
                                          extract_primary_scores,
                                          saliency_scores, saliency_statistics,
                                          saliency_thresholds)

PROB = np.array([[0.9, 0.6, 0.4], [0.2, 0.7, 0.0]])
GT = np.array([[1, 0, 1], [0, 255, 255]])  # last two pixels ignored


def test_saliency_thresholds():
    thr = saliency_thresholds(0.05)
    assert thr.size == 19
    assert thr[0] == pytest.approx(0.05) and thr[-1] == pytest.approx(0.95)


def test_saliency_maxf_beta2_by_hand():
    st = saliency_statistics(PROB, GT)
    thr = saliency_thresholds()
    s = saliency_scores(st, thr)

    def f(p, r):
        return 1.3 * p * r / (0.3 * p + r)

    # t <= 0.2: TP 2 FP 2; 0.2 < t <= 0.4: TP 2 FP 1;
    # 0.4 < t <= 0.6: TP 1 FP 1 FN 1; 0.6 < t <= 0.9: TP 1 FN 1; 0.95: none
    expected = ([f(0.5, 1)] * 4 + [f(2 / 3, 1)] * 4 + [f(0.5, 0.5)] * 4 +
                [f(1, 0.5)] * 6 + [0.0])
    np.testing.assert_allclose(s['F'], expected)
    assert s['maxF'] == pytest.approx(0.65 / 0.8)
    assert s['best_threshold'] == pytest.approx(0.65)
    assert s['IoU'] == pytest.approx(0.5)  # TP 1 / (1 + 0 + 1)
    np.testing.assert_array_equal(st['tp'][:4], 2)
    np.testing.assert_array_equal(st['fp'][4:8], 1)


def test_saliency_counts_accumulate_over_the_set():
    acc = SaliencyAccumulator()
    acc.update(PROB, GT)
    acc.update(np.array([0.8, 0.1]), np.array([1, 1]))
    # at t = 0.65: TP 2, FP 0, FN 2 -> P 1, R 1/2, F 0.8125; IoU 1/2
    # at t = 0.25..0.40: TP 3, FP 1, FN 1 -> P 3/4, R 3/4, F 3/4
    s = acc.compute()
    assert s['maxF'] == pytest.approx(0.8125)
    assert s['IoU'] == pytest.approx(0.5)


def test_saliency_bad_input_raises():
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        saliency_statistics(PROB + 0.5, GT)
    with pytest.raises(ValueError, match='0, 1 or 255'):
        saliency_statistics(PROB, GT * 2)


def test_top1_ignores_minus_one():
    st = classification_statistics(np.array([0, 1, 2, 1]),
                                   np.array([0, 2, -1, 1]))
    assert int(st['correct']) == 2 and int(st['count']) == 3
    acc = ClassificationAccumulator().add(st)
    acc.update(np.array([4]), np.array([3]))
    assert acc.compute()['top1'] == pytest.approx(2 / 4)


def test_primary_metrics_table():
    assert PRIMARY_METRICS['segmentation'] == ('mIoU', False)
    assert PRIMARY_METRICS['depth'] == ('rmse', True)
    assert PRIMARY_METRICS['normals'] == ('mean', True)
    assert PRIMARY_METRICS['edge'] == ('odsF', False)
    assert PRIMARY_METRICS['saliency'] == ('maxF', False)
    assert PRIMARY_METRICS['classification'] == ('top1', False)


def test_delta_m_signs_and_percent():
    tasks = {'semseg': 'segmentation', 'depth': 'depth'}
    ref = {'semseg': 0.40, 'depth': 0.50, 'unused': 1.0}
    # mIoU +10 %, rmse 10 % higher (worse) -> 0
    assert compute_delta_m({
        'semseg': 0.44,
        'depth': 0.55
    }, ref, tasks) == pytest.approx(0.0)
    # rmse 10 % lower (better) -> (+10 + 10) / 2
    assert compute_delta_m({
        'semseg': 0.44,
        'depth': 0.45
    }, ref, tasks) == pytest.approx(10.0)
    # normals mean angle 20 vs 16 -> -25 %
    assert compute_delta_m({'n': 20.0}, {'n': 16.0},
                           {'n': dict(kind='normals')}) == \
        pytest.approx(-25.0)


def test_delta_m_bad_input_raises():
    tasks = {'semseg': 'segmentation'}
    with pytest.raises(ValueError, match='fraction'):
        compute_delta_m({'semseg': 0.44}, {'semseg': 40.0}, tasks)
    with pytest.raises(KeyError, match='reference'):
        compute_delta_m({'semseg': 0.44}, {}, tasks)
    with pytest.raises(ValueError, match='non-zero'):
        compute_delta_m({'semseg': 0.44}, {'semseg': 0.0}, tasks)
    with pytest.raises(ValueError, match='unknown kind'):
        compute_delta_m({'x': 1.0}, {'x': 1.0}, {'x': 'detection'})


def test_extract_primary_scores():
    metrics = {
        'val/semseg/mIoU': 0.4,
        'val/semseg/aAcc': 0.7,
        'val/edge/odsF': 0.6
    }
    tasks = {'semseg': 'segmentation', 'edge': 'edge'}
    assert extract_primary_scores(metrics, tasks, prefix='val') == \
        {'semseg': 0.4, 'edge': 0.6}
    with pytest.raises(KeyError, match='edge/odsF_dt'):
        extract_primary_scores(metrics,
                               tasks,
                               prefix='val',
                               edge_matching='distance_transform')
