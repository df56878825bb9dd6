"""Controllability figures and the report (JSON, Markdown, PNG) on a tiny
hand-made set of requests."""
import json
import math
import warnings

import numpy as np
import pytest
from PIL import Image

from mmecmt.evaluation.control import (plot_budget_vs_macs, plot_hv_vs_macs,
                                       plot_pairwise_scatter,
                                       plot_preference_vs_score,
                                       write_control_report)
from mmecmt.evaluation.control.plots import DPI, PANEL_INCHES, grid_shape

PANEL = int(PANEL_INCHES * DPI)
TASKS = {'semseg': 'segmentation', 'depth': 'depth'}
STL = {'semseg': 0.5, 'depth': 0.8}


def png_size(path):
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == 'PNG'
        return im.size


def assert_size(path, cols, rows):
    w, h = png_size(path)
    assert abs(w - cols * PANEL) <= 2 and abs(h - rows * PANEL) <= 2


def test_grid_shape():
    assert grid_shape(1) == (1, 1)
    assert grid_shape(3) == (1, 3)
    assert grid_shape(4) == (2, 3)
    with pytest.raises(ValueError):
        grid_shape(0)


def test_plots_write_pngs_of_the_expected_size(tmp_path):
    rng = np.random.default_rng(0)
    by_method = {'a': rng.random((5, 3)), 'b': rng.random((4, 3))}
    path = plot_pairwise_scatter(by_method, ['x', 'y', 'z'], '100',
                                 str(tmp_path / 'sub' / 'pair.png'))
    assert path == str(tmp_path / 'sub' / 'pair.png')
    assert_size(path, 3, 1)  # 3 task pairs in one row
    prefs = rng.random((5, 4))
    path = plot_preference_vs_score(prefs, prefs**2, list('abcd'),
                                    str(tmp_path / 'pref.png'), title='t')
    assert_size(path, 3, 2)  # 4 panels on a 2 x 3 grid
    path = plot_budget_vs_macs([1., 2., 3.], [0.9, 2.5, 2.],
                               str(tmp_path / 'budget.png'))
    assert_size(path, 1, 1)
    with pytest.raises(ValueError, match='at least 2 tasks'):
        plot_pairwise_scatter({'a': prefs[:, :1]}, ['x'], '1',
                              str(tmp_path / 'x.png'))
    with pytest.raises(ValueError, match=r"method 'a'"):
        plot_pairwise_scatter({'a': prefs}, ['x', 'y'], '1',
                              str(tmp_path / 'x.png'))


def record(method, budget, macs, pref, semseg, depth, **extra):
    return dict(method=method, budget=budget, macs=macs,
                preference=dict(semseg=pref, depth=1 - pref),
                scores=dict(semseg=semseg, depth=depth), **extra)


def make_records():
    return [
        # normalised (semseg / 0.5, 0.8 / depth)
        record('ecmt', 100, 90, 0.2, 0.25, 0.4, delta_m=1.23),  # (0.5, 2.0)
        record('ecmt', 100, 95, 0.5, 0.40, 0.8,  # (0.8, 1.0), Dm = -10 %
               subnet=dict(widths=np.array([8, 16]), ratio=np.float32(0.5))),
        record('ecmt', 100, 100, 0.8, 0.50, 1.6),  # (1.0, 0.5)
        record('ecmt', 200, 180, 0.3, 0.45, 0.5),  # (0.9, 1.6)
        record('ecmt', 200, 210, 0.7, 0.55, 0.8),  # (1.1, 1.0), violation
        record('cdma', 100, 120, 0.5, 0.50, 0.8),  # (1.0, 1.0), violation
    ]


