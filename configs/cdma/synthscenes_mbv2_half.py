# CDMA stage 1 on SynthScenes over half-width single-task streams
# (configs/stl/synthscenes_mbv2_half_<task>.py): the equal-MACs setting of
# the method comparison (docs/results/comparison.md), where CDMA's trees
# (about 75-166 MMACs) overlap ECMT's range. Everything else as
# synthscenes_mbv2.py. Pipeline:
#   python tools/train_cdma.py configs/cdma/synthscenes_mbv2_half_stage2.py
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2 import *  # noqa: F401,F403

model.architecture.anchor.streams = {
    task: dict(
        config=f'configs/stl/synthscenes_mbv2_half_{task}.py',
        checkpoint=f'work_dirs/synthscenes_mbv2_half_{task}/'
        f'iter_{stl_iters}.pth')
    for task in synth_tasks
}
work_dir = 'work_dirs/cdma_synthscenes_mbv2_half'
