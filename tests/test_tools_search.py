"""tools/search.py on a tiny ECMT supernet trained for 2 iterations: the
evolution search (predictor built, cached, then loaded), the random,
random-subnet and uniform modes, and the command-line errors; plus the pure
helpers of mmecmt.search.subnet_evaluator and the request seed."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from conftest import ECMT_TINY, REPO, run_tool, tiny_data_options

from mmecmt.search.subnet_evaluator import (EvaluatedSubnetStore,
                                            build_predictor_dataset,
                                            evaluate_subnets,
                                            higher_is_better, holdout_split,
                                            predictor_subnets,
                                            quiet_info_logs,
                                            subset_dataloader_cfg,
                                            with_edge_matching)
from mmecmt.search.session import predictor_cache_path, request_seed
from mmecmt.search.space import SearchSpace

STAGES = ('conv1', 'layer1', 'layer2', 'layer3', 'layer4', 'layer5',
          'layer6', 'layer7')
TASKS = ('semseg', 'depth', 'normals', 'edge', 'sal')
ENCODER_CHOICES = (0.5, 0.625, 0.75, 0.875, 1.0)
PREF = 'semseg=0.4,depth=0.3,normals=0.1,edge=0.1,sal=0.1'


# ----------------------------------------------------------------------
# helpers of mmecmt.search.subnet_evaluator
# ----------------------------------------------------------------------
def test_holdout_split_is_the_last_tenth():
    assert holdout_split(32) == (list(range(28)), [28, 29, 30, 31])
    assert holdout_split(1000)[1] == list(range(900, 1000))
    assert holdout_split(2, 0.1) == ([0], [1])
    with pytest.raises(ValueError, match='at least 2'):
        holdout_split(1)
    with pytest.raises(ValueError, match=r'\(0, 1\)'):
        holdout_split(10, 1.0)


def test_higher_is_better_negates_rmse_and_mean_angle():
    kinds = dict(semseg='segmentation', depth='depth', normals='normals')
    assert higher_is_better(dict(semseg=0.5, depth=0.7, normals=30.0),
                            kinds) == dict(semseg=0.5, depth=-0.7,
                                           normals=-30.0)


def test_subset_dataloader_cfg_and_predictor_subnets():
    cfg = dict(batch_size=4, persistent_workers=True,
               sampler=dict(type='InfiniteSampler'),
               dataset=dict(type='X', pipeline=['train']))
    sub = subset_dataloader_cfg(cfg, [3, 4], pipeline=['test'])
    assert sub['dataset'] == dict(type='X', pipeline=['test'], indices=[3, 4])
    assert sub['sampler'] == dict(type='DefaultSampler', shuffle=False)
    assert not sub['persistent_workers']
    assert cfg['dataset']['pipeline'] == ['train']  # not modified
    space = SearchSpace(dict(a=(0.5, 1.0)), dict(t=(0.25, 1.0)))
    specs = predictor_subnets(space, 3, seed=7)
    assert len(specs) == 5
    assert specs[0].to_dict() == dict(encoder=dict(a=1.0),
                                      decoders=dict(t=1.0))
    assert specs[1].to_dict() == dict(encoder=dict(a=0.5),
                                      decoders=dict(t=0.25))
    assert specs[2] == space.sample('random', 7)


class _FakeEvaluator:
    """Scores a subnet by its mean encoder ratio; counts its calls."""

    def __init__(self):
        self.calls = []

    def scores(self, spec):
        self.calls.append(spec)
        value = sum(spec.encoder.values()) / len(spec.encoder)
        return dict(t=value)


def test_evaluated_subnet_store_resumes_and_shares(tmp_path):
    space = SearchSpace(dict(a=(0.5, 0.75, 1.0), b=(0.5, 1.0)),
                        dict(t=(0.25, 1.0)))
    root = str(tmp_path / 'store')
    specs = predictor_subnets(space, 4, seed=3)
    store = EvaluatedSubnetStore(root)
    # entry 2 was evaluated by an earlier run, entry 3 is claimed by a dead
    # process (taken over), entry 4 by a live one that finishes meanwhile
    store.save(2, specs[2], dict(t=-1.0))
    with open(osp.join(root, '3.claim'), 'w') as f:
        f.write('999999999')
    with open(osp.join(root, '4.claim'), 'w') as f:
        f.write(str(os.getppid()))
    evaluator = _FakeEvaluator()
    sleeps = []

    class Store(EvaluatedSubnetStore):
        def claim(self, index):
            got = super().claim(index)
            if index == 4 and not got and not sleeps:
                sleeps.append(index)  # the other process saves it
                EvaluatedSubnetStore(root).save(4, specs[4], dict(t=-4.0))
            return got

    got_specs, scores = build_predictor_dataset(
        evaluator, space, 4, seed=3, progress=False, store=Store(root),
        poll_seconds=0.01)
    assert got_specs == specs
    # (6 subnets: max, min and 4 random)
    assert evaluator.calls == [specs[0], specs[1], specs[3], specs[5]]
    assert scores['t'][2] == -1.0 and scores['t'][4] == -4.0
    assert scores['t'][0] == 1.0  # the max subnet
    assert sorted(os.listdir(root)) == [f'{i}.json' for i in range(6)]
    # a second build reads everything back
    again = _FakeEvaluator()
    _, scores2 = build_predictor_dataset(again, space, 4, seed=3,
                                         progress=False, store=store)
    assert again.calls == [] and list(scores2['t']) == list(scores['t'])
    # another subnet list in the same folder is refused
    with pytest.raises(ValueError, match='belongs to another subnet list'):
        build_predictor_dataset(again, space, 4, seed=4, progress=False,
                                store=store)


class _GroupEvaluator(_FakeEvaluator):
    """:class:`_FakeEvaluator` with ``scores_many``; each call leaves a file
    ``<pid>_<n>`` in ``log_dir`` (so a forked worker's calls are seen)."""

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = log_dir

    def scores_many(self, specs):
        self.calls_made = getattr(self, 'calls_made', 0) + 1
        name = f'{os.getpid()}_{self.calls_made}'
        with open(osp.join(self.log_dir, name), 'w') as f:
            f.write(str(len(specs)))
        return [self.scores(s) for s in specs]


def test_evaluate_subnets_in_groups_and_two_processes(tmp_path, capsys):
    space = SearchSpace(dict(a=(0.5, 0.75, 1.0), b=(0.5, 1.0)),
                        dict(t=(0.25, 1.0)))
    specs = predictor_subnets(space, 9, seed=1)  # 11 subnets
    expected = [_FakeEvaluator().scores(s)['t'] for s in specs]
    calls = tmp_path / 'calls'
    calls.mkdir()
    # one process, groups of 4: 4 + 4 + 3 subnets
    got = evaluate_subnets(_GroupEvaluator(str(calls)), specs,
                           store=EvaluatedSubnetStore(str(tmp_path / 's1')),
                           group_size=4, poll_seconds=0.01)
    assert list(got['t']) == expected
    sizes = sorted(int(open(calls / n).read()) for n in os.listdir(calls))
    assert sizes == [3, 4, 4]
    out = capsys.readouterr().out.splitlines()
    lines = [line for line in out if 'subnet' in line and 'done' in line]
    # one line per subnet, short, counting up to 11/11
    assert len(lines) == 11 and max(len(line) for line in lines) < 160
    assert lines[-1].startswith('[predictor] 11/11 done; subnet ')
    estimate = [line for line in out if 'estimated time' in line]
    assert len(estimate) == 1 and 'remaining 7 subnets' in estimate[0]
    # two processes sharing a store: the same scores, both worked
    for name in os.listdir(calls):
        os.remove(calls / name)
    got2 = evaluate_subnets(_GroupEvaluator(str(calls)), specs,
                            store=EvaluatedSubnetStore(str(tmp_path / 's2')),
                            group_size=2, num_workers=2, poll_seconds=0.01,
                            progress=False)
    assert list(got2['t']) == expected
    pids = {n.split('_')[0] for n in os.listdir(calls)}
    assert str(os.getpid()) in pids
    assert sum(int(open(calls / n).read()) for n in os.listdir(calls)) == 11
    assert len(os.listdir(tmp_path / 's2')) == 11  # entries, no claims
    # bad arguments
    with pytest.raises(ValueError, match='needs a store'):
        evaluate_subnets(_FakeEvaluator(), specs, num_workers=2)
    with pytest.raises(ValueError, match='group_size must be an integer'):
        evaluate_subnets(_FakeEvaluator(), specs, group_size=0)


def test_store_records_its_measurement_protocol(tmp_path):
    space = SearchSpace(dict(a=(0.5, 1.0)), dict(t=(0.25, 1.0)))
    specs = predictor_subnets(space, 2, seed=0)
    root = str(tmp_path / 'store')
    old = dict(calib_images=256, edge_matching='one_to_one')
    new = dict(calib_images=64, edge_matching='distance_transform')
    store = EvaluatedSubnetStore(root, protocol=old)
    store.save(0, specs[0], dict(t=1.0))
    assert json.load(open(osp.join(root, 'protocol.json'))) == old
    assert EvaluatedSubnetStore(root, protocol=old).num_done() == 1
    with pytest.raises(ValueError, match='measured with'):
        EvaluatedSubnetStore(root, protocol=new)
    # another protocol goes to a sub-folder of its own, the old one stays
    other = EvaluatedSubnetStore.for_protocol(root, new)
    assert osp.dirname(other.root) == root
    assert osp.basename(other.root).startswith('protocol_')
    assert other.num_done() == 0 and store.num_done() == 1
    assert EvaluatedSubnetStore.for_protocol(root, old).root == root
    # a folder filled before protocols were recorded is not mixed either
    legacy = str(tmp_path / 'legacy')
    EvaluatedSubnetStore(legacy).save(0, specs[0], dict(t=1.0))
    with pytest.raises(ValueError, match='no protocol.json'):
        EvaluatedSubnetStore(legacy, protocol=new)
    assert EvaluatedSubnetStore.for_protocol(legacy, new).root != legacy
    assert store.num_done(0) == 0 and store.num_done(1) == 1
    # an entry saved by another process after the caller looked for it
    # cannot be claimed (no second evaluation), and leaves no claim
    assert not store.claim(0)
    assert not osp.exists(osp.join(root, '0.claim'))
    assert store.claim(1) and osp.exists(osp.join(root, '1.claim'))


def test_with_edge_matching_and_quiet_logs():
    import logging
    from mmengine.logging import MMLogger
    cfg = dict(type='MultiTaskMetric', edge_max_dist=0.0075)
    assert with_edge_matching(cfg, None) is cfg
    got = with_edge_matching(cfg, 'distance_transform')
    assert got == dict(cfg, edge_matching='distance_transform')
    assert 'edge_matching' not in cfg  # a copy
    both = with_edge_matching([cfg, dict(type='Other')], 'one_to_one')
    assert both == [dict(cfg, edge_matching='one_to_one'),
                    dict(type='Other')]
    with pytest.raises(ValueError, match="got 'exact'"):
        with_edge_matching(cfg, 'exact')
    logger = MMLogger.get_current_instance()
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        with quiet_info_logs():
            logger.info('table')
            logger.warning('warned')
        logger.info('after')
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert seen == ['warned', 'after']


# ----------------------------------------------------------------------
# the tool
# ----------------------------------------------------------------------
def _search_args(ckpt, work, out, *extra, data):
    return ['tools/search.py', ECMT_TINY, ckpt, '--work-dir', work,
            '--out-dir', out, '--predictor-subnets', '4',
            '--population', '20', '--generations', '5', *extra,
            '--cfg-options', *data]


def _start(args):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.Popen([sys.executable] + list(args), cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _check_subnet(result, out):
    sub = result['subnet']
    assert tuple(sub['encoder']) == STAGES
    assert all(v in ENCODER_CHOICES for v in sub['encoder'].values())
    assert tuple(sub['decoders']) == TASKS
    assert json.load(open(osp.join(out, 'subnet.json'))) == sub
    assert result['macs'] <= result['budget']
    assert result['min_macs'] <= result['macs'] <= result['max_macs']


def test_search_tool(tiny_synth_root, tiny_ecmt_checkpoint, tmp_path):
    work = str(tmp_path / 'work')  # the predictor cache
    data = tiny_data_options(tiny_synth_root)
    ckpt = tiny_ecmt_checkpoint

    # bad preferences fail before any model work (run alongside the build)
    bad = {
        'sum': _start(_search_args(
            ckpt, work, str(tmp_path / 'bad1'), '--preference',
            'semseg=0.5,depth=0.3,normals=0.1,edge=0.1,sal=0.1',
            '--budget', '0.5x', data=data)),
        'unknown': _start(_search_args(
            ckpt, work, str(tmp_path / 'bad2'), '--preference',
            'semseg=0.4,depth=0.3,normals=0.1,edge=0.1,parts=0.1',
            '--budget', '0.5x', data=data)),
    }
    # first evolution search: builds and caches the predictor
    out1 = str(tmp_path / 'evo1')
    proc = run_tool(_search_args(ckpt, work, out1, '--preference', PREF,
                                 '--budget', '0.5x', data=data))
    log1 = proc.stdout + proc.stderr
    for name, expected in (('sum', 'sum'), ('unknown', "unknown tasks "
                                                       "['parts']")):
        code, _, err = _finish(bad[name])
        assert code != 0 and '--preference' in err and expected in err, err

    result = json.load(open(osp.join(out1, 'search_result.json')))
    _check_subnet(result, out1)
    assert result['budget'] == result['max_macs'] // 2
    # rank_by_max with 4 decoder choices: round(r / 0.4 * 3) -> 3, 2, 1, 1, 1
    assert result['subnet']['decoders'] == dict(
        semseg=1.0, depth=0.75, normals=0.5, edge=0.5, sal=0.5)
    assert set(result['predicted_scores']) == set(TASKS)
    assert result['predicted_scores']['depth'] < 0  # negated rmse
    pred = result['predictor']
    assert not pred['loaded'] and pred['num_train'] == 6
    assert set(pred['quality']) == set(TASKS)
    cache = pred['cache']
    import hashlib
    sha = hashlib.sha256(open(ckpt, 'rb').read()).hexdigest()
    # 4 subnets is not the default size: a cache file of its own
    assert cache == predictor_cache_path(work, sha,
                                         settings=dict(num_subnets=4))
    assert osp.basename(cache).startswith(f'predictor_{sha[:12]}_p')
    assert osp.isfile(cache)
    assert '6/6 done; subnet' in log1 and 'Predictor quality' in log1
    # said before the build: what, how many, where
    start = log1.index('Building the accuracy predictor')
    assert start < log1.index('6/6 done')
    assert '6 subnets (max, min and 4 random)' in log1[start:]
    assert f'cached at {cache}' in log1
    # 1 held-out subnet: the quality is printed with a warning
    assert 'too few to judge the predictor' in log1
    # one line per subnet: no metrics table, no bar
    assert '+------' not in log1 and '\r' not in log1
    # a cache of the default name made with another size: used, with a
    # warning (copied there, as an earlier version would have named it)
    import shutil
    shutil.copy(cache, osp.join(work, f'predictor_{sha[:12]}.npz'))
    mtime = os.path.getmtime(cache)

    # the rest in parallel: the cache is only read now
    out2, out_r, out_u, out_s, out_f = (
        str(tmp_path / n) for n in ('evo2', 'rand', 'unif', 'sub', 'ref'))
    procs = dict(
        evo2=_start(_search_args(ckpt, work, out2, '--preference', PREF,
                                 '--budget', '0.5x', data=data)),
        rand=_start(_search_args(ckpt, work, out_r, '--preference', PREF,
                                 '--budget', '0.5x', '--mode', 'random',
                                 '--rule', 'linear', data=data)),
        unif=_start(_search_args(ckpt, work, out_u, '--preference', PREF,
                                 '--budget', '0.6x', '--mode', 'uniform',
                                 data=data)),
        sub=_start(_search_args(ckpt, work, out_s, '--preference', PREF,
                                '--budget', '0.5x', '--mode',
                                'random_subnet', data=data)),
        infeasible=_start(_search_args(
            ckpt, work, str(tmp_path / 'inf'), '--preference', PREF,
            '--budget', '0.1x', data=data)),
        bad_use=_start(_search_args(
            ckpt, work, str(tmp_path / 'use'), '--preference', PREF,
            '--budget', '0.5x', '--min-utilization', '2', data=data)),
        refined=_start(_search_args(
            ckpt, work, out_f, '--preference', PREF, '--budget', '0.5x',
            '--refine-rounds', '2', '--refine-subnets', '3', data=data)),
        bad_refine=_start(_search_args(
            ckpt, work, str(tmp_path / 'ref'), '--preference', PREF,
            '--budget', '0.5x', '--refine-rounds', '-1', data=data)),
        default_size=_start(_search_args(
            ckpt, work, str(tmp_path / 'dflt'), '--preference', PREF,
            '--budget', '0.5x', '--predictor-subnets', '200', data=data)))
    done = {name: _finish(p) for name, p in procs.items()}
    for name in ('evo2', 'rand', 'unif', 'sub', 'refined', 'default_size'):
        assert done[name][0] == 0, done[name][2][-3000:]

    log2 = done['evo2'][1] + done['evo2'][2]
    assert 'Loaded the accuracy predictor' in log2
    assert '[predictor]' not in log2 and 'not the' not in log2
    log_d = done['default_size'][1] + done['default_size'][2]
    assert 'Loaded the accuracy predictor' in log_d
    assert 'fitted on 6 subnets, not the 202 asked' in log_d
    assert 'delete' in log_d and '[predictor]' not in log_d
    assert os.path.getmtime(cache) == mtime
    result2 = json.load(open(osp.join(out2, 'search_result.json')))
    assert result2['predictor']['loaded']
    assert result2['subnet'] == result['subnet']  # same seed, same predictor
    assert result2['search_seconds'] < 5

    random_result = json.load(open(osp.join(out_r, 'search_result.json')))
    _check_subnet(random_result, out_r)
    assert random_result['mode'] == 'random'
    assert random_result['min_utilization'] == 0.9
    assert random_result['macs'] >= 0.9 * random_result['budget']
    # linear rule: round(r * 3) -> 1, 1, 0, 0, 0
    assert random_result['subnet']['decoders'] == dict(
        semseg=0.5, depth=0.5, normals=0.25, edge=0.25, sal=0.25)
    # population 20, 5 generations, 5 parents: 20 + 5 * 15 draws
    assert random_result['fitness_evaluations'] == 95

    # one random subnet: no predictor, the rule's decoders (or wider, when
    # the widening to 90 % of the budget reached them)
    drawn = json.load(open(osp.join(out_s, 'search_result.json')))
    _check_subnet(drawn, out_s)
    assert drawn['mode'] == 'random_subnet' and drawn['predictor'] is None
    assert drawn['fitness'] is None and drawn['fitness_evaluations'] == 0
    assert 'predicted_scores' not in drawn
    assert drawn['macs'] >= 0.9 * drawn['budget']
    for task, width in result['subnet']['decoders'].items():
        assert drawn['subnet']['decoders'][task] >= width
    assert 'accuracy predictor' not in done['sub'][1] + done['sub'][2]

    uniform = json.load(open(osp.join(out_u, 'search_result.json')))
    _check_subnet(uniform, out_u)
    assert uniform['predictor'] is None and uniform['rule'] is None
    # the uniform levels 0..3 (level 4 is the max subnet, over 0.6x)
    levels = [(0.5, 0.25), (0.625, 0.5), (0.75, 0.75), (0.875, 0.75)]
    enc = set(uniform['subnet']['encoder'].values())
    dec = set(uniform['subnet']['decoders'].values())
    assert len(enc) == 1 and len(dec) == 1
    assert (enc.pop(), dec.pop()) in levels

    code, _, err = done['infeasible']
    assert code != 0
    assert 'below the smallest subnet' in err and 'feasible range' in err
    # the refined predictor: its own cache, the base subnets read back
    # from the shared store, 2 rounds of at most 3 new picks measured
    refined = json.load(open(osp.join(out_f, 'search_result.json')))
    _check_subnet(refined, out_f)
    info = refined['predictor']
    assert not info['loaded']
    assert info['cache'] == predictor_cache_path(
        work, sha, 2, 3, settings=dict(num_subnets=4))
    assert osp.isfile(info['cache'])
    rounds = info['refinement']
    assert [r['round'] for r in rounds] == [0, 1]
    assert all(r['requests'] == 3 and 0 <= r['new_subnets'] <= 3
               for r in rounds)
    assert info['num_train'] == 6 + sum(r['new_subnets'] for r in rounds)
    first = rounds[0]
    assert first['new_subnets'] >= 1
    assert set(first['quality']['tasks']) == set(TASKS)
    assert isinstance(first['quality']['fitness_overprediction'], float)
    log_f = done['refined'][1] + done['refined'][2]
    assert 'Predictor refinement round 2' in log_f
    assert '6/6 done' not in log_f  # the base subnets came from the store
    store = osp.join(work, f'predictor_{sha[:12]}_subnets')
    folder = osp.join(store, 'refine_n4_k3_round0')
    assert EvaluatedSubnetStore(folder).num_done() == first['new_subnets']
    assert osp.isfile(osp.join(folder, 'protocol.json'))
    assert os.path.getmtime(cache) == mtime  # the plain one is untouched
    code, _, err = done['bad_refine']
    assert code == 2 and '--refine-rounds' in err and \
        'below the minimum 0' in err, err[-2000:]

    code, _, err = done['bad_use']
    assert code == 2 and '--min-utilization: min_utilization must be a ' \
        'number in [0, 1]' in err and "got 2.0" in err, err[-2000:]


def test_request_seed_is_per_request():
    pref = dict(semseg=0.4, depth=0.6)
    assert request_seed(0, pref, 1000) == request_seed(0, pref, 1000)
    seeds = {tuple(request_seed(s, p, b)) for s in (0, 1)
             for p in (pref, dict(semseg=0.5, depth=0.5)) for b in (1000, 2000)}
    assert len(seeds) == 8
