# Smoke-test fixed multi-task model with the three tasks of the tiny CDMA and
# InterroGate configs (semseg, depth, normals), 4 iterations: the fixed
# model of the tiny comparison study (configs/comparison/synthscenes_tiny.py).
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2_tiny import *  # noqa: F401,F403

tiny_tasks = ('semseg', 'depth', 'normals')
model.tasks = {task: model.tasks[task] for task in tiny_tasks}
for loader in (train_dataloader, val_dataloader):
    loader.dataset.tasks = tiny_tasks
test_dataloader = val_dataloader
work_dir = 'work_dirs/synthscenes_mbv2_tiny_3tasks'
max_iters = 4
train_cfg.update(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
default_hooks.checkpoint.update(interval=max_iters, max_keep_ckpts=1)
