# CIFAR-100 MTL schedule: 20k iterations of AdamW with cosine decay,
# validation and checkpoints every 2k.
from mmengine.config import read_base

with read_base():
    from .schedule_adamw_iters import *  # noqa: F401,F403

max_iters = 20000
train_cfg.update(max_iters=max_iters, val_interval=2000)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-6,
         by_epoch=False, begin=0, end=max_iters),
]
default_hooks.checkpoint.update(interval=2000)
