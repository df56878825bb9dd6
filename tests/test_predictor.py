"""AccuracyPredictor: fit quality, vectorised prediction, fitness, cache."""
import numpy as np
import pytest

from mmecmt.search.predictor import AccuracyPredictor, search_space_fingerprint
from mmecmt.search.space import SearchSpace, SubnetSpec

STAGES = ('layer1', 'layer2', 'layer3', 'layer4')
TASKS = ('semseg', 'depth')


@pytest.fixture(scope='module')
def space():
    return SearchSpace({s: (0.25, 0.5, 0.75, 1.0) for s in STAGES},
                       {t: (0.5, 1.0) for t in TASKS})


@pytest.fixture(scope='module')
def data(space):
    """200 random subnets, their (N, 6) encodings and additive scores."""
    rng = np.random.default_rng(0)
    specs = [space.sample('random', rng) for _ in range(200)]
    x = np.stack([space.encode(s) for s in specs])
    noise = np.random.default_rng(1).normal(0, 0.01, size=(2, len(specs)))
    scores = {
        # concave in the encoder widths, plus its own decoder
        'semseg': np.sqrt(x[:, :4]).sum(1) + 0.5 * x[:, 4] + noise[0],
        # a different per-stage shape: log widths, weighted
        'depth': (np.log(x[:, :4]) * [1, 2, 3, 4]).sum(1) + x[:, 5] +
        noise[1],
    }
    return specs, x, scores


def split(specs, scores, n=120):
    return (specs[:n], {t: v[:n] for t, v in scores.items()}, specs[n:],
            {t: v[n:] for t, v in scores.items()})


@pytest.mark.parametrize('kind, extra', [
    ('ridge', {}),
    ('mlp', dict(hidden=(16, 16), epochs=300, lr=1e-2)),
])
def test_fit_quality_on_additive_scores(space, data, kind, extra):
    specs, _, scores = data
    train, train_y, test, test_y = split(specs, scores)
    predictor = AccuracyPredictor(space, TASKS, kind=kind,
                                  **extra).fit(train, train_y)
    quality = predictor.evaluate(test, test_y)
    assert set(quality) == set(TASKS)
    for task in TASKS:
        assert quality[task]['spearman'] > 0.95, (task, quality)
        assert quality[task]['kendall'] > 0.8, (task, quality)
        assert quality[task]['rmse'] < 0.15 * np.std(test_y[task])


def test_ridge_recovers_a_quadratic_exactly(space, data):
    """Degree-2 features: a quadratic score is fitted (almost) exactly."""
    specs, x, _ = data
    scores = {'semseg': 1 + x[:, 0] * x[:, 1] - 2 * x[:, 2]**2 + x[:, 4],
              'depth': 3 * x[:, 3] - x[:, 5] * x[:, 0]}
    predictor = AccuracyPredictor(space, TASKS, alpha=1e-9).fit(
        specs[:100], {t: v[:100] for t, v in scores.items()})
    pred = predictor.predict(specs[100:])
    for task in TASKS:
        np.testing.assert_allclose(pred[task], scores[task][100:], atol=1e-5)
    quality = predictor.evaluate(specs[100:],
                                 {t: v[100:] for t, v in scores.items()})
    # (not exactly 1: the truth has ties that 1e-9 errors order at random)
    assert quality['depth']['spearman'] > 0.99
    assert quality['depth']['rmse'] < 1e-5


def test_predict_is_vectorised_and_consistent(space, data):
    specs, x, scores = data
    predictor = AccuracyPredictor(space, TASKS).fit(specs, scores)
    batch = predictor.predict(specs[:50])
    assert set(batch) == set(TASKS)
    assert batch['semseg'].shape == (50, )
    one = predictor.predict([specs[7]])
    assert one['depth'][0] == pytest.approx(batch['depth'][7], abs=1e-12)
    # same as the features path, and dict specs are accepted
    np.testing.assert_allclose(
        predictor.predict_features(x[:50])[:, 1], batch['depth'], atol=1e-12)
    from_dicts = predictor.predict([s.to_dict() for s in specs[:50]])
    np.testing.assert_allclose(from_dicts['semseg'], batch['semseg'])
    np.testing.assert_array_equal(predictor.encode(specs[:50]), x[:50])
    assert predictor.predict([])['semseg'].shape == (0, )


def test_mlp_is_deterministic_for_a_seed(space, data):
    specs, _, scores = data
    kwargs = dict(kind='mlp', hidden=(8, ), epochs=50)
    a = AccuracyPredictor(space, TASKS, seed=3, **kwargs).fit(specs, scores)
    b = AccuracyPredictor(space, TASKS, seed=3, **kwargs).fit(specs, scores)
    c = AccuracyPredictor(space, TASKS, seed=4, **kwargs).fit(specs, scores)
    np.testing.assert_array_equal(a.predict(specs)['semseg'],
                                  b.predict(specs)['semseg'])
    assert not np.array_equal(a.predict(specs)['semseg'],
                              c.predict(specs)['semseg'])


