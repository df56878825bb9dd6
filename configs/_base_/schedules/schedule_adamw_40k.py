# The real-data schedule (NYUD-v2, PASCAL-Context): 40k iterations of AdamW,
# linear warm-up then polynomial decay, validation and checkpoints every 4k.
from mmengine.config import read_base

with read_base():
    from .schedule_adamw_iters import *  # noqa: F401,F403

max_iters = 40000
train_cfg.update(max_iters=max_iters, val_interval=4000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=500),
    dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=500, end=max_iters,
         by_epoch=False),
]
default_hooks.checkpoint.update(interval=4000)