def test_reference_points(tmp_path):
    """A model outside the records (the single-task set) is kept as a
    (MACs, HV) point; it may not reuse a method's name."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        write_control_report(make_records(), STL, TASKS, str(tmp_path),
                             reference_points={'single-task set': (300, 1)})
        data = json.loads((tmp_path / 'control_results.json').read_text())
        assert data['reference_points'] == {'single-task set': [300.0, 1.0]}
        assert 'hv_vs_macs.png' in data['figures']
        with pytest.raises(ValueError, match="'ecmt' is also a method"):
            write_control_report(make_records(), STL, TASKS, str(tmp_path),
                                 reference_points={'ecmt': (300, 1)})


def test_write_control_report(tmp_path):
    with pytest.warns(RuntimeWarning) as caught:  # cdma: one request
        summary = write_control_report(make_records(), STL, TASKS,
                                       str(tmp_path))
    # one warning names every undefined correlation
    assert len(caught) == 1
    assert str(caught[0].message).endswith(
        'for: cdma: budget vs MACs; cdma @ 100: preference vs score of '
        'semseg, depth')
    assert list(summary) == ['ecmt', 'cdma']
    assert list(summary['ecmt']) == ['100', '200']
    assert list(summary['cdma']) == ['100']
    e100, e200, c100 = (summary['ecmt']['100'], summary['ecmt']['200'],
                        summary['cdma']['100'])
    # HV, ref 0: 0.5 * 2.0 + 0.3 * 1.0 + 0.2 * 0.5 = 1.4
    assert e100['hv'] == pytest.approx(1.4)
    assert e100['hv_ref'] == [0.0, 0.0]
    assert e200['hv'] == pytest.approx(0.9 * 1.6 + 0.2 * 1.0)
    assert c100['hv'] == pytest.approx(1.0)
    assert e100['task_spearman'] == pytest.approx({'semseg': 1., 'depth': 1.})
    assert e100['mean_task_spearman'] == pytest.approx(1.0)
    assert math.isnan(c100['mean_task_spearman'])
    # requested ranks (2, 2, 2, 4.5, 4.5) vs measured (1, 2, 3, 4, 5):
    # 7.5 / sqrt(7.5 * 10) = sqrt(3) / 2, the same in every budget of ecmt
    assert e100['budget_spearman'] == pytest.approx(math.sqrt(3) / 2)
    assert e200['budget_spearman'] == e100['budget_spearman']
    assert (e100['violations'], e200['violations'], c100['violations']) == (
        0, 1, 1)
    assert e200['max_violation_ratio'] == pytest.approx(0.05)
    assert c100['max_violation_ratio'] == pytest.approx(0.2)
    assert (e100['requests'], e100['answered'], e100['answered_share'],
            e200['requests'], e200['answered']) == (3, 3, 1.0, 2, 2)
    assert e100['mean_macs'] == pytest.approx(95.0)
    # no record carries losses: no uniformity
    assert math.isnan(e100['uniformity']) and e100['uniformity_requests'] == 0
    # (0.2 * 0.5 + 0.8 * 2.0 + 0.5 * 0.8 + 0.5 * 1.0 + 0.8 * 1.0 + 0.2 * 0.5)
    # / 3 requests
    assert e100['mean_weighted_score'] == pytest.approx(3.5 / 3)
    assert e100['budget_use'] == pytest.approx((0.9 + 0.95 + 1.0) / 3)
    assert c100['budget_use'] == pytest.approx(1.2)

    data = json.loads((tmp_path / 'control_results.json').read_text())
    assert set(data) == {
        'tasks', 'stl_reference', 'hv_reference_point', 'records', 'summary',
        'budget_controllability', 'figures', 'pairs', 'paired',
        'reference_points'
    }
    assert data['reference_points'] == {}
    assert data['pairs'] == [['ecmt', 'cdma']]  # the first against the others
    assert data['paired'] == {}  # cdma shares a single request with ecmt
    assert data['tasks'] == TASKS and data['hv_reference_point'] == [0., 0.]
    assert len(data['records']) == 6
    rec0, rec1 = data['records'][:2]
    assert rec0['delta_m'] == pytest.approx(1.23)  # given: kept
    assert rec1['delta_m'] == pytest.approx(-10.0)  # computed
    assert rec1['subnet'] == {'widths': [8, 16], 'ratio': 0.5}
    assert rec1['feasible'] is True and rec1['uniformity'] is None
    assert rec0['normalised_scores'] == pytest.approx(
        {'semseg': 0.5, 'depth': 2.0})
    assert rec0['budget_label'] == '100'
    assert data['summary']['cdma']['100']['mean_task_spearman'] is None
    assert data['budget_controllability']['ecmt']['violations'] == 1
    assert data['budget_controllability']['cdma']['spearman'] is None

    figures = {
        'budget_ecmt.png', 'budget_cdma.png', 'preference_ecmt_100.png',
        'preference_ecmt_200.png', 'preference_cdma_100.png',
        'pairwise_100.png', 'pairwise_200.png', 'hv_vs_macs.png'
    }
    assert set(data['figures']) == figures
    for name in figures:
        png_size(tmp_path / name)
    assert_size(tmp_path / 'pairwise_100.png', 1, 1)
    assert_size(tmp_path / 'preference_ecmt_100.png', 2, 1)
    assert_size(tmp_path / 'hv_vs_macs.png', 1, 1)

    md = (tmp_path / 'control_results.md').read_text()
    sections = {
        s.split('\n', 1)[0]: s
        for s in md.split('\n## ')[1:]
    }
    summary_rows = [
        line for line in sections['Summary per method and budget'].split('\n')
        if line.startswith('| ecmt') or line.startswith('| cdma')
    ]
    assert len(summary_rows) == 3
    assert summary_rows[0].startswith(
        '| ecmt | 100 | 3 / 3 | 1.4000 | 1.000 |')
    assert '| 1.000 | 1.1667 | n/a | 95 | 95.0 % | 0.866 | 0 |' in \
        summary_rows[0]
    assert ('Fewer than 2 shared answered requests at every budget' in
            sections['Paired comparisons, on the same requests'])
    assert '### ecmt vs cdma' in md
    assert '`hv_vs_macs.png`' in sections['HV against compute']
    assert '- `hv_vs_macs.png`' in sections['Figures']
    assert 'HV (ref (0, 0))' in md and 'reference point (0, 0)' in md
    request_rows = [
        line for line in sections['Requests'].split('\n')
        if line.startswith('| ecmt') or line.startswith('| cdma')
    ]
    assert len(request_rows) == 6
    assert request_rows[1] == ('| ecmt | 100 | 100 | 95 | semseg=0.5, '
                               'depth=0.5 | 0.4000 | 0.8000 | -10.00 | n/a |')
    assert request_rows[5].startswith('| cdma | 100 | 100 | 120 |')


def test_report_budget_labels_and_bad_records(tmp_path):
    records = make_records()[:5]
    summary = write_control_report(
        records, STL, TASKS, str(tmp_path),
        budgets_label_fn=lambda b: 'low' if b < 150 else 'high')
    assert list(summary['ecmt']) == ['low', 'high']
    assert (tmp_path / 'pairwise_low.png').is_file()

    bad = make_records()
    del bad[2]['macs']
    with pytest.raises(KeyError, match=r"record 2 lacks \['macs'\]"):
        write_control_report(bad, STL, TASKS, str(tmp_path))
    bad = make_records()
    bad[1]['preference'] = {'semseg': 1.0}
    with pytest.raises(ValueError, match='record 1: preference'):
        write_control_report(bad, STL, TASKS, str(tmp_path))
    bad = make_records()
    bad[0]['budget'] = 0
    with pytest.raises(ValueError, match='record 0: budget'):
        write_control_report(bad, STL, TASKS, str(tmp_path))
    with pytest.raises(ValueError, match='at least one record'):
        write_control_report([], STL, TASKS, str(tmp_path))


def test_report_names_the_edge_metric(tmp_path):
    tasks = {'semseg': 'segmentation', 'edge': 'edge'}
    records = [
        dict(method='ecmt', budget=b, macs=b * 0.9,
             preference={'semseg': r, 'edge': 1 - r},
             scores={'semseg': 0.4 + r / 10, 'edge': 0.6 - r / 10})
        for b, r in ((1.0, 0.2), (1.0, 0.8), (2.0, 0.5))
    ]
    stl = {'semseg': 0.5, 'edge': 0.7}
    with pytest.warns(RuntimeWarning):  # single-request budget group
        write_control_report(records, stl, tasks, str(tmp_path / 'dt'),
                             edge_matching='distance_transform')
        write_control_report(records, stl, tasks, str(tmp_path / 'o2o'))
    dt = open(tmp_path / 'dt' / 'control_results.md').read()
    o2o = open(tmp_path / 'o2o' / 'control_results.md').read()
    assert 'edge (odsF_dt)' in dt and '| edge odsF_dt |' in dt
    assert 'edge (odsF)' in o2o and 'odsF_dt' not in o2o


def test_report_compares_the_first_method_on_shared_requests(tmp_path):
    records = make_records()[:3] + [  # cdma answers two ecmt requests
        record('cdma', 100, 90, 0.2, 0.20, 0.4),  # (0.4, 2.0): worse
        record('cdma', 100, 95, 0.5, 0.40, 0.8),  # (0.8, 1.0): the same
    ]
    with pytest.warns(RuntimeWarning, match='budget vs MACs'):  # 1 budget
        write_control_report(records, STL, TASKS, str(tmp_path))
    data = json.loads((tmp_path / 'control_results.json').read_text())
    c = data['paired']['100']['ecmt vs cdma']
    assert (c['method_a'], c['method_b']) == ('ecmt', 'cdma')
    assert (c['num_requests'], c['wins'], c['ties'], c['losses']) == (
        2, 1, 1, 0)
    # weighted gaps 0.2 * (0.5 - 0.4) and 0
    assert c['mean_gap'] == pytest.approx(0.01)
    # HV: ecmt's two points 0.5 * 2.0 + 0.3 * 1.0 = 1.3, cdma's 0.4 * 2.0 +
    # 0.4 * 1.0 = 1.2
    assert c['hv_gap'] == pytest.approx(0.1)
    assert c['hv_gap_low'] <= c['hv_gap_high']
    md = (tmp_path / 'control_results.md').read_text()
    assert '## Paired comparisons, on the same requests' in md
    assert '### ecmt vs cdma\n' in md
    assert '| 100 | 2 | 1 / 1 / 0 | +0.0100 | +0.1000 |' in md


def three_methods():
    return make_records()[:3] + [
        record('cdma', 100, 90, 0.2, 0.20, 0.4),  # (0.4, 2.0)
        record('cdma', 100, 95, 0.5, 0.40, 0.8),  # (0.8, 1.0)
        record('interrogate', 100, 80, 0.2, 0.25, 0.4),  # (0.5, 2.0)
        record('interrogate', 100, 80, 0.5, 0.30, 0.8),  # (0.6, 1.0)
        record('interrogate', 100, 80, 0.8, 0.50, 1.6),  # (1.0, 0.5)
    ]


def test_report_compares_the_pairs_asked_for(tmp_path):
    with pytest.warns(RuntimeWarning, match='budget vs MACs'):
        write_control_report(three_methods(), STL, TASKS, str(tmp_path),
                             pairs=[('cdma', 'ecmt'),
                                    ('interrogate', 'cdma')])
    data = json.loads((tmp_path / 'control_results.json').read_text())
    assert data['pairs'] == [['cdma', 'ecmt'], ['interrogate', 'cdma']]
    assert list(data['paired']['100']) == ['cdma vs ecmt',
                                           'interrogate vs cdma']
    c = data['paired']['100']['cdma vs ecmt']  # the default pair reversed
    assert (c['method_a'], c['method_b']) == ('cdma', 'ecmt')
    assert (c['wins'], c['ties'], c['losses']) == (0, 1, 1)
    assert c['mean_gap'] == pytest.approx(-0.01)
    assert c['hv_gap'] == pytest.approx(-0.1)
    d = data['paired']['100']['interrogate vs cdma']
    # requests 0.2 (0.5, 2.0) vs (0.4, 2.0): A wins by 0.2 * 0.1; 0.5
    # (0.6, 1.0) vs (0.8, 1.0): A loses by 0.5 * 0.2
    assert (d['num_requests'], d['wins'], d['ties'], d['losses']) == (
        2, 1, 0, 1)
    assert d['mean_gap'] == pytest.approx((0.02 - 0.1) / 2)
    # HV: 0.5 * 2.0 + 0.1 * 1.0 = 1.1 against 1.2
    assert d['hv_gap'] == pytest.approx(-0.1)
    md = (tmp_path / 'control_results.md').read_text()
    assert '### cdma vs ecmt\n' in md and '### interrogate vs cdma\n' in md
    assert '### ecmt vs cdma' not in md
    assert '| 100 | 2 | 1 / 0 / 1 | -0.0400 | -0.1000 |' in md

    # the default: the first method against every other one
    with pytest.warns(RuntimeWarning):
        write_control_report(three_methods(), STL, TASKS, str(tmp_path))
    data = json.loads((tmp_path / 'control_results.json').read_text())
    assert list(data['paired']['100']) == ['ecmt vs cdma',
                                           'ecmt vs interrogate']
    assert data['pairs'] == [['ecmt', 'cdma'], ['ecmt', 'interrogate']]


@pytest.mark.parametrize('pairs, message', [
    ([('ecmt', 'cdma'), ('nope', 'ecmt'), ('x', 'cdma')],
     r"pairs name methods \['nope', 'x'\] that have no record; the records "
     r"hold the methods \['ecmt', 'cdma', 'interrogate'\]"),
    ([('ecmt', 'ecmt')], 'compares a method with itself'),
    ([('ecmt', 'cdma'), ('ecmt', 'cdma')], r"\['ecmt vs cdma'\] more than"),
    (['ecmt'], r"\(method_a, method_b\) tuples, got 'ecmt'"),
])
def test_report_rejects_bad_pairs(tmp_path, pairs, message):
    with pytest.raises(ValueError, match=message):
        write_control_report(three_methods(), STL, TASKS, str(tmp_path),
                             pairs=pairs)
    assert not (tmp_path / 'control_results.json').exists()


def infeasible(method, budget, pref, **extra):
    return dict(method=method, budget=budget, feasible=False,
                preference=dict(semseg=pref, depth=1 - pref), **extra)


def test_report_counts_infeasible_requests_apart(tmp_path):
    records = make_records()[:5] + [
        # below cdma's range at 100: no MACs, no scores; a stray MACs
        # figure above the budget is not a violation
        infeasible('cdma', 100, 0.2),
        infeasible('cdma', 100, 0.5, macs=500.0, reason='below range'),
        record('cdma', 200, 150, 0.3, 0.40, 0.8),  # (0.8, 1.0)
        infeasible('cdma', 200, 0.5),
        record('cdma', 200, 190, 0.7, 0.50, 1.0),  # (1.0, 0.8)
    ]
    # one budget answered: cdma's budget Spearman is undefined; its
    # unanswered budget 100 adds no warning
    with pytest.warns(RuntimeWarning) as caught:
        summary = write_control_report(records, STL, TASKS, str(tmp_path))
    assert [str(w.message).split('for: ')[1] for w in caught] == [
        'cdma: budget vs MACs']
    c100, c200 = summary['cdma']['100'], summary['cdma']['200']
    assert (c100['requests'], c100['answered'], c100['answered_share']) == (
        2, 0, 0.0)
    assert math.isnan(c100['hv']) and math.isnan(c100['mean_macs'])
    assert c100['violations'] == 0
    assert (c200['requests'], c200['answered']) == (3, 2)
    assert c200['answered_share'] == pytest.approx(2 / 3)
    assert c200['hv'] == pytest.approx(0.8 * 1.0 + 0.2 * 0.8)
    assert c200['mean_macs'] == pytest.approx(170.0)
    assert c200['violations'] == 0 and c200['budget_use'] == pytest.approx(
        (0.75 + 0.95) / 2)
    assert c200['task_spearman'] == pytest.approx({'semseg': 1.,
                                                   'depth': 1.})
    # ecmt is paired with cdma only on the answered requests: 200 has the
    # two preferences (0.3, 0.7) answered by both
    data = json.loads((tmp_path / 'control_results.json').read_text())
    assert list(data['paired']) == ['200']
    assert data['paired']['200']['ecmt vs cdma']['num_requests'] == 2
    b = data['budget_controllability']['cdma']
    assert (b['requests'], b['answered'], b['violations']) == (5, 2, 0)
    assert data['summary']['cdma']['100']['hv'] is None
    rec = data['records'][6]
    assert rec['feasible'] is False and rec['normalised_scores'] is None
    assert rec['delta_m'] is None and rec['macs'] == 500.0
    assert rec['reason'] == 'below range'
    assert 'preference_cdma_100.png' not in data['figures']
    assert {'preference_cdma_200.png', 'budget_cdma.png',
            'hv_vs_macs.png'} <= set(data['figures'])
    md = (tmp_path / 'control_results.md').read_text()
    assert '| cdma | 100 | 0 / 2 | n/a |' in md
    assert '| cdma | 200 | 2 / 3 | 0.9600 |' in md
    assert '| cdma | 2 / 5 |' in md  # budget controllability
    assert ('| cdma | 100 | 100 | infeasible | semseg=0.5, depth=0.5 | n/a '
            '| n/a | n/a | n/a |') in md

    # a method that answered nothing has no budget figure, no HV point
    records = make_records()[:3] + [infeasible('cdma', 100, 0.5)]
    with pytest.warns(RuntimeWarning, match='for: ecmt: budget vs MACs$'):
        summary = write_control_report(records, STL, TASKS,
                                       str(tmp_path / 'none'))
    assert summary['cdma']['100']['answered'] == 0
    data = json.loads(
        (tmp_path / 'none' / 'control_results.json').read_text())
    assert 'budget_cdma.png' not in data['figures']
    assert data['budget_controllability']['cdma']['spearman'] is None


def test_report_uniformity_from_losses(tmp_path):
    records = make_records()[:5]
    # ecmt @ 100: r = (0.2, 0.8), L = (1, 1): Lhat = (0.2, 0.8);
    #             r = (0.5, 0.5), L = (3, 1): Lhat = (0.75, 0.25)
    records[0]['losses'] = {'semseg': 1.0, 'depth': 1.0}
    records[1]['losses'] = {'semseg': 3.0, 'depth': 1.0}
    records[2]['losses'] = None  # no uniformity for this one
    # ecmt @ 200: r = (0.3, 0.7), L = (7, 3): r * L balanced
    records[3]['losses'] = {'semseg': 7.0, 'depth': 3.0}
    summary = write_control_report(records, STL, TASKS, str(tmp_path))
    u0 = 1 - (0.2 * math.log(0.4) + 0.8 * math.log(1.6))
    u1 = 1 - (0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    e100, e200 = summary['ecmt']['100'], summary['ecmt']['200']
    assert e100['uniformity'] == pytest.approx((u0 + u1) / 2)
    assert e100['uniformity_requests'] == 2
    assert e200['uniformity'] == pytest.approx(1.0)
    assert e200['uniformity_requests'] == 1
    data = json.loads((tmp_path / 'control_results.json').read_text())
    assert data['records'][0]['uniformity'] == pytest.approx(u0)
    assert data['records'][2]['uniformity'] is None
    md = (tmp_path / 'control_results.md').read_text()
    assert f'| {(u0 + u1) / 2:.4f} (2 of 3) |' in md
    assert f'| {u1:.4f} |' in md  # its request row

    bad = make_records()
    bad[1]['losses'] = {'semseg': 1.0}
    with pytest.raises(ValueError, match='record 1: losses must map'):
        write_control_report(bad, STL, TASKS, str(tmp_path))
    bad[1]['losses'] = {'semseg': -1.0, 'depth': 1.0}
    with pytest.raises(ValueError, match="record 1: losses of task 'semseg'"):
        write_control_report(bad, STL, TASKS, str(tmp_path))
    bad = make_records()
    bad[4]['losses'] = {'semseg': 0.0, 'depth': 0.0}
    with pytest.raises(ValueError, match=r'record 4: uniformity undefined'):
        write_control_report(bad, STL, TASKS, str(tmp_path))


def test_report_accepts_spec_and_the_old_subnet_name(tmp_path):
    records = make_records()[:3]
    records[0]['spec'] = dict(method='cdma', tree=[[0, 0], [0, 1]])
    records[2]['subnet'] = None
    with pytest.warns(RuntimeWarning, match='budget vs MACs'):  # 1 budget
        write_control_report(records, STL, TASKS, str(tmp_path))
    data = json.loads((tmp_path / 'control_results.json').read_text())
    assert data['records'][0]['spec'] == {'method': 'cdma',
                                          'tree': [[0, 0], [0, 1]]}
    assert data['records'][1]['subnet'] == {'widths': [8, 16], 'ratio': 0.5}
    bad = make_records()
    bad[1]['spec'] = dict(widths=[8])
    with pytest.raises(ValueError, match=r"record 1 has both \['spec', "
                       r"'subnet'\]"):
        write_control_report(bad, STL, TASKS, str(tmp_path))
    bad = make_records()
    bad[0]['spec'] = object()
    with pytest.raises(TypeError, match='record 0: spec must be JSON'):
        write_control_report(bad, STL, TASKS, str(tmp_path))
    bad = make_records()
    bad[0]['feasible'] = 'no'
    with pytest.raises(ValueError, match='record 0: feasible must be True or'):
        write_control_report(bad, STL, TASKS, str(tmp_path))


def test_plot_hv_vs_macs(tmp_path):
    path = plot_hv_vs_macs(
        {'ecmt': [(200.0, 1.3), (100.0, 1.0)],  # joined in MACs order
         'fixed': [(150.0, 0.9)]},  # a family of one: a single point
        str(tmp_path / 'fig' / 'hv.png'), hv_ref_point=[0.0, 0.0],
        labels_by_method={'ecmt': ['high', 'low']})
    assert path == str(tmp_path / 'fig' / 'hv.png')
    assert_size(path, 1, 1)
    with pytest.raises(ValueError, match='empty'):
        plot_hv_vs_macs({}, str(tmp_path / 'x.png'))
    with pytest.raises(ValueError, match=r"method 'a': points must be \(K, "
                       r'2\)'):
        plot_hv_vs_macs({'a': []}, str(tmp_path / 'x.png'))
    with pytest.raises(ValueError, match="method 'a': points must be finite"):
        plot_hv_vs_macs({'a': [(1.0, math.nan)]}, str(tmp_path / 'x.png'))
    with pytest.raises(ValueError, match="method 'a': 1 labels for 2"):
        plot_hv_vs_macs({'a': [(1.0, 1.0), (2.0, 1.0)]},
                        str(tmp_path / 'x.png'), labels_by_method={'a': ['x']})
