"""Hypervolume, score normalisation and Pareto fronts against hand-computed
values."""
import itertools

import numpy as np
import pytest

from mmecmt.evaluation.control import (hypervolume, hypervolume_reference,
                                       normalised_scores, pareto_front)

STAIRS = np.array([[1., 3.], [2., 2.], [3., 1.]])


def grid_count_hv(points, ref):
    """Exact HV of integer points by counting unit cells (independent of
    moocore)."""
    points = np.asarray(points)
    hi = points.max(axis=0)
    count = 0
    for cell in itertools.product(*[range(int(r), int(h))
                                    for r, h in zip(ref, hi)]):
        centre = np.asarray(cell) + 0.5
        count += bool(np.any(np.all(points >= centre, axis=1)))
    return count


def test_hv_2d_staircase():
    # boxes 1x3 + 2x2 + 3x1 minus overlaps = 3 + 2 + 1 = 6
    assert hypervolume(STAIRS) == pytest.approx(6.0)
    assert grid_count_hv(STAIRS, [0, 0]) == 6


def test_hv_dominated_and_duplicate_points_change_nothing():
    extra = np.vstack([STAIRS, [[1., 1.], [2., 2.], [0.5, 2.9]]])
    assert hypervolume(extra) == pytest.approx(6.0)


def test_hv_3d_inclusion_exclusion():
    # A=(1,2,3): 6, B=(2,1,2): 4, C=(3,1,1): 3; A^B=(1,1,2): 2,
    # A^C=(1,1,1): 1, B^C=(2,1,1): 2, A^B^C=(1,1,1): 1
    # HV = 6 + 4 + 3 - 2 - 1 - 2 + 1 = 9
    pts = np.array([[1., 2., 3.], [2., 1., 2.], [3., 1., 1.]])
    assert hypervolume(pts) == pytest.approx(9.0)
    assert grid_count_hv(pts, [0, 0, 0]) == 9
    assert hypervolume(pts[:2]) == pytest.approx(8.0)  # 6 + 4 - 2


def test_hv_reference_point():
    # shifted to (0.5, 2.5), (1.5, 1.5), (2.5, 0.5): 1.25 + 1.5 + 0.5
    assert hypervolume(STAIRS, [0.5, 0.5]) == pytest.approx(3.25)
    # ref x = 1.5: (1, 3) does not dominate it and is ignored;
    # (0.5, 2) and (1.5, 1) remain: 1 + 1.5 - 0.5
    assert hypervolume(STAIRS, [1.5, 0.]) == pytest.approx(2.0)
    # a point on the reference boundary bounds nothing
    assert hypervolume([[0., 5.], [1., 1.]]) == pytest.approx(1.0)
    assert hypervolume(STAIRS, [3., 3.]) == 0.0
    assert hypervolume(np.zeros((0, 2))) == 0.0
    np.testing.assert_array_equal(hypervolume_reference(3), [0., 0., 0.])


def test_hv_bad_input():
    with pytest.raises(ValueError, match='shape'):
        hypervolume(STAIRS, [0., 0., 0.])
    with pytest.raises(ValueError, match='finite'):
        hypervolume([[1., np.nan]])
    with pytest.raises(ValueError, match=r'\(N, T\)'):
        hypervolume([1., 2.])


TASKS = {'semseg': 'segmentation', 'depth': 'depth'}
STL = {'semseg': 0.5, 'depth': 0.8}


def test_normalised_scores_higher_and_lower_better():
    records = [
        dict(scores={'semseg': 0.4, 'depth': 0.4}),
        dict(scores={'semseg': 0.55, 'depth': 1.0}),
        dict(scores={'semseg': 0.5, 'depth': 0.8, 'extra': 3.0}),
    ]
    out = normalised_scores(records, STL, TASKS)
    # semseg: M / M_stl; depth rmse (lower better): M_stl / M
    np.testing.assert_allclose(out, [[0.8, 2.0], [1.1, 0.8], [1.0, 1.0]])
    # column order follows `tasks`
    swapped = normalised_scores(records, STL, {
        'depth': 'depth',
        'semseg': 'segmentation'
    })
    np.testing.assert_allclose(swapped, out[:, ::-1])


def test_normalised_scores_bad_input():
    with pytest.raises(ValueError, match='fraction'):
        normalised_scores([dict(scores={'semseg': 40., 'depth': 1.})], STL,
                          TASKS)
    with pytest.raises(KeyError, match='depth'):
        normalised_scores([dict(scores={'semseg': 0.4})], STL, TASKS)
    with pytest.raises(KeyError, match='scores'):
        normalised_scores([{'semseg': 0.4, 'depth': 1.}], STL, TASKS)
    with pytest.raises(ValueError, match='> 0'):
        normalised_scores([dict(scores={'semseg': 0.4, 'depth': 0.})], STL,
                          TASKS)
    with pytest.raises(ValueError, match='unknown kind'):
        normalised_scores([dict(scores={'x': 1.})], {'x': 1.}, {'x': 'blah'})
    with pytest.raises(KeyError, match='reference'):
        normalised_scores([dict(scores={'semseg': 0.4, 'depth': 1.})],
                          {'semseg': 0.5}, TASKS)


def test_pareto_front_hand_made():
    pts = np.array([
        [1., 3.],  # 0 front
        [3., 1.],  # 1 front
        [2., 2.],  # 2 front
        [1., 1.],  # 3 dominated by all
        [2., 1.5],  # 4 dominated by 2
        [1., 3.],  # 5 copy of 0: kept
        [0.5, 3.],  # 6 dominated by 0 (equal y, smaller x)
    ])
    idx = pareto_front(pts)
    assert sorted(idx.tolist()) == [0, 1, 2, 5]
    # sorted along x
    assert pts[idx, 0].tolist() == [1., 1., 2., 3.]
    assert pareto_front(np.zeros((0, 2))).tolist() == []
    with pytest.raises(ValueError, match='finite'):
        pareto_front([[1., np.inf]])
