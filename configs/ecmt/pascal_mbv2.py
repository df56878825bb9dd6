# ECMT on PASCAL-Context (semseg, human parts, saliency, normals, edges):
# slimmable MobileNetV2 + five slimmable DeepLabv3+ heads, 40k iterations of
# the sandwich rule with CI-KD.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.pascal_context import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.ecmt_mbv2_deeplabv3plus import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_40k import *  # noqa: F401,F403
    from .._base_.ecmt_runtime import *  # noqa: F401,F403

model = dict(
    type='SandwichAlgorithm',
    architecture=dict(
        type='SlimMultiTaskEncoderDecoder',
        data_preprocessor=data_preprocessor,
        backbone=backbone,
        tasks={
            task: dict(pascal_task_info[task], head=real_data_head)
            for task in pascal_tasks
        },
        search_space=search_space),
    sampler=sandwich_sampler,
    distiller=cikd_distiller)
