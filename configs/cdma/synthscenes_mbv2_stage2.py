# CDMA stage 2 on SynthScenes: the weight hypernet (BN changes of every node)
# on the stage-1 checkpoint, the anchor net and the edge hypernet frozen.
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2 import *  # noqa: F401,F403

# the stage-1 config and checkpoint (tools/train_cdma.py checks they match)
stage1_config = 'configs/cdma/synthscenes_mbv2.py'
stage1_iters = max_iters
load_from = f'{work_dir}/iter_{stage1_iters}.pth'
work_dir = 'work_dirs/cdma_synthscenes_mbv2_stage2'
model.update(stage=2)
max_iters = 300
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, gamma=0.3,
         milestones=[max_iters * 14 // 30, max_iters * 28 // 30])
]
train_cfg.update(max_iters=max_iters, val_interval=max_iters)
# the task affinity comes with the stage-1 checkpoint; no temperature
custom_hooks = []
default_hooks.checkpoint.update(interval=max_iters)
