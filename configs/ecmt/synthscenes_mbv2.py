# ECMT on SynthScenes: a slimmable MobileNetV2 + five slimmable DeepLabv3+
# task heads (the architecture) trained once with the sandwich rule and CI-KD
# (the algorithm). Data, schedule and the full-width architecture are those
# of `configs/mtl/synthscenes_mbv2_baseline.py`, so the two are comparable.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.synthscenes import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.ecmt_mbv2_deeplabv3plus import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_iters import *  # noqa: F401,F403
    from .._base_.ecmt_runtime import *  # noqa: F401,F403

model = dict(
    type='SandwichAlgorithm',
    architecture=dict(
        type='SlimMultiTaskEncoderDecoder',
        data_preprocessor=data_preprocessor,
        backbone=backbone,
        tasks={
            task: dict(synth_task_info[task], head=dense_head)
            for task in synth_tasks
        },
        search_space=search_space),
    sampler=sandwich_sampler,
    distiller=cikd_distiller)

# 256 BN-calibration images (not the paper's 1024) keep evaluation quick on
# SynthScenes' 1000 small training images.
val_cfg.calibrate_bn.update(num_images=256)
test_cfg.calibrate_bn.update(num_images=256)