def test_fitness_is_preference_weighted_normalised_score(space, data):
    specs, x, _ = data
    # exactly linear scores, so the prediction equals the truth
    scores = {'semseg': x[:, 0].copy(), 'depth': 2 * x[:, 5]}
    predictor = AccuracyPredictor(space, TASKS, alpha=1e-9).fit(specs, scores)
    assert predictor.score_range['semseg'] == (0.25, 1.0)
    assert predictor.score_range['depth'] == (1.0, 2.0)
    probe = [
        SubnetSpec(dict.fromkeys(STAGES, 1.0), dict.fromkeys(TASKS, 1.0)),
        SubnetSpec(dict.fromkeys(STAGES, 0.25), dict.fromkeys(TASKS, 0.5)),
        SubnetSpec({**dict.fromkeys(STAGES, 0.25), 'layer1': 0.5},
                   {'semseg': 0.5, 'depth': 1.0}),
    ]
    fitness = predictor.fitness_fn({'semseg': 0.75, 'depth': 0.25})
    # semseg normalised: (x0 - 0.25) / 0.75; depth: (2 x5 - 1) / 1
    np.testing.assert_allclose(fitness(probe), [
        0.75 * 1 + 0.25 * 1, 0.0, 0.75 * (0.25 / 0.75) + 0.25 * 1.0],
                               atol=1e-6)
    with pytest.raises(ValueError, match='sums to 0.5'):
        predictor.fitness_fn({'semseg': 0.25, 'depth': 0.25})


def test_cache_round_trip_and_key_mismatch(space, data, tmp_path):
    specs, _, scores = data
    path = str(tmp_path / 'cache' / 'predictor.npz')
    for kind, extra in (('ridge', {}), ('mlp', dict(hidden=(8, ),
                                                    epochs=20))):
        predictor = AccuracyPredictor(space, TASKS, kind=kind,
                                      **extra).fit(specs, scores)
        predictor.save(path, key='sha256:abc')
        loaded = AccuracyPredictor.load(path, space, key='sha256:abc')
        assert loaded.kind == kind and loaded.tasks == list(TASKS)
        assert loaded.score_range == predictor.score_range
        assert loaded.num_train == 200
        for task in TASKS:
            np.testing.assert_array_equal(
                loaded.predict(specs)[task], predictor.predict(specs)[task])
    with pytest.raises(ValueError) as info:
        AccuracyPredictor.load(path, space, key='sha256:def')
    assert "built for key 'sha256:abc', but key 'sha256:def'" in str(
        info.value)
    other = SearchSpace({s: (0.5, 1.0) for s in STAGES},
                        {t: (0.5, 1.0) for t in TASKS})
    assert search_space_fingerprint(other) != search_space_fingerprint(space)
    with pytest.raises(ValueError, match='built for another search space'):
        AccuracyPredictor.load(path, other, key='sha256:abc')
    with pytest.raises(FileNotFoundError, match='does not exist'):
        AccuracyPredictor.load(str(tmp_path / 'nope.npz'), space)
    corrupt = tmp_path / 'corrupt.npz'
    corrupt.write_bytes(b'not a zip file')
    with pytest.raises(ValueError, match='not a readable predictor file'):
        AccuracyPredictor.load(str(corrupt), space)


def test_bad_input(space, data):
    specs, _, scores = data
    predictor = AccuracyPredictor(space, TASKS)
    with pytest.raises(RuntimeError, match='not fitted'):
        predictor.predict(specs[:2])
    with pytest.raises(ValueError, match=r"missing tasks \['depth'\]"):
        predictor.fit(specs, {'semseg': scores['semseg']})
    with pytest.raises(ValueError, match=r"has shape \(199,\); expected"):
        predictor.fit(specs, {'semseg': scores['semseg'][:-1],
                              'depth': scores['depth']})
    bad = dict(scores, depth=scores['depth'].copy())
    bad['depth'][4] = np.nan
    with pytest.raises(ValueError, match='non-finite values at'):
        predictor.fit(specs, bad)
    with pytest.raises(ValueError, match='at least 2 evaluated subnets'):
        predictor.fit(specs[:1], {t: v[:1] for t, v in scores.items()})
    predictor.fit(specs, scores)
    wrong = SubnetSpec({**specs[0].encoder, 'layer2': 0.6}, specs[0].decoders)
    with pytest.raises(ValueError, match=r"encoder\['layer2'\] = 0.6 is not"):
        predictor.predict([specs[1], wrong])
    nan = SubnetSpec({**specs[0].encoder, 'layer3': float('nan')},
                     specs[0].decoders)
    with pytest.raises(ValueError, match=r"encoder\['layer3'\] = nan is not"):
        predictor.predict([nan])
    missing = SubnetSpec({'layer1': 1.0}, specs[0].decoders)
    with pytest.raises(ValueError, match='missing'):
        predictor.predict([missing])
    with pytest.raises(ValueError, match="unknown predictor kind 'gp'"):
        AccuracyPredictor(space, TASKS, kind='gp')


