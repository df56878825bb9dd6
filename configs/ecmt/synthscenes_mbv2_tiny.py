# Smoke-test variant of `synthscenes_mbv2.py` (as
# `configs/mtl/synthscenes_mbv2_tiny.py` is of the baseline): 32 train / 16
# val images at 48 x 64, a half-width supernet, 20 iterations, BN
# recalibration on 16 images. Used by the test suite (torchrun).
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2 import *  # noqa: F401,F403
    from .._base_.datasets.synthscenes_tiny import *  # noqa: F401,F403

# (variables from read_base are copies inside `model`: edit `model` itself)
model.architecture.backbone.update(widen_factor=0.5)
model.architecture.tasks = {
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
# (MACs logging off: building the MACs model traces the supernet ~50 times)
val_cfg.update(calibrate_bn=dict(num_images=16), log_macs=False)
test_cfg.update(calibrate_bn=dict(num_images=16), log_macs=False)
default_hooks.logger.update(interval=5)
default_hooks.checkpoint.update(interval=10)
