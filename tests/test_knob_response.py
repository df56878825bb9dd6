"""knob_response: MACs vs the cost knob and the branching depths of the
one-hot and uniform preferences, on a controller whose answers are known."""
import pytest

from mmecmt.evaluation.control import (format_knob_response, knob_response,
                                       plot_knob_response)
from mmecmt.structures.request import evaluation_preferences

TASKS = ['a', 'b', 'c']


def controller(pref, cost):
    """MACs fall with c; a task keeps its own stream for 1 + 6 r levels."""
    return dict(macs=int(1000 - 500 * cost + 10 * pref['a']),
                branch_level={t: int(7 - 6 * pref[t]) for t in TASKS},
                own_stream_levels={t: 1 + int(round(6 * pref[t]))
                                   for t in TASKS})


def test_knob_response_figures(tmp_path):
    prefs = evaluation_preferences(TASKS, 4, seed=0)
    assert len(prefs) == 4 + 3 + 1
    result = knob_response(controller, TASKS, prefs, [0.0, 0.5, 1.0])
    assert result['spearman_cost_vs_mean_macs'] == pytest.approx(-1.0)
    assert result['mean_macs'][1] == pytest.approx(
        sum(int(750 + 10 * p['a']) for p in prefs) / len(prefs))
    for task in TASKS:
        depth = result['depths'][task]
        assert depth['one_hot_own_stream_levels'] == 7
        assert depth['uniform_own_stream_levels'] == 3
        assert depth['one_hot_branch_level'] == 1
        assert depth['uniform_branch_level'] == 5
    lines = format_knob_response(result)
    assert any('Spearman(c, mean MACs) over 8 preferences: -1.000' in line
               for line in lines)
    png = plot_knob_response(result, str(tmp_path / 'knob.png'))
    assert (tmp_path / 'knob.png').stat().st_size > 0 and png.endswith('png')


def test_knob_response_needs_the_one_hot_and_uniform_preferences():
    with pytest.raises(ValueError, match='is not among the preferences'):
        knob_response(controller, TASKS, [dict(a=0.5, b=0.25, c=0.25)],
                      [0.0, 1.0])
