# CIFAR-100 MTL: a CIFAR ResNet-18 (mmpretrain.ResNet_CIFAR) shared by 20
# five-way classification heads (global pooling + linear).
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.cifar100_mtl import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_cosine_20k import *  # noqa: F401,F403

model = dict(
    type='MultiTaskEncoderDecoder',
    data_preprocessor=cifar_data_preprocessor,
    backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                  out_indices=(3, )),
    tasks={
        task: dict(kind='classification', num_classes=5,
                   head=dict(type='ClsTaskHead', in_channels=512,
                             in_index=-1))
        for task in cifar_tasks
    })
