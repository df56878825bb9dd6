"""CDMA's uniformity metric, 1 - KL(Lhat || 1/T), against hand computations."""
import math

import numpy as np
import pytest

from mmecmt.evaluation.control import uniformity


def test_uniformity_balanced_weighted_losses_give_one():
    assert uniformity([0.5, 0.5], [1.0, 1.0]) == pytest.approx(1.0)
    # r * L = (0.75, 0.75): the preference balances unequal losses
    assert uniformity([0.25, 0.75], [3.0, 1.0]) == pytest.approx(1.0)
    assert isinstance(uniformity([0.5, 0.5], [1.0, 1.0]), float)


def test_uniformity_against_a_hand_computation():
    # Lhat = (0.75, 0.25): KL = 0.75 ln(2 * 0.75) + 0.25 ln(2 * 0.25)
    kl = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert uniformity([0.5, 0.5], [3.0, 1.0]) == pytest.approx(1 - kl)
    assert 1 - kl == pytest.approx(0.869188, abs=1e-6)
    # a common scale of r or L cancels
    assert uniformity([5.0, 5.0], [30.0, 10.0]) == pytest.approx(1 - kl)


def test_uniformity_zero_terms_count_as_zero():
    # one-hot preference: Lhat = (1, 0, 0), KL = ln 3, the minimum 1 - ln T
    assert uniformity([1.0, 0.0, 0.0], [2.0, 5.0, 7.0]) == pytest.approx(
        1 - math.log(3))
    # r * L = (0.2, 0.6, 0): Lhat = (0.25, 0.75, 0), the zero adds nothing
    kl = 0.25 * math.log(3 * 0.25) + 0.75 * math.log(3 * 0.75)
    assert uniformity([0.2, 0.3, 0.5], [1.0, 2.0, 0.0]) == pytest.approx(
        1 - kl)


def test_uniformity_vectorised_matches_the_rows():
    prefs = np.array([[0.5, 0.5], [0.25, 0.75], [1.0, 0.0]])
    losses = np.array([[3.0, 1.0], [3.0, 1.0], [2.0, 5.0]])
    out = uniformity(prefs, losses)
    assert out.shape == (3, )
    assert out == pytest.approx(
        [uniformity(r, loss) for r, loss in zip(prefs, losses)])
    assert out == pytest.approx(
        [1 - 0.75 * math.log(1.5) - 0.25 * math.log(0.5), 1.0,
         1 - math.log(2)])


def test_uniformity_errors():
    with pytest.raises(ValueError, match=r'every r_j \* L_j is 0'):
        uniformity([1.0, 0.0], [0.0, 3.0])
    with pytest.raises(ValueError, match=r'every r_j \* L_j of row 1 is 0'):
        uniformity([[0.5, 0.5], [0.0, 1.0]], [[1.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r'losses\[1\] = -1.0'):
        uniformity([0.5, 0.5], [1.0, -1.0])
    with pytest.raises(ValueError, match=r'preference\[1, 0\] = nan'):
        uniformity([[0.5, 0.5], [math.nan, 0.5]], np.ones((2, 2)))
    with pytest.raises(ValueError, match='one shape'):
        uniformity([0.5, 0.5], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match='T >= 1'):
        uniformity(np.zeros((2, 0)), np.zeros((2, 0)))
