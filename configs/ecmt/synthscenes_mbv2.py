# ECMT on SynthScenes: a slimmable MobileNetV2 + five slimmable DeepLabv3+
# task heads trained once with the sandwich rule and CI-KD. Data, schedule
# and the full-width architecture are those of
# `configs/mtl/synthscenes_mbv2_baseline.py`, so the two are comparable.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.synthscenes import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.ecmt_mbv2_deeplabv3plus import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_iters import *  # noqa: F401,F403

model = dict(
    type='SlimMultiTaskEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=backbone,
    tasks={
        task: dict(synth_task_info[task], head=dense_head)
        for task in synth_tasks
    },
    search_space=search_space,
    sandwich=sandwich,
    distill=distill)

# CI-KD weight lambda = 1.0 from the first iteration (REFERENCE.md §1).
custom_hooks = [
    dict(type='CIKDHook', weight=1.0, schedule='constant', warmup_iters=0)
]

# Evaluate the largest and the smallest subnet, each after recalibrating its
# BN statistics. 256 training images (not the paper's 1024) keep this quick
# on SynthScenes' 1000 small training images.
val_cfg = dict(
    type='SubnetValLoop',
    subnets=('max', 'min'),
    calibrate_bn=dict(num_images=256))
test_cfg = dict(
    type='SubnetTestLoop',
    subnets=('max', 'min'),
    calibrate_bn=dict(num_images=256))

# Distributed: every sandwich member runs forward + backward through DDP.
# The type is the full import path: the Runner looks the wrapper type up in
# mmengine's root registry (`MODEL_WRAPPERS.get(type)`, no default scope),
# where neither 'SandwichDDP' nor 'mmecmt.SandwichDDP' resolves. device_ids
# is filled by mmecmt.utils.prepare_runner_cfg on CPU, by the Runner on GPU.
find_unused_parameters = True
model_wrapper_cfg = dict(
    type='mmecmt.models.wrappers.SandwichDDP',
    broadcast_buffers=False,
    find_unused_parameters=True)
