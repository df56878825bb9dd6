"""Controllability figures and the report (JSON, Markdown, PNG) on a tiny
hand-made set of requests."""
import json
import math

import numpy as np
import pytest
from PIL import Image

from mmecmt.evaluation.control import (plot_budget_vs_macs,
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
    assert (e100['num_requests'], e200['num_requests']) == (3, 2)
    # (0.2 * 0.5 + 0.8 * 2.0 + 0.5 * 0.8 + 0.5 * 1.0 + 0.8 * 1.0 + 0.2 * 0.5)
    # / 3 requests
    assert e100['mean_weighted_score'] == pytest.approx(3.5 / 3)
    assert e100['budget_use'] == pytest.approx((0.9 + 0.95 + 1.0) / 3)
    assert c100['budget_use'] == pytest.approx(1.2)

    data = json.loads((tmp_path / 'control_results.json').read_text())
    assert set(data) == {
        'tasks', 'stl_reference', 'hv_reference_point', 'records', 'summary',
        'budget_controllability', 'figures', 'paired'
    }
    assert data['paired'] == {}  # cdma shares a single request with ecmt
    assert data['tasks'] == TASKS and data['hv_reference_point'] == [0., 0.]
    assert len(data['records']) == 6
    rec0, rec1 = data['records'][:2]
    assert rec0['delta_m'] == pytest.approx(1.23)  # given: kept
    assert rec1['delta_m'] == pytest.approx(-10.0)  # computed
    assert rec1['subnet'] == {'widths': [8, 16], 'ratio': 0.5}
    assert rec0['normalised_scores'] == pytest.approx(
        {'semseg': 0.5, 'depth': 2.0})
    assert rec0['budget_label'] == '100'
    assert data['summary']['cdma']['100']['mean_task_spearman'] is None
    assert data['budget_controllability']['ecmt']['violations'] == 1
    assert data['budget_controllability']['cdma']['spearman'] is None

    figures = {
        'budget_ecmt.png', 'budget_cdma.png', 'preference_ecmt_100.png',
        'preference_ecmt_200.png', 'preference_cdma_100.png',
        'pairwise_100.png', 'pairwise_200.png'
    }
    assert set(data['figures']) == figures
    for name in figures:
        png_size(tmp_path / name)
    assert_size(tmp_path / 'pairwise_100.png', 1, 1)
    assert_size(tmp_path / 'preference_ecmt_100.png', 2, 1)

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
    assert summary_rows[0].startswith('| ecmt | 100 | 3 | 1.4000 | 1.000 |')
    assert '| 1.000 | 1.1667 | 95.0 % | 0.866 | 0 |' in summary_rows[0]
    assert 'against the others' not in md
    assert 'HV (ref (0, 0))' in md and 'reference point (0, 0)' in md
    request_rows = [
        line for line in sections['Requests'].split('\n')
        if line.startswith('| ecmt') or line.startswith('| cdma')
    ]
    assert len(request_rows) == 6
    assert request_rows[1] == ('| ecmt | 100 | 100 | 95 | semseg=0.5, '
                               'depth=0.5 | 0.4000 | 0.8000 | -10.00 |')
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
    c = data['paired']['100']['cdma']
    assert (c['num_requests'], c['wins'], c['ties'], c['losses']) == (
        2, 1, 1, 0)
    # weighted gaps 0.2 * (0.5 - 0.4) and 0
    assert c['mean_gap'] == pytest.approx(0.01)
    # HV: ecmt's two points 0.5 * 2.0 + 0.3 * 1.0 = 1.3, cdma's 0.4 * 2.0 +
    # 0.4 * 1.0 = 1.2
    assert c['hv_gap'] == pytest.approx(0.1)
    assert c['hv_gap_low'] <= c['hv_gap_high']
    md = (tmp_path / 'control_results.md').read_text()
    assert '## ecmt against the others, on the same requests' in md
    assert '| 100 | cdma | 2 | 1 / 1 / 0 | +0.0100 | +0.1000 |' in md
