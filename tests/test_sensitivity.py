"""mmecmt.search.sensitivity (width effects, equal-MACs ranking), the
store's entries, the heat map and tools/analysis_tools/predictor_sensitivity.py
on the tiny supernet."""
import hashlib
import json
import math
import os.path as osp

import numpy as np
import pytest
from conftest import run_tool, tiny_data_options

from mmecmt.search.predictor import AccuracyPredictor
from mmecmt.search.sensitivity import (effective_entries,
                                       equal_macs_ranking,
                                       pairwise_order_accuracy,
                                       plot_width_effects, width_effects)
from mmecmt.search.session import predictor_store_path
from mmecmt.search.space import SearchSpace
from mmecmt.search.subnet_evaluator import EvaluatedSubnetStore

TOOL = 'tools/analysis_tools/predictor_sensitivity.py'


def _space():
    return SearchSpace({f's{i}': (0.5, 0.75, 1.0) for i in range(4)},
                       dict(a=(0.5, 1.0), b=(0.5, 1.0)))


def test_width_effects_recovers_a_linear_truth():
    rng = np.random.default_rng(0)
    x = rng.choice([0.5, 0.75, 1.0], size=(60, 4))
    x[:, 3] = 0.75  # a constant entry
    y = np.stack([3.0 * x[:, 0] + 1.0, x[:, 1] - x[:, 2]], axis=1)
    names = ['e0', 'e1', 'e2', 'e3']
    out = width_effects(x, y, names, ['t0', 't1'])
    c0, c1 = out['coefficients']['t0'], out['coefficients']['t1']
    # zscore(3 x0 + 1) == zscore(x0): coefficient 1, the others 0
    assert c0['e0'] == pytest.approx(1.0)
    assert max(abs(c0[n]) for n in ('e1', 'e2', 'e3')) < 1e-9
    assert c1['e1'] > 0.5 and c1['e2'] < -0.5 and abs(c1['e0']) < 1e-9
    assert c0['e3'] == 0.0 and c1['e3'] == 0.0
    assert out['r2'] == pytest.approx(dict(t0=1.0, t1=1.0))
    effects = dict(coefficients=dict(
        t0={'encoder.a': 0.05, 'encoder.b': -0.3, 'decoders.t0': 0.9},
        t1={'encoder.a': 0.09, 'encoder.b': 0.0, 'decoders.t0': 0.0}))
    assert effective_entries(effects, 0.1) == ['encoder.b']
    assert effective_entries(effects, 0.1, prefix=None) == [
        'encoder.b', 'decoders.t0']


def test_width_effects_errors():
    x = np.ones((5, 2))
    with pytest.raises(ValueError, match=r"expected \(N, 3\).*'c'"):
        width_effects(x, np.ones((5, 1)), ['a', 'b', 'c'], ['t'])
    with pytest.raises(ValueError, match=r"expected \(5, 2\).*'u'"):
        width_effects(x, np.ones((5, 1)), ['a', 'b'], ['t', 'u'])
    with pytest.raises(ValueError, match='at least 3'):
        width_effects(x[:2], np.ones((2, 1)), ['a', 'b'], ['t'])


def test_pairwise_order_accuracy_by_hand():
    macs = [100, 101, 200, 102]
    measured = [1.0, 2.0, 3.0, 0.0]
    predicted = [1.0, 3.0, 0.0, 1.0]
    # pairs within 5 %: (0,1) agree, (0,3) predicted tie -> 1/2, (1,3) agree
    acc, num = pairwise_order_accuracy(predicted, measured, macs, 0.05)
    assert num == 3 and acc == pytest.approx(2.5 / 3)
    # 99 % tolerance adds (0,2), (1,2) and (2,3): all three wrong
    acc, num = pairwise_order_accuracy(predicted, measured, macs, 0.99)
    assert num == 6 and acc == pytest.approx(2.5 / 6)
    # equal measured values are no pair
    acc, num = pairwise_order_accuracy([0, 1], [1, 1], [5, 5], 0.05)
    assert num == 0 and math.isnan(acc)
    with pytest.raises(ValueError, match='one value per subnet'):
        pairwise_order_accuracy([0, 1], [1, 2, 3], [5, 5], 0.05)


def _toy_store(space, num=80, seed=0):
    specs = [space.sample('random', seed + i) for i in range(num)]
    x = np.array([space.encode(s) for s in specs])
    scores = dict(a=x[:, 0] - x[:, 1], b=x[:, 2] + 0.5 * x[:, 5])
    return specs, scores


def test_equal_macs_ranking_predictor_beats_macs_on_equal_macs():
    space = _space()
    specs, scores = _toy_store(space)
    macs = np.full(len(specs), 100.0)  # every pair has equal MACs
    out = equal_macs_ranking(
        specs, scores, macs, lambda: AccuracyPredictor(space, ['a', 'b']),
        dict(a=0.5, b=0.5), folds=4)
    for name in ('a', 'b', 'fitness'):
        assert out[name]['predictor'] > 0.99
        assert out[name]['macs'] == 0.5  # MACs order nothing: all ties
        assert out[name]['pairs'] > 0
    assert out['settings'] == dict(tolerance=0.05, folds=4, seed=0,
                                   preference=dict(a=0.5, b=0.5),
                                   num_subnets=80)
    # the folds depend on the seed only
    again = equal_macs_ranking(
        specs, scores, macs, lambda: AccuracyPredictor(space, ['a', 'b']),
        dict(a=0.5, b=0.5), folds=4)
    assert again == out


