"""A tiny slimmable multi-task network following the slimmable protocol,
for the MACs-model and export tests (independent of the real backbones).

Widths use ``make_divisible(full * ratio, 4)`` (never above full):

    stem   16 ch: 0.5 -> 8, 0.75 -> 12, 1.0 -> 16
    layer1 24 ch: 0.5 -> 12, 1.0 -> 24
    layer2 32 ch: 0.25 -> 8, 0.5 -> 16, 1.0 -> 32
    seg head 16 ch (skip 8 ch): 0.5 -> 8 (4), 0.75 -> 12 (8), 1.0 -> 16 (8)
    depth head 12 ch: 0.5 -> 8, 1.0 -> 12
    cls head 20 features: 0.5 -> 12, 1.0 -> 20
"""
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from mmecmt.models.slimmable.dynamic_ops import (DynamicBatchNorm2d,
                                                 DynamicConv2d, DynamicLinear,
                                                 make_divisible)
from mmecmt.search.space import SearchSpace, SubnetSpec

DIVISOR = 4


def scaled(full: int, ratio: float) -> int:
    return min(full, make_divisible(full * ratio, DIVISOR))


def conv_bn(cin, cout, k=1, stride=1, groups=1, affine=True, relu=True):
    layers = [
        DynamicConv2d(cin, cout, k, stride, k // 2, groups=groups,
                      bias=False),
        DynamicBatchNorm2d(cout, affine=affine)
    ]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class TinySlimBackbone(nn.Module):
    """(B, 3, H, W) -> (layer1 (B, c1, H/2, W/2), layer2 (B, c2, H/4, W/4));
    layer1 has a depthwise conv, layer2 a BN without affine parameters, and
    a ``tail`` conv runs on layer2 without reaching the outputs."""

    stage_names = ('stem', 'layer1', 'layer2')
    stage_convs = {'stem': ['stem.0'], 'layer1': ['layer1.3'],
                   'layer2': ['layer2.0']}

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, stride=2)
        self.layer1 = nn.Sequential(
            *conv_bn(16, 16, 3, groups=16), *conv_bn(16, 24, relu=False))
        self.layer2 = conv_bn(24, 32, 3, stride=2, affine=False)
        # computed but not returned (as MobileNetV2's conv2 with
        # out_indices before it): fvcore's JIT graph drops it
        self.tail = conv_bn(32, 48)

    def set_stage_widths(self, widths: Mapping[str, float]) -> None:
        unknown = set(widths) - set(self.stage_names)
        if unknown:
            raise ValueError(f'unknown stages {sorted(unknown)}; valid: '
                             f'{self.stage_names}')
        for stage in self.stage_names:
            ratio = widths.get(stage, 1.0)
            for name in self.stage_convs[stage]:
                conv = self.get_submodule(name)
                conv.active_out_channels = scaled(conv.out_channels, ratio)

    def forward(self, x):
        low = self.layer1(self.stem(x))
        high = self.layer2(low)
        self.tail(high)
        return low, high


class TinySegHead(nn.Module):
    """ASPP-like: image pooling (adaptive avg pool -> 1x1 -> bilinear) and a
    1x1 branch, concatenated -> 3x3 bottleneck -> bilinear to the low level
    -> concat with a reduced skip -> depthwise + pointwise -> 1x1 out."""

    def __init__(self, out_channels=5, low=24, high=32, channels=16, skip=8):
        super().__init__()
        self.channels, self.skip = channels, skip
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1),
                                  conv_bn(high, channels))
        self.branch = conv_bn(high, channels)
        self.bottleneck = conv_bn(2 * channels, channels, 3)
        self.reduce = conv_bn(low, skip)
        self.fuse = nn.Sequential(
            *conv_bn(channels + skip, channels + skip, 3,
                     groups=channels + skip),
            *conv_bn(channels + skip, channels))
        self.conv_out = DynamicConv2d(channels, out_channels, 1)

    def set_width(self, ratio: float) -> None:
        for conv in (self.pool[1][0], self.branch[0], self.bottleneck[0],
                     self.fuse[3]):
            conv.active_out_channels = scaled(self.channels, ratio)
        self.reduce[0].active_out_channels = scaled(self.skip, ratio)

    def forward(self, feats):
        low, high = feats
        pooled = F.interpolate(self.pool(high), size=high.shape[2:],
                               mode='bilinear', align_corners=False)
        x = self.bottleneck(torch.cat([pooled, self.branch(high)], 1))
        x = F.interpolate(x, size=low.shape[2:], mode='bilinear',
                          align_corners=False)
        x = self.fuse(torch.cat([x, self.reduce(low)], 1))
        return self.conv_out(x)


class TinyDepthHead(nn.Module):
    """3x3 conv on the low level -> 1x1 to one map -> nearest x2."""

    def __init__(self, low=24, channels=12):
        super().__init__()
        self.channels = channels
        self.conv = conv_bn(low, channels, 3)
        self.conv_out = DynamicConv2d(channels, 1, 1)

    def set_width(self, ratio: float) -> None:
        self.conv[0].active_out_channels = scaled(self.channels, ratio)

    def forward(self, feats):
        x = self.conv_out(self.conv(feats[0]))
        return F.interpolate(x, scale_factor=2, mode='nearest')


