"""The InterroGate configs on real data (NYUD-v2 ResNet-34, PASCAL-Context
MobileNetV2, CIFAR-100 MTL ResNet-18): each loads, builds its gated network
(randomly initialised: no reference checkpoints in tests) and runs one
training step on a batch from its own training pipeline over a tiny dataset
in the real on-disk format; weights, gates and mixing weights all learn."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from test_cdma_configs import CASES

from mmecmt.registry import MODELS
from mmecmt.utils import register_all_modules

register_all_modules()

pytestmark = pytest.mark.usefixtures('one_thread')

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))


def _config(name):
    return osp.join(REPO, 'configs', 'interrogate', f'{name}.py')


@pytest.mark.parametrize('name', sorted(CASES))
def test_interrogate_config_structure(name):
    tasks, _ = CASES[name]
    cfg = Config.fromfile(_config(name))
    assert cfg.model.type == 'GatedMultiTaskNet'
    assert tuple(cfg.model.tasks) == tasks
    assert tuple(cfg.train_dataloader.dataset.tasks) == tasks
    assert set(cfg.model.task_checkpoints) == set(tasks)
    assert cfg.model.shared_checkpoint.startswith('work_dirs/')
    assert cfg.work_dir == f'work_dirs/interrogate_{name}'
    assert [h.type for h in cfg.custom_hooks] == ['ScheduledValueHook']
    assert cfg.custom_hooks[0].name == 'hard_gates'


@pytest.mark.parametrize('name', sorted(CASES))
def test_interrogate_config_trains_one_step(name, tmp_path):
    tasks, write = CASES[name]
    root = write(tmp_path)
    cfg = Config.fromfile(_config(name))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = root
    cfg.model.task_checkpoints = None
    cfg.model.shared_checkpoint = None
    cfg.train_dataloader.update(batch_size=2, num_workers=0,
                                persistent_workers=False)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    model.hard_gates = 0.0  # the warm-up: soft gates, every path learns
    assert model.tasks == list(tasks)
    loader = Runner.build_dataloader(cfg.train_dataloader)
    batch = next(iter(loader))
    for sample in batch['data_samples']:
        assert set(sample.keys()) == {f'gt_{t}' for t in tasks}
    groups = dict(gates=list(model.gate_logits), mix=[model.share_logits],
                  shared=list(model.shared_units.parameters()),
                  task=list(model.task_units[tasks[0]].parameters()))
    before = {k: [p.detach().clone() for p in v] for k, v in groups.items()}
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    log = {k: float(v.detach()) for k, v in
           model.train_step(batch, optim).items()}
    for key in [f'loss_{t}' for t in tasks] + ['loss_sparsity']:
        assert math.isfinite(log[key]), (key, log)
    assert log['loss_sparsity'] > 0  # every gate starts task-specific
    for group, params in groups.items():
        assert any(not torch.equal(a, b) for a, b in
                   zip(before[group], params)), group
