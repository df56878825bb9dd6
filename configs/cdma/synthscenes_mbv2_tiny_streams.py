# Smoke-test CDMA stage 1 over trained tiny single-task streams
# (configs/stl/synthscenes_mbv2_tiny_<task>.py), 4 iterations: the CDMA of
# the tiny comparison study (configs/comparison/synthscenes_tiny.py).
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2_tiny import *  # noqa: F401,F403

model.architecture.anchor.streams = {
    task: dict(config=f'configs/stl/synthscenes_mbv2_tiny_{task}.py',
               checkpoint=f'work_dirs/synthscenes_mbv2_tiny_{task}/iter_4.pth')
    for task in tiny_tasks
}
work_dir = 'work_dirs/cdma_synthscenes_mbv2_tiny_streams'
