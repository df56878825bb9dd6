# Smoke-test CDMA stage 2 (4 iterations) after `synthscenes_mbv2_tiny_streams`:
# the CDMA of the tiny comparison study (configs/comparison/synthscenes_tiny.py).
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2_tiny_streams import *  # noqa: F401,F403

stage1_config = 'configs/cdma/synthscenes_mbv2_tiny_streams.py'
load_from = f'{work_dir}/iter_{max_iters}.pth'
work_dir = 'work_dirs/cdma_synthscenes_mbv2_tiny_stage2'
model.update(stage=2)
custom_hooks = []
