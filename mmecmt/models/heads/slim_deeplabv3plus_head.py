"""Slimmable DeepLabv3+ task head: ``DeepLabV3PlusTaskHead`` on dynamic ops.

Two convs of DeepLabv3+ read a channel **concatenation** (the ASPP
bottleneck reads [image pool | branch_1 | ... | branch_n], the first decoder
conv reads [ASPP output | reduced skip]). When the parts are slimmed, the
active input is not the leading slice of the full input: part k's first
``c_k`` channels sit at part k's offset in the full concatenation (the sum
of the full widths before it). The ops below therefore pick
the matching input columns of their weight
(:class:`ConcatInputDynamicConv2d` and, for the depthwise-separable variant,
:class:`ConcatInputDynamicBatchNorm2d` on the depthwise output), so that every
active channel keeps the weights it has at full width. (A plain leading slice
would run, but would feed e.g. branch 1's channels through weights trained
for the image-pool branch.)
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from torch import Tensor

from mmecmt.models.slimmable.convert import (check_divisor, check_width_ratio,
                                             convert_to_dynamic_,
                                             scale_channels, share_tensors_)
from mmecmt.models.slimmable.dynamic_ops import (DynamicBatchNorm2d,
                                                 DynamicConv2d)
from mmecmt.registry import MODELS
from .deeplabv3plus_head import DeepLabV3PlusTaskHead
from .utils import Feats


class ConcatInputMixin:
    """Input-channel bookkeeping of an op that reads a concatenation.

    Attributes:
        in_segments: full widths of the concatenated parts (they sum to the
            op's full input channels).
        active_in_segments: active widths of the parts (``None`` = full).
    """

    in_segments: Tuple[int, ...]
    active_in_segments: Optional[Tuple[int, ...]] = None

    def init_segments(self, in_segments: Sequence[int],
                      full_in_channels: int) -> None:
        segments = tuple(int(s) for s in in_segments)
        if sum(segments) != full_in_channels or min(segments) < 1:
            raise ValueError(
                f'{type(self).__name__}: input parts {segments} must be '
                f'positive and sum to the {full_in_channels} input channels')
        self.in_segments = segments
        self.active_in_segments = None
        self._index_cache = {}

    def set_active_in_segments(self,
                               segments: Optional[Sequence[int]]) -> None:
        """Active width of each concatenated part (``None`` = full)."""
        if segments is not None:
            segments = tuple(int(s) for s in segments)
            if len(segments) != len(self.in_segments) or any(
                    not 1 <= s <= full
                    for s, full in zip(segments, self.in_segments)):
                raise ValueError(
                    f'{type(self).__name__}: active input parts {segments} '
                    f'must be {len(self.in_segments)} widths within the full '
                    f'parts {self.in_segments}')
        self.active_in_segments = segments

    def input_index(self, in_channels: int,
                    device: torch.device) -> Optional[Tensor]:
        """Indices of the active input channels in the full input, or
        ``None`` when they are its leading ``in_channels`` (a view
        suffices).

        Raises ``ValueError`` when ``in_channels`` does not match the sum of
        the active parts.
        """
        active = self.active_in_segments or self.in_segments
        if in_channels != sum(active):
            raise ValueError(
                f'{type(self).__name__}: input has {in_channels} channels, '
                f'but its active concatenated parts {active} sum to '
                f'{sum(active)}')
        if all(a == f for a, f in zip(active[:-1], self.in_segments[:-1])):
            return None
        key = (active, device)
        if key not in self._index_cache:
            offsets = [0]
            for full in self.in_segments[:-1]:
                offsets.append(offsets[-1] + full)
            self._index_cache[key] = torch.cat([
                torch.arange(start, start + width, device=device)
                for start, width in zip(offsets, active)
            ])
        return self._index_cache[key]


# ``nn.Conv2d`` is listed again as a direct base so that mmengine's layer-
# name initialisers (``layer='Conv2d'``, matched against the direct bases)
# treat this op like a plain conv.
class ConcatInputDynamicConv2d(ConcatInputMixin, DynamicConv2d, nn.Conv2d):
    """:class:`DynamicConv2d` reading a concatenation of slimmed parts.

    Shapes: x (B, sum(active_in_segments), H, W) -> (B, out, H', W'), out =
    ``active_out_channels`` (a depthwise conv: out = in).
    """

    def __init__(self, *args, in_segments: Sequence[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.init_segments(in_segments, self.in_channels)

    def active_params(self, in_channels: int):
        """(weight, bias, groups) of the active input parts (gathered per
        part; reused between inference calls,
        :class:`InferenceSliceCache`)."""
        out, in_, groups = self.active_shape(in_channels)
        weight, bias = self._parameters['weight'], self._parameters['bias']
        index = self.input_index(in_channels, weight.device)
        if index is None:
            return self.active_weight(out, in_) + (groups, )

        def gather():
            if self.is_depthwise:  # one filter per input channel
                return (weight.index_select(0, index),
                        None if bias is None else bias.index_select(0, index))
            return (weight[:out].index_select(1, index),
                    None if bias is None else bias[:out])

        if weight.is_meta:
            return gather() + (groups, )
        return self.cached((out, self.active_in_segments), (weight, bias),
                           gather) + (groups, )


class ConcatInputDynamicBatchNorm2d(ConcatInputMixin, DynamicBatchNorm2d):
    """:class:`DynamicBatchNorm2d` over a concatenation of slimmed parts.

    The affine parameters and running statistics of the active channels are
    gathered per part; in training mode the updated statistics are written
    back to their places in the full buffers.

    Shapes: x (B, sum(active_in_segments), H, W) -> same.
    """

    def __init__(self, *args, in_segments: Sequence[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.init_segments(in_segments, self.num_features)

    def forward(self, x: Tensor) -> Tensor:
        index = self.input_index(x.size(1), x.device)
        if index is None:
            return super().forward(x)
        factor = 0.0
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = (1.0 / float(self.num_batches_tracked)
                      if self.momentum is None else self.momentum)
        sources = (self._buffers['running_mean'],
                   self._buffers['running_var'],
                   self._parameters['weight'], self._parameters['bias'])

        def gather():
            return tuple(None if t is None else t.index_select(0, index)
                         for t in sources)

        # (training: F.batch_norm updates the gathered statistics, which are
        # written back below, so they are gathered afresh every call)
        mean, var, weight, bias = gather() if self.training else \
            self.cached(self.active_in_segments, sources, gather)
        out = F.batch_norm(
            x, mean, var, weight, bias,
            self.training or not self.track_running_stats, factor, self.eps)
        if self.training and self.track_running_stats:
            with torch.no_grad():  # F.batch_norm updated the gathered copies
                self.running_mean.index_copy_(0, index, mean)
                self.running_var.index_copy_(0, index, var)
        return out

    def export(self, in_channels: int) -> nn.BatchNorm2d:
        """A plain BatchNorm2d with the active parameters and statistics."""
        device = (self.weight if self.affine else self.running_mean).device
        index = self.input_index(in_channels, device)
        if index is None:
            return super().export(in_channels)
        bn = nn.BatchNorm2d(in_channels, self.eps, self.momentum, self.affine,
                            self.track_running_stats)
        with torch.no_grad():
            if self.affine:
                bn.weight.copy_(self.weight.index_select(0, index))
                bn.bias.copy_(self.bias.index_select(0, index))
            if self.track_running_stats:
                bn.running_mean.copy_(self.running_mean.index_select(0, index))
                bn.running_var.copy_(self.running_var.index_select(0, index))
                bn.num_batches_tracked.copy_(self.num_batches_tracked)
        return bn.to(device)


def _concat_input_twin(op: nn.Module, in_segments: Sequence[int]):
    """The concat-input twin of a DynamicConv2d / DynamicBatchNorm2d,
    sharing its tensors."""
    if isinstance(op, DynamicConv2d):
        twin = ConcatInputDynamicConv2d(
            op.in_channels, op.out_channels, op.kernel_size,
            stride=op.stride, padding=op.padding, dilation=op.dilation,
            groups=op.groups, bias=op.bias is not None,
            padding_mode=op.padding_mode, in_segments=in_segments,
            device='meta')
    else:
        twin = ConcatInputDynamicBatchNorm2d(
            op.num_features, eps=op.eps, momentum=op.momentum,
            affine=op.affine, track_running_stats=op.track_running_stats,
            in_segments=in_segments, device='meta')
    share_tensors_(op, twin)
    return twin


def _make_concat_input(conv_module: nn.Module,
                       in_segments: Sequence[int]) -> List[ConcatInputMixin]:
    """Swap, in place, the input-side ops of a (depthwise-separable)
    ConvModule that reads a concatenation for concat-input twins; return the
    twins.

    ConvModule: its conv. DepthwiseSeparableConvModule: the depthwise conv,
    the norm after it (its channels are the input's) and the pointwise conv.
    """
    if isinstance(conv_module, DepthwiseSeparableConvModule):
        modules = [conv_module.depthwise_conv, conv_module.pointwise_conv]
        names = [['conv', conv_module.depthwise_conv.norm_name], ['conv']]
    elif isinstance(conv_module, ConvModule):
        modules, names = [conv_module], [['conv']]
    else:
        raise TypeError(
            f'expected a ConvModule or DepthwiseSeparableConvModule, got '
            f'{type(conv_module).__name__}')
    twins = []
    for module, module_names in zip(modules, names):
        for name in module_names:
            if name is None:  # no norm layer (norm_cfg=None)
                continue
            op = getattr(module, name)
            twin = _concat_input_twin(op, in_segments)
            setattr(module, name, twin)
            twins.append(twin)
    return twins


@MODELS.register_module()
class SlimDeepLabV3PlusTaskHead(DeepLabV3PlusTaskHead):
    """:class:`DeepLabV3PlusTaskHead` whose widths can be reduced.

    Same layers and state-dict keys as ``DeepLabV3PlusTaskHead`` (a fixed
    head's weights load unchanged; at full width the outputs are equal), built
    from dynamic ops:

    * ``set_width(ratio)`` sets the ASPP branches, the ASPP bottleneck and
      the decoder convs to ``scale_channels(channels, ratio, divisor)`` and
      the reduced skip to ``scale_channels(c1_channels, ratio, divisor)``
      (``min(c, make_divisible(c * ratio, divisor))``); ``conv_out`` keeps
      its ``out_channels``;
    * the input levels may have any width up to ``in_channels`` (a slimmed
      encoder's leading channels): the first convs slice their inputs.

    Args:
        in_channels, out_channels, in_index, channels, c1_channels,
        dilations, dropout_ratio, separable, norm_cfg, act_cfg,
        align_corners, init_cfg: as :class:`DeepLabV3PlusTaskHead`
            (``norm_cfg`` must build ``nn.BatchNorm2d`` or be ``None``).
        divisor: active channels are multiples of it (default 8).

    Shapes:
        feats: sequence of (B, C_i, H_i, W_i) with C_i <= the full
            ``in_channels`` of the selected levels.
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
                 init_cfg: Optional[dict] = None,
                 divisor: int = 8):
        super().__init__(
            in_channels=in_channels,
            out_channels=out_channels,
            in_index=in_index,
            channels=channels,
            c1_channels=c1_channels,
            dilations=dilations,
            dropout_ratio=dropout_ratio,
            separable=separable,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            align_corners=align_corners,
            init_cfg=init_cfg)
        self.divisor = check_divisor(divisor, type(self).__name__)
        convert_to_dynamic_(self)
        num_parts = len(self.dilations) + 1  # image pool + one per dilation
        _make_concat_input(self.aspp.bottleneck,
                           (self.channels, ) * num_parts)
        _make_concat_input(self.decoder[0], (self.channels, self.c1_channels))
        self.set_width(1.0)

    def set_width(self, ratio: float) -> None:
        """Run the ASPP / decoder at ``scale_channels(channels, ratio)`` and
        the skip at ``scale_channels(c1_channels, ratio)`` channels.

        Raises:
            ValueError: if ``ratio`` is not in (0, 1].
        """
        ratio = check_width_ratio(ratio, type(self).__name__)
        channels = scale_channels(self.channels, ratio, self.divisor)
        c1_channels = scale_channels(self.c1_channels, ratio, self.divisor)
        for module in (self.aspp, self.decoder):
            for op in module.modules():
                if isinstance(op, DynamicConv2d):  # depthwise ones ignore it
                    op.active_out_channels = channels
        self.c1_bottleneck.conv.active_out_channels = c1_channels
        self.conv_out.active_out_channels = None  # always full
        num_parts = len(self.dilations) + 1
        for module, segments in (
                (self.aspp.bottleneck, (channels, ) * num_parts),
                (self.decoder[0], (channels, c1_channels))):
            for op in module.modules():
                if isinstance(op, ConcatInputMixin):
                    op.set_active_in_segments(segments)
        self.active_channels = channels
        self.active_c1_channels = c1_channels

    def select_inputs(self, feats: Feats) -> Tuple[Tensor, Tensor]:
        """(low, high) levels, each with at most its full ``in_channels``."""
        name = type(self).__name__
        if isinstance(feats, Tensor):
            feats = [feats]
        if not isinstance(feats, (list, tuple)):
            raise TypeError(
                f'{name}: expected a list/tuple of feature maps, got '
                f'{type(feats).__name__}')
        selected = []
        for index, full in zip(self.in_index, self.in_channels):
            if not -len(feats) <= index < len(feats):
                raise ValueError(
                    f'{name}: in_index {index} is out of range for '
                    f'{len(feats)} input levels (valid: {-len(feats)} to '
                    f'{len(feats) - 1})')
            feat = feats[index]
            if feat.dim() != 4 or not 1 <= feat.shape[1] <= full:
                raise ValueError(
                    f'{name}: input level {index} has shape '
                    f'{tuple(feat.shape)}, expected (B, C, H, W) with '
                    f'1 <= C <= {full} (in_channels)')
            selected.append(feat)
        return selected[0], selected[1]

    def forward(self, feats: Feats) -> Tensor:
        """Map a (possibly slimmed) feature pyramid to
        (B, out_channels, H_low, W_low)."""
        low, high = self.select_inputs(feats)
        x = self.aspp(high)
        x = F.interpolate(
            x, size=low.shape[2:], mode='bilinear',
            align_corners=self.align_corners)
        x = torch.cat([x, self.c1_bottleneck(low)], dim=1)
        x = self.decoder(x)
        return self.conv_out(self.dropout(x))
