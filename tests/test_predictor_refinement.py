"""Predictor refinement (mmecmt.search.refinement): the training requests,
the settings' errors, the refinement loop on a synthetic problem (what it
measures, what it reports, determinism) and that it removes the search's
over-optimism there."""
import numpy as np
import pytest

from mmecmt.search.evolution import EvolutionSearcher
from mmecmt.search.predictor import AccuracyPredictor
from mmecmt.search.refinement import (PredictorRefiner, check_refinement,
                                      format_round, measured_fitness,
                                      refinement_requests,
                                      search_region_quality)
from mmecmt.search.space import SearchSpace

TASKS = ('a', 'b')
SPACE = SearchSpace(
    dict(s1=(0.5, 0.625, 0.75, 0.875, 1.0), s2=(0.5, 0.625, 0.75, 0.875, 1.0),
         s3=(0.5, 0.625, 0.75, 0.875, 1.0), s4=(0.5, 0.625, 0.75, 0.875,
                                               1.0)),
    dict(a=(0.25, 0.5, 0.75, 1.0), b=(0.25, 0.5, 0.75, 1.0)))
WEIGHTS = dict(s1=40, s2=30, s3=20, s4=10, a=15, b=15)


def macs(spec):
    """MACs grow with every width (in thousands)."""
    widths = dict(spec.encoder, **spec.decoders)
    return int(1000 * sum(WEIGHTS[k] * w for k, w in widths.items()))


def true_scores(spec):
    """Smooth in most of the space, but s1 and s2 both wide (a combination
    random subnets rarely cover within a budget) is a trap: the quadratic
    predictor extrapolates a gain there, the truth is a loss."""
    e, d = spec.encoder, spec.decoders
    trap = 4.0 * max(0.0, e['s1'] - 0.8) * max(0.0, e['s2'] - 0.8) * 25
    base = np.sqrt(e['s1']) + 0.5 * e['s2'] + 0.3 * e['s3'] + 0.2 * e['s4']
    return dict(a=float(base + 0.6 * d['a'] - trap),
                b=float(base + 0.6 * d['b'] - trap))


def evaluate(specs, round_index=None):
    rows = [true_scores(s) for s in specs]
    return {t: np.array([r[t] for r in rows]) for t in TASKS}


def fit(specs, scores):
    return AccuracyPredictor(SPACE, TASKS).fit(specs, scores)


def search(predictor, pref, budget):
    searcher = EvolutionSearcher(SPACE, macs, predictor.fitness_fn(pref),
                                 population_size=30, generations=15, seed=0)
    return searcher.search(budget)[0]


def macs_range():
    return macs(SPACE.sample('min')), macs(SPACE.sample('max'))


def initial_data(num=30):
    specs = [SPACE.sample('max'), SPACE.sample('min')] + [
        SPACE.sample('random', 1 + i) for i in range(num)]
    return specs, evaluate(specs)


# ----------------------------------------------------------------------
# requests and settings
# ----------------------------------------------------------------------
def test_refinement_requests_are_seeded_distributions_within_the_range():
    lo, hi = 1000, 5000
    reqs = refinement_requests(TASKS, (lo, hi), 50, seed=3, round_index=0)
    assert len(reqs) == 50
    for pref, budget in reqs:
        assert list(pref) == list(TASKS)
        assert min(pref.values()) >= 0
        assert abs(sum(pref.values()) - 1) < 1e-12
        assert lo <= budget <= hi and isinstance(budget, int)
    assert reqs == refinement_requests(TASKS, (lo, hi), 50, 3, 0)
    assert reqs != refinement_requests(TASKS, (lo, hi), 50, 3, 1)
    assert reqs != refinement_requests(TASKS, (lo, hi), 50, 4, 0)
    # Dirichlet(0.5) gives peaked preferences as well as flat ones
    top = [max(p.values()) for p, _ in reqs]
    assert max(top) > 0.9 and min(top) < 0.6
    # budgets spread over the range
    budgets = [b for _, b in reqs]
    assert min(budgets) < lo + 0.2 * (hi - lo)
    assert max(budgets) > hi - 0.2 * (hi - lo)


