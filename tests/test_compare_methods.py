"""tools/benchmarks/compare_methods.py: the tiny study end to end (every
model trained, the single-task references measured, one controllability
report, the deployment costs, the study page), resuming without retraining,
seeds in their own work roots, shared references and bad input."""
import glob
import json
import os
import os.path as osp
import sys

import pytest

from conftest import REPO, run_tool

sys.path.insert(0, osp.join(REPO, 'tools', 'benchmarks'))
import compare_methods  # noqa: E402

TOOL = osp.join(REPO, 'tools', 'benchmarks', 'compare_methods.py')
STUDY = osp.join(REPO, 'configs', 'comparison', 'synthscenes_tiny.py')
TASKS = ('semseg', 'depth', 'normals')


@pytest.fixture(scope='module')
def tiny_study(tmp_path_factory):
    """The tiny study run once from nothing: ``(work root, stdout)``."""
    root = str(tmp_path_factory.mktemp('study'))
    proc = run_tool([TOOL, STUDY, '--work-root', root], timeout=900)
    return root, proc.stdout


def test_study_end_to_end(tiny_study):
    root, out = tiny_study
    work = osp.join(root, 'work_dirs')
    out_dir = osp.join(work, 'compare_synthscenes_tiny')
    # every step trained once, in order, with its wall and CPU time
    times = json.load(open(osp.join(work, 'study_times.json')))
    assert list(times) == [
        'stl/synthscenes_mbv2_tiny_semseg', 'stl/synthscenes_mbv2_tiny_depth',
        'stl/synthscenes_mbv2_tiny_normals',
        'cdma/synthscenes_mbv2_tiny_streams',
        'cdma/synthscenes_mbv2_tiny_stage2',
        'interrogate/synthscenes_mbv2_tiny',
        'mtl/synthscenes_mbv2_tiny_3tasks']
    assert all(t['wall_s'] > 0 and t['cpu_s'] > 0 for t in times.values())
    # the references are the single-task models' own scores
    reference = json.load(open(osp.join(out_dir, 'stl_reference.json')))
    stl_set = json.load(open(osp.join(out_dir, 'stl_set.json')))
    assert sorted(reference) == sorted(TASKS)
    assert stl_set['total_macs'] == sum(stl_set['macs'].values()) > 0
    # one report over the three methods, the single-task set as a point
    control = json.load(open(osp.join(out_dir, 'control',
                                      'control_results.json')))
    assert list(control['summary']) == ['CDMA', 'InterroGate', 'fixed MTL']
    assert control['stl_reference'] == pytest.approx(reference)
    assert control['reference_points']['single-task set'] == pytest.approx(
        [stl_set['total_macs'], 1.0])
    assert all(len(groups) == 1 for groups in control['summary'].values())
    assert 'CDMA vs InterroGate' in control['paired']['1.0x']
    costs = json.load(open(osp.join(out_dir, 'costs', 'method_costs.json')))
    assert [r['name'] for r in costs['results']] == [
        'CDMA', 'InterroGate', 'fixed MTL']
    page = open(osp.join(out_dir, 'study.md')).read()
    for heading in ('## Training cost, from nothing',
                    '## Controllability per method and budget',
                    '## Paired comparisons', "largest network",
                    '## What a deployment costs'):
        assert heading in page
    assert '| cdma/synthscenes_mbv2_tiny_stage2 |' in page
    assert osp.isfile(osp.join(out_dir, 'control', 'hv_vs_macs.png'))
    assert '[control]' in out and 'report:' in out


def test_second_run_trains_nothing(tiny_study, capsys, monkeypatch):
    root, _ = tiny_study
    monkeypatch.chdir(root)
    before = open(osp.join(root, 'work_dirs', 'study_times.json')).read()
    compare_methods.main([STUDY, '--work-root', root, '--stages', 'train'])
    out = capsys.readouterr().out
    assert out.count(': done (') == 7 and 'training' not in out
    assert open(osp.join(root, 'work_dirs',
                         'study_times.json')).read() == before
    # another seed in the same root is refused
    with pytest.raises(SystemExit) as exit_info:
        compare_methods.main([STUDY, '--work-root', root, '--seed', '3'])
    assert exit_info.value.code == 2
    assert 'give another --work-root' in capsys.readouterr().err


def test_seed_root_shares_references(tiny_study, tmp_path, capsys,
                                     monkeypatch):
    root, _ = tiny_study
    monkeypatch.chdir(tmp_path)
    seed_root = str(tmp_path / 'seed1')
    compare_methods.main([STUDY, '--work-root', seed_root, '--seed', '1',
                          '--share-references', root, '--dry-run'])
    out = capsys.readouterr().out
    for task in TASKS:
        link = osp.join(seed_root, 'work_dirs',
                        f'synthscenes_mbv2_tiny_{task}')
        assert osp.islink(link) and osp.isfile(osp.join(link, 'iter_4.pth'))
        assert f'stl/synthscenes_mbv2_tiny_{task}: done' in out
    assert 'cdma/synthscenes_mbv2_tiny_stage2: training' in out
    assert not osp.exists(osp.join(seed_root, 'work_dirs', 'study_times.json'))
    options = json.load(open(osp.join(seed_root, 'work_dirs',
                                      'study_options.json')))
    assert options['cfg_options'] == {'randomness.seed': 1}


