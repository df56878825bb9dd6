# Multi-task baseline on PASCAL-Context (semseg, human parts, saliency,
# normals, edges): MobileNetV2 encoder shared by five DeepLabv3+ heads.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.pascal_context import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.mbv2_deeplabv3plus import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_40k import *  # noqa: F401,F403

model = dict(
    type='MultiTaskEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=backbone,
    tasks={
        task: dict(pascal_task_info[task], head=real_data_head)
        for task in pascal_tasks
    })
