# ECMT on NYUD-v2 (semseg, depth, normals): slimmable MobileNetV2 + three
# slimmable DeepLabv3+ heads, 40k iterations of the sandwich rule with CI-KD.
# For ImageNet initialisation set model.architecture.backbone.init_cfg =
# dict(type='Pretrained', checkpoint=<mmpretrain mobilenet_v2 checkpoint>,
# prefix='backbone.'): SlimMobileNetV2's keys are mmpretrain's.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.nyud import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.ecmt_mbv2_deeplabv3plus import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_40k import *  # noqa: F401,F403
    from .._base_.ecmt_runtime import *  # noqa: F401,F403

# the ECMT paper's NYUD-v2 tasks (the fixed baseline adds edges)
ecmt_tasks = ('semseg', 'depth', 'normals')
train_dataloader.dataset.update(tasks=ecmt_tasks)
val_dataloader.dataset.update(tasks=ecmt_tasks)
test_dataloader = val_dataloader
model = dict(
    type='SandwichAlgorithm',
    architecture=dict(
        type='SlimMultiTaskEncoderDecoder',
        data_preprocessor=data_preprocessor,
        backbone=backbone,
        tasks={
            task: dict(nyud_task_info[task], head=real_data_head)
            for task in ecmt_tasks
        },
        search_space=search_space),
    sampler=sandwich_sampler,
    distiller=cikd_distiller)
