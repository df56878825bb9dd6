# ECMT supernet parts: a slimmable MobileNetV2 encoder and a slimmable
# DeepLabv3+ head shape shared by every dense task. At full width they equal
# the fixed baseline's `mbv2_deeplabv3plus.py` (same layers and shapes), so
# the largest subnet is the baseline architecture.
from mmengine.config import read_base

with read_base():
    from .mbv2_deeplabv3plus import *  # noqa: F401,F403

# the same layers, built from dynamic ops; channels rounded to multiples of 8
backbone.update(type='SlimMobileNetV2', divisor=8)
dense_head.update(type='SlimDeepLabV3PlusTaskHead', divisor=8)

# Non-uniform widths: one ratio per encoder stage and per task decoder (the
# ECMT search space). `conv2` (the 1280-channel last conv) is not searched:
# with out_indices=(1, 2, 4, 6) no decoder reads it.
search_space = dict(
    encoder=dict(
        choices=(0.5, 0.625, 0.75, 0.875, 1.0),
        stages=('conv1', 'layer1', 'layer2', 'layer3', 'layer4', 'layer5',
                'layer6', 'layer7')),
    decoder=dict(choices=(0.25, 0.5, 0.75, 1.0)))
# Training (SandwichAlgorithm): the sandwich rule, max + min + 2 random
# subnets per iteration, one step ...
sandwich_sampler = dict(num_random=2, seed=0)
# ... and CI-KD on the encoder levels the decoders consume (levels=None: the
# heads' in_index, outputs 0 and 3, stride 4 and 32).
cikd_distiller = dict(
    loss=dict(type='CIKDLoss', distance='mse', loss_weight=1.0), levels=None)
# The real-data head (NYUD-v2, PASCAL-Context), slimmable too.
real_data_head.update(type='SlimDeepLabV3PlusTaskHead', divisor=8)
