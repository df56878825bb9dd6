"""tools/evaluate_control.py on a tiny ECMT supernet (2 training
iterations): every method answers every request within its budget, the
report and figures are written, measurements are cached and reused, and bad
inputs fail with clear errors."""
import json
import math
import os.path as osp

import pytest
from conftest import (ECMT_TINY, REPO, TINY_CONFIG, run_tool,
                      tiny_data_options, train_tiny)

TASKS = ('semseg', 'depth', 'normals', 'edge', 'sal')
STL = dict(semseg=0.3, depth=1.0, normals=30.0, edge=0.4, sal=0.6)


@pytest.fixture(scope='module')
def trained(tiny_synth_root, tiny_ecmt_checkpoint, tmp_path_factory):
    """(data options, work dir (the predictor cache), supernet checkpoint,
    fixed-model checkpoint), both trained for 2 iterations."""
    work = str(tmp_path_factory.mktemp('control_work'))
    data = tiny_data_options(tiny_synth_root)
    fixed = train_tiny(TINY_CONFIG, osp.join(work, 'fixed'), data)
    return data, work, tiny_ecmt_checkpoint, fixed


def _args(trained, out, *extra):
    data, work, ckpt, _ = trained
    return ['tools/evaluate_control.py', ECMT_TINY, ckpt, '--work-dir', work,
            '--out-dir', out, '--predictor-subnets', '4', '--population',
            '12', '--generations', '3', *extra, '--cfg-options', *data]


def test_evaluate_control(trained, tmp_path):
    """The ECMT supernet in its four modes and a fixed model (a family of
    one, via --fixed) answer the same requests in one run."""
    out = str(tmp_path / 'control')
    stl_file = str(tmp_path / 'stl.json')
    json.dump(STL, open(stl_file, 'w'))
    fixed_ckpt = trained[3]
    # the fixed model is the supernet's largest network: 0.6x is below its
    # MACs (infeasible for it), 20M above both (answered by the largest)
    proc = run_tool(_args(
        trained, out, '--stl-reference', stl_file, '--budgets', '0.6x',
        '1.0x', '20M', '--num-preferences', '2', '--fixed',
        osp.join(REPO, 'configs', 'mtl', 'synthscenes_mbv2_tiny.py'),
        fixed_ckpt))
    log = proc.stdout + proc.stderr
    # 8 prefs x 3 budgets x (3 ECMT modes + fixed) + 3 uniform
    assert '[control] 99/99' in log
    result = json.load(open(osp.join(out, 'control_results.json')))
    records = result['records']
    methods = [r['method'] for r in records]
    for name in ('ECMT', 'random search', 'random subnet', 'fixed MTL'):
        assert methods.count(name) == 24, name
    assert methods.count('uniform width') == 3
    setup = json.load(open(osp.join(out, 'control_setup.json')))
    budgets = setup['budgets']
    assert budgets['0.6x'] < budgets['1.0x'] < budgets['20M'] == 2 * 10 ** 7
    max_macs = budgets['1.0x']
    fixed_macs = setup['methods']['fixed MTL']['macs_range'][0]
    assert fixed_macs == max_macs
    for r in records:
        if r['method'] == 'fixed MTL' and r['budget'] < fixed_macs:
            assert r['feasible'] is False and 'feasible range' in r['reason']
            continue
        assert r.get('feasible', True)
        assert r['macs'] <= r['budget']
        assert set(r['scores']) == set(TASKS)
        assert set(r['losses']) == set(TASKS)
        assert r['delta_m'] is not None
        assert r['spec']['checkpoint'] and r['spec']['method']
        assert r['above_range'] == (r['budget'] > (
            fixed_macs if r['method'] == 'fixed MTL' else max_macs))
    # the one-hot preference of a task gives it the widest decoder (the
    # others may have been widened to use 90 % of the budget)
    onehot = [r for r in records if r['method'] == 'ECMT'
              and r['preference']['depth'] == 1.0]
    assert onehot and all(r['spec']['arch']['decoders']['depth'] == 1.0
                          for r in onehot)
    for r in records:
        if r['method'] in ('ECMT', 'random search', 'random subnet'):
            assert r['macs'] >= 0.9 * r['budget'] or r['macs'] == max_macs
    summary = result['summary']
    assert set(summary) == {'ECMT', 'random search', 'random subnet',
                            'uniform width', 'fixed MTL'}
    assert set(summary['ECMT']) == {'0.6x', '1.0x', '20M'}
    assert summary['fixed MTL']['0.6x']['answered'] == 0
    assert summary['fixed MTL']['1.0x']['answered'] == 8
    assert summary['fixed MTL']['20M']['answered'] == 8
    assert summary['fixed MTL']['20M']['hv'] > 0
    for groups in summary.values():
        for s in groups.values():
            assert s['violations'] == 0
            if s['answered']:
                assert s['hv'] >= 0
    # CDMA's uniformity 1 - KL(Lhat || 1/T) lies in [1 - log T, 1]
    assert 1 - math.log(5) <= summary['ECMT']['1.0x']['uniformity'] <= 1
    # (an untrained predictor need not prefer wider subnets: only defined)
    assert -1 <= result['budget_controllability']['ECMT']['spearman'] <= 1
    assert result['stl_reference'] == STL
    for name in ('pairwise_0.6x.png', 'pairwise_1.0x.png',
                 'preference_ECMT_0.6x.png', 'budget_ECMT.png',
                 'hv_vs_macs.png'):
        assert osp.isfile(osp.join(out, name)), name
    assert '## Summary per method and budget' in open(
        osp.join(out, 'control_results.md')).read()
    measured = open(osp.join(out, 'measurements.jsonl')).read().splitlines()
    assert 2 <= len(measured) <= 75

    # a second run measures nothing new
    proc = run_tool(_args(
        trained, out, '--stl-reference', ','.join(
            f'{t}={v}' for t, v in STL.items()), '--budgets', '0.6x',
        '1.0x', '--num-preferences', '2', '--methods', 'uniform'))
    assert '[control] 2/2' in proc.stdout
    assert open(osp.join(out, 'measurements.jsonl')).read().splitlines() \
        == measured

    # two utilisations in one run; 1 spends the whole 1.0x budget: every
    # request uses the largest subnet's MACs; an explicit pair
    proc = run_tool(_args(
        trained, out, '--stl-reference', stl_file, '--budgets', '1.0x',
        '--num-preferences', '2', '--methods', 'evolution',
        '--min-utilization', '0.9', '1', '--pair', 'ECMT (min use 100%)',
        'ECMT'))
    assert '[control] 16/16' in proc.stdout
    both = json.load(open(osp.join(out, 'control_results.json')))
    methods = [r['method'] for r in both['records']]
    assert methods == ['ECMT'] * 8 + ['ECMT (min use 100%)'] * 8
    assert {r['macs'] for r in both['records'][8:]} == {budgets['1.0x']}
    paired = both['paired']['1.0x']['ECMT (min use 100%) vs ECMT']
    assert paired['num_requests'] == 8
    assert paired['wins'] + paired['ties'] + paired['losses'] == 8


