# ECMT training and evaluation parts shared by every `configs/ecmt` config.
# Read it after the schedule (it replaces the schedule's val/test loops).

# CI-KD weight lambda = 1.0 from the first iteration (sets the
# SandwichAlgorithm's `distill_weight` before every iteration).
custom_hooks = [
    dict(type='CIKDHook', weight=1.0, schedule='constant', warmup_iters=0)
]

# Validation and test evaluate the largest and the smallest subnet, each
# after recalibrating its BN statistics on N training images (N = 1024, as
# Universally Slimmable Networks' exact BN statistics).
val_cfg = dict(
    type='SubnetValLoop',
    subnets=('max', 'min'),
    calibrate_bn=dict(num_images=1024))
test_cfg = dict(
    type='SubnetTestLoop',
    subnets=('max', 'min'),
    calibrate_bn=dict(num_images=1024))

# Distributed: the algorithm's step runs every sandwich member's forward +
# backward through DDP. The type is the full import path: the Runner looks
# the wrapper type up in mmengine's root registry (`MODEL_WRAPPERS.get(type)`,
# no default scope), where neither 'AlgorithmDDP' nor 'mmecmt.AlgorithmDDP'
# resolves. device_ids is filled by mmecmt.utils.prepare_runner_cfg on CPU,
# by the Runner on GPU.
find_unused_parameters = True
model_wrapper_cfg = dict(
    type='mmecmt.models.wrappers.AlgorithmDDP',
    broadcast_buffers=False,
    find_unused_parameters=True)

# Deployment (tools/deploy.py, tools/evaluate_control.py): ECMT's search for
# a preference and a budget; options as mmecmt.deploy.ECMTDeployer's.
deploy = dict(type='ECMTDeployer')
