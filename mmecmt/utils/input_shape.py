"""The one MACs convention of every tool: count what the network runs.

A multi-task data preprocessor pads every batch up to a multiple of its
``size_divisor`` (32 for the MobileNetV2 / ResNet configs) before the
network sees it, so an image of 90 x 122 runs as 96 x 128. Every MACs
figure of the project (search, deployment, export, the val loop, the
controllability report) is counted at that padded size, and states it.

:func:`macs_input_shape` gives that size for a config: by default the
training crop (the size the network was trained and is deployed at), padded
up to the preprocessor's ``size_divisor``; an explicit ``(H, W)`` (a tool's
``--shape``) is taken as it is, and stated with the figures like the
default.
"""
import math
from typing import Mapping, Optional, Sequence, Tuple


def size_divisor(cfg) -> int:
    """The model's data preprocessor ``size_divisor`` (1 when unset); for a
    training algorithm, its architecture's."""
    model = cfg.get('model', {}) or {}
    pre = model.get('data_preprocessor') or \
        (model.get('architecture') or {}).get('data_preprocessor') or {}
    if not isinstance(pre, Mapping):
        return 1
    return int(pre.get('size_divisor') or 1)


def pad_to_divisor(shape: Sequence[int], divisor: int) -> Tuple[int, int]:
    """``(H, W)`` rounded up to multiples of ``divisor``."""
    if len(shape) != 2 or any(int(s) <= 0 for s in shape):
        raise ValueError(f'an input size is (H, W) with H, W > 0, got '
                         f'{tuple(shape)}')
    return tuple(int(math.ceil(int(s) / divisor) * divisor) for s in shape)


def training_crop_size(cfg) -> Tuple[int, int]:
    """The ``crop_size`` of the training pipeline.

    Raises:
        ValueError: the pipeline has no ``crop_size``.
    """
    crop = [t for t in cfg.train_dataloader.dataset.pipeline
            if 'crop_size' in t]
    if not crop:
        raise ValueError('no crop_size in the training pipeline: give the '
                         'input size of the MACs count explicitly (--shape H '
                         'W)')
    size = crop[0]['crop_size']
    if isinstance(size, int):
        size = (size, size)
    return tuple(int(v) for v in size)


def macs_input_shape(cfg, shape: Optional[Sequence[int]] = None
                     ) -> Tuple[int, int]:
    """``(H, W)`` at which MACs are counted for ``cfg``: the training crop
    padded up to the preprocessor's ``size_divisor``, i.e. the batch shape
    the network runs; an explicit ``shape`` (a tool's ``--shape H W``) is
    taken as it is."""
    if shape is not None:
        return pad_to_divisor(shape, 1)
    return pad_to_divisor(training_crop_size(cfg), size_divisor(cfg))


def format_shape(shape: Sequence[int]) -> str:
    """``'96x128'``."""
    return 'x'.join(str(int(s)) for s in shape)


__all__ = ['size_divisor', 'pad_to_divisor', 'training_crop_size',
           'macs_input_shape', 'format_shape']
