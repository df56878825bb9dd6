"""DeepLabv3+ decoder as a task head: ASPP on a coarse level, fused with a
stride-4 skip, returning a dense map for any task kind."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmecmt.registry import MODELS
from .utils import (Feats, check_head_args, init_output_layer, select_levels,
                    to_tuple)


def _conv3x3(separable: bool, in_channels: int, out_channels: int,
             dilation: int, norm_cfg: dict, act_cfg: dict) -> nn.Module:
    """3x3 conv-norm-act, depthwise-separable when ``separable``."""
    conv_type = DepthwiseSeparableConvModule if separable else ConvModule
    return conv_type(
        in_channels, out_channels, 3, padding=dilation, dilation=dilation,
        norm_cfg=norm_cfg, act_cfg=act_cfg)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling with an image-pooling branch.

    Branches: global average pool -> 1x1 conv (broadcast back), and one conv
    per dilation (1x1 for dilation 1, 3x3 atrous otherwise); their outputs are
    concatenated and fused by a 3x3 bottleneck conv (as mmseg's ``ASPPHead``).

    Note: the pooling branch normalises a (B, C, 1, 1) map, so with BN the
    head needs a batch of at least 2 images in training mode.

    Shapes:
        input (B, in_channels, H, W) -> output (B, channels, H, W).
    """

    def __init__(self, in_channels: int, channels: int,
                 dilations: Sequence[int], separable: bool, norm_cfg: dict,
                 act_cfg: dict, align_corners: bool):
        super().__init__()
        self.align_corners = align_corners
        self.image_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            ConvModule(in_channels, channels, 1, norm_cfg=norm_cfg,
                       act_cfg=act_cfg))
        self.branches = nn.ModuleList()
        for dilation in dilations:
            if dilation == 1:
                branch = ConvModule(in_channels, channels, 1,
                                    norm_cfg=norm_cfg, act_cfg=act_cfg)
            else:
                branch = _conv3x3(separable, in_channels, channels, dilation,
                                  norm_cfg, act_cfg)
            self.branches.append(branch)
        self.bottleneck = _conv3x3(separable, (len(dilations) + 1) * channels,
                                   channels, 1, norm_cfg, act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        pooled = F.interpolate(
            self.image_pool(x), size=x.shape[2:], mode='bilinear',
            align_corners=self.align_corners)
        outs = [pooled] + [branch(x) for branch in self.branches]
        return self.bottleneck(torch.cat(outs, dim=1))


@MODELS.register_module()
class DeepLabV3PlusTaskHead(BaseModule):
    """DeepLabv3+ head returning ``out_channels`` maps at the skip's stride.

    ``feats[in_index[1]]`` (high level, e.g. stride 16/32) -> :class:`ASPP`
    -> bilinear upsampling to the size of ``feats[in_index[0]]`` (low level,
    e.g. stride 4) -> concat with the 1x1-reduced low level (``c1_channels``)
    -> two 3x3 convs -> dropout -> 1x1 ``conv_out``.

    Args:
        in_channels: (low-level channels, high-level channels).
        out_channels: output maps: the class count for segmentation, 1 for
            depth / edge / saliency, 3 for normals.
        in_index: (low-level index, high-level index) into ``feats``.
        channels: width of ASPP and decoder convs.
        c1_channels: width of the reduced low-level skip.
        dilations: ASPP dilations; 1 gives a 1x1 branch. The DeepLab default
            (1, 6, 12, 18) suits stride-16 maps of 512-pixel inputs; use
            e.g. (1, 2, 4) for small maps.
        dropout_ratio: dropout before ``conv_out`` (0 disables it).
        separable: use depthwise-separable 3x3 convs (ASPP branches,
            bottleneck and decoder), as mmseg's DepthwiseSeparableASPPHead
            does for the atrous branches and the decoder.
        norm_cfg / act_cfg: mmcv norm / activation configs.
        align_corners: of the bilinear resizes.
        init_cfg: mmengine init config; by default convs are Kaiming-normal
            (mmcv ``ConvModule``) and ``conv_out`` is N(0, 0.01) with zero
            bias.

    Shapes:
        feats: sequence of (B, C_i, H_i, W_i).
        output: (B, out_channels, H_low, W_low).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 in_index: Sequence[int] = (0, -1),
                 channels: int = 256,
                 c1_channels: int = 48,
                 dilations: Sequence[int] = (1, 6, 12, 18),
                 dropout_ratio: float = 0.1,
                 separable: bool = False,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        self.in_channels = to_tuple(in_channels, 'in_channels', name)
        self.in_index = to_tuple(in_index, 'in_index', name)
        if len(self.in_channels) != 2 or len(self.in_index) != 2:
            raise ValueError(
                f'{name}: in_channels and in_index must be (low level, high '
                f'level) pairs, got in_channels={in_channels!r}, '
                f'in_index={in_index!r}')
        self.dilations = to_tuple(dilations, 'dilations', name)
        if any(d < 1 for d in self.dilations):
            raise ValueError(
                f'{name}: dilations must be >= 1, got {dilations!r}')
        check_head_args(name, dropout_ratio, out_channels=out_channels,
                        channels=channels, c1_channels=c1_channels)
        self.out_channels = int(out_channels)
        self.channels = int(channels)
        self.c1_channels = int(c1_channels)
        self.separable = bool(separable)
        self.align_corners = align_corners
        low_channels, high_channels = self.in_channels

        self.aspp = ASPP(high_channels, self.channels, self.dilations,
                         self.separable, norm_cfg, act_cfg, align_corners)
        self.c1_bottleneck = ConvModule(
            low_channels, self.c1_channels, 1, norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.decoder = nn.Sequential(
            _conv3x3(self.separable, self.channels + self.c1_channels,
                     self.channels, 1, norm_cfg, act_cfg),
            _conv3x3(self.separable, self.channels, self.channels, 1,
                     norm_cfg, act_cfg))
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 \
            else nn.Identity()
        self.conv_out = nn.Conv2d(self.channels, self.out_channels, 1)
        init_output_layer(self.conv_out)

    def forward(self, feats: Feats) -> Tensor:
        """Map a feature pyramid to (B, out_channels, H_low, W_low)."""
        low, high = select_levels(
            type(self).__name__, feats, self.in_index, self.in_channels)
        x = self.aspp(high)
        x = F.interpolate(
            x, size=low.shape[2:], mode='bilinear',
            align_corners=self.align_corners)
        x = torch.cat([x, self.c1_bottleneck(low)], dim=1)
        x = self.decoder(x)
        return self.conv_out(self.dropout(x))
