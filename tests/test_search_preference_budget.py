"""Task preferences, the preference -> decoder width rule, and budgets."""
import numpy as np
import pytest

from mmecmt.search.budget import (check_feasible, format_macs, macs_unit,
                                  parse_budget)
from mmecmt.search.preference import (PreferenceRule, one_hot_preferences,
                                      parse_preference, sample_simplex,
                                      uniform_preference, validate_preference)
from mmecmt.search.space import SearchSpace

TASKS = ('semseg', 'depth', 'normals')
DECODER_CHOICES = (0.25, 0.5, 0.75, 1.0)


@pytest.fixture
def space():
    return SearchSpace({'layer1': (0.5, 1.0)},
                       {t: DECODER_CHOICES for t in TASKS})


# ----------------------------------------------------------------------
# validate / parse
# ----------------------------------------------------------------------
def test_validate_preference_orders_by_tasks_and_accepts_sequences():
    pref = validate_preference({'normals': 0.2, 'semseg': 0.5, 'depth': 0.3},
                               TASKS)
    assert list(pref) == list(TASKS)
    assert pref == {'semseg': 0.5, 'depth': 0.3, 'normals': 0.2}
    assert validate_preference(np.array([0.5, 0.3, 0.2]), TASKS) == pref
    # float error within 1e-6 is accepted, not renormalised
    near = validate_preference([1 / 3, 1 / 3, 1 / 3 + 5e-7], TASKS)
    assert near['normals'] == pytest.approx(1 / 3 + 5e-7, abs=1e-15)


@pytest.mark.parametrize('pref, message', [
    ({'semseg': 0.5, 'depth': 0.5}, r"missing tasks \['normals'\]"),
    ({'semseg': 0.5, 'depth': 0.3, 'normals': 0.1, 'edge': 0.1},
     r"unknown tasks \['edge'\]"),
    ({'semseg': 0.5, 'depth': 0.3, 'normals': 0.1}, 'sums to 0.9,'),
    ({'semseg': 0.6, 'depth': 0.6, 'normals': 0.0}, 'sums to 1.2,'),
    ({'semseg': 1.2, 'depth': -0.2, 'normals': 0.0},
     r"preference\['depth'\] = -0.2 must be a finite number >= 0"),
    ({'semseg': float('nan'), 'depth': 0.5, 'normals': 0.5},
     r"preference\['semseg'\] = nan"),
    ({'semseg': 'a', 'depth': 0.5, 'normals': 0.5}, 'is not a number'),
    ([0.5, 0.5], 'has 2 entries; expected one per task'),
])
def test_validate_preference_errors(pref, message):
    with pytest.raises(ValueError, match=message):
        validate_preference(pref, TASKS)


def test_parse_preference():
    assert parse_preference('semseg=0.5, depth=0.3,normals=0.2') == {
        'semseg': 0.5, 'depth': 0.3, 'normals': 0.2}
    assert list(parse_preference('normals=0.2,semseg=0.5,depth=0.3',
                                 TASKS)) == list(TASKS)
    with pytest.raises(ValueError, match="item 'depth' is not"):
        parse_preference('semseg=1,depth')
    with pytest.raises(ValueError, match="weight 'x' of task 'depth'"):
        parse_preference('semseg=1,depth=x')
    with pytest.raises(ValueError, match="task 'semseg' repeated"):
        parse_preference('semseg=0.5,semseg=0.5')
    with pytest.raises(ValueError, match='sums to 0.8'):
        parse_preference('semseg=0.5,depth=0.2,normals=0.1', TASKS)
    with pytest.raises(ValueError, match='expected "task=weight'):
        parse_preference('  ')


# ----------------------------------------------------------------------
# the rule
# ----------------------------------------------------------------------
def test_rank_by_max_rule(space):
    rule = PreferenceRule(space)
    assert rule.rule == 'rank_by_max'
    # r / max(r) = 1, 0.6, 0.4 -> * 3 = 3, 1.8, 1.2 -> positions 3, 2, 1
    pref = {'semseg': 0.5, 'depth': 0.3, 'normals': 0.2}
    assert rule.positions(pref) == {'semseg': 3, 'depth': 2, 'normals': 1}
    assert rule(pref) == {'semseg': 1.0, 'depth': 0.75, 'normals': 0.5}
    # uniform: every task is the most preferred -> every decoder widest
    assert rule(uniform_preference(TASKS)) == dict.fromkeys(TASKS, 1.0)
    # one-hot: the chosen task widest, the others narrowest
    assert [rule(p) for p in one_hot_preferences(TASKS)] == [
        {'semseg': 1.0, 'depth': 0.25, 'normals': 0.25},
        {'semseg': 0.25, 'depth': 1.0, 'normals': 0.25},
        {'semseg': 0.25, 'depth': 0.25, 'normals': 1.0}]
    # halves round up: 0.2 / 0.4 * 3 = 1.5 -> 2
    assert rule.positions({'semseg': 0.4, 'depth': 0.2, 'normals': 0.4}) == {
        'semseg': 3, 'depth': 2, 'normals': 3}


