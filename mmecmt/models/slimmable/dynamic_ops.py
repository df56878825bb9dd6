"""Dynamic (slimmable) layers: the active width is a leading slice, or an
index set.

Each op runs with ``in = x.size(1)`` input channels (whatever the previous
op produced) and ``active_out_channels`` output channels (``None`` = full),
using the leading slice ``[:out, :in]`` of its full weight, as in
Once-for-All's ``dynamic_op.py``. Who chooses the widths is not their
business: an architecture's ``set_subnet(spec)`` sets ``active_out_channels``.

Pruning keeps arbitrary channels rather than a leading slice (InterroGate's
gate patterns): ``DynamicConv2d.active_out_index`` and
``DynamicBatchNorm2d.active_index`` (a LongTensor of kept channel indices,
``None`` = the slice) make the op produce / normalise exactly those
channels, in that order (a channel mask in the spirit of mmrazor's). The
slice stays the fast path; an index set gathers its weights once per
change at inference (:class:`InferenceSliceCache`).

``export(in_channels)`` returns the plain ``nn`` module holding the sliced
or gathered weights (and BN statistics), for deployment.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def make_divisible(value: float, divisor: int = 8,
                   min_value: Optional[int] = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (>= min_value),
    not going more than 10% below it (the MobileNet rule)."""
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


class InferenceSliceCache:
    """Mixin: keep an op's active parameter slices between inference calls.

    Slicing and gathering weights costs a few microseconds of Python per
    call, which adds up over a network's hundred-odd layers at batch 1.
    Without autograd (inference) :meth:`cached` builds the slices once and
    returns them until the widths or the tensors change: the key holds the
    widths and every source tensor's ``data_ptr`` and version counter, so an
    optimizer step, ``load_state_dict`` or BN recalibration (all in-place)
    invalidate it. With autograd enabled nothing is cached (the slices must
    stay views of the parameters for their gradients). The cache is not
    module state: it is not saved and it is rebuilt on demand.
    """

    def cached(self, widths: tuple, sources: tuple, build):
        """``build()``, reused while ``widths`` and ``sources`` (tensors or
        None) are unchanged; recomputed on every call under autograd."""
        if torch.is_grad_enabled():
            return build()
        key = [widths]
        for t in sources:
            if t is not None:
                key += (t.data_ptr(), t._version)
        key = tuple(key)
        entry = self.__dict__.get('_inference_slices')
        if entry is not None and entry[0] == key:
            return entry[1]
        value = build()
        self.__dict__['_inference_slices'] = (key, value)
        return value


def check_channel_index(index: Optional[Tensor], channels: int,
                        where: str) -> Optional[Tensor]:
    """``index`` as a 1-D LongTensor of distinct channels in
    ``[0, channels)`` (None stays None); ``ValueError`` naming ``where``
    and the range else."""
    if index is None:
        return None
    index = torch.as_tensor(index, dtype=torch.long).flatten()
    if index.numel() == 0:
        raise ValueError(f'{where}: an empty channel index (remove the layer '
                         'instead)')
    if int(index.min()) < 0 or int(index.max()) >= channels:
        raise ValueError(f'{where}: channel index {index.tolist()} has '
                         f'values outside [0, {channels - 1}]')
    if index.unique().numel() != index.numel():
        raise ValueError(f'{where}: channel index {index.tolist()} repeats '
                         'a channel')
    return index


def _index_key(index: Optional[Tensor]) -> tuple:
    return () if index is None else tuple(index.tolist())


