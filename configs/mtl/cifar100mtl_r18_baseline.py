# CIFAR-100 MTL: a CIFAR ResNet-18 (mmpretrain.ResNet_CIFAR) shared by 20
# five-way classification heads (global pooling + linear).
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.cifar100_mtl import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_iters import *  # noqa: F401,F403

model = dict(
    type='MultiTaskEncoderDecoder',
    data_preprocessor=dict(
        type='MultiTaskDataPreProcessor',
        mean=(129.3, 124.1, 112.4),
        std=(68.2, 65.4, 70.4),
        bgr_to_rgb=True),
    backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                  out_indices=(3, )),
    tasks={
        task: dict(kind='classification', num_classes=5,
                   head=dict(type='ClsTaskHead', in_channels=512,
                             in_index=-1))
        for task in cifar_tasks
    })
max_iters = 20000
train_cfg.update(max_iters=max_iters, val_interval=2000)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-6,
         by_epoch=False, begin=0, end=max_iters),
]
default_hooks.checkpoint.update(interval=2000)
