"""Light fully-convolutional task head, optionally fusing several levels."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmecmt.registry import MODELS
from .utils import (Feats, check_head_args, init_output_layer, select_levels,
                    to_tuple)


@MODELS.register_module()
class FCNTaskHead(BaseModule):
    """Fuse the selected levels, apply ``num_convs`` convs, then ``conv_out``.

    With several levels selected, each is resized (bilinear) to the largest
    (finest) selected map and they are concatenated along channels
    (``sum(in_channels)`` channels); then ``num_convs`` x
    (``kernel_size`` conv - norm - act) -> dropout -> 1x1 ``conv_out``.
    ``num_convs=0`` gives a linear 1x1 probe on the fused features.

    Args:
        in_channels: channels of the selected level (int) or levels (tuple,
            same length as ``in_index``).
        channels: width of the hidden convs.
        out_channels: class count for segmentation, 1 for depth / edge /
            saliency, 3 for normals.
        in_index: level index (int) or indices (tuple) into ``feats``.
        num_convs: number of hidden convs (>= 0).
        kernel_size: odd kernel size of the hidden convs.
        dropout_ratio: dropout before ``conv_out`` (0 disables it).
        norm_cfg / act_cfg: mmcv norm / activation configs.
        align_corners: of the bilinear resizes.
        init_cfg: mmengine init config; by default the hidden convs are
            Kaiming-normal (mmcv ``ConvModule``), ``conv_out`` N(0, 0.01).

    Shapes:
        feats: sequence of (B, C_i, H_i, W_i).
        output: (B, out_channels, H_f, W_f), (H_f, W_f) the largest selected
        level's size.
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 channels: int,
                 out_channels: int,
                 in_index: Union[int, Sequence[int]] = -1,
                 num_convs: int = 2,
                 kernel_size: int = 3,
                 dropout_ratio: float = 0.1,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        self.in_channels = to_tuple(in_channels, 'in_channels', name)
        self.in_index = to_tuple(in_index, 'in_index', name)
        if len(self.in_channels) != len(self.in_index):
            raise ValueError(
                f'{name}: in_channels {in_channels!r} and in_index '
                f'{in_index!r} must have the same length')
        if int(num_convs) < 0:
            raise ValueError(f'{name}: num_convs must be >= 0, got '
                             f'{num_convs!r}')
        if int(kernel_size) < 1 or int(kernel_size) % 2 == 0:
            raise ValueError(f'{name}: kernel_size must be odd and >= 1, got '
                             f'{kernel_size!r}')
        check_head_args(name, dropout_ratio, channels=channels,
                        out_channels=out_channels)
        self.channels = int(channels)
        self.out_channels = int(out_channels)
        self.num_convs = int(num_convs)
        self.kernel_size = int(kernel_size)
        self.align_corners = align_corners

        fused_channels = sum(self.in_channels)
        convs = []
        for i in range(self.num_convs):
            convs.append(
                ConvModule(
                    fused_channels if i == 0 else self.channels,
                    self.channels,
                    self.kernel_size,
                    padding=self.kernel_size // 2,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg))
        self.convs = nn.Sequential(*convs)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 \
            else nn.Identity()
        self.conv_out = nn.Conv2d(
            self.channels if self.num_convs > 0 else fused_channels,
            self.out_channels, 1)
        init_output_layer(self.conv_out)

    def fuse_inputs(self, feats: Feats) -> Tensor:
        """Selected levels resized to the finest one and concatenated:
        (B, sum(in_channels), H_f, W_f)."""
        levels = select_levels(
            type(self).__name__, feats, self.in_index, self.in_channels)
        if len(levels) == 1:
            return levels[0]
        size = max((level.shape[2:] for level in levels),
                   key=lambda hw: hw[0] * hw[1])
        resized = [
            level if level.shape[2:] == size else F.interpolate(
                level, size=size, mode='bilinear',
                align_corners=self.align_corners) for level in levels
        ]
        return torch.cat(resized, dim=1)

    def forward(self, feats: Feats) -> Tensor:
        """Map a feature pyramid to (B, out_channels, H_f, W_f)."""
        x = self.convs(self.fuse_inputs(feats))
        return self.conv_out(self.dropout(x))
