"""CDMA's RSA task affinity (mmecmt.models.controllers.task_affinity),
TaskAffinityHook and tools/analysis_tools/plot_task_affinity.py."""
import importlib.util
import json
import logging
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from mmecmt.engine.hooks import TaskAffinityHook
from mmecmt.models.controllers import (TaskAffinity, plot_task_affinity,
                                       representation_dissimilarity,
                                       rsa_affinity)
from mmecmt.registry import HOOKS

pytestmark = pytest.mark.usefixtures('one_thread')

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'plot_task_affinity.py')
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _features_of_correlation(corr: torch.Tensor) -> torch.Tensor:
    """(K, 2K) features whose per-image Pearson correlations are ``corr``
    (a PSD matrix with unit diagonal): rows ``[v, -v]`` have mean 0, so
    their Pearson correlation is the cosine of the ``v``, ``corr``'s
    factor."""
    values, vectors = torch.linalg.eigh(corr.double())
    factor = vectors * values.clamp_min(0).sqrt()
    return torch.cat([factor, -factor], dim=1).float()


def _random_correlation(k=12, dim=5, seed=0):
    v = torch.randn(k, dim, generator=_gen(seed), dtype=torch.float64)
    v = v / v.norm(dim=1, keepdim=True)
    return v @ v.t()


def _assert_valid_affinity(a, n):
    assert a.shape == (n, n) and a.dtype == torch.float32
    assert torch.equal(a, a.t())
    assert torch.equal(torch.diagonal(a), torch.ones(n))
    assert float(a.min()) >= 0 and float(a.max()) <= 1


# ----------------------------------------------------------------------
# representation_dissimilarity / rsa_affinity
# ----------------------------------------------------------------------
def test_rdm_is_one_minus_pearson():
    x = torch.randn(6, 4, 3, 3, generator=_gen())
    rdm = representation_dissimilarity(x)
    expected = 1 - np.corrcoef(x.reshape(6, -1).double().numpy())
    np.fill_diagonal(expected, 0)
    assert rdm.shape == (6, 6)
    np.testing.assert_allclose(rdm.numpy(), expected, atol=1e-6)


def test_rdm_guards_zero_variance():
    x = torch.randn(5, 10, generator=_gen())
    x[2] = 3.0  # constant vector
    rdm = representation_dissimilarity(x)
    assert torch.isfinite(rdm).all()
    assert torch.equal(torch.diagonal(rdm), torch.zeros(5))
    others = [i for i in range(5) if i != 2]
    assert torch.allclose(rdm[2, others], torch.ones(4))
    assert torch.allclose(rdm[others, 2], torch.ones(4))


def test_identical_features_give_affinity_one():
    f = [torch.randn(10, 4, 3, 3, generator=_gen(s)) for s in range(2)]
    other = [torch.randn(10, 4, 3, 3, generator=_gen(9 + s))
             for s in range(2)]
    # task 1 = task 0 up to a positive scale and offset per image
    scaled = [2.5 * x + 1.0 for x in f]
    a = rsa_affinity([f, scaled, other])
    _assert_valid_affinity(a, 3)
    assert a[0, 1].item() == pytest.approx(1.0, abs=1e-6)
    assert a[0, 2].item() < 0.9


def test_random_features_symmetric_unit_diagonal_in_range():
    feats = [[torch.randn(9, 3, 4, 4, generator=_gen(10 * t)),
              torch.randn(9, 7, generator=_gen(10 * t + 5))]
             for t in range(4)]
    a = rsa_affinity(feats)
    _assert_valid_affinity(a, 4)
    # unrelated streams: rank correlation near 0, affinity near 0.5
    off = a[~torch.eye(4, dtype=torch.bool)]
    assert float((off - 0.5).abs().max()) < 0.3


def test_monotone_transform_of_rdm_keeps_affinity_one():
    corr = _random_correlation()
    # elementwise cube: PSD (Schur product theorem), unit diagonal, and a
    # strictly increasing map of every correlation, so RDM_b = f(RDM_a)
    # with f monotone: a different RDM with the same ranks
    a_feat = _features_of_correlation(corr)
    b_feat = _features_of_correlation(corr ** 3)
    rdm_a = representation_dissimilarity(a_feat)
    rdm_b = representation_dissimilarity(b_feat)
    assert not torch.allclose(rdm_a, rdm_b, atol=1e-2)
    expected_b = 1 - (1 - rdm_a.double()) ** 3
    assert torch.allclose(rdm_b.double(), expected_b, atol=1e-4)
    a = rsa_affinity([[a_feat], [b_feat]])
    assert a[0, 1].item() == pytest.approx(1.0, abs=1e-6)


