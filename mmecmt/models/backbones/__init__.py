'''Slimmable encoders: OpenMMLab backbones running on dynamic ops, with
``stage_names`` and ``set_stage_widths({stage: ratio})``.'''
from .slim_base import SlimBackboneMixin
from .slim_mobilenet_v2 import SlimMobileNetV2
from .slim_resnet import SlimResNet, SlimResNetCIFAR

__all__ = [
    'SlimBackboneMixin', 'SlimMobileNetV2', 'SlimResNet', 'SlimResNetCIFAR'
]
