"""Slimmable building blocks: dynamic-width ops, BN recalibration of the
active subnet and static export."""
from .bn_calibration import BNCalibrator
from .dynamic_ops import (DYNAMIC_OPS, DynamicBatchNorm2d, DynamicConv2d,
                          DynamicLinear, make_divisible)
from .export import export_static, replace_dynamic_ops_

__all__ = [
    'DynamicConv2d', 'DynamicBatchNorm2d', 'DynamicLinear', 'DYNAMIC_OPS',
    'make_divisible', 'export_static', 'replace_dynamic_ops_',
    'BNCalibrator'
]
