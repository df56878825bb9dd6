# CDMA stage 2 over the half-width streams (see synthscenes_mbv2_half.py):
# the stage-2 settings of synthscenes_mbv2_stage2.py.
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2_half import *  # noqa: F401,F403
    from .synthscenes_mbv2_stage2 import (custom_hooks,  # noqa: F401
                                          default_hooks, max_iters,
                                          param_scheduler, train_cfg)

stage1_config = 'configs/cdma/synthscenes_mbv2_half.py'
load_from = f'{work_dir}/iter_200.pth'  # stage 1's max_iters
work_dir = 'work_dirs/cdma_synthscenes_mbv2_half_stage2'
model.update(stage=2)
