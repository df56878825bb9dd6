"""Photometric distortion: mmseg's ``PhotoMetricDistortion``, reused as is.

It only reads and writes ``results['img']`` (uint8 BGR), so it is correct
for multi-task results: every ground truth is left untouched (tested in
``tests/test_transforms_loading_packing.py``). Importing this module
registers it (through mmseg's registry, a parent of mmecmt's), so
``dict(type='PhotoMetricDistortion')`` resolves in the mmecmt scope.
Randomness: ``numpy.random``.
"""
from mmseg.datasets.transforms import PhotoMetricDistortion

__all__ = ['PhotoMetricDistortion']