class DynamicConv2d(InferenceSliceCache, nn.Conv2d):
    """Conv2d running on the leading ``[:out, :in]`` slice of its weight.

    Shapes: x (B, in, H, W) with in <= ``in_channels`` -> (B, out, H', W'),
    out = ``active_out_channels`` or ``out_channels``. A depthwise conv
    (``groups == in_channels == out_channels``) keeps out = in = groups.

    ``active_out_index`` (a LongTensor, see :func:`check_channel_index`),
    when set, overrides the width: the conv produces exactly the output
    channels ``active_out_index`` (in that order), from weight rows
    gathered by index (not for depthwise convs, whose outputs follow the
    input).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_depthwise = (self.groups > 1
                             and self.groups == self.in_channels
                             == self.out_channels)
        if self.groups > 1 and not self.is_depthwise:
            raise ValueError(
                'DynamicConv2d supports groups=1 or depthwise convs, got '
                f'groups={self.groups} for {self.in_channels}->'
                f'{self.out_channels} channels')
        self.active_out_channels: Optional[int] = None
        self.active_out_index: Optional[Tensor] = None

    def set_out_index(self, index) -> None:
        """Keep output channels ``index`` (None: back to the width)."""
        if index is not None and self.is_depthwise:
            raise ValueError('a depthwise conv follows its input channels; '
                             'it takes no output index')
        self.active_out_index = check_channel_index(
            index, self.out_channels, type(self).__name__)

    def active_weight(self, out: int, in_: int):
        """(weight, bias) of the active slice ``[:out, :in_]``.

        At full width these are the parameters themselves. Without autograd
        a reduced slice is copied once into contiguous memory and reused
        (:class:`InferenceSliceCache`), so a reduced-width subnet does not
        pay for a strided weight copy at every call.
        """
        weight, bias = self._parameters['weight'], self._parameters['bias']
        if out == weight.size(0) and in_ == weight.size(1):
            return weight, bias
        if weight.is_meta:
            return weight[:out, :in_], None if bias is None else bias[:out]
        return self.cached(
            (out, in_), (weight, bias), lambda: (
                weight[:out, :in_].contiguous(),
                None if bias is None else bias[:out].contiguous()))

    def active_shape(self, in_channels: int):
        """(out, in, groups) that run for an input of ``in_channels``."""
        if in_channels > self.in_channels:
            raise ValueError(
                f'{type(self).__name__}: input has {in_channels} channels, '
                f'more than the full {self.in_channels}')
        if self.is_depthwise:
            return in_channels, 1, in_channels
        if self.active_out_index is not None:
            return len(self.active_out_index), in_channels, 1
        out = self.active_out_channels or self.out_channels
        if not 0 < out <= self.out_channels:
            raise ValueError(
                f'{type(self).__name__}: active_out_channels={out} is not '
                f'in [1, {self.out_channels}]')
        return out, in_channels, 1

    def active_params(self, in_channels: int):
        """(weight ``(out, in / groups, kh, kw)``, bias ``(out,)`` or None,
        groups) that run for an input of ``in_channels``: the leading slice
        (:meth:`active_weight`). Subclasses that read other channels
        override this; :meth:`forward` and :meth:`export` use it."""
        out, in_, groups = self.active_shape(in_channels)
        index = self.active_out_index
        if index is None:
            return self.active_weight(out, in_) + (groups, )
        weight, bias = self._parameters['weight'], self._parameters['bias']

        def gather():
            rows = index.to(weight.device)
            return (weight[:, :in_].index_select(0, rows),
                    None if bias is None else bias.index_select(0, rows))

        return self.cached((_index_key(index), in_), (weight, bias),
                           gather) + (groups, )

    def forward(self, x: Tensor) -> Tensor:
        weight, bias, groups = self.active_params(x.size(1))
        if self.padding_mode != 'zeros':
            x = F.pad(x, self._reversed_padding_repeated_twice,
                      mode=self.padding_mode)
            return F.conv2d(x, weight, bias, self.stride, 0, self.dilation,
                            groups)
        return F.conv2d(x, weight, bias, self.stride, self.padding,
                        self.dilation, groups)

    def export(self, in_channels: int) -> nn.Conv2d:
        """A plain Conv2d with the active weights (:meth:`active_params`)."""
        weight, bias, groups = self.active_params(in_channels)
        conv = nn.Conv2d(in_channels, weight.size(0), self.kernel_size,
                         self.stride, self.padding, self.dilation, groups,
                         bias is not None, self.padding_mode)
        with torch.no_grad():
            conv.weight.copy_(weight)
            if bias is not None:
                conv.bias.copy_(bias)
        return conv.to(self.weight.device)


class DynamicBatchNorm2d(InferenceSliceCache, nn.BatchNorm2d):
    """BatchNorm2d over the leading ``x.size(1)`` channels.

    Affine parameters and running statistics are sliced like the conv before
    it; in training mode the running statistics of the slice are updated in
    place (the slices are views of the full buffers). In eval mode without
    autograd the slices are reused between calls
    (:class:`InferenceSliceCache`).

    ``active_index`` (set by :meth:`set_index`), when set, normalises the
    channels ``active_index`` of the full layer instead of the leading
    ones (the input has ``len(active_index)`` channels, in that order);
    gathered statistics are copies, so an indexed BN runs in eval mode only.
    """

    active_index: Optional[Tensor] = None

    def set_index(self, index) -> None:
        """Normalise channels ``index`` (None: back to the leading slice)."""
        self.active_index = check_channel_index(
            index, self.num_features, type(self).__name__)

    def active_params(self, c: int):
        """(running_mean, running_var, weight, bias) of the leading ``c``
        channels, or of ``active_index`` when set (None where the BN has no
        such tensor)."""
        index = self.active_index
        if index is not None:
            if c != len(index):
                raise ValueError(
                    f'DynamicBatchNorm2d: input has {c} channels; its '
                    f'channel index keeps {len(index)}')

            def build():
                rows = index.to(sources[0].device if sources[0] is not None
                                else self.weight.device)
                return tuple(None if t is None else t.index_select(0, rows)
                             for t in sources)
        else:
            def build():
                return tuple(None if t is None else t[:c] for t in sources)

        sources = (self._buffers['running_mean'],
                   self._buffers['running_var'],
                   self._parameters['weight'], self._parameters['bias'])
        if self.training:  # running statistics are updated through views
            if index is not None:
                raise RuntimeError(
                    'DynamicBatchNorm2d with a channel index runs in eval '
                    'mode only (its gathered statistics are copies)')
            return build()
        return self.cached((c, _index_key(index)), sources, build)

    def forward(self, x: Tensor) -> Tensor:
        c = x.size(1)
        if c > self.num_features:
            raise ValueError(
                f'DynamicBatchNorm2d: input has {c} channels, more than '
                f'the full {self.num_features}')
        if c == self.num_features and self.active_index is None:
            return super().forward(x)
        exponential_average_factor = 0.0
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                exponential_average_factor = 1.0 / float(
                    self.num_batches_tracked)
            else:
                exponential_average_factor = self.momentum
        use_batch_stats = self.training or not self.track_running_stats
        mean, var, weight, bias = self.active_params(c)
        return F.batch_norm(x, mean, var, weight, bias, use_batch_stats,
                            exponential_average_factor, self.eps)

    def export(self, in_channels: int) -> nn.BatchNorm2d:
        """A plain BatchNorm2d with the active slice's (or index's)
        parameters and stats."""
        c = in_channels
        bn = nn.BatchNorm2d(c, self.eps, self.momentum, self.affine,
                            self.track_running_stats)
        with torch.no_grad():
            mean, var, weight, bias = self.active_params(c)
            if self.affine:
                bn.weight.copy_(weight)
                bn.bias.copy_(bias)
            if self.track_running_stats:
                bn.running_mean.copy_(mean)
                bn.running_var.copy_(var)
                bn.num_batches_tracked.copy_(self.num_batches_tracked)
        device = (self.weight if self.affine else self.running_mean).device
        return bn.to(device)


class DynamicLinear(nn.Linear):
    """Linear on the leading ``[:out, :in]`` slice: (B, in) -> (B, out)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.active_out_features: Optional[int] = None

    def active_shape(self, in_features: int):
        if in_features > self.in_features:
            raise ValueError(
                f'DynamicLinear: input has {in_features} features, more '
                f'than the full {self.in_features}')
        out = self.active_out_features or self.out_features
        if not 0 < out <= self.out_features:
            raise ValueError(
                f'DynamicLinear: active_out_features={out} is not in '
                f'[1, {self.out_features}]')
        return out, in_features

    def forward(self, x: Tensor) -> Tensor:
        out, in_ = self.active_shape(x.size(-1))
        bias = self.bias[:out] if self.bias is not None else None
        return F.linear(x, self.weight[:out, :in_], bias)

    def export(self, in_features: int) -> nn.Linear:
        out, in_ = self.active_shape(in_features)
        linear = nn.Linear(in_, out, self.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(self.weight[:out, :in_])
            if self.bias is not None:
                linear.bias.copy_(self.bias[:out])
        return linear.to(self.weight.device)


DYNAMIC_OPS = (DynamicConv2d, DynamicBatchNorm2d, DynamicLinear)
