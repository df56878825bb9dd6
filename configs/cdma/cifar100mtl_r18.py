# CDMA stage 1 on CIFAR-100 MTL (20 five-way classification tasks, one per
# superclass): the edge hypernet over an anchor net of 20 frozen single-task
# CIFAR ResNet-18s (mmpretrain.ResNet_CIFAR + pooled linear head), cut into
# the stem and the 4 residual stages (L = 4 edge levels), as in
# "Controllable Dynamic Multi-Task Architectures" (Raychaudhuri et al.,
# CVPR 2022).
#
# Training, in three steps:
# 1. the single-task streams. Each is `stl_models[task]` below: the MTL
#    baseline (configs/mtl/cifar100mtl_r18_baseline.py) with one task,
#    trained with the baseline's data (the task's 2500 training images) and
#    20k-iteration AdamW schedule. The anchor loads them from
#        work_dirs/cifar100mtl_r18_<task>/iter_20000.pth
#                                       (task = cls_00, cls_01, ..., cls_19)
#    No config in the repository trains them, and `--cfg-options` cannot
#    drop heads from the baseline's `model.tasks` (it merges dicts, it
#    cannot delete keys). A stream's config is the pattern of
#    configs/stl/synthscenes_mbv2_semseg.py, e.g.
#    configs/stl/cifar100mtl_r18_cls_00.py:
#        with read_base():
#            from ..mtl.cifar100mtl_r18_baseline import *
#            from ..cdma.cifar100mtl_r18 import stl_models
#        model = stl_models['cls_00']
#        train_dataloader.dataset.update(tasks=('cls_00', ))
#        val_dataloader.dataset.update(tasks=('cls_00', ))
#        test_dataloader = val_dataloader
#    then `python tools/train.py configs/stl/cifar100mtl_r18_cls_00.py` (its
#    default work dir is the one above); the same for the 19 other tasks.
# 2. stage 1 (this config):
#        python tools/train.py configs/cdma/cifar100mtl_r18.py
# 3. stage 2: python tools/train.py configs/cdma/cifar100mtl_r18_stage2.py
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.cifar100_mtl import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.cdma import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_iters import *  # noqa: F401,F403

# the baseline's model with one task
stl_models = {
    task: dict(
        type='MultiTaskEncoderDecoder',
        data_preprocessor=cifar_data_preprocessor,
        backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                      out_indices=(3, )),
        tasks={
            task: dict(kind='classification', num_classes=5,
                       head=dict(type='ClsTaskHead', in_channels=512,
                                 in_index=-1))
        })
    for task in cifar_tasks
}
stl_iters = 20000
anchor = dict(
    type='AnchorNet',
    blocks='stages',
    streams={
        task: dict(
            model=stl_models[task],
            checkpoint=f'work_dirs/cifar100mtl_r18_{task}/'
            f'iter_{stl_iters}.pth')
        for task in cifar_tasks
    })
model = dict(
    cdma_model,
    architecture=dict(cdma_model['architecture'], anchor=anchor,
                      data_preprocessor=cifar_data_preprocessor))
work_dir = 'work_dirs/cdma_cifar100mtl_r18'

# The paper's GPU schedule: 30k steps of Adam (lr 1e-3 times 0.3 every 14k
# steps) with the Gumbel temperature 5.0 times 0.97 every 300 steps. Written
# in terms of `max_iters` (as the SynthScenes config, which shrinks it for
# CPU): the lr steps at 14/30 and 28/30 of the run, and the temperature
# decays every max_iters / 100 steps, so it ends at 5.0 * 0.97 ** 100 = 0.24.
# A GPU-scale run: max_iters = 30000, batches of 128 images of 32 x 32.
max_iters = 30000
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, gamma=0.3,
         milestones=[max_iters * 14 // 30, max_iters * 28 // 30])
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
custom_hooks = [
    dict(type='TaskAffinityHook', num_images=64, seed=0),
    dict(type='ScheduledValueHook', name='temperature', value=5.0,
         schedule='step', gamma=0.97, step_iters=max(1, max_iters // 100)),
]
default_hooks.checkpoint.update(interval=max_iters, max_keep_ckpts=1)
