# Multi-task baseline on NYUD-v2 (semseg, depth, normals, edges): MobileNetV2
# encoder shared by four DeepLabv3+ heads. For ImageNet initialisation set
# model.backbone.init_cfg = dict(type='Pretrained', checkpoint=<mmpretrain
# mobilenet_v2 checkpoint>, prefix='backbone.').
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.nyud import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.mbv2_deeplabv3plus import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_40k import *  # noqa: F401,F403

model = dict(
    type='MultiTaskEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=backbone,
    tasks={
        task: dict(nyud_task_info[task], head=real_data_head)
        for task in nyud_tasks
    })