def test_anti_correlated_structure_gives_low_affinity():
    corr = _random_correlation()
    # off-diagonal correlations negated and shrunk: (1 + c) I - c C is PSD
    # for c <= 1 / (lambda_max - 1), with the exact reverse ranking
    c = 0.5 / (float(torch.linalg.eigvalsh(corr).max()) - 1)
    reverse = (1 + c) * torch.eye(len(corr), dtype=corr.dtype) - c * corr
    a = rsa_affinity([[_features_of_correlation(corr)],
                      [_features_of_correlation(reverse)]])
    _assert_valid_affinity(a, 2)
    assert a[0, 1].item() < 0.05


def test_levels_are_averaged():
    corr = _random_correlation()
    same = _features_of_correlation(corr)
    c = 0.5 / (float(torch.linalg.eigvalsh(corr).max()) - 1)
    rev = _features_of_correlation(
        (1 + c) * torch.eye(len(corr), dtype=corr.dtype) - c * corr)
    a = rsa_affinity([[same, same], [same, rev]])
    assert a[0, 1].item() == pytest.approx(0.5, abs=1e-4)


def test_validation_errors():
    x = torch.randn(5, 4)
    with pytest.raises(ValueError, match='non-empty'):
        rsa_affinity([])
    with pytest.raises(ValueError, match='no feature levels'):
        rsa_affinity([[], []])
    with pytest.raises(ValueError, match='numbers of levels.*task 1 has 1'):
        rsa_affinity([[x, x], [x]])
    with pytest.raises(ValueError, match=r'features\[1\]\[0\] has 4'):
        rsa_affinity([[x], [torch.randn(4, 4)]])
    with pytest.raises(ValueError, match=r'features\[0\]\[1\] has 6'):
        rsa_affinity([[x, torch.randn(6, 3)], [x, x]])
    with pytest.raises(ValueError, match='K >= 3'):
        rsa_affinity([[torch.randn(2, 4)], [torch.randn(2, 4)]])
    with pytest.raises(ValueError, match='sequence of levels'):
        rsa_affinity([x, x])


# ----------------------------------------------------------------------
# TaskAffinity
# ----------------------------------------------------------------------
def _affinity():
    feats = [[torch.randn(8, 3, 4, 4, generator=_gen(t))] for t in range(3)]
    return TaskAffinity(rsa_affinity(feats), ['seg', 'depth', 'normal'],
                        num_images=8, levels=1, key='anchor@abc/K8/seed0')


def test_save_load_round_trip(tmp_path):
    aff = _affinity()
    path = aff.save(str(tmp_path / 'sub' / 'aff.json'))
    data = json.loads(open(path).read())
    assert data['key'] == 'anchor@abc/K8/seed0'
    back = TaskAffinity.load(path)
    assert torch.equal(back.matrix, aff.matrix)
    assert back.tasks == aff.tasks and back.key == aff.key
    assert (back.num_images, back.levels) == (8, 1)


def test_load_errors_name_the_file(tmp_path):
    missing = str(tmp_path / 'none.json')
    with pytest.raises(FileNotFoundError, match='none.json does not exist'):
        TaskAffinity.load(missing)
    corrupt = tmp_path / 'corrupt.json'
    corrupt.write_text('{"matrix": [[1, 0.5], ')
    with pytest.raises(ValueError, match='corrupt.json is not valid JSON'):
        TaskAffinity.load(str(corrupt))
    shape = tmp_path / 'shape.json'
    shape.write_text(json.dumps(dict(matrix=[[1, 0.5], [0.5, 1]],
                                     tasks=['a', 'b', 'c'], num_images=8,
                                     levels=1, key='k')))
    with pytest.raises(ValueError, match=r'shape.json.*\(2, 2\).*\(3, 3\)'):
        TaskAffinity.load(str(shape))
    lacking = tmp_path / 'lacking.json'
    lacking.write_text(json.dumps(dict(tasks=['a'])))
    with pytest.raises(ValueError, match='lacking.json lacks matrix'):
        TaskAffinity.load(str(lacking))


