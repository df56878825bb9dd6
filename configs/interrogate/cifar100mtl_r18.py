# InterroGate on CIFAR-100 MTL (20 five-way superclass tasks): the
# ResNet-18 multi-task baseline of configs/mtl/ as 20 task branches and a
# shared branch, gated per channel at the CIFAR stem and every basic block,
# with a budget of a quarter of the fully specialised model's MACs (32 x 32).
#
# The branches start from trained models, loaded by key:
# - task t's branch and head from a single-task model,
#       work_dirs/cifar100mtl_r18_<t>/iter_20000.pth
#   (the same single-task models as CDMA's streams, configs/cdma/
#   cifar100mtl_r18.py: `stl_models` there);
# - the shared branch from the multi-task baseline,
#       python tools/train.py configs/mtl/cifar100mtl_r18_baseline.py
#   (work_dirs/cifar100mtl_r18_baseline/iter_20000.pth).
# Then: python tools/train.py configs/interrogate/cifar100mtl_r18.py
# Training runs 21 ResNet-18s side by side (the method's known cost).
from mmengine.config import read_base

with read_base():
    from ..mtl.cifar100mtl_r18_baseline import *  # noqa: F401,F403
    from .._base_.models.interrogate import *  # noqa: F401,F403

reference_iters = 20000
reference_configs = dict(shared='configs/mtl/cifar100mtl_r18_baseline.py')
model = dict(
    model,
    **gated_model,
    sparsity=dict(macs_budget, budget='0.25x', input_shape=(32, 32)),
    task_checkpoints={
        task: f'work_dirs/cifar100mtl_r18_{task}/iter_{reference_iters}.pth'
        for task in cifar_tasks
    },
    shared_checkpoint='work_dirs/cifar100mtl_r18_baseline/'
    f'iter_{reference_iters}.pth')
optim_wrapper.update(paramwise_cfg=gate_paramwise_cfg)
custom_hooks = [dict(gate_hooks[0], warmup_iters=max_iters // 5)]
find_unused_parameters = False
work_dir = 'work_dirs/interrogate_cifar100mtl_r18'
