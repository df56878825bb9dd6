# Smoke-test variant of `synthscenes_mbv2.py` (as
# `configs/mtl/synthscenes_mbv2_tiny.py` is of the baseline): 32 train / 16
# val images at 48 x 64, a half-width supernet, 20 iterations, BN
# recalibration on 16 images. Used by the test suite (torchrun).
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2 import *  # noqa: F401,F403

data_root = 'data/synthscenes_tiny'
synthscenes_generate.update(num_train=32, num_val=16, height=48, width=64)
crop_size = (48, 64)
train_dataloader.dataset.pipeline[3].update(crop_size=crop_size)
for loader in (train_dataloader, val_dataloader):
    loader.update(batch_size=4, num_workers=0, persistent_workers=False)
    loader.dataset.update(data_root=data_root, generate=synthscenes_generate)
test_dataloader = val_dataloader

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
# (MACs logging off: building the MACs model traces the supernet ~50 times)
val_cfg.update(calibrate_bn=dict(num_images=16), log_macs=False)
test_cfg.update(calibrate_bn=dict(num_images=16), log_macs=False)
default_hooks.logger.update(interval=5)
default_hooks.checkpoint.update(interval=10)
