"""Every shipped config loads and builds its model; every ECMT config (a
SandwichAlgorithm around a SlimMultiTaskEncoderDecoder) runs one sandwich
step on a small fake batch of its tasks and exports its smallest subnet as
a static model with equal outputs."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.structures import LabelData, PixelData

from mmecmt.models.algorithms import SandwichAlgorithm, architecture_of
from mmecmt.models.architectures import SlimMultiTaskEncoderDecoder
from mmecmt.models.slimmable import export_static
from mmecmt.registry import MODELS
from mmecmt.structures import MultiTaskDataSample
from mmecmt.utils import register_all_modules

register_all_modules()

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                       recursive=True)
    # the study configs of configs/comparison/ hold no model; they are
    # checked by tests/test_compare_methods.py
    if '_base_' not in p and 'comparison' not in osp.relpath(p, REPO))
ECMT_CONFIGS = [c for c in CONFIGS if c.startswith('configs/ecmt/')]
# (config, input size) of the ECMT configs on real data
REAL_ECMT = {
    'configs/ecmt/nyud_mbv2.py': (64, 64),
    'configs/ecmt/nyud_r34.py': (64, 64),
    'configs/ecmt/pascal_mbv2.py': (64, 64),
    'configs/ecmt/cifar100mtl_r18.py': (32, 32),
}


pytestmark = pytest.mark.usefixtures('one_thread')


def load(config):
    return Config.fromfile(osp.join(REPO, config))


def fake_gt(spec, h, w, gen):
    """A random ground truth of ``spec``'s kind in the packed format."""
    if spec.kind == 'classification':
        return LabelData(label=torch.randint(
            0, spec.out_channels, (1, ), generator=gen))
    if spec.kind == 'segmentation':
        data = torch.randint(0, spec.out_channels, (1, h, w), generator=gen)
    elif spec.kind == 'depth':
        data = torch.rand(1, h, w, generator=gen) * 5 + 0.5
    elif spec.kind == 'normals':
        data = torch.nn.functional.normalize(
            torch.randn(3, h, w, generator=gen), dim=0)
    else:  # edge, saliency
        data = (torch.rand(1, h, w, generator=gen) > 0.7).float()
    return PixelData(data=data)


def fake_batch(model, size, n=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    samples = []
    for _ in range(n):
        sample = MultiTaskDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        for task, spec in model.task_specs.items():
            sample.set_field(fake_gt(spec, h, w, gen), f'gt_{task}')
        samples.append(sample)
    inputs = [torch.randint(0, 256, (3, h, w), generator=gen,
                            dtype=torch.uint8) for _ in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def test_config_list():
    """The configs the issues ask for exist."""
    for name in ('synthscenes_mbv2', 'nyud_mbv2', 'nyud_r34', 'pascal_mbv2',
                 'cifar100mtl_r18'):
        assert f'configs/ecmt/{name}.py' in ECMT_CONFIGS


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds(config):
    cfg = load(config)
    assert cfg.default_scope == 'mmecmt'
    model = MODELS.build(cfg.model)
    assert set(model.tasks) == set(cfg.train_dataloader.dataset.tasks)
    if config in ECMT_CONFIGS:
        assert isinstance(model, SandwichAlgorithm)
        assert isinstance(model.architecture, SlimMultiTaskEncoderDecoder)
        assert cfg.val_cfg.type == 'SubnetValLoop'
        assert cfg.model_wrapper_cfg.type == \
            'mmecmt.models.wrappers.AlgorithmDDP'
        assert tuple(cfg.test_dataloader.dataset.tasks) == \
            tuple(cfg.val_dataloader.dataset.tasks)


@pytest.mark.parametrize('config', sorted(REAL_ECMT))
def test_real_data_ecmt_config_trains_and_exports(config):
    cfg = load(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    batch = fake_batch(model, REAL_ECMT[config])
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    optim = OptimWrapper(torch.optim.SGD(params, lr=0.01))
    log = model.train_step(batch, optim)
    assert model.subnet == model.max_subnet
    for task in model.tasks:
        assert np.isfinite(float(log[f'max.loss_{task}']))
        assert np.isfinite(float(log[f'min.loss_{task}']))
    assert float(log['min.loss_cikd']) > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, params))

    model = architecture_of(model).eval()
    spec = model.min_subnet
    data = model.data_preprocessor(batch, False)
    static = export_static(model, spec, example_input=data['inputs'])
    model.set_subnet(spec)
    with torch.no_grad():
        expected = model._forward(data['inputs'])
        got = static.eval()._forward(data['inputs'])
    for task in model.tasks:
        assert got[task].shape == expected[task].shape
        assert (got[task] - expected[task]).abs().max() <= 1e-4, task
