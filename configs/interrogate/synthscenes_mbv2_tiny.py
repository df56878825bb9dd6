# Smoke-test variant of InterroGate (the test suite, an install check): three
# tasks, a half-width MobileNetV2 with tiny heads, randomly initialised
# branches (no reference checkpoints), the tiny SynthScenes data (48 x 64),
# 4 iterations with a 2-iteration gate warm-up, and a budget of half the
# fully specialised model.
from mmengine.config import read_base

with read_base():
    from ..mtl.synthscenes_mbv2_tiny import *  # noqa: F401,F403
    from .._base_.models.interrogate import *  # noqa: F401,F403

tiny_tasks = ('semseg', 'depth', 'normals')
for loader in (train_dataloader, val_dataloader):
    loader.dataset.tasks = tiny_tasks
test_dataloader = val_dataloader
model = dict(
    gated_model,
    data_preprocessor=data_preprocessor,
    backbone=model.backbone,
    tasks={task: model.tasks[task] for task in tiny_tasks},
    sparsity=dict(macs_budget, budget='0.5x', input_shape=crop_size))
work_dir = 'work_dirs/interrogate_synthscenes_mbv2_tiny'
max_iters = 4
train_cfg.update(max_iters=max_iters, val_interval=max_iters)
optim_wrapper.update(paramwise_cfg=gate_paramwise_cfg)
custom_hooks = [dict(gate_hooks[0], warmup_iters=2)]
default_hooks.checkpoint.update(interval=max_iters, max_keep_ckpts=1)
default_hooks.logger.update(interval=1)
find_unused_parameters = False