def _toy_block_features(batch):
    """Three 'streams' of a toy anchor, two levels each (one spatial)."""
    x = batch.float()
    gray = x.mean(dim=1, keepdim=True)
    return [[x, x.mean(dim=(2, 3))],
            [2 * x + 1, x.mean(dim=(2, 3)) * 3],
            [gray.flip(-1) ** 2, x.amax(dim=(2, 3))]]


def test_compute_from_tensor_and_batches():
    images = torch.rand(10, 3, 20, 20, generator=_gen())
    one = TaskAffinity.compute(_toy_block_features, images, ['a', 'b', 'c'],
                               key='k', batch_size=4)
    batched = TaskAffinity.compute(_toy_block_features,
                                   [images[:3], images[3:]],
                                   ['a', 'b', 'c'], key='k')
    assert (one.num_images, one.levels, one.key) == (10, 2, 'k')
    _assert_valid_affinity(one.matrix, 3)
    assert torch.allclose(one.matrix, batched.matrix)
    assert one.matrix[0, 1].item() == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match='3 task streams for 2 tasks'):
        TaskAffinity.compute(_toy_block_features, images, ['a', 'b'])


def test_compute_pools_spatial_maps_to_8x8():
    images = torch.rand(6, 3, 20, 16, generator=_gen())

    def streams(batch):
        return [[batch], [batch.mean(1, keepdim=True).flip(-1) ** 2]]

    pooled = torch.nn.functional.adaptive_avg_pool2d(images, 8)
    expected = rsa_affinity([[f] for f in (pooled, pooled.mean(1, True)
                                           .flip(-1) ** 2)])
    got = TaskAffinity.compute(streams, images, ['a', 'b']).matrix
    full = TaskAffinity.compute(streams, images, ['a', 'b'],
                                max_spatial=None).matrix
    expected_full = rsa_affinity([[f] for f in (images, images.mean(1, True)
                                                .flip(-1) ** 2)])
    assert torch.allclose(full, expected_full)
    # pooling a mean commutes; the square does not, so check the whole path
    pooled_b = torch.nn.functional.adaptive_avg_pool2d(
        images.mean(1, True).flip(-1) ** 2, 8)
    assert torch.allclose(got, rsa_affinity([[pooled], [pooled_b]]))
    assert expected.shape == (2, 2)


def test_plot_task_affinity(tmp_path):
    out = plot_task_affinity(_affinity(), str(tmp_path / 'plots' / 'a.png'))
    with open(out, 'rb') as f:
        assert f.read(8) == PNG_MAGIC


# ----------------------------------------------------------------------
# TaskAffinityHook
# ----------------------------------------------------------------------
class _FakeAnchor(nn.Module):
    tasks = ['seg', 'depth', 'normal']

    def __init__(self):
        super().__init__()
        self.calls = 0
        self.modes = []
        self.version = 'v1'

    def block_features(self, inputs):
        self.calls += 1
        self.modes.append(self.training)
        assert not torch.is_grad_enabled()
        return _toy_block_features(inputs)

    def affinity_key(self, num_images, seed):
        return f'fake-anchor-{self.version}/K{num_images}/seed{seed}'


class _FakeModel(nn.Module):

    def __init__(self):
        super().__init__()
        self.anchor = _FakeAnchor()
        self.affinity = None
        self.preprocessed = 0

    def data_preprocessor(self, data, training):
        assert training is False
        self.preprocessed += len(data['inputs'])
        assert all(s['index'] >= 0 for s in data['data_samples'])
        return dict(inputs=torch.stack(data['inputs']).float() / 255,
                    data_samples=data['data_samples'])

    def set_task_affinity(self, matrix):
        self.affinity = matrix


class _FakeDataset:

    def __len__(self):
        return 20

    def __getitem__(self, idx):
        image = torch.randint(0, 256, (3, 12, 12), dtype=torch.uint8,
                              generator=_gen(idx))
        return dict(inputs=image, data_samples=dict(index=idx))


def _runner(work_dir, model):
    return SimpleNamespace(
        work_dir=str(work_dir), model=model,
        logger=logging.getLogger('test_task_affinity'),
        train_dataloader=SimpleNamespace(dataset=_FakeDataset()))