def test_rule_within_budget_shrinks_decoders_together(space):
    rule = PreferenceRule(space)
    pref = {'semseg': 0.5, 'depth': 0.3, 'normals': 0.2}
    # a stand-in for "narrowest encoder + these decoders <= budget"
    cost = lambda d: sum(d.values())  # noqa: E731
    # the rule's decoders (1.0, 0.75, 0.5) fit: unchanged
    assert rule.within_budget(pref, lambda d: cost(d) <= 3) == (
        {'semseg': 1.0, 'depth': 0.75, 'normals': 0.5}, 1.0)
    # scale 2/3: levels 1, 0.6, 0.4 -> * 2 = 2, 1.2, 0.8 -> 2, 1, 1
    assert rule.within_budget(pref, lambda d: cost(d) <= 1.9) == (
        {'semseg': 0.75, 'depth': 0.5, 'normals': 0.5}, 2 / 3)
    # scale 1/3: 1, 0.6, 0.4 -> 1, 1, 0; the order of preference is kept
    decoders, scale = rule.within_budget(pref, lambda d: cost(d) <= 1.3)
    assert decoders == {'semseg': 0.5, 'depth': 0.5, 'normals': 0.25}
    assert scale == pytest.approx(1 / 3)
    # scale 0: every decoder narrowest
    assert rule.within_budget(pref, lambda d: cost(d) <= 0.75) == (
        dict.fromkeys(TASKS, 0.25), 0.0)
    with pytest.raises(ValueError, match='not even the narrowest decoders'):
        rule.within_budget(pref, lambda d: False)
    with pytest.raises(ValueError, match=r'scale must lie in \[0, 1\]'):
        rule.positions(pref, scale=1.5)


def test_linear_rule(space):
    rule = PreferenceRule(space, rule='linear')
    # r * 3 = 1.5, 0.9, 0.6 -> 2, 1, 1
    assert rule.positions({'semseg': 0.5, 'depth': 0.3, 'normals': 0.2}) == {
        'semseg': 2, 'depth': 1, 'normals': 1}
    # uniform: 1/3 * 3 = 1 (float error must not give 0)
    assert rule(uniform_preference(TASKS)) == dict.fromkeys(TASKS, 0.5)
    assert rule(one_hot_preferences(TASKS)[1]) == {
        'semseg': 0.25, 'depth': 1.0, 'normals': 0.25}


def test_rule_with_different_choice_lists():
    space = SearchSpace({}, {'a': (0.5, 1.0), 'b': (0.25, 0.5, 0.75, 1.0),
                             'c': (1.0, )})
    rule = PreferenceRule(space)
    # a: 0.25/0.5 * 1 = 0.5 -> 1; b: 3; c: single choice
    assert rule({'a': 0.25, 'b': 0.5, 'c': 0.25}) == {
        'a': 1.0, 'b': 1.0, 'c': 1.0}
    assert rule({'a': 0.2, 'b': 0.8, 'c': 0.0}) == {
        'a': 0.5, 'b': 1.0, 'c': 1.0}


def test_rule_errors_and_from_cfg(space):
    assert PreferenceRule.from_cfg(None, space).rule == 'rank_by_max'
    assert PreferenceRule.from_cfg('linear', space).rule == 'linear'
    assert PreferenceRule.from_cfg(dict(rule='linear'), space).rule == \
        'linear'
    assert PreferenceRule.from_cfg(dict(type='linear'), space).rule == \
        'linear'
    with pytest.raises(ValueError, match="unknown preference rule 'softmax'"):
        PreferenceRule(space, rule='softmax')
    with pytest.raises(ValueError, match=r"unknown keys \['temperature'\]"):
        PreferenceRule.from_cfg(dict(rule='linear', temperature=1), space)
    with pytest.raises(ValueError, match='no decoder choices'):
        PreferenceRule(SearchSpace({'layer1': (1.0, )}, {}))
    with pytest.raises(ValueError, match=r"missing tasks \['normals'\]"):
        PreferenceRule(space)({'semseg': 0.5, 'depth': 0.5})


