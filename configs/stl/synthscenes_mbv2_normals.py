# Single-task reference for 'normals' on SynthScenes (same encoder, head, data and
# schedule as the multi-task baseline): its score is the Delta_m reference.
from mmengine.config import read_base

with read_base():
    from ..mtl.synthscenes_mbv2_baseline import *  # noqa: F401,F403

stl_task = 'normals'
model.tasks = {stl_task: dict(synth_task_info[stl_task], head=dense_head)}
for loader in (train_dataloader, val_dataloader):
    loader.dataset.tasks = (stl_task, )
test_dataloader = val_dataloader