def test_hook_computes_saves_caches_and_sets(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger='test_task_affinity')
    model = _FakeModel()
    model.train()
    runner = _runner(tmp_path, SimpleNamespace(module=model))  # a wrapper
    hook = HOOKS.build(dict(type='TaskAffinityHook', num_images=10, seed=3))
    hook.before_train(runner)
    # 10 images in batches of 8: two forward passes, in eval mode
    assert model.anchor.calls == 2 and model.preprocessed == 10
    assert model.anchor.modes == [False, False] and model.anchor.training
    cache = tmp_path / 'task_affinity.json'
    assert cache.is_file() and (tmp_path / 'task_affinity.png').is_file()
    saved = TaskAffinity.load(str(cache))
    assert saved.key == 'fake-anchor-v1/K10/seed3'
    assert saved.num_images == 10 and saved.tasks == _FakeAnchor.tasks
    assert torch.equal(model.affinity, saved.matrix)
    _assert_valid_affinity(model.affinity, 3)
    assert 'Task affinity (computed' in caplog.text

    # second run: the cache is loaded, the anchor not run
    other = _FakeModel()
    TaskAffinityHook(num_images=10, seed=3).before_train(
        _runner(tmp_path, other))
    assert other.anchor.calls == 0
    assert torch.equal(other.affinity, saved.matrix)
    assert 'loaded from' in caplog.text

    # another anchor (key): recomputed and the cache replaced
    other = _FakeModel()
    other.anchor.version = 'v2'
    TaskAffinityHook(num_images=10, seed=3).before_train(
        _runner(tmp_path, other))
    assert other.anchor.calls == 2
    assert TaskAffinity.load(str(cache)).key == 'fake-anchor-v2/K10/seed3'


def test_hook_is_deterministic_and_honours_cache_file(tmp_path):
    first, second = _FakeModel(), _FakeModel()
    TaskAffinityHook(num_images=9, seed=1, cache_file='a/aff.json',
                     plot=False).before_train(_runner(tmp_path, first))
    TaskAffinityHook(num_images=9, seed=1,
                     cache_file=str(tmp_path / 'b.json'),
                     plot=False).before_train(_runner(tmp_path, second))
    assert (tmp_path / 'a' / 'aff.json').is_file()
    assert not (tmp_path / 'a' / 'task_affinity.png').exists()
    assert (tmp_path / 'b.json').is_file()
    assert torch.equal(first.affinity, second.affinity)


def test_hook_corrupt_cache_is_recomputed(tmp_path):
    (tmp_path / 'task_affinity.json').write_text('not json')
    model = _FakeModel()
    TaskAffinityHook(num_images=5, plot=False).before_train(
        _runner(tmp_path, model))
    assert model.anchor.calls == 1
    assert TaskAffinity.load(str(tmp_path / 'task_affinity.json')).key


def test_hook_errors_without_anchor_or_setter(tmp_path):
    hook = TaskAffinityHook(num_images=5)
    with pytest.raises(AttributeError, match='`anchor`'):
        hook.before_train(_runner(tmp_path, nn.Linear(2, 2)))
    model = SimpleNamespace(anchor=_FakeAnchor(),
                            data_preprocessor=_FakeModel().data_preprocessor)
    with pytest.raises(AttributeError, match='set_task_affinity'):
        hook.before_train(_runner(tmp_path, model))
    with pytest.raises(ValueError, match='num_images'):
        TaskAffinityHook(num_images=2)


# ----------------------------------------------------------------------
# tools/analysis_tools/plot_task_affinity.py
# ----------------------------------------------------------------------
def _tool():
    spec = importlib.util.spec_from_file_location('plot_task_affinity_tool',
                                                  TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_replots(tmp_path, capsys):
    path = _affinity().save(str(tmp_path / 'task_affinity.json'))
    tool = _tool()
    tool.main([path])
    with open(tmp_path / 'task_affinity.png', 'rb') as f:
        assert f.read(8) == PNG_MAGIC
    out = str(tmp_path / 'other' / 'x.png')
    tool.main([path, '--out', out])
    assert osp.isfile(out)
    assert 'normal' in capsys.readouterr().out


@pytest.mark.parametrize('content', [None, '{"matrix": ['])
def test_tool_bad_file_exits_2(tmp_path, capsys, content):
    path = tmp_path / 'aff.json'
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exc:
        _tool().main([str(path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'aff.json' in err
