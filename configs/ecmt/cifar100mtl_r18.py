# ECMT on CIFAR-100 MTL (20 five-way classification tasks): a slimmable CIFAR
# ResNet-18 (mmpretrain.ResNet_CIFAR keys) shared by 20 slimmable
# classification heads (pool -> 256 hidden units, searched -> 5 logits).
# CI-KD pulls the pooled-from layer4 features of every subnet towards the
# largest subnet's.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.cifar100_mtl import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_cosine_20k import *  # noqa: F401,F403
    from .._base_.ecmt_runtime import *  # noqa: F401,F403

model = dict(
    type='SandwichAlgorithm',
    architecture=dict(
        type='SlimMultiTaskEncoderDecoder',
        data_preprocessor=cifar_data_preprocessor,
        backbone=dict(type='SlimResNetCIFAR', depth=18, out_indices=(3, ),
                      divisor=8),
        tasks={
            task: dict(kind='classification', num_classes=5,
                       head=dict(type='SlimClsTaskHead', in_channels=512,
                                 channels=256, in_index=-1))
            for task in cifar_tasks
        },
        search_space=dict(
            encoder=dict(
                choices=(0.5, 0.625, 0.75, 0.875, 1.0),
                stages=('stem', 'layer1', 'layer2', 'layer3', 'layer4')),
            decoder=dict(choices=(0.25, 0.5, 0.75, 1.0)))),
    sampler=dict(num_random=2, seed=0),
    distiller=dict(
        loss=dict(type='CIKDLoss', distance='mse', loss_weight=1.0),
        levels=None))
