# ECMT supernet parts with a slimmable ResNet-34 encoder (mmseg's ResNetV1c:
# deep stem; output stride 16 by dilating layer4) and the slimmable real-data
# DeepLabv3+ head (low-level skip from layer1, ASPP on layer4). For ImageNet
# initialisation set model.architecture.backbone.init_cfg = dict(
# type='Pretrained', checkpoint=<a ResNetV1c-34 checkpoint>): the keys are
# mmseg's.
from mmengine.config import read_base

with read_base():
    from .ecmt_mbv2_deeplabv3plus import *  # noqa: F401,F403

norm_cfg = dict(type='BN', requires_grad=True)
backbone = dict(
    type='SlimResNet',
    depth=34,
    out_indices=(0, 1, 2, 3),
    strides=(1, 2, 2, 1),
    dilations=(1, 1, 1, 2),
    contract_dilation=True,
    norm_cfg=norm_cfg,
    divisor=8)
real_data_head.update(in_channels=(64, 512), in_index=(0, 3))
# one width ratio per stage: the deep stem and the four residual stages
search_space = dict(
    encoder=dict(
        choices=(0.5, 0.625, 0.75, 0.875, 1.0),
        stages=('stem', 'layer1', 'layer2', 'layer3', 'layer4')),
    decoder=dict(choices=(0.25, 0.5, 0.75, 1.0)))