def test_auto_alpha_is_leave_one_out_and_beats_a_tiny_one(tmp_path):
    """More ridge features than subnets: 'auto' picks each task's degree
    and weight by leave-one-out (checked against refitting N times),
    predicts held-out subnets far better than alpha=1e-3, and survives the
    cache."""
    from mmecmt.search.predictor import RIDGE_ALPHA_GRID
    wide = SearchSpace({f's{i}': (0.5, 0.75, 1.0) for i in range(20)},
                       {t: (0.5, 1.0) for t in TASKS})
    rng = np.random.default_rng(0)
    specs = [wide.sample('random', rng) for _ in range(140)]
    x = np.stack([wide.encode(s) for s in specs])
    noise = np.random.default_rng(1).normal(0, 0.05, size=(2, len(specs)))
    scores = {'semseg': x[:, :20] @ np.linspace(1, 2, 20) + noise[0],
              'depth': 0.3 * x[:, :5].sum(1) + x[:, 21] + noise[1]}
    train = (specs[:80], {t: v[:80] for t, v in scores.items()})
    test = (specs[80:], {t: v[80:] for t, v in scores.items()})
    auto = AccuracyPredictor(wide, TASKS, alpha='auto').fit(*train)
    tiny = AccuracyPredictor(wide, TASKS, alpha=1e-3).fit(*train)
    assert auto.params['weight'].shape[0] > 80  # 252 poly features
    q_auto, q_tiny = auto.evaluate(*test), tiny.evaluate(*test)
    for task in TASKS:
        assert q_auto[task]['rmse'] < 0.3 * q_tiny[task]['rmse'], task
        assert q_auto[task]['spearman'] > 0.9, task
    # both truths are linear in the widths: degree 1, products unused
    assert list(auto.params['degree_per_task']) == [1, 1]
    assert not auto.params['weight'][22:].any()
    # the closed-form LOO error equals N refits without one subnet each,
    # with an unpenalised intercept (the standardisation kept fixed)
    phi = auto._poly2(auto._standardise(auto.encode(train[0])))
    phi = (phi - auto.params['p_mean']) / auto.params['p_std']
    y = np.stack([train[1][t] for t in TASKS], 1) - auto.params['y_mean']
    for alpha in (1e-4, 10.0):
        loo = []
        for i in range(len(phi)):
            keep = np.arange(len(phi)) != i
            a = np.c_[phi[keep], np.ones(keep.sum())]
            penalty = alpha * np.eye(a.shape[1])
            penalty[-1, -1] = 0.0
            w = np.linalg.solve(a.T @ a + penalty, a.T @ y[keep])
            loo.append(y[i] - np.r_[phi[i], 1.0] @ w)
        brute = (np.array(loo)**2).mean(0)
        ((_, errors, _), ) = AccuracyPredictor.ridge_loo_errors(phi, y,
                                                                [alpha])
        np.testing.assert_allclose(errors, brute, rtol=1e-6)
    chosen = auto.params['alpha_per_task']
    assert all(a in RIDGE_ALPHA_GRID for a in chosen)
    path = str(tmp_path / 'auto.npz')
    auto.save(path, key='k')
    again = AccuracyPredictor.load(path, wide, key='k')
    assert again.alpha == 'auto'
    for task, values in again.predict(test[0]).items():
        np.testing.assert_array_equal(values, auto.predict(test[0])[task])
    with pytest.raises(ValueError, match="'auto' is for the ridge"):
        AccuracyPredictor(wide, TASKS, kind='mlp', alpha='auto')
    for bad in ('big', -1.0, float('nan'), True):
        with pytest.raises(ValueError, match="finite number >= 0 or 'auto'"):
            AccuracyPredictor(wide, TASKS, alpha=bad)


def test_config_predictor_settings_and_cache_names():
    from mmengine.config import ConfigDict

    from mmecmt.search.session import predictor_cache_path, predictor_settings
    assert predictor_settings(ConfigDict()) == {}
    cfg = ConfigDict(predictor=dict(alpha='auto'))
    assert predictor_settings(cfg) == {'alpha': 'auto'}
    with pytest.raises(ValueError, match=r"unknown keys \['depth'\]; valid "
                       r"keys are \['kind', 'alpha'"):
        predictor_settings(ConfigDict(predictor=dict(depth=3)))
    plain = predictor_cache_path('wd', 'ab' * 32)
    assert plain == 'wd/predictor_abababababab.npz'
    assert predictor_cache_path('wd', 'ab' * 32, 4, 25) == \
        'wd/predictor_abababababab_refine4x25.npz'
    auto = predictor_cache_path('wd', 'ab' * 32, settings={'alpha': 'auto'})
    assert auto.startswith('wd/predictor_abababababab_p') and auto != plain
    assert auto == predictor_cache_path('wd', 'ab' * 32,
                                        settings=predictor_settings(cfg))
    assert auto != predictor_cache_path('wd', 'ab' * 32,
                                        settings={'alpha': 1.0})
