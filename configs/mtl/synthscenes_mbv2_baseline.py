# Multi-task baseline on SynthScenes: one fixed MobileNetV2 encoder shared by
# five DeepLabv3+ task heads (semseg, depth, normals, edge, saliency).
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.synthscenes import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.mbv2_deeplabv3plus import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_iters import *  # noqa: F401,F403

model = dict(
    type='MultiTaskEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=backbone,
    tasks={
        task: dict(synth_task_info[task], head=dense_head)
        for task in synth_tasks
    })
