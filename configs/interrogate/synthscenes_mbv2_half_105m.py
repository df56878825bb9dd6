# InterroGate on SynthScenes over half-width branches at a 105 MMACs budget:
# the equal-MACs setting of the method comparison (docs/results/comparison.md).
# Task branches from configs/stl/synthscenes_mbv2_half_<task>.py, the shared
# branch from configs/mtl/synthscenes_mbv2_half_baseline.py; the fully
# shared model costs 74.8 MMACs, the fully specialised one 165.8 MMACs.
# Everything else as synthscenes_mbv2_200m.py. Train the budgets with
#   python tools/train_interrogate.py configs/interrogate/synthscenes_mbv2_half_*m.py
from mmengine.config import read_base

with read_base():
    from .synthscenes_mbv2_200m import *  # noqa: F401,F403
    from ..mtl.synthscenes_mbv2_half_baseline import half_head

reference_configs = dict(
    {task: f'configs/stl/synthscenes_mbv2_half_{task}.py'
     for task in synth_tasks},
    shared='configs/mtl/synthscenes_mbv2_half_baseline.py')
model.backbone.update(widen_factor=0.5)
model.tasks = {
    task: dict(synth_task_info[task], head=half_head)
    for task in synth_tasks
}
model.sparsity.budget = '105M'
model.task_checkpoints = {
    task: f'work_dirs/synthscenes_mbv2_half_{task}/iter_{reference_iters}.pth'
    for task in synth_tasks
}
model.shared_checkpoint = ('work_dirs/synthscenes_mbv2_half_baseline/'
                           f'iter_{reference_iters}.pth')
work_dir = 'work_dirs/interrogate_synthscenes_mbv2_half_105m'
