"""Multi-task pipeline transforms (in ``mmecmt.registry.TRANSFORMS``).

A typical training pipeline::

    [dict(type='LoadImageFromFile'),          # mmcv's
     dict(type='LoadMultiTaskAnnotations'),
     dict(type='RandomResize', ratio_range=(0.5, 2.0)),
     dict(type='RandomCrop', crop_size=(H, W)),
     dict(type='RandomFlip', prob=0.5),
     dict(type='PhotoMetricDistortion'),      # mmseg's, image only
     dict(type='PackMultiTaskInputs')]

and for testing::

    [dict(type='LoadImageFromFile'),
     dict(type='LoadMultiTaskAnnotations'),
     dict(type='Resize', scale=(W, H), keep_ratio=True),  # gts stay original
     dict(type='PackMultiTaskInputs')]

(CIFAR-100 MTL has its image in memory: start with
``LoadMultiTaskAnnotations``.)
"""
from .formatting import PackMultiTaskInputs
from .geometric import Pad, RandomCrop, RandomFlip, RandomResize, Resize
from .loading import LoadMultiTaskAnnotations
from .photometric import PhotoMetricDistortion

__all__ = [
    'LoadMultiTaskAnnotations', 'RandomResize', 'RandomCrop', 'RandomFlip',
    'Resize', 'Pad', 'PackMultiTaskInputs', 'PhotoMetricDistortion'
]