@pytest.mark.parametrize('study_text, message', [
    ("references = dict(semseg='configs/stl/synthscenes_mbv2_semseg.py')\n"
     "methods = [dict(name='A', pipeline='magic', configs=['x.py'])]\n"
     "budgets = ['1.0x']\n", "pipeline 'magic'"),
    ("references = dict(semseg='configs/stl/synthscenes_mbv2_semseg.py')\n"
     "methods = [dict(name='A', pipeline='train', configs=['x.py'])]\n"
     "budgets = ['1.0x']\npairs = [('A', 'B')]\n", 'unknown method'),
    ("references = dict(semseg='configs/stl/synthscenes_mbv2_semseg.py')\n"
     "methods = []\nbudgets = ['1.0x']\n", '`methods` is missing'),
])
def test_bad_study(tmp_path, capsys, monkeypatch, study_text, message):
    monkeypatch.chdir(tmp_path)
    study = tmp_path / 'study.py'
    study.write_text(study_text)
    with pytest.raises(SystemExit) as exit_info:
        compare_methods.main([str(study), '--work-root', str(tmp_path / 'r'),
                              '--dry-run'])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize('study', sorted(
    glob.glob(osp.join(REPO, 'configs', 'comparison', '*.py'))))
def test_shipped_studies_plan(study, monkeypatch):
    """Every shipped study loads and plans: its methods' configs exist and
    every pipeline's steps are consistent (checkpoints not needed)."""
    monkeypatch.chdir(REPO)
    loaded = compare_methods.load_study(study)
    steps, per_method, checkpoints = compare_methods.plan(loaded, {})
    assert list(per_method) == [m.name for m in loaded.methods]
    assert all(checkpoints[m.name] for m in loaded.methods)
    names = [s[0] for s in steps]
    assert len(names) == len(set(names))  # every step once


def test_variant_reaches_every_step(monkeypatch):
    """Another SynthScenes (``--cfg-options``) trains every model on it:
    the references, CDMA's streams and InterroGate's references included
    (their own pipelines train those with the configs' data)."""
    monkeypatch.chdir(REPO)
    variant = {'train_dataloader.dataset.generate.seed': 3,
               'val_dataloader.dataset.generate.seed': 3}
    steps, _, _ = compare_methods.plan(compare_methods.load_study(STUDY),
                                       variant)
    assert len(steps) == 7
    assert all(options == variant for _, _, options, _ in steps)
    assert all(config is not None for _, config, _, _ in steps)


def test_seed_needs_its_own_root(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    with pytest.raises(SystemExit) as exit_info:
        compare_methods.main([STUDY, '--seed', '1', '--dry-run'])
    assert exit_info.value.code == 2
    assert '--seed needs its own --work-root' in capsys.readouterr().err
    assert os.getcwd() == REPO


def test_across_seeds(tiny_study, tmp_path, capsys, monkeypatch):
    """--across: HV and the pairs' gaps with a t interval over two roots
    (the second a copy of the first with shifted HV)."""
    root, _ = tiny_study
    monkeypatch.chdir(tmp_path)
    other = tmp_path / 'seed1'
    control_dir = other / 'work_dirs' / 'compare_synthscenes_tiny' / 'control'
    control_dir.mkdir(parents=True)
    control = json.load(open(osp.join(
        root, 'work_dirs', 'compare_synthscenes_tiny', 'control',
        'control_results.json')))
    first = {m: g['1.0x']['hv'] for m, g in control['summary'].items()}
    for method, shift in (('CDMA', 0.1), ('InterroGate', -0.1)):
        control['summary'][method]['1.0x']['hv'] += shift
    (control_dir / 'control_results.json').write_text(json.dumps(control))
    (other / 'work_dirs' / 'study_options.json').write_text(
        json.dumps(dict(cfg_options={'randomness.seed': 1})))
    compare_methods.main([STUDY, '--work-root', root, '--stages', 'report',
                          '--across', 'seed1', '--publish', 'docs'])
    out_dir = osp.join(root, 'work_dirs', 'compare_synthscenes_tiny')
    seeds = json.load(open(osp.join(out_dir, 'seeds.json')))
    assert seeds['seeds'] == ['seed of the configs', 'seed 1']
    cdma = seeds['hv']['CDMA']['1.0x']
    assert cdma['values'] == pytest.approx([first['CDMA'],
                                            first['CDMA'] + 0.1])
    assert cdma['mean'] == pytest.approx(first['CDMA'] + 0.05)
    # two seeds: t(0.975, 1) = 12.706, sd = 0.1 / sqrt(2)
    assert cdma['high'] - cdma['mean'] == pytest.approx(12.706 * 0.05,
                                                        rel=1e-3)
    gap = seeds['gaps']['1.0x']['CDMA vs InterroGate']
    diff = first['CDMA'] - first['InterroGate']
    assert gap['values'] == pytest.approx([diff, diff + 0.2])
    # a spread of 0.2 over two seeds: +-1.27 around the mean gap
    assert gap['high'] - gap['mean'] == pytest.approx(12.706 * 0.1, rel=1e-3)
    assert gap['verdict'] == 'not distinguishable'
    page = open(osp.join(out_dir, 'seeds.md')).read()
    assert '| CDMA | 1.0x |' in page and 'hv_seeds.png' in page
    assert osp.isfile(osp.join(out_dir, 'hv_seeds.png'))
    # the pages and figures, not the caches
    published = {osp.relpath(osp.join(d, f), tmp_path / 'docs')
                 for d, _, files in os.walk(tmp_path / 'docs') for f in files}
    assert published == set(compare_methods.PUBLISHED)
