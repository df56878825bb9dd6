"""The CDMA configs on real data (NYUD-v2 ResNet-34, PASCAL-Context
MobileNetV2, CIFAR-100 MTL ResNet-18): each loads, builds its anchor of
single-task streams (randomly initialised: no stream checkpoints in tests)
and runs one stage-1 and one stage-2 step on a batch from its own training
pipeline over a tiny dataset in the real on-disk format."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from test_datasets_cifar100_mtl import write_cifar
from test_datasets_end_to_end import make_nyud
from test_datasets_pascal import make_pascal

from mmecmt.registry import MODELS
from mmecmt.utils import register_all_modules

register_all_modules()

pytestmark = pytest.mark.usefixtures('one_thread')

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
CIFAR_TASKS = tuple(f'cls_{c:02d}' for c in range(20))


def _nyud_root(tmp_path):
    return str(make_nyud(tmp_path / 'NYUD_MT'))


def _pascal_root(tmp_path):
    return str(make_pascal(tmp_path / 'PASCAL_MT'))


def _cifar_root(tmp_path):
    write_cifar(tmp_path)  # tmp_path/cifar-100-python/{train,test,meta}
    return str(tmp_path)


# name: (stage-1 config, tasks in the dataset's order, fixture writer)
CASES = {
    'nyud_r34': (('semseg', 'depth', 'normals'), _nyud_root),
    'pascal_mbv2': (('semseg', 'parts', 'sal', 'normals', 'edge'),
                    _pascal_root),
    'cifar100mtl_r18': (CIFAR_TASKS, _cifar_root),
}


def _config(name, stage2=False):
    suffix = '_stage2' if stage2 else ''
    return osp.join(REPO, 'configs', 'cdma', f'{name}{suffix}.py')


def _prepare(cfg, data_root):
    """The tiny data, random streams, a small loader in this process."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    for stream in cfg.model.architecture.anchor.streams.values():
        stream.checkpoint = None
    cfg.train_dataloader.update(batch_size=2, num_workers=0,
                                persistent_workers=False)
    return cfg


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return [not torch.equal(a, b)
            for a, b in zip(before, module.parameters())]


def _step(model, batch):
    params = [p for p in model.parameters() if p.requires_grad]
    optim = OptimWrapper(torch.optim.Adam(params, lr=1e-3))
    log = model.train_step(batch, optim)
    return {k: float(v.detach()) for k, v in log.items()}


@pytest.mark.parametrize('name', sorted(CASES))
def test_cdma_config_structure(name):
    """Tasks in the dataset's order; own work dirs; stage 2 starts from the
    stage-1 checkpoint."""
    tasks, _ = CASES[name]
    cfg1 = Config.fromfile(_config(name))
    cfg2 = Config.fromfile(_config(name, stage2=True))
    for cfg, stage in ((cfg1, 1), (cfg2, 2)):
        assert cfg.model.type == 'CDMAAlgorithm'
        assert cfg.model.stage == stage
        streams = cfg.model.architecture.anchor.streams
        assert tuple(streams) == tasks
        assert tuple(cfg.train_dataloader.dataset.tasks) == tasks
        assert tuple(cfg.val_dataloader.dataset.tasks) == tasks
        for task, stream in streams.items():
            assert list(stream.model.tasks) == [task]
            assert stream.checkpoint.startswith('work_dirs/')
            assert stream.checkpoint.endswith('.pth')
            assert task in stream.checkpoint
    assert cfg1.work_dir == f'work_dirs/cdma_{name}'
    assert cfg2.work_dir == f'work_dirs/cdma_{name}_stage2'
    assert cfg1.load_from is None
    assert osp.dirname(cfg2.load_from) == cfg1.work_dir
    assert cfg2.load_from == f'{cfg1.work_dir}/iter_{cfg1.max_iters}.pth'
    assert [h.type for h in cfg1.custom_hooks] == [
        'TaskAffinityHook', 'ScheduledValueHook']
    assert cfg2.custom_hooks == []


@pytest.mark.parametrize('name', sorted(CASES))
def test_cdma_config_trains_both_stages(name, tmp_path):
    tasks, write = CASES[name]
    root = write(tmp_path)
    torch.manual_seed(0)

    # stage 1: the edge hypernet learns, nothing else
    cfg = _prepare(Config.fromfile(_config(name)), root)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    assert model.architecture.tasks == list(tasks)
    n = len(tasks)
    model.set_task_affinity(torch.eye(n) * 0.5 + 0.5)
    loader = Runner.build_dataloader(cfg.train_dataloader)
    batch = next(iter(loader))
    # the pipeline packs every task's ground truth
    for sample in batch['data_samples']:
        assert set(sample.keys()) == {f'gt_{t}' for t in tasks}
    arch = model.architecture
    anchor, edge, weight = (_params(arch.anchor), _params(arch.edge_hypernet),
                            _params(arch.weight_hypernet))
    log = _step(model, batch)
    for key in ('loss_task', 'loss_branch_active', 'loss_branch_inactive'):
        assert math.isfinite(log[key]), (key, log)
    assert any(_changed(edge, arch.edge_hypernet))
    assert not any(_changed(anchor, arch.anchor))
    assert not any(_changed(weight, arch.weight_hypernet))

    # stage 2 from the stage-1 weights: the weight hypernet learns
    cfg2 = _prepare(Config.fromfile(_config(name, stage2=True)), root)
    model2 = MODELS.build(cfg2.model)
    model2.load_state_dict(model.state_dict(), strict=True)
    model2.train()
    del model
    assert torch.equal(model2.task_affinity, torch.eye(n) * 0.5 + 0.5)
    arch = model2.architecture
    anchor, edge, weight = (_params(arch.anchor), _params(arch.edge_hypernet),
                            _params(arch.weight_hypernet))
    log = _step(model2, batch)
    assert math.isfinite(log['loss_task']), log
    assert 'loss_branch_active' not in log
    assert any(_changed(weight, arch.weight_hypernet))
    assert not any(_changed(edge, arch.edge_hypernet))
    assert not any(_changed(anchor, arch.anchor))
