"""Batches images for a multi-task model; targets stay in the data samples."""
from typing import Optional, Sequence

from mmengine.model import ImgDataPreprocessor

from mmecmt.registry import MODELS


@MODELS.register_module()
class MultiTaskDataPreProcessor(ImgDataPreprocessor):
    """Normalise, convert BGR to RGB, pad to a size divisor and stack images.

    Input: ``data['inputs']``: list of B tensors (3, H_i, W_i) uint8 (or an
    already stacked (B, 3, H, W) tensor); ``data['data_samples']``: list of
    B :class:`~mmecmt.structures.MultiTaskDataSample`.

    Output: ``inputs`` (B, 3, H_pad, W_pad) float32, and the samples with
    ``batch_input_shape`` and ``pad_shape`` = (H_pad, W_pad) set, so that the
    model can crop the padding off its predictions. Targets are not stacked
    here: the model stacks (and pads with each kind's ignore value) the ones
    it needs.

    Args:
        mean, std: per-channel normalisation (in the order after conversion).
        size_divisor: pad height and width up to a multiple of this.
        pad_val: value of the padded image pixels (before normalisation the
            padding is applied on the normalised image, as in mmengine).
        bgr_to_rgb: flip channel order (images are loaded as BGR).
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = (123.675, 116.28, 103.53),
                 std: Optional[Sequence[float]] = (58.395, 57.12, 57.375),
                 size_divisor: int = 1,
                 pad_val: float = 0,
                 bgr_to_rgb: bool = True,
                 non_blocking: bool = False):
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=size_divisor,
            pad_value=pad_val,
            bgr_to_rgb=bgr_to_rgb,
            non_blocking=non_blocking)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        inputs = data['inputs']
        samples = data.get('data_samples')
        if samples is not None:
            batch_input_shape = tuple(inputs.shape[-2:])
            for sample in samples:
                sample.set_metainfo(
                    dict(
                        batch_input_shape=batch_input_shape,
                        pad_shape=batch_input_shape))
        return data
