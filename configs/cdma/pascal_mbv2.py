# CDMA stage 1 on PASCAL-Context (semseg, human parts, saliency, normals,
# edges): the edge hypernet over an anchor net of five frozen single-task
# MobileNetV2 + DeepLabv3+ models, cut into MobileNetV2's 7 stages (L = 7
# edge levels), as in "Controllable Dynamic Multi-Task Architectures"
# (Raychaudhuri et al., CVPR 2022).
#
# Training, in three steps:
# 1. the single-task streams. Each is `stl_models[task]` below: the
#    PASCAL-Context baseline (configs/mtl/pascal_mbv2_baseline.py: mmpretrain
#    MobileNetV2 + the literature's DeepLabv3+ head) with one task, trained
#    with the baseline's data and 40k-iteration AdamW schedule. The anchor
#    loads them from
#        work_dirs/pascal_mbv2_<task>/iter_40000.pth   (task = semseg, parts,
#                                                       sal, normals, edge)
#    No config in the repository trains them, and `--cfg-options` cannot
#    drop heads from the baseline's `model.tasks` (it merges dicts, it
#    cannot delete keys). A stream's config is the pattern of
#    configs/stl/synthscenes_mbv2_semseg.py, e.g.
#    configs/stl/pascal_mbv2_semseg.py:
#        with read_base():
#            from ..mtl.pascal_mbv2_baseline import *
#            from ..cdma.pascal_mbv2 import stl_models
#        model = stl_models['semseg']  # add an ImageNet init_cfg here
#        train_dataloader.dataset.tasks = ('semseg', )
#        val_dataloader.dataset.tasks = ('semseg', )
#        test_dataloader = val_dataloader
#    then `python tools/train.py configs/stl/pascal_mbv2_semseg.py` (its
#    default work dir is the one above); the same for the other tasks.
# 2. stage 1 (this config): python tools/train.py configs/cdma/pascal_mbv2.py
# 3. stage 2: python tools/train.py configs/cdma/pascal_mbv2_stage2.py
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.pascal_context import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.cdma import *  # noqa: F401,F403
    from .._base_.models.mbv2_deeplabv3plus import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_iters import *  # noqa: F401,F403

# the baseline's model with one task (ImageNet initialisation belongs to the
# streams' own training: set their backbone's init_cfg there, not here)
stl_models = {
    task: dict(
        type='MultiTaskEncoderDecoder',
        data_preprocessor=data_preprocessor,
        backbone=backbone,
        tasks={task: dict(pascal_task_info[task], head=real_data_head)})
    for task in pascal_tasks
}
stl_iters = 40000
anchor = dict(
    type='AnchorNet',
    blocks='stages',
    streams={
        task: dict(
            model=stl_models[task],
            checkpoint=f'work_dirs/pascal_mbv2_{task}/iter_{stl_iters}.pth')
        for task in pascal_tasks
    })
model = dict(
    cdma_model,
    architecture=dict(cdma_model['architecture'], anchor=anchor,
                      data_preprocessor=data_preprocessor))
work_dir = 'work_dirs/cdma_pascal_mbv2'

# The paper's GPU schedule: 30k steps of Adam (lr 1e-3 times 0.3 every 14k
# steps) with the Gumbel temperature 5.0 times 0.97 every 300 steps. Written
# in terms of `max_iters` (as the SynthScenes config, which shrinks it for
# CPU): the lr steps at 14/30 and 28/30 of the run, and the temperature
# decays every max_iters / 100 steps, so it ends at 5.0 * 0.97 ** 100 = 0.24.
# A GPU-scale run: max_iters = 30000, batches of 8 crops of 512 x 512.
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
