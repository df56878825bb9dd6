"""Geometric transforms applied jointly to the image and every dense gt.

They shadow mmcv's / mmseg's transforms of the same names inside the
``mmecmt`` scope (``type='RandomFlip'`` in an mmecmt config is this one;
mmcv's stays reachable as ``'mmcv.RandomFlip'``), with compatible
arguments, and additionally know each ground truth's kind (see
:mod:`.dense_fields`): label maps and depth / normals use nearest
interpolation, padding uses 255 for label maps and 0 for depth / normals,
and a horizontal flip negates the x component of the normals.

Randomness comes from ``numpy.random`` (seeded by mmengine's
``randomness`` config and per data-loader worker), as in mmcv / mmseg.

Keys: ``img`` (H, W, 3) and the dense gts are modified; ``img_shape``,
``scale_factor`` (cumulative (w, h) factor of all resizes), ``keep_ratio``,
``flip``, ``flip_direction``, ``pad_shape`` are written.
"""
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmecmt.registry import TRANSFORMS
from .dense_fields import (check_same_size, dense_gt_items, pad_dense,
                           pad_image, resize_dense)

_INTERPOLATIONS = dict(
    nearest=cv2.INTER_NEAREST,
    bilinear=cv2.INTER_LINEAR,
    bicubic=cv2.INTER_CUBIC,
    area=cv2.INTER_AREA)


def fit_size(h: int, w: int, scale: Tuple[int, int], keep_ratio: bool
             ) -> Tuple[int, int]:
    """Output (width, height) of resizing an (h, w) image to ``scale``.

    ``scale`` = (w, h) as in mmcv. With ``keep_ratio`` the image is scaled
    by ``min(max(scale) / max(h, w), min(scale) / min(h, w))`` (the long edge
    fits ``max(scale)``, the short edge ``min(scale)``, like
    ``mmcv.imrescale``); otherwise it becomes exactly ``scale``.
    """
    if keep_ratio:
        factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
        return max(1, int(w * factor + 0.5)), max(1, int(h * factor + 0.5))
    return max(1, int(scale[0])), max(1, int(scale[1]))