@pytest.mark.parametrize('kwargs, message', [
    (dict(tolerance=0.0), r'tolerance must lie in \(0, 1\)'),
    (dict(folds=1), r'folds must be an integer in \[2, 80\]'),
    (dict(folds=81), r'folds must be an integer in \[2, 80\]'),
    (dict(macs=np.ones(3)), r'expected \(80,\)'),
])
def test_equal_macs_ranking_errors(kwargs, message):
    space = _space()
    specs, scores = _toy_store(space)
    macs = kwargs.pop('macs', np.ones(len(specs)))
    with pytest.raises(ValueError, match=message):
        equal_macs_ranking(specs, scores, macs,
                           lambda: AccuracyPredictor(space, ['a', 'b']),
                           dict(a=0.5, b=0.5), **kwargs)


def test_store_entries_round_trip_and_errors(tmp_path):
    space = _space()
    specs, scores = _toy_store(space, num=3)
    store = EvaluatedSubnetStore(str(tmp_path / 'store'))
    assert store.entries() == ([], {})
    for i in (2, 0, 1):
        store.save(i, specs[i], {t: v[i] for t, v in scores.items()})
    (tmp_path / 'store' / 'sub').mkdir()  # sub-folders are not entries
    got_specs, got = store.entries()
    assert got_specs == specs
    assert set(got) == {'a', 'b'}
    np.testing.assert_allclose(got['a'], scores['a'])
    (tmp_path / 'store' / '3.json').write_text('{"subnet": 1}')
    with pytest.raises(ValueError, match=r'3\.json is not an evaluated'):
        store.entries()
    (tmp_path / 'store' / '3.json').write_text(json.dumps(dict(
        subnet=specs[0].to_dict(), scores=dict(a=1.0))))
    with pytest.raises(ValueError, match=r"3\.json scores the tasks \['a'\]"):
        store.entries()


def test_plot_width_effects_writes_a_png(tmp_path):
    path = plot_width_effects(
        dict(t0={'encoder.a': 0.5, 'decoders.t0': -1.0},
             t1={'encoder.a': 0.0, 'decoders.t0': 0.2}),
        str(tmp_path / 'fig' / 'effects.png'))
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(ValueError, match='no tasks'):
        plot_width_effects({}, str(tmp_path / 'x.png'))


STAGES = ('conv1', 'layer1', 'layer2', 'layer3', 'layer4', 'layer5',
          'layer6', 'layer7')
TASKS = ('semseg', 'depth', 'normals', 'edge', 'sal')


def test_predictor_sensitivity_tool(tiny_synth_root, tiny_ecmt_checkpoint,
                                    tmp_path):
    ckpt = tiny_ecmt_checkpoint
    work = str(tmp_path / 'work')
    data = tiny_data_options(tiny_synth_root)
    args = ['tools/analysis_tools/predictor_sensitivity.py',
            'configs/ecmt/synthscenes_mbv2_tiny.py', ckpt, '--work-dir', work]
    # no store yet: a clear error naming what to run
    proc = run_tool(args + ['--cfg-options', *data], check=False)
    assert proc.returncode == 2
    assert 'no evaluated subnets' in proc.stderr
    assert 'tools/search.py' in proc.stderr

    # a store of 30 subnets whose semseg score follows layer2's width
    space = SearchSpace({s: (0.5, 0.625, 0.75, 0.875, 1.0) for s in STAGES},
                        {t: (0.25, 0.5, 0.75, 1.0) for t in TASKS})
    sha = hashlib.sha256(open(ckpt, 'rb').read()).hexdigest()
    store = EvaluatedSubnetStore(predictor_store_path(work, sha))
    rng = np.random.default_rng(0)
    for i in range(30):
        spec = space.sample('random', i)
        values = {t: float(rng.normal()) for t in TASKS}
        values['semseg'] = spec.encoder['layer2']
        store.save(i, spec, values)
    out = str(tmp_path / 'out')
    run_tool(args + ['--out-dir', out, '--folds', '3', '--preference',
                     'semseg=0.6,depth=0.1,normals=0.1,edge=0.1,sal=0.1',
                     '--cfg-options', *data])
    result = json.load(open(osp.join(out, 'sensitivity.json')))
    assert result['num_subnets'] == 30
    effects = result['width_effects']
    assert tuple(effects['coefficients']['semseg']) == space.entry_names()
    assert effects['coefficients']['semseg']['encoder.layer2'] == \
        pytest.approx(1.0)
    assert effects['r2']['semseg'] == pytest.approx(1.0)
    assert 'encoder.layer2' in result['effective_encoder_entries']
    ranking = result['equal_macs_ranking']
    assert set(ranking) == set(TASKS) | {'fitness', 'settings'}
    assert ranking['settings']['folds'] == 3
    assert ranking['settings']['preference']['semseg'] == 0.6
    md = open(osp.join(out, 'sensitivity.md')).read()
    assert '| encoder.layer2 | +1.00 |' in md
    with open(osp.join(out, 'width_effects.png'), 'rb') as f:
        assert f.read(4) == b'\x89PNG'

    # bad input
    for extra, message in ((['--tolerance', '1.5'], 'tolerance'),
                           (['--folds', '31'], 'needs at least as many'),
                           (['--preference', 'semseg=1.0'], '--preference')):
        proc = run_tool(args + extra + ['--cfg-options', *data], check=False)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
