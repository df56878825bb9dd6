# CDMA stage 1 on NYUD-v2 (semseg, depth, normals; the tasks of ECMT's
# configs/ecmt/nyud_r34.py): the edge hypernet over an anchor net of three
# frozen single-task ResNet-34 + DeepLabv3+ models, cut into the deep stem
# and the 4 residual stages (L = 4 edge levels), as in "Controllable Dynamic
# Multi-Task Architectures" (Raychaudhuri et al., CVPR 2022).
#
# Training, in three steps:
# 1. the single-task streams. Each is `stl_models[task]` below: mmseg's
#    ResNetV1c-34 (deep stem, output stride 16, the layers of ECMT's
#    `ecmt_r34_deeplabv3plus.py` at full width) and the literature's
#    DeepLabv3+ head (`real_data_head` with ResNet channels), trained with
#    the NYUD-v2 baseline's data and 40k-iteration AdamW schedule. The
#    anchor loads them from
#        work_dirs/nyud_r34_<task>/iter_40000.pth   (task = semseg, depth,
#                                                    normals)
#    No config in the repository trains them, and `--cfg-options` cannot
#    drop heads from a baseline's `model.tasks` (it merges dicts, it cannot
#    delete keys). A stream's config is the pattern of
#    configs/stl/synthscenes_mbv2_semseg.py, e.g.
#    configs/stl/nyud_r34_semseg.py:
#        with read_base():
#            from ..mtl.nyud_mbv2_baseline import *
#            from ..cdma.nyud_r34 import stl_models
#        model = stl_models['semseg']  # add an ImageNet init_cfg here
#        train_dataloader.dataset.tasks = ('semseg', )
#        val_dataloader.dataset.tasks = ('semseg', )
#        test_dataloader = val_dataloader
#    then `python tools/train.py configs/stl/nyud_r34_semseg.py` (its default
#    work dir is the one above); the same for depth and normals.
# 2. stage 1 (this config): python tools/train.py configs/cdma/nyud_r34.py
# 3. stage 2: python tools/train.py configs/cdma/nyud_r34_stage2.py
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.nyud import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.cdma import *  # noqa: F401,F403
    from .._base_.models.mbv2_deeplabv3plus import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_iters import *  # noqa: F401,F403

cdma_tasks = ('semseg', 'depth', 'normals')
train_dataloader.dataset.update(tasks=cdma_tasks)
val_dataloader.dataset.update(tasks=cdma_tasks)
test_dataloader = val_dataloader

# the streams' encoder and head (ImageNet initialisation belongs to the
# streams' own training: set their backbone's init_cfg there, not here)
r34_norm_cfg = dict(type='BN', requires_grad=True)
r34_backbone = dict(
    type='mmseg.ResNetV1c',
    depth=34,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    strides=(1, 2, 2, 1),
    dilations=(1, 1, 1, 2),
    contract_dilation=True,
    norm_cfg=r34_norm_cfg)
# low-level skip from layer1 (64 ch, stride 4), ASPP on layer4 (512 ch)
r34_head = dict(real_data_head, in_channels=(64, 512), in_index=(0, 3),
                norm_cfg=r34_norm_cfg)
stl_models = {
    task: dict(
        type='MultiTaskEncoderDecoder',
        data_preprocessor=data_preprocessor,
        backbone=r34_backbone,
        tasks={task: dict(nyud_task_info[task], head=r34_head)})
    for task in cdma_tasks
}
stl_iters = 40000
anchor = dict(
    type='AnchorNet',
    blocks='stages',
    streams={
        task: dict(
            model=stl_models[task],
            checkpoint=f'work_dirs/nyud_r34_{task}/iter_{stl_iters}.pth')
        for task in cdma_tasks
    })
model = dict(
    cdma_model,
    architecture=dict(cdma_model['architecture'], anchor=anchor,
                      data_preprocessor=data_preprocessor))
work_dir = 'work_dirs/cdma_nyud_r34'

# The paper's GPU schedule: 30k steps of Adam (lr 1e-3 times 0.3 every 14k
# steps) with the Gumbel temperature 5.0 times 0.97 every 300 steps. Written
# in terms of `max_iters` (as the SynthScenes config, which shrinks it for
# CPU): the lr steps at 14/30 and 28/30 of the run, and the temperature
# decays every max_iters / 100 steps, so it ends at 5.0 * 0.97 ** 100 = 0.24.
# A GPU-scale run: max_iters = 30000, batches of 8 crops of 416 x 544.
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