def test_evaluate_control_two_methods(trained, tmp_path):
    """Two --method entries (the supernet by its config's deployer and the
    fixed model) in one run, without the positional supernet."""
    data, work, ckpt, fixed = trained
    out = str(tmp_path / 'two')
    proc = run_tool([
        'tools/evaluate_control.py', '--method', 'ECMT', ECMT_TINY, ckpt,
        '--method', 'baseline', TINY_CONFIG, fixed, '--work-dir', work,
        '--out-dir', out, '--predictor-subnets', '4', '--population', '12',
        '--generations', '3', '--stl-reference',
        ','.join(f'{t}={v}' for t, v in STL.items()), '--budgets', '1.0x',
        '20M', '--num-preferences', '1', '--cfg-options', *data])
    assert '[control] 28/28' in proc.stdout
    result = json.load(open(osp.join(out, 'control_results.json')))
    assert set(result['summary']) == {'ECMT', 'baseline'}
    assert 'ECMT vs baseline' in result['paired']['20M']
    assert osp.isfile(osp.join(out, 'hv_vs_macs.png'))


@pytest.mark.parametrize('extra, message', [
    ((), 'no single-task references'),
    (('--stl-reference', 'semseg=0.3,depth=1'), "tasks ['edge', 'normals', "
     "'sal'] are missing"),
    (('--stl-reference', 'semseg:0.3'), "'semseg:0.3' is not task=value"),
    (('--stl-reference', ','.join(f'{t}=1' for t in TASKS), '--budgets',
      '0.01x'), 'feasible range'),
    (('--min-utilization', '1.5'), 'min_utilization must be a number in '
     '[0, 1]'),
    (('--refine-subnets', '0'), '--refine-subnets: 0 is below the minimum '
     '1'),
    (('--stl-reference', ','.join(f'{t}=1' for t in TASKS), '--pair',
      'ECMT', 'CDMA'), "--pair: unknown methods ['CDMA']"),
    (('--method', 'x', 'configs/none.py', 'a.pth'),
     'config configs/none.py does not exist'),
    (('--stl-reference', ','.join(f'{t}=1' for t in TASKS),
      '--stl-set-macs', 'lots'), '--stl-set-macs: '),
])
def test_evaluate_control_errors(trained, tmp_path, extra, message):
    proc = run_tool(_args(trained, str(tmp_path / 'bad'), *extra),
                    check=False)
    assert proc.returncode == 2
    assert message in proc.stderr, proc.stderr[-2000:]


def test_subnet_search_loop_in_the_runner(trained, tmp_path):
    """runner.test() with SubnetSearchLoop answers its requests."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmecmt.utils import register_all_modules
    register_all_modules()
    data, work, ckpt, _ = trained
    cfg = Config.fromfile(ECMT_TINY)
    cfg.merge_from_dict(dict(o.split('=', 1) for o in data))
    pref = dict(semseg=0.6, depth=0.1, normals=0.1, edge=0.1, sal=0.1)
    cfg.test_cfg = dict(type='SubnetSearchLoop',
                        requests=[dict(preference=pref, budget='0.7x')],
                        predictor_subnets=4, population=12, generations=3)
    cfg.load_from = ckpt
    cfg.work_dir = work  # the predictor cache of the other tests
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    results = json.load(open(osp.join(runner.log_dir,
                                      'search_results.json')))
    assert len(results) == 1
    result = results[0]
    assert result['macs'] <= result['budget_macs']
    assert result['subnet']['decoders']['semseg'] == 1.0
    assert metrics['search0/macs'] == result['macs']
    assert 'search0/semseg/mIoU' in metrics
    assert osp.isfile(osp.join(runner.log_dir, 'search_0.json'))

    cfg.test_cfg = dict(type='SubnetSearchLoop', requests=[dict(pref=pref)])
    with pytest.raises(ValueError, match='request 0'):
        Runner.from_cfg(cfg).test()
    cfg.test_cfg = dict(type='SubnetSearchLoop',
                        requests=[dict(preference=pref, budget='0.7x')],
                        refine_rounds=2, refine_subnets=0)
    with pytest.raises(ValueError, match='subnets per refinement round'):
        Runner.from_cfg(cfg).test()