# ----------------------------------------------------------------------
# preference sets
# ----------------------------------------------------------------------
def test_sample_simplex():
    prefs = sample_simplex(2000, 3, seed=0)
    assert prefs.shape == (2000, 3)
    assert (prefs >= 0).all()
    np.testing.assert_allclose(prefs.sum(axis=1), 1.0, atol=1e-12)
    # Dirichlet(1): uniform on the simplex, mean 1/3 per task
    np.testing.assert_allclose(prefs.mean(axis=0), 1 / 3, atol=0.02)
    np.testing.assert_array_equal(prefs, sample_simplex(2000, 3, seed=0))
    assert not np.array_equal(prefs, sample_simplex(2000, 3, seed=1))
    # every sample passes validation
    validate_preference(prefs[0], TASKS)
    with pytest.raises(ValueError, match='num_tasks must be'):
        sample_simplex(3, 0)


def test_one_hot_and_uniform():
    assert one_hot_preferences(['a', 'b']) == [{'a': 1.0, 'b': 0.0},
                                               {'a': 0.0, 'b': 1.0}]
    assert uniform_preference(['a', 'b', 'c', 'd']) == dict.fromkeys(
        'abcd', 0.25)


# ----------------------------------------------------------------------
# budgets
# ----------------------------------------------------------------------
@pytest.mark.parametrize('text, expected', [
    ('1.2G', 1_200_000_000),
    ('350M', 350_000_000),
    ('350m', 350_000_000),
    ('12000000', 12_000_000),
    ('5K', 5_000),
    ('2.5e3', 2_500),
    ('1.5GMACs', 1_500_000_000),
    ('0.001T', 1_000_000_000),
    ('1000.7', 1000),  # rounded down: macs <= 1000.7 iff macs <= 1000
    (12_000_000, 12_000_000),
    (np.int64(7), 7),
])
def test_parse_budget_absolute(text, expected):
    assert parse_budget(text) == expected


def test_parse_budget_fraction():
    assert parse_budget('0.5x', max_macs=1_050_000_000) == 525_000_000
    assert parse_budget('1x', max_macs=1_000) == 1_000
    # above the largest subnet: valid, the largest subnet is then feasible
    assert parse_budget('1.5X', max_macs=1_000) == 1_500
    with pytest.raises(ValueError, match='largest subnet\'s MACs were not'):
        parse_budget('0.5x')


@pytest.mark.parametrize('text, message', [
    ('abc', 'is not understood'),
    ('1.2Q', 'is not understood'),
    ('', 'is not understood'),
    ('-1G', 'is not understood'),
    ('0', 'must be a finite number of MACs > 0'),
    ('0x', 'must be a finite number of MACs > 0'),
    (-5, 'must be a finite number of MACs > 0'),
    (float('inf'), 'must be a finite number'),
    ('0.4', 'below 1 MAC'),
    (True, 'is not a number of MACs'),
])
def test_parse_budget_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_budget(text, max_macs=1000)


def test_format_macs():
    assert macs_unit(210_000_000) == 'G'
    assert macs_unit(5_000_000) == 'M'
    assert format_macs(210_000_000) == '0.21 GMACs'
    assert format_macs(12_345_678) == '12.35 MMACs'
    assert format_macs(12_345_678, 'G') == '0.01 GMACs'
    assert format_macs(50) == '50.00 MACs'


def test_check_feasible():
    assert check_feasible(500_000_000, 210_000_000, 1_050_000_000) == \
        500_000_000
    # above the largest: fine (not clipped, not an error)
    assert check_feasible(2 * 10**9, 210_000_000, 1_050_000_000) == 2 * 10**9
    assert check_feasible(210_000_000, 210_000_000, 1_050_000_000) == \
        210_000_000
    with pytest.raises(ValueError) as info:
        check_feasible(100_000_000, 210_000_000, 1_050_000_000)
    assert str(info.value) == (
        'budget 0.10 GMACs is below the smallest subnet (0.21 GMACs); '
        'feasible range 0.21 - 1.05 GMACs')
    with pytest.raises(ValueError) as info:
        check_feasible(1_000_000, 2_500_000, 40_000_000)
    assert str(info.value) == (
        'budget 1.00 MMACs is below the smallest subnet (2.50 MMACs); '
        'feasible range 2.50 - 40.00 MMACs')
    # close figures are printed in the smaller one's unit, so they differ
    with pytest.raises(ValueError) as info:
        check_feasible(50_500_000, 50_610_000, 126_490_000)
    assert str(info.value) == (
        'budget 50.50 MMACs is below the smallest subnet (50.61 MMACs); '
        'feasible range 50.61 - 126.49 MMACs')
    assert check_feasible(3, 1, 5) == 3