def resize_results(results: dict, size_wh: Tuple[int, int],
                   interpolation: str, resize_gts: bool,
                   transform: str) -> dict:
    """Resize the image (``interpolation``) and, optionally, the dense gts."""
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f'{transform}: unknown interpolation '
                         f'{interpolation!r}; valid: {list(_INTERPOLATIONS)}')
    img = results['img']
    h, w = img.shape[:2]
    new_w, new_h = int(size_wh[0]), int(size_wh[1])
    items = dense_gt_items(results) if resize_gts else []
    check_same_size(results, items, transform)
    if (new_w, new_h) != (w, h):
        results['img'] = cv2.resize(
            img, (new_w, new_h),
            interpolation=_INTERPOLATIONS[interpolation])
        for key, kind in items:
            results[key] = resize_dense(results[key], kind, (new_w, new_h))
    prev_w, prev_h = results.get('scale_factor', (1., 1.))[:2]
    results['scale_factor'] = (prev_w * new_w / w, prev_h * new_h / h)
    results['img_shape'] = (new_h, new_w)
    return results


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize to a fixed scale (test time): image only by default.

    Args:
        scale: target (w, h).
        keep_ratio: keep the aspect ratio (fit inside ``scale``, see
            :func:`fit_size`).
        resize_gts: also resize the dense gts (nearest); by default they stay
            at the original size, where the metric compares them.
        interpolation: of the image: 'bilinear' (default), 'nearest',
            'bicubic', 'area'.
    """

    def __init__(self,
                 scale: Union[int, Tuple[int, int]],
                 keep_ratio: bool = True,
                 resize_gts: bool = False,
                 interpolation: str = 'bilinear'):
        self.scale = (scale, scale) if isinstance(scale, int) else tuple(scale)
        self.keep_ratio = keep_ratio
        self.resize_gts = resize_gts
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        size = fit_size(h, w, self.scale, self.keep_ratio)
        results = resize_results(results, size, self.interpolation,
                                 self.resize_gts, 'Resize')
        results['keep_ratio'] = self.keep_ratio
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, keep_ratio='
                f'{self.keep_ratio}, resize_gts={self.resize_gts})')


@TRANSFORMS.register_module()
class RandomResize(BaseTransform):
    """Resize by a random ratio drawn uniformly from ``ratio_range``.

    Image: bilinear; dense gts: nearest (normals re-normalised).

    Args:
        ratio_range: (low, high) of the ratio.
        scale: None: the ratio scales the image's own size. (w, h): the
            target is ``ratio * scale``, fitted with ``keep_ratio`` as in
            mmseg's ``RandomResize(scale, ratio_range, keep_ratio)``.
        keep_ratio: only used with ``scale``.
        interpolation: of the image.
    """

    def __init__(self,
                 ratio_range: Tuple[float, float] = (0.5, 2.0),
                 scale: Optional[Tuple[int, int]] = None,
                 keep_ratio: bool = True,
                 interpolation: str = 'bilinear'):
        low, high = float(ratio_range[0]), float(ratio_range[1])
        if not 0 < low <= high:
            raise ValueError(f'RandomResize: ratio_range must satisfy 0 < low '
                             f'<= high, got {ratio_range}')
        self.ratio_range = (low, high)
        self.scale = None if scale is None else tuple(scale)
        self.keep_ratio = keep_ratio
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        ratio = np.random.uniform(*self.ratio_range)
        h, w = results['img'].shape[:2]
        if self.scale is None:
            size = (max(1, int(w * ratio + 0.5)), max(1, int(h * ratio + 0.5)))
        else:
            target = (self.scale[0] * ratio, self.scale[1] * ratio)
            size = fit_size(h, w, target, self.keep_ratio)
        results = resize_results(results, size, self.interpolation, True,
                                 'RandomResize')
        results['keep_ratio'] = self.scale is None or self.keep_ratio
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(ratio_range={self.ratio_range}, '
                f'scale={self.scale}, keep_ratio={self.keep_ratio})')


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop a random ``crop_size`` window; pad first where smaller.

    Padding (bottom / right) uses ``img_pad_val`` for the image, 255 for
    label maps and 0 (invalid) for depth / normals.

    Args:
        crop_size: (h, w) as in mmseg, or an int for a square.
        img_pad_val: value of padded image pixels.
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]],
                 img_pad_val: float = 0):
        crop = (crop_size, crop_size) if isinstance(crop_size, int) \
            else tuple(crop_size)
        if len(crop) != 2 or min(crop) < 1:
            raise ValueError(f'RandomCrop: crop_size must be positive (h, w), '
                             f'got {crop_size}')
        self.crop_size = (int(crop[0]), int(crop[1]))
        self.img_pad_val = img_pad_val

    def transform(self, results: dict) -> dict:
        items = dense_gt_items(results)
        check_same_size(results, items, 'RandomCrop')
        crop_h, crop_w = self.crop_size
        h, w = results['img'].shape[:2]
        pad_h, pad_w = max(crop_h - h, 0), max(crop_w - w, 0)
        img = pad_image(results['img'], pad_h, pad_w, self.img_pad_val)
        gts = {key: pad_dense(results[key], kind, pad_h, pad_w)
               for key, kind in items}
        h, w = img.shape[:2]
        y0 = np.random.randint(0, h - crop_h + 1)
        x0 = np.random.randint(0, w - crop_w + 1)
        window = (slice(y0, y0 + crop_h), slice(x0, x0 + crop_w))
        results['img'] = np.ascontiguousarray(img[window])
        for key, gt in gts.items():
            results[key] = np.ascontiguousarray(gt[window])
        results['img_shape'] = (crop_h, crop_w)
        results['crop_bbox'] = (x0, y0, x0 + crop_w, y0 + crop_h)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Flip image and dense gts with probability ``prob``.

    A horizontal flip negates the x component (channel 0) of the normals, a
    vertical flip the y component (channel 1); invalid (zero) normals stay
    zero.

    Args:
        prob: flip probability.
        direction: 'horizontal' (default) or 'vertical'.
    """

    _AXIS = dict(horizontal=1, vertical=0)

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal'):
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomFlip: prob must be in [0, 1], got {prob}')
        if direction not in self._AXIS:
            raise ValueError(f'RandomFlip: direction {direction!r} not in '
                             f'{list(self._AXIS)}')
        self.prob = prob
        self.direction = direction

    def transform(self, results: dict) -> dict:
        flip = bool(np.random.rand() < self.prob)
        results['flip'] = flip
        results['flip_direction'] = self.direction if flip else None
        if not flip:
            return results
        axis = self._AXIS[self.direction]
        results['img'] = np.ascontiguousarray(np.flip(results['img'], axis))
        for key, kind in dense_gt_items(results):
            gt = np.ascontiguousarray(np.flip(results[key], axis))
            if kind == 'normals':
                channel = 0 if self.direction == 'horizontal' else 1
                # + 0.0 turns the -0.0 of invalid pixels back into 0.0
                gt[..., channel] = -gt[..., channel] + 0.
            results[key] = gt
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'direction={self.direction!r})')


@TRANSFORMS.register_module()
class Pad(BaseTransform):
    """Pad bottom / right to ``size`` or to a multiple of ``size_divisor``.

    The image is padded with ``img_pad_val``; dense gts that have the
    image's size are padded with 255 (label maps) / 0 (depth, normals);
    gts kept at another size (``Resize(resize_gts=False)``) are left as they
    are. Sets ``pad_shape``.

    Args:
        size: target (w, h), as in mmcv; or None.
        size_divisor: pad height and width up to a multiple of this.
        img_pad_val: value of padded image pixels.
        pad_gts: also pad the dense gts.
    """

    def __init__(self,
                 size: Optional[Sequence[int]] = None,
                 size_divisor: Optional[int] = None,
                 img_pad_val: float = 0,
                 pad_gts: bool = True):
        if (size is None) == (size_divisor is None):
            raise ValueError('Pad: give exactly one of size and size_divisor')
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.size_divisor = size_divisor
        self.img_pad_val = img_pad_val
        self.pad_gts = pad_gts

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        if self.size is not None:
            target_w, target_h = self.size
            if target_h < h or target_w < w:
                raise ValueError(f'Pad: image {(h, w)} (h, w) is larger than '
                                 f'size {self.size} (w, h)')
        else:
            d = int(self.size_divisor)
            target_h, target_w = -(-h // d) * d, -(-w // d) * d
        pad_h, pad_w = target_h - h, target_w - w
        if self.pad_gts:
            for key, kind in dense_gt_items(results):
                if results[key].shape[:2] == (h, w):
                    results[key] = pad_dense(results[key], kind, pad_h, pad_w)
        results['img'] = pad_image(img, pad_h, pad_w, self.img_pad_val)
        results['pad_shape'] = (target_h, target_w)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'size_divisor={self.size_divisor})')