class TinyClsHead(nn.Module):
    """Global average pool of the high level -> linear -> ReLU -> linear."""

    def __init__(self, high=32, hidden=20, num_classes=10):
        super().__init__()
        self.hidden = hidden
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = DynamicLinear(high, hidden)
        self.fc2 = DynamicLinear(hidden, num_classes)

    def set_width(self, ratio: float) -> None:
        self.fc1.active_out_features = scaled(self.hidden, ratio)

    def forward(self, feats):
        x = self.pool(feats[1]).flatten(1)
        return self.fc2(F.relu(self.fc1(x)))


TOY_SEARCH_SPACE = dict(
    encoder={'stem': (0.5, 0.75, 1.0), 'layer1': (0.5, 1.0),
             'layer2': (0.25, 0.5, 1.0)},
    decoders={'seg': (0.5, 0.75, 1.0), 'depth': (0.5, 1.0),
              'cls': (0.5, 1.0)})


class TinySlimMultiTask(nn.Module):
    """Slimmable encoder + {seg, depth, cls} heads; ``_forward`` returns
    {'seg': (B, 5, H, W), 'depth': (B, 1, H, W), 'cls': (B, 10)} (dense
    outputs bilinearly resized to the input)."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.backbone = TinySlimBackbone()
        self.heads = nn.ModuleDict(
            dict(seg=TinySegHead(), depth=TinyDepthHead(),
                 cls=TinyClsHead()))
        self.search_space = SearchSpace(**TOY_SEARCH_SPACE)
        self.randomize_bn_()
        self.set_subnet(self.search_space.sample('max'))

    def randomize_bn_(self) -> None:
        """Non-trivial BN statistics and affine parameters."""
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                with torch.no_grad():
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
                    if m.affine:
                        m.weight.uniform_(0.5, 1.5)
                        m.bias.uniform_(-0.2, 0.2)

    def set_subnet(self, spec) -> SubnetSpec:
        if not isinstance(spec, SubnetSpec):
            spec = SubnetSpec.from_dict(spec)
        self.search_space.validate(spec)
        self.backbone.set_stage_widths(spec.encoder)
        for task, ratio in spec.decoders.items():
            self.heads[task].set_width(ratio)
        self.subnet = spec
        return spec

    def _forward(self, x):
        feats = self.backbone(x)
        outputs = {}
        for task, head in self.heads.items():
            out = head(feats)
            if out.dim() == 4:
                out = F.interpolate(out, size=x.shape[-2:], mode='bilinear',
                                    align_corners=False)
            outputs[task] = out
        return outputs

    def forward(self, x):
        return self._forward(x)


# ----------------------------------------------------------------------
# the smallest supernet parts, registered for configs (sandwich and loop
# tests): two conv-BN-ReLU stages and a one-hidden-layer head
# ----------------------------------------------------------------------
def _register(name):
    from mmecmt.registry import MODELS
    return MODELS.register_module(name=name, force=True)


@_register('ToyStageBackbone')
class ToyStageBackbone(nn.Module):
    """Two conv-BN-ReLU stages; outputs (B, 8, H/2, W/2), (B, 16, H/4, W/4)
    at full width; widths are multiples of 4."""

    stage_names = ('stem', 'stage1')

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(
            DynamicConv2d(3, 8, 3, 2, 1, bias=False), DynamicBatchNorm2d(8),
            nn.ReLU())
        self.stage1 = nn.Sequential(
            DynamicConv2d(8, 16, 3, 2, 1, bias=False),
            DynamicBatchNorm2d(16), nn.ReLU())

    def set_stage_widths(self, widths):
        unknown = [s for s in widths if s not in self.stage_names]
        if unknown:
            raise ValueError(f'unknown stages {unknown}')
        for name in self.stage_names:
            conv = getattr(self, name)[0]
            conv.active_out_channels = min(
                conv.out_channels,
                make_divisible(conv.out_channels * widths.get(name, 1.0), 4))

    def forward(self, x):
        f0 = self.stem(x)
        return f0, self.stage1(f0)


@_register('ToyStageHead')
class ToyStageHead(nn.Module):
    """1x1 conv (8 channels at full width) - BN - ReLU - 1x1 output conv on
    the last level. ``in_index`` (default ``(-1, )``) is what CI-KD reads as
    the level the head consumes; ``None`` leaves it undeclared (CI-KD then
    compares every backbone output)."""

    def __init__(self, out_channels, channels=8, in_index=(-1, )):
        super().__init__()
        if in_index is not None:
            self.in_index = in_index
        self.channels = channels
        self.conv = DynamicConv2d(16, channels, 1, bias=False)
        self.bn = DynamicBatchNorm2d(channels)
        self.conv_out = DynamicConv2d(channels, out_channels, 1)

    def set_width(self, ratio):
        self.conv.active_out_channels = min(
            self.channels, make_divisible(self.channels * ratio, 2))

    def forward(self, feats):
        return self.conv_out(F.relu(self.bn(self.conv(feats[-1]))))
