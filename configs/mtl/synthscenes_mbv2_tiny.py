# Smoke-test variant of the SynthScenes baseline: 32 train / 16 val images at
# 48 x 64, a half-width MobileNetV2 and 20 iterations (about a minute on CPU).
# Used by the test suite (torchrun, resume); handy to check an install.
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2_baseline import *  # noqa: F401,F403
    from .._base_.datasets.synthscenes_tiny import *  # noqa: F401,F403

# (variables from read_base are copies inside `model`: edit `model` itself)
model.backbone.update(widen_factor=0.5)
model.tasks = {
    task: dict(
        synth_task_info[task],
        head=dict(dense_head, in_channels=(16, 160), channels=16,
                  c1_channels=8))
    for task in synth_tasks
}
max_iters = 20
train_cfg.update(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
default_hooks.logger.update(interval=5)
default_hooks.checkpoint.update(interval=10)
