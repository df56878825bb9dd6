# Smoke-test variant of CDMA stage 1 (the test suite, an install check):
# three tasks, half-width MobileNetV2 streams with tiny heads (randomly
# initialised unless `model.architecture.anchor.streams.<task>.checkpoint`
# is set), the tiny SynthScenes data (48 x 64) and 4 iterations.
from mmengine.config import read_base

with read_base():
    from ..mtl.synthscenes_mbv2_tiny import *  # noqa: F401,F403
    from .synthscenes_mbv2 import (custom_hooks, deploy,  # noqa: F401
                                   optim_wrapper)

tiny_tasks = ('semseg', 'depth', 'normals')
for loader in (train_dataloader, val_dataloader):
    loader.dataset.tasks = tiny_tasks
test_dataloader = val_dataloader
anchor = dict(
    type='AnchorNet',
    blocks='stages',
    streams={
        task: dict(
            model=dict(model, tasks={task: model.tasks[task]}),
            checkpoint=None)
        for task in tiny_tasks
    })
model = dict(
    type='CDMAAlgorithm',
    stage=1,
    architecture=dict(
        type='CDMANet', anchor=anchor,
        edge_hypernet=dict(type='EdgeHypernet'),
        weight_hypernet=dict(type='WeightHypernet', hidden=(16, 16, 16)),
        default_request=dict(preference=None, cost=0.5),
        data_preprocessor=data_preprocessor),
    regularizer=dict(type='BranchingRegularizer'),
    dirichlet_alpha=0.2)
work_dir = 'work_dirs/cdma_synthscenes_mbv2_tiny'
max_iters = 4
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, gamma=0.3,
         milestones=[max_iters * 14 // 30, max_iters * 28 // 30])
]
train_cfg.update(max_iters=max_iters, val_interval=max_iters)
custom_hooks = [
    dict(type='TaskAffinityHook', num_images=8, seed=0),
    dict(type='ScheduledValueHook', name='temperature', value=5.0,
         schedule='step', gamma=0.97, step_iters=1),
]
default_hooks.checkpoint.update(interval=max_iters, max_keep_ckpts=1)
default_hooks.logger.update(interval=1)
find_unused_parameters = True
