import json

import numpy as np
import pytest

from mmecmt.evaluation.control import paired_comparison, weighted_scores


def test_weighted_scores():
    prefs = np.array([[0.25, 0.75], [1.0, 0.0]])
    norm = np.array([[1.0, 2.0], [0.5, 9.0]])
    assert weighted_scores(prefs, norm) == pytest.approx([1.75, 0.5])
    with pytest.raises(ValueError, match='one shape'):
        weighted_scores(prefs, norm[:1])


def test_paired_comparison_of_a_dominating_method():
    rng = np.random.default_rng(0)
    prefs = rng.dirichlet(np.ones(3), size=8)
    b = rng.uniform(0.5, 1.0, size=(8, 3))
    a = b + 0.1  # better on every task of every request
    c = paired_comparison(prefs, a, b, draws=200)
    assert (c['num_requests'], c['wins'], c['ties'], c['losses']) == (
        8, 8, 0, 0)
    assert c['mean_gap'] == pytest.approx(0.1)  # preferences sum to 1
    assert c['hv_gap'] > 0 and 0 < c['hv_gap_low'] <= c['hv_gap_high']
    # the same draws for the same seed; A against itself is a tie
    assert paired_comparison(prefs, a, b, draws=200) == c
    same = paired_comparison(prefs, b, b, draws=50)
    assert (same['wins'], same['ties'], same['losses']) == (0, 8, 0)
    assert same['hv_gap'] == same['hv_gap_low'] == same['hv_gap_high'] == 0


def test_paired_comparison_errors():
    prefs = np.full((3, 2), 0.5)
    with pytest.raises(ValueError, match='one shape'):
        paired_comparison(prefs, prefs, prefs[:2])
    with pytest.raises(ValueError, match='>= 2 shared requests, got 1'):
        paired_comparison(prefs[:1], prefs[:1], prefs[:1])
    with pytest.raises(ValueError, match='draws must be an integer >= 1'):
        paired_comparison(prefs, prefs, prefs, draws=0)


def _record(method, budget, pref, semseg):
    return dict(method=method, budget=budget, macs=0.9 * budget,
                preference=dict(semseg=pref, depth=1 - pref),
                scores=dict(semseg=semseg, depth=0.8))


def test_report_pairs_only_the_same_requests(tmp_path):
    """Within one budget label, a pair shares a request only when the
    preference *and* the budget agree."""
    from mmecmt.evaluation.control import write_control_report
    from mmecmt.evaluation.control.report import pair_key
    assert pair_key('ECMT', 'CDMA (c=0)') == 'ECMT vs CDMA (c=0)'
    tasks = {'semseg': 'segmentation', 'depth': 'depth'}
    stl = {'semseg': 0.5, 'depth': 0.8}
    records = [
        _record('ecmt', 100, 0.2, 0.3), _record('ecmt', 100, 0.5, 0.4),
        _record('cdma', 120, 0.2, 0.2), _record('cdma', 120, 0.5, 0.3),
        _record('fixed', 100, 0.2, 0.35), _record('fixed', 100, 0.5, 0.35),
    ]
    with pytest.warns(RuntimeWarning):  # one budget per method
        write_control_report(records, stl, tasks, str(tmp_path),
                             budgets_label_fn=lambda b: 'low',
                             pairs=[('ecmt', 'cdma'), ('fixed', 'ecmt')])
    data = json.loads((tmp_path / 'control_results.json').read_text())
    assert list(data['paired']['low']) == ['fixed vs ecmt']
    c = data['paired']['low']['fixed vs ecmt']
    # weighted gaps: 0.2 * (0.7 - 0.6) and 0.5 * (0.7 - 0.8)
    assert (c['num_requests'], c['wins'], c['losses']) == (2, 1, 1)
    assert c['mean_gap'] == pytest.approx((0.02 - 0.05) / 2)
    md = (tmp_path / 'control_results.md').read_text()
    assert ('### ecmt vs cdma\n\nFewer than 2 shared answered requests at '
            'every budget: not compared.') in md
