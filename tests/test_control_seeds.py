"""mmecmt.evaluation.control.seeds: t intervals over training seeds and the
summary of a study's HV and pair gaps."""
import numpy as np
import pytest

from mmecmt.evaluation.control import seed_summary, t_interval


def test_t_interval_values():
    mean, low, high = t_interval([1.0, 2.0, 3.0])
    # sd 1, n 3, t(0.975, 2) = 4.3027
    assert mean == 2.0
    assert high - mean == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)
    assert mean - low == pytest.approx(high - mean)
    assert t_interval([0.5]) == (0.5, 0.5, 0.5)
    narrow = t_interval([1.0, 2.0, 3.0], confidence=0.5)
    assert narrow[2] - narrow[0] < high - mean
    for bad in ([], [1.0, float('nan')]):
        with pytest.raises(ValueError, match='non-empty list of finite'):
            t_interval(bad)
    with pytest.raises(ValueError, match='confidence must be in'):
        t_interval([1.0, 2.0], confidence=1.5)


def _result(hvs):
    return dict(summary={m: {b: dict(answered=1 if hv is not None else 0,
                                     hv=hv) for b, hv in groups.items()}
                         for m, groups in hvs.items()})


def test_seed_summary_groups_gaps_and_verdicts():
    results = {
        's0': _result(dict(A={'100M': 0.80, '150M': 0.9},
                           B={'100M': 0.50, '150M': 0.88})),
        's1': _result(dict(A={'100M': 0.82, '150M': 0.8},
                           B={'100M': 0.55, '150M': 0.90})),
        's2': _result(dict(A={'100M': 0.79, '150M': None},
                           B={'100M': 0.52, '150M': 0.86})),
    }
    s = seed_summary(results, [('A', 'B')])
    assert s['seeds'] == ['s0', 's1', 's2']
    a100 = s['hv']['A']['100M']
    assert a100['values'] == [0.80, 0.82, 0.79]
    assert a100['mean'] == pytest.approx(0.80333333)
    # a group not answered in one seed: the others count
    assert s['hv']['A']['150M']['values'] == [0.9, 0.8, None]
    assert s['hv']['A']['150M']['mean'] == pytest.approx(0.85)
    gap100 = s['gaps']['100M']['A vs B']
    assert gap100['values'] == pytest.approx([0.30, 0.27, 0.27])
    assert gap100['verdict'] == 'A ahead'
    gap150 = s['gaps']['150M']['A vs B']
    assert gap150['values'][2] is None
    assert gap150['verdict'] == 'not distinguishable'
    with pytest.raises(ValueError, match="no seed has method 'C'"):
        seed_summary(results, [('A', 'C')])
    with pytest.raises(ValueError, match='no results'):
        seed_summary({})
