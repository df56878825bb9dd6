# InterroGate on NYUD-v2 (semseg, depth, normals): three task branches and a
# shared branch of mmseg's ResNetV1c-34 (deep stem, output stride 16, the
# layers of configs/cdma/nyud_r34.py) with the literature's DeepLabv3+ head,
# gated per channel at the deep stem and every basic block, with a budget of
# half the fully specialised model's MACs at the 416 x 544 crop.
#
# The branches start from trained models, loaded by key:
# - task t's branch and head from a single-task model,
#       work_dirs/nyud_r34_<t>/iter_40000.pth
#   (CDMA's streams: `stl_models` of configs/cdma/nyud_r34.py, whose header
#   gives the config that trains one);
# - the shared branch from a ResNet-34 multi-task model,
#       work_dirs/nyud_r34_baseline/iter_40000.pth
#   (configs/mtl/nyud_mbv2_baseline.py with `model.backbone=r34_backbone`
#   and the r34 heads; no config in the repository trains it).
# Then: python tools/train.py configs/interrogate/nyud_r34.py
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.nyud import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.interrogate import *  # noqa: F401,F403
    from .._base_.models.mbv2_deeplabv3plus import *  # noqa: F401,F403
    from .._base_.schedules.schedule_adamw_40k import *  # noqa: F401,F403
    from ..cdma.nyud_r34 import cdma_tasks, r34_backbone, r34_head

ig_tasks = cdma_tasks
train_dataloader.dataset.update(tasks=ig_tasks)
val_dataloader.dataset.update(tasks=ig_tasks)
test_dataloader = val_dataloader
reference_iters = 40000
model = dict(
    gated_model,
    data_preprocessor=data_preprocessor,
    backbone=r34_backbone,
    tasks={task: dict(nyud_task_info[task], head=r34_head)
           for task in ig_tasks},
    sparsity=dict(macs_budget, budget='0.5x', input_shape=crop_size),
    task_checkpoints={
        task: f'work_dirs/nyud_r34_{task}/iter_{reference_iters}.pth'
        for task in ig_tasks
    },
    shared_checkpoint=f'work_dirs/nyud_r34_baseline/iter_{reference_iters}.pth')
optim_wrapper.update(paramwise_cfg=gate_paramwise_cfg)
custom_hooks = [dict(gate_hooks[0], warmup_iters=max_iters // 5)]
find_unused_parameters = False
work_dir = 'work_dirs/interrogate_nyud_r34'