@pytest.mark.parametrize('kwargs, match', [
    (dict(num=0), 'subnets per refinement round'),
    (dict(num=2.5), 'subnets per refinement round'),
    (dict(concentration=0.0), 'concentration must be > 0'),
    (dict(macs_range=(0, 10)), 'MACs range'),
    (dict(macs_range=(10, 5)), 'MACs range'),
])
def test_refinement_requests_errors(kwargs, match):
    args = dict(tasks=TASKS, macs_range=(1, 10), num=3, seed=0,
                round_index=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        refinement_requests(**args)


def test_check_refinement():
    check_refinement(0, 0)  # no rounds: the round size does not matter
    check_refinement(3, 1)
    for rounds in (-1, 1.5, True):
        with pytest.raises(ValueError, match='rounds must be an integer'):
            check_refinement(rounds, 5)
    for subnets in (0, -2, 2.5):
        with pytest.raises(ValueError, match='subnets per refinement'):
            check_refinement(2, subnets)
    with pytest.raises(ValueError, match='rounds must be'):
        PredictorRefiner(fit, search, evaluate, TASKS, macs_range(), -1, 5)


def test_measured_fitness_matches_the_fitness_function():
    specs, scores = initial_data()
    predictor = fit(specs, scores)
    pref = dict(a=0.3, b=0.7)
    spec = specs[5]
    predicted = {t: v[0] for t, v in predictor.predict([spec]).items()}
    assert measured_fitness(predictor, pref, predicted) == pytest.approx(
        predictor.fitness_fn(pref)([spec])[0], abs=1e-12)


# ----------------------------------------------------------------------
# the loop
# ----------------------------------------------------------------------
def test_no_rounds_is_the_plain_fit():
    specs, scores = initial_data()
    predictor, got_specs, got_scores, history = PredictorRefiner(
        fit, search, evaluate, TASKS, macs_range(), 0, 5).run(specs, scores)
    assert history == [] and got_specs == specs
    x = predictor.encode(specs[:5])
    np.testing.assert_allclose(predictor.predict_features(x),
                               fit(specs, scores).predict_features(x))


def test_refinement_measures_only_new_picks_and_reports_before_adding():
    specs, scores = initial_data()
    calls = []

    def counting_evaluate(new_specs, round_index):
        calls.append((round_index, list(new_specs)))
        return evaluate(new_specs)

    fits = []

    def recording_fit(s, y):
        fits.append(len(s))
        return fit(s, y)

    messages = []
    refiner = PredictorRefiner(recording_fit, search, counting_evaluate,
                               TASKS, macs_range(), rounds=3,
                               subnets_per_round=6, seed=0,
                               log_fn=messages.append)
    predictor, got_specs, got_scores, history = refiner.run(specs, scores)

    assert [h['round'] for h in history] == [0, 1, 2]
    assert all(h['requests'] == 6 for h in history)
    new = [h['new_subnets'] for h in history]
    assert all(1 <= n <= 6 for n in new)
    # every evaluated subnet once, the initial ones never again
    keys = [s.key() for s in got_specs]
    assert len(keys) == len(set(keys)) == len(specs) + sum(new)
    assert got_specs[:len(specs)] == specs
    assert [len(c[1]) for c in calls] == new
    assert [c[0] for c in calls] == [0, 1, 2]
    for t in TASKS:
        np.testing.assert_array_equal(got_scores[t],
                                      evaluate(got_specs)[t])
    # one fit before the rounds, one after each round's picks
    assert fits == [len(specs) + sum(new[:i]) for i in range(4)]
    # the final predictor is fitted on everything
    x = predictor.encode(got_specs)
    np.testing.assert_allclose(predictor.predict_features(x),
                               fit(got_specs, got_scores).predict_features(x))
    # round 1's quality is that of the predictor fitted before it
    first = calls[0][1]
    requests = refinement_requests(TASKS, macs_range(), 6, 0, 0)
    before = fit(specs, scores)
    expected_reqs, seen = [], {s.key() for s in specs}
    for pref, budget in requests:
        spec = search(before, pref, budget)
        if spec.key() not in seen:
            seen.add(spec.key())
            expected_reqs.append((pref, budget))
    assert [search(before, p, b) for p, b in expected_reqs] == first
    expected = search_region_quality(before, expected_reqs, first,
                                     evaluate(first))
    assert history[0]['quality']['fitness_overprediction'] == pytest.approx(
        expected['fitness_overprediction'])
    assert set(history[0]['quality']['tasks']) == set(TASKS)
    assert len(messages) == 3 and 'round 3' in messages[2]
    assert 'over-prediction' in messages[0]

    # the same seed gives the same refinement
    again = PredictorRefiner(fit, search, evaluate, TASKS, macs_range(), 3,
                             6, seed=0).run(specs, scores)
    assert again[1] == got_specs


def test_refinement_removes_the_over_optimism_of_the_search():
    """On the trap problem the search first picks subnets whose fitness the
    predictor over-predicts; after refinement the picks of fresh requests
    are predicted far more honestly, and they truly score higher."""
    specs, scores = initial_data(30)
    before = fit(specs, scores)
    refined, *_ = PredictorRefiner(fit, search, evaluate, TASKS,
                                   macs_range(), rounds=4,
                                   subnets_per_round=8, seed=0).run(
                                       specs, scores)
    fresh = refinement_requests(TASKS, macs_range(), 20, seed=99,
                                round_index=0)

    def picks(predictor):
        got = [search(predictor, p, b) for p, b in fresh]
        quality = search_region_quality(predictor, fresh, got,
                                        evaluate(got))
        true = np.mean([measured_fitness(refined, p, true_scores(s))
                        for (p, _), s in zip(fresh, got)])
        return quality['fitness_overprediction'], true

    over_before, true_before = picks(before)
    over_after, true_after = picks(refined)
    assert over_before > 0.2
    assert abs(over_after) < 0.5 * over_before
    assert true_after > true_before


def test_format_round():
    assert format_round(dict(round=0, requests=5, new_subnets=0,
                             quality=None)) == (
        'Predictor refinement round 1: 0 new subnets from 5 requests')
    line = format_round(dict(
        round=1, requests=5, new_subnets=3,
        quality=dict(fitness_overprediction=0.0123,
                     tasks=dict(a=dict(spearman=0.5, kendall=0.4, rmse=1)))))
    assert line.endswith('over-prediction +0.0123, a spearman=0.500')
