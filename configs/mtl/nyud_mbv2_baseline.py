# Multi-task baseline on NYUD-v2 (semseg, depth, normals, edges): MobileNetV2
# encoder shared by four DeepLabv3+ heads. For ImageNet initialisation set
# model.backbone.init_cfg = dict(type='Pretrained', checkpoint=<mmpretrain
# mobilenet_v2 checkpoint>, prefix='backbone.').
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.nyud import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.mbv2_deeplabv3plus import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_iters import *  # noqa: F401,F403

nyud_head = dict(dense_head, channels=256, c1_channels=48,
                 dilations=(1, 6, 12, 18), dropout_ratio=0.1)
model = dict(
    type='MultiTaskEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=backbone,
    tasks={
        task: dict(nyud_task_info[task], head=nyud_head)
        for task in nyud_tasks
    })
max_iters = 40000
train_cfg.update(max_iters=max_iters, val_interval=4000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=500),
    dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=500, end=max_iters,
         by_epoch=False),
]
default_hooks.checkpoint.update(interval=4000)
