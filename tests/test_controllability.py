"""Spearman controllability of task preferences and compute budgets."""
import math
import warnings

import numpy as np
import pytest

from mmecmt.evaluation.control import (budget_controllability,
                                       budget_violations,
                                       mean_task_controllability, spearman,
                                       task_controllability)

PREFS = np.array([[0.1, 0.9, 0.5], [0.3, 0.7, 0.5], [0.6, 0.4, 0.5],
                  [0.9, 0.1, 0.5]])


def test_task_controllability_monotone_reversed_constant():
    scores = np.array([
        [0.50, 0.91, 0.7],
        [0.52, 0.95, 0.8],  # task b rises while its preference falls
        [0.70, 0.97, 0.6],
        [0.71, 0.99, 0.9],
    ])
    with pytest.warns(RuntimeWarning, match="task 'c'"):
        rho = task_controllability(PREFS, scores, ['a', 'b', 'c'])
    assert rho['a'] == pytest.approx(1.0)  # monotone (non-linear) -> 1
    assert rho['b'] == pytest.approx(-1.0)  # reversed -> -1
    assert math.isnan(rho['c'])  # constant preference -> undefined
    with warnings.catch_warnings():  # the same NaN, silently on request
        warnings.simplefilter('error')
        quiet = task_controllability(PREFS, scores, ['a', 'b', 'c'],
                                     warn=False)
    assert math.isnan(quiet['c']) and quiet['a'] == rho['a']
    # NaN left out of the mean: (1 + -1) / 2
    assert mean_task_controllability(rho) == pytest.approx(0.0)
    assert math.isnan(mean_task_controllability({'a': math.nan}))


def test_task_controllability_hand_computed_rank_correlation():
    # ranks x = 1 2 3 4, y = 2 1 3 4: d^2 = 1 + 1 = 2,
    # rho = 1 - 6 * 2 / (4 * 15) = 0.8
    rho = task_controllability(PREFS[:, :1], [[0.2], [0.1], [0.3], [0.4]])
    assert list(rho) == ['task0']
    assert rho['task0'] == pytest.approx(0.8)


def test_task_controllability_bad_input():
    with pytest.raises(ValueError, match='same shape'):
        task_controllability(PREFS, PREFS[:, :2])
    with pytest.raises(ValueError, match='task names'):
        task_controllability(PREFS, PREFS, ['a', 'b'])
    with pytest.raises(ValueError, match='non-finite'):
        task_controllability([[0.1], [np.nan]], [[1.], [2.]])


def test_spearman_single_request_is_undefined():
    with pytest.warns(RuntimeWarning, match='N=1'):
        assert math.isnan(spearman([1.], [2.]))


def test_budget_controllability_violations():
    requested = np.array([100., 200., 300., 400.])
    measured = np.array([90., 210., 300., 380.])
    out = budget_controllability(requested, measured)
    assert out['spearman'] == pytest.approx(1.0)
    assert out['violations'] == 1  # only 210 > 200; 300 == 300 is within
    assert out['max_violation_ratio'] == pytest.approx(0.05)
    assert budget_violations(requested, [120., 100., 360., 400.]) == dict(
        violations=2, max_violation_ratio=pytest.approx(0.2))
    ok = budget_controllability(requested, [400., 300., 200., 100.])
    assert ok['spearman'] == pytest.approx(-1.0)
    # 400 > 100 (ratio 3.0) and 300 > 200 (0.5)
    assert ok['violations'] == 2
    assert ok['max_violation_ratio'] == pytest.approx(3.0)
    assert budget_violations(requested, requested) == dict(
        violations=0, max_violation_ratio=0.0)


def test_budget_controllability_tie_bound_and_groups():
    # 3 budgets x 26 requests: distinct MACs in ascending order reach
    # sqrt(1 - within / total rank variance) = 0.943 (the budgets are tied);
    # MACs tied like the budgets reach 1
    requested = np.repeat([0.4, 0.7, 1.0], 26)
    ascending = budget_controllability(requested, np.arange(78.0))
    assert ascending['spearman'] == pytest.approx(
        math.sqrt(1 - (26**2 - 1) / (78**2 - 1)))
    assert budget_controllability(requested, requested)['spearman'] == \
        pytest.approx(1.0)
    assert 'group_spearman' not in ascending
    # groups: a follows its budgets (1), b stays flat (0), c is reversed
    # (-1), d has one budget only (left out)
    out = budget_controllability(
        [1., 2., 3., 1., 2., 3., 1., 2., 3., 2.],
        [1., 2., 3., 5., 5., 5., 3., 2., 1., 1.],
        groups=list('aaabbbcccd'))
    assert out['group_spearman'] == pytest.approx(0.0)
    out = budget_controllability([1., 2., 1., 2.], [1., 2., 1., 3.],
                                 groups=['x', 'x', 'y', 'y'])
    assert out['group_spearman'] == pytest.approx(1.0)
    with pytest.raises(ValueError, match='groups has 1 labels'):
        budget_controllability([1., 2.], [1., 2.], groups=['x'])


def test_budget_controllability_single_budget_and_bad_input():
    with pytest.warns(RuntimeWarning, match='budget'):
        out = budget_controllability([5., 5.], [4., 6.])
    assert math.isnan(out['spearman']) and out['violations'] == 1
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert math.isnan(budget_controllability([5., 5.], [4., 6.],
                                                 warn=False)['spearman'])
    with pytest.raises(ValueError, match='> 0'):
        budget_controllability([0., 1.], [1., 1.])
    with pytest.raises(ValueError, match='equal length'):
        budget_controllability([1., 2.], [1.])
    with pytest.raises(ValueError, match='non-finite'):
        budget_controllability([1., 2.], [1., np.inf])
