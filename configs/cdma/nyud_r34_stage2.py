# CDMA stage 2 on NYUD-v2 (semseg, depth, normals): the weight hypernet (BN
# changes of every node) on the stage-1 checkpoint, the anchor net of
# ResNet-34 streams and the edge hypernet frozen ("Controllable Dynamic
# Multi-Task Architectures", Raychaudhuri et al., CVPR 2022).
#
# Training: first the single-task streams, then stage 1 (see
# configs/cdma/nyud_r34.py, which names the stream checkpoints
# work_dirs/nyud_r34_<task>/iter_40000.pth), then this config:
#   python tools/train.py configs/cdma/nyud_r34_stage2.py
# It starts from the stage-1 checkpoint
#   work_dirs/cdma_nyud_r34/iter_30000.pth.
from mmengine.config import read_base

with read_base():
    from .nyud_r34 import *  # noqa: F401,F403

stage1_config = 'configs/cdma/nyud_r34.py'
stage1_iters = max_iters
load_from = f'{work_dir}/iter_{stage1_iters}.pth'
work_dir = 'work_dirs/cdma_nyud_r34_stage2'
model.update(stage=2)
# the same schedule as stage 1 (30k steps; lr x0.3 at 14/30 and 28/30)
max_iters = 30000
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, gamma=0.3,
         milestones=[max_iters * 14 // 30, max_iters * 28 // 30])
]
train_cfg.update(max_iters=max_iters, val_interval=max_iters)
# the task affinity comes with the stage-1 checkpoint; no temperature
custom_hooks = []
default_hooks.checkpoint.update(interval=max_iters)
