# Smoke-test single-task model for 'depth' (the tiny comparison study,
# configs/comparison/synthscenes_tiny.py): the tiny multi-task config with
# one task, 4 iterations.
from mmengine.config import read_base

with read_base():
    from ..mtl.synthscenes_mbv2_tiny_3tasks import *  # noqa: F401,F403

stl_task = 'depth'
model.tasks = {stl_task: model.tasks[stl_task]}
for loader in (train_dataloader, val_dataloader):
    loader.dataset.tasks = (stl_task, )
test_dataloader = val_dataloader
work_dir = 'work_dirs/synthscenes_mbv2_tiny_depth'
