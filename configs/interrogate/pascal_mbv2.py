# InterroGate on PASCAL-Context (semseg, parts, sal, normals, edge): the
# MobileNetV2 + DeepLabv3+ multi-task baseline of configs/mtl/ as five task
# branches and a shared branch, gated per channel at every inverted-residual
# block, with a budget of 0.85x the fully specialised model's MACs at the
# 512 x 512 crop (the five 256-channel heads cost most: the fully shared
# model is 15.1 GMACs, 0.71x of the fully specialised 21.2 GMACs).
#
# The branches start from trained models, loaded by key:
# - task t's branch and head from a single-task model,
#       work_dirs/pascal_mbv2_<t>/iter_40000.pth
#   (the same single-task models as CDMA's streams, configs/cdma/
#   pascal_mbv2.py: `stl_models` there, trained with the baseline's data
#   and 40k schedule; see that config's header for the 5-line config that
#   trains one);
# - the shared branch from the multi-task baseline,
#       python tools/train.py configs/mtl/pascal_mbv2_baseline.py
#   (work_dirs/pascal_mbv2_baseline/iter_40000.pth).
# Then: python tools/train.py configs/interrogate/pascal_mbv2.py
from mmengine.config import read_base

with read_base():
    from ..mtl.pascal_mbv2_baseline import *  # noqa: F401,F403
    from .._base_.models.interrogate import *  # noqa: F401,F403

reference_iters = 40000
reference_configs = dict(shared='configs/mtl/pascal_mbv2_baseline.py')
model = dict(
    model,
    **gated_model,
    sparsity=dict(macs_budget, budget='0.85x', input_shape=crop_size),
    task_checkpoints={
        task: f'work_dirs/pascal_mbv2_{task}/iter_{reference_iters}.pth'
        for task in pascal_tasks
    },
    shared_checkpoint='work_dirs/pascal_mbv2_baseline/'
    f'iter_{reference_iters}.pth')
optim_wrapper.update(paramwise_cfg=gate_paramwise_cfg)
custom_hooks = [dict(gate_hooks[0], warmup_iters=max_iters // 5)]
find_unused_parameters = False
work_dir = 'work_dirs/interrogate_pascal_mbv2'