def _fill_toy():
    from mmecmt.search.space import SubnetSpec
    space = SearchSpace({'s1': (0.5, 1.0), 's2': (0.5, 1.0)},
                        {'a': (0.25, 0.5, 1.0), 'b': (0.25, 0.5, 1.0)})

    def macs(spec):  # encoder stages cost 10 per unit, decoders 4
        return int(10 * sum(spec.encoder.values()) +
                   4 * sum(spec.decoders.values()))

    start = SubnetSpec({'s1': 0.5, 's2': 0.5}, {'a': 0.25, 'b': 0.25})
    assert macs(start) == 12
    return space, macs, start


def test_fill_budget_widens_decoders_by_preference_then_encoder():
    from mmecmt.search.budget import fill_budget
    space, macs, start = _fill_toy()
    b_first = {'a': 0.3, 'b': 0.7}
    # budget 18: b (preferred) to 1.0 (+3 -> 15), a to 0.5 (+1 -> 16), a to
    # 1.0 would be 18 (fits), then no encoder step (+5) fits
    out = fill_budget(start, space, macs, 18, b_first)
    assert out.decoders == {'a': 1.0, 'b': 1.0} and macs(out) == 18
    assert out.encoder == {'s1': 0.5, 's2': 0.5}
    # budget 15: only b widens
    out = fill_budget(start, space, macs, 15, b_first)
    assert out.decoders == {'a': 0.25, 'b': 1.0}
    # a large budget reaches the largest subnet
    assert fill_budget(start, space, macs, 100, {'a': 1.0, 'b': 0.0}) == \
        space.sample('max')
    assert fill_budget(start, space, macs, 12, b_first) == start
    with pytest.raises(ValueError, match='over the budget'):
        fill_budget(start, space, macs, 11, b_first)
    with pytest.raises(ValueError, match='exactly the decoder tasks'):
        fill_budget(start, space, macs, 20, {'a': 1.0})


def test_fill_budget_stops_at_the_utilization_target():
    from mmecmt.search.budget import fill_budget
    space, macs, start = _fill_toy()
    # target 0.5 * 30 = 15: b 0.25 -> 0.5 (13) -> 1.0 (15): reached, stop
    out = fill_budget(start, space, macs, 30, {'a': 0.2, 'b': 0.8},
                      min_utilization=0.5)
    assert out.decoders == {'a': 0.25, 'b': 1.0} and macs(out) == 15
    # target 0.8 * 30 = 24: both decoders full (18), then the encoder one
    # stage at a time: s1 -> 1.0 (23), s2 -> 1.0 (28 <= 30)
    out = fill_budget(start, space, macs, 30, {'a': 0.2, 'b': 0.8},
                      min_utilization=0.8)
    assert out == space.sample('max') and macs(out) == 28
    # target 0.7 * 30 = 21: decoders full (18), s1 (23): stop before s2
    out = fill_budget(start, space, macs, 30, {'a': 0.2, 'b': 0.8},
                      min_utilization=0.7)
    assert out.encoder == {'s1': 1.0, 's2': 0.5} and macs(out) == 23
    # 0 leaves the subnet as it is
    assert fill_budget(start, space, macs, 30, {'a': 0.2, 'b': 0.8},
                       min_utilization=0.0) == start
    for bad in (-0.1, 1.5, 'all', True):
        with pytest.raises(ValueError, match=r'min_utilization .* \[0, 1\]'):
            fill_budget(start, space, macs, 30, {'a': 0.5, 'b': 0.5},
                        min_utilization=bad)


def test_fill_budget_grows_equally_preferred_decoders_together():
    from mmecmt.search.budget import fill_budget
    space, macs, start = _fill_toy()
    # equal preference, target 14: a -> 0.5 (13), then b (narrower) -> 0.5
    # (14), not a -> 1.0
    out = fill_budget(start, space, macs, 14, {'a': 0.5, 'b': 0.5})
    assert out.decoders == {'a': 0.5, 'b': 0.5}
