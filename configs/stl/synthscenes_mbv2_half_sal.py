# Single-task reference for 'sal' with a half-width MobileNetV2 (the
# equal-MACs setting of the method comparison; same head, data and schedule
# as configs/mtl/synthscenes_mbv2_half_baseline.py).
from mmengine.config import read_base

with read_base():
    from ..mtl.synthscenes_mbv2_half_baseline import *  # noqa: F401,F403

stl_task = 'sal'
model.tasks = {stl_task: dict(synth_task_info[stl_task], head=half_head)}
for loader in (train_dataloader, val_dataloader):
    loader.dataset.tasks = (stl_task, )
test_dataloader = val_dataloader
