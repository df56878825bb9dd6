# `synthscenes_mbv2.py` trained 4x longer: 2000 iterations (16 epochs of the
# 1000 SynthScenes training images instead of 4), the same warm-up and
# polynomial decay stretched to the new length. For studying how much the
# encoder widths matter once the supernet is trained further
# (docs/results/longer_training.md).
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2 import *  # noqa: F401,F403

max_iters = 2000
train_cfg.update(max_iters=max_iters, val_interval=max_iters)
param_scheduler[1].update(end=max_iters)  # the polynomial decay, stretched
default_hooks.checkpoint.update(interval=1000)
