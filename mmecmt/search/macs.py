"""Exact analytic MACs of any subnet of a slimmable supernet.

:class:`MacsModel` answers ``macs(spec)`` in a few microseconds, without
running the network, and its answer equals fvcore's count
(:func:`mmecmt.utils.flops.count_macs`) of the exported static subnet
(:func:`mmecmt.models.slimmable.export_static`) exactly.

How: at construction the supernet's ``_forward`` is traced under a
``TorchFunctionMode`` that records every op fvcore counts (convolution,
linear, batch / group / layer / instance norm, bilinear and nearest
upsampling, adaptive average pooling, grid sampling, matmul / mm / bmm /
addmm) as ``scale * prod(factors)``, exactly fvcore's formula (e.g. a conv is
``N * prod(weight.shape) * H_out * W_out``). The graph does not depend on the
widths, only channel counts do. One trace at the largest subnet and one per
(search-space entry, non-max choice) with every other entry at max show which
factors of which op move with which entry. Each moving factor is modelled as
additive over entries (a concatenation of two branches adds their channels),
so an op's cost ``K * A * B`` (at most two moving factors: its input and
output channels) expands into a constant, one table per entry and one table
per pair of entries. ``macs(spec)`` is the constant plus a handful of table
lookups. The model is then checked at the smallest subnet and a few random
ones op by op; an op it cannot represent raises ``NotImplementedError``
naming the op and its module.

Like the JIT graph fvcore analyses (after its dead-code elimination), an op
whose result never reaches the outputs is not counted (e.g. MobileNetV2's
``conv2`` when ``out_indices`` stop before it); reachability is read from the
autograd graph of each trace.

The traces run on a weightless ``meta`` copy of the model (a second copy on
the model's device if the forward does not run on ``meta``); the model itself
is never touched. Known limits (each mismatch would show in
:func:`compare_with_fvcore`): an op feeding the outputs only through a
non-differentiable path (``detach``, integer ops) or only through its shape
is treated as dead; functions fvcore counts that are called from inside
other torch functions (other than those in :data:`UNSUPPORTED_FUNCTIONS`,
which raise) are not seen.
"""
import copy
import hashlib
import itertools
import json
import math
import os
import os.path as osp
import pickle
import time
import warnings
from dataclasses import dataclass
from typing import (Callable, Dict, Iterable, List, Mapping, Optional,
                    Sequence, Tuple, Union)

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from mmecmt.utils.flops import full_input_shape
from .space import SearchSpace, SubnetSpec, match_choices

SpecLike = Union[SubnetSpec, Mapping]

# ----------------------------------------------------------------------
# fvcore's counting rules, at the level of torch / torch.nn.functional calls
# ----------------------------------------------------------------------


@dataclass(frozen=True)
class CountedOp:
    """One op fvcore counts, as met in one forward pass.

    Its MACs are ``scale * prod(factors)``, where ``factors`` are the tensor
    dimensions of fvcore's formula (e.g. for a conv: batch, the weight's four
    dimensions, the output's spatial size).

    Attributes:
        kind: fvcore's operator name (``'conv'``, ``'linear'``,
            ``'batch_norm'``, ``'upsample_bilinear2d'``, ...).
        module: qualified name of the innermost module that ran it
            (``''`` for the root).
        factors: the dimensions multiplied.
        scale: the per-element constant (2 for an affine eval-mode BN, 4 for
            bilinear upsampling, 1 for most ops).
    """
    kind: str
    module: str
    factors: Tuple[int, ...]
    scale: int

    @property
    def macs(self) -> int:
        return self.scale * math.prod(self.factors)

    def describe(self, index: int) -> str:
        return f'op #{index} {self.kind} in module {self.module or "<root>"!r}'


def _arg(args: tuple, kwargs: dict, index: int, name: str, default=None):
    """A call argument given either by position or by keyword."""
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _shape(tensor: Tensor) -> Tuple[int, ...]:
    return tuple(int(s) for s in tensor.shape)


_Rule = Callable[[tuple, dict, object], Optional[Tuple[str, tuple, int]]]


def _conv_rule(transposed: bool) -> _Rule:
    """fvcore ``conv_flop_jit``: N * prod(w) * prod(spatial), the spatial
    size of the output (of the input for a transposed conv)."""

    def rule(args, kwargs, out):
        x = _arg(args, kwargs, 0, 'input')
        w = _arg(args, kwargs, 1, 'weight')
        spatial = _shape(x if transposed else out)[2:]
        return 'conv', (int(x.shape[0]), ) + _shape(w) + spatial, 1

    return rule


def _linear_rule(args, kwargs, out):
    """fvcore ``linear_flop_jit``: prod(input) * out_features."""
    x = _arg(args, kwargs, 0, 'input')
    w = _arg(args, kwargs, 1, 'weight')
    return 'linear', _shape(x) + (int(w.shape[0]), ), 1


def _batch_norm_rule(weight_index: int) -> _Rule:
    """fvcore ``batchnorm_flop_jit``: prod(input) * (2 with affine, else 1)
    in eval mode; * (5 with affine, else 4) when using batch statistics."""

    def rule(args, kwargs, out):
        x = _arg(args, kwargs, 0, 'input')
        affine = _arg(args, kwargs, weight_index, 'weight') is not None
        training = bool(_arg(args, kwargs, 5, 'training', False))
        scale = (5 if affine else 4) if training else (2 if affine else 1)
        return 'batch_norm', _shape(x), scale

    return rule


def _norm_rule(kind: str, weight_index: int) -> _Rule:
    """fvcore ``norm_flop_counter``: prod(input) * (5 with affine, else 4)."""

    def rule(args, kwargs, out):
        x = _arg(args, kwargs, 0, 'input')
        affine = _arg(args, kwargs, weight_index, 'weight') is not None
        return kind, _shape(x), 5 if affine else 4

    return rule


def _interpolate_rule(args, kwargs, out):
    """``F.interpolate`` as traced by torch.jit: bilinear (4-D, no
    antialias) -> upsample_bilinear2d, 4 per output element; nearest (4-D) ->
    upsample_nearest2d, 1 per output element; area (4-D) ->
    adaptive_avg_pool2d, 1 per input element; other modes are not counted."""
    x = _arg(args, kwargs, 0, 'input')
    mode = _arg(args, kwargs, 3, 'mode', 'nearest')
    antialias = bool(_arg(args, kwargs, 6, 'antialias', False))
    if x.dim() != 4:
        return None
    if mode == 'bilinear' and not antialias:
        return 'upsample_bilinear2d', _shape(out), 4
    if mode == 'nearest':
        return 'upsample_nearest2d', _shape(out), 1
    if mode == 'area':
        return 'adaptive_avg_pool2d', _shape(x), 1
    return None


def _output_rule(kind: str, scale: int) -> _Rule:
    return lambda args, kwargs, out: (kind, _shape(out), scale)


def _adaptive_avg_pool2d_rule(args, kwargs, out):
    """fvcore: 1 per input element."""
    return 'adaptive_avg_pool2d', _shape(_arg(args, kwargs, 0, 'input')), 1


def _matmul_rule(kind: str, swap: bool = False) -> _Rule:
    """fvcore ``matmul_flop_jit`` / ``bmm_flop_jit``: prod(a) * b[-1]."""

    def rule(args, kwargs, out):
        a, b = args[0], args[1]
        if swap:
            a, b = b, a
        return kind, _shape(a) + (int(b.shape[-1]), ), 1

    return rule


def _addmm_rule(args, kwargs, out):
    """fvcore ``addmm_flop_jit``: batch * in * out of mat1 @ mat2."""
    mat1 = _arg(args, kwargs, 1, 'mat1')
    mat2 = _arg(args, kwargs, 2, 'mat2')
    return 'addmm', _shape(mat1) + (int(mat2.shape[1]), ), 1


#: counted functions, by identity (a module calls them through
#: torch.nn.functional, a tensor method or the torch namespace).
COUNTED_FUNCTIONS: Dict[Callable, _Rule] = {
    F.conv1d: _conv_rule(False),
    F.conv2d: _conv_rule(False),
    F.conv3d: _conv_rule(False),
    F.conv_transpose1d: _conv_rule(True),
    F.conv_transpose2d: _conv_rule(True),
    F.conv_transpose3d: _conv_rule(True),
    F.linear: _linear_rule,
    F.batch_norm: _batch_norm_rule(weight_index=3),
    torch.batch_norm: _batch_norm_rule(weight_index=1),
    F.group_norm: _norm_rule('group_norm', weight_index=2),
    torch.group_norm: _norm_rule('group_norm', weight_index=2),
    F.layer_norm: _norm_rule('layer_norm', weight_index=2),
    torch.layer_norm: _norm_rule('layer_norm', weight_index=2),
    F.instance_norm: _norm_rule('instance_norm', weight_index=3),
    torch.instance_norm: _norm_rule('instance_norm', weight_index=1),
    F.interpolate: _interpolate_rule,
    torch._C._nn.upsample_bilinear2d: _output_rule('upsample_bilinear2d', 4),
    torch._C._nn.upsample_nearest2d: _output_rule('upsample_nearest2d', 1),
    F.adaptive_avg_pool2d: _adaptive_avg_pool2d_rule,
    torch._C._nn.adaptive_avg_pool2d: _adaptive_avg_pool2d_rule,
    F.grid_sample: _output_rule('grid_sampler', 4),
    torch.grid_sampler: _output_rule('grid_sampler', 4),
    torch.matmul: _matmul_rule('matmul'),
    Tensor.matmul: _matmul_rule('matmul'),
    Tensor.__matmul__: _matmul_rule('matmul'),
    Tensor.__rmatmul__: _matmul_rule('matmul', swap=True),
    torch.mm: _matmul_rule('mm'),
    Tensor.mm: _matmul_rule('mm'),
    torch.bmm: _matmul_rule('bmm'),
    Tensor.bmm: _matmul_rule('bmm'),
    torch.addmm: _addmm_rule,
    Tensor.addmm: _addmm_rule,
}

#: functions fvcore counts inside, which this recorder does not look into.
UNSUPPORTED_FUNCTIONS = {
    torch.einsum: 'einsum',
    F.multi_head_attention_forward: 'multi_head_attention_forward',
}


def _on_meta(x) -> bool:
    return isinstance(x, Tensor) and x.device.type == 'meta'


def _batch_norm_on_meta(args, kwargs) -> Optional[Tensor]:
    """Same shape and autograd link as the input."""
    x = _arg(args, kwargs, 0, 'input')
    return x.clone() if _on_meta(x) else None


def _interpolate_on_meta(args, kwargs) -> Optional[Tensor]:
    """A meta tensor of the output shape, linked to the input in the
    autograd graph; only when ``size`` is explicit (scale factors are left
    to torch's own size rule)."""
    x = _arg(args, kwargs, 0, 'input')
    size = _arg(args, kwargs, 1, 'size')
    if not _on_meta(x) or size is None or x.dim() < 3:
        return None
    dims = x.dim() - 2
    size = [int(size)] * dims if isinstance(size, int) else [
        int(s) for s in size
    ]
    if len(size) != dims:
        return None  # let torch raise its own error
    corner = x[(slice(None), slice(None)) + (slice(0, 1), ) * dims]
    return corner.expand(*x.shape[:2], *size).contiguous()


#: on weightless meta tensors these ops only need their output shape and
#: autograd link; torch's meta implementations run python decompositions
#: (~1 ms per batch norm, ~10 ms per bilinear resize), these take ~10 us.
META_SHORTCUTS: Dict[Callable, Callable] = {
    F.batch_norm: _batch_norm_on_meta,
    F.interpolate: _interpolate_on_meta,
}


class _CountedOpRecorder(TorchFunctionMode):
    """Records the :class:`CountedOp` of every counted function called at
    the top level (calls made inside another torch function are not seen:
    e.g. ``F.interpolate``'s own upsampling kernel)."""

    def __init__(self, scope: List[str]):
        super().__init__()
        self.scope = scope
        self.ops: List[CountedOp] = []
        self.grad_fns: List[object] = []  # autograd node of each op's output

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        try:
            rule = COUNTED_FUNCTIONS.get(func)
        except TypeError:  # an unhashable callable
            rule = None
        if rule is None and _is_unsupported(func):
            raise NotImplementedError(
                f'MacsModel: {UNSUPPORTED_FUNCTIONS[func]} in module '
                f'{self.scope[-1] or "<root>"!r} is counted by fvcore but '
                'not modelled here')
        out = None
        if rule is not None and func in META_SHORTCUTS:
            out = META_SHORTCUTS[func](args, kwargs)
        if out is None:
            out = func(*args, **kwargs)
        if rule is not None:
            counted = rule(args, kwargs, out)
            if counted is not None:
                kind, factors, scale = counted
                self.ops.append(CountedOp(kind, self.scope[-1],
                                          tuple(factors), scale))
                self.grad_fns.append(
                    out.grad_fn if isinstance(out, Tensor) else None)
        return out


def _is_unsupported(func) -> bool:
    try:
        return func in UNSUPPORTED_FUNCTIONS
    except TypeError:
        return False


# ----------------------------------------------------------------------
# tracing a supernet at several subnets
# ----------------------------------------------------------------------
def _meta_copy(model: nn.Module) -> nn.Module:
    """A deep copy whose parameters and buffers are weightless meta tensors
    (the real weights are never duplicated)."""
    memo = {}
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        if id(tensor) in memo:
            continue
        meta = torch.empty_like(tensor, device='meta')
        if isinstance(tensor, nn.Parameter):
            meta = nn.Parameter(meta, requires_grad=tensor.requires_grad)
        memo[id(tensor)] = meta
    return copy.deepcopy(model, memo)


class _SubnetTracer:
    """Records the counted ops of a model copy's ``_forward`` at a subnet."""

    def __init__(self, model: nn.Module, input_shape: Tuple[int, ...],
                 device: torch.device):
        self.model = model.eval()
        self.inputs = torch.zeros(input_shape, device=device)
        self.scope: List[str] = ['']
        for name, module in model.named_modules():
            module.register_forward_pre_hook(self._enter(name))
            module.register_forward_hook(self._leave)

    def _enter(self, name: str):

        def hook(module, args):
            self.scope.append(name)

        return hook

    def _leave(self, module, args, output):
        self.scope.pop()

    def trace(self, spec: SubnetSpec) -> List[CountedOp]:
        """The counted ops that contribute to the outputs at ``spec``.

        Like the JIT graph fvcore analyses (after dead-code elimination), an
        op whose result never reaches the outputs (e.g. a backbone layer
        after the last ``out_indices`` level) is not counted. Reachability is
        read from the autograd graph, so the forward runs with gradients
        enabled (on meta tensors this costs nothing); an op whose output has
        no autograd node (not computed from the input or parameters
        requiring grad) is kept.
        """
        self.model.set_subnet(spec)
        self.scope[:] = ['']
        recorder = _CountedOpRecorder(self.scope)
        forward = getattr(self.model, '_forward', self.model)
        inputs = self.inputs.clone().requires_grad_(True)
        with torch.enable_grad(), recorder:
            outputs = forward(inputs)
        live = _autograd_ancestors(outputs)
        return [
            op for op, grad_fn in zip(recorder.ops, recorder.grad_fns)
            if grad_fn is None or grad_fn in live
        ]


def _autograd_ancestors(outputs) -> set:
    """Every autograd node the tensors in ``outputs`` (any nesting of
    dicts, lists, tuples) depend on."""
    leaves, _ = tree_flatten(outputs)
    stack = [t.grad_fn for t in leaves if isinstance(t, Tensor)]
    seen = set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(parent for parent, _ in node.next_functions)
    return seen


def trace_counted_ops(model: nn.Module, specs: Sequence[SubnetSpec],
                      input_shape: Sequence[int],
                      on_meta: bool = True) -> List[List[CountedOp]]:
    """The counted ops of ``model._forward`` (eval mode, no grad, a zero
    input of ``input_shape``) at each spec, on a copy of the model.

    With ``on_meta``, tries a weightless meta copy first (no memory, no
    arithmetic; falls back with a warning when the forward fails on meta);
    otherwise, or then, traces a full copy on the model's device.
    """
    shape = full_input_shape(input_shape)
    if not hasattr(model, 'set_subnet'):
        raise TypeError(
            f'{type(model).__name__} has no set_subnet(spec); MacsModel needs '
            'a slimmable architecture')
    if not on_meta:
        return _trace_on_device(model, specs, shape)
    try:
        tracer = _SubnetTracer(_meta_copy(model), shape, torch.device('meta'))
        return [tracer.trace(spec) for spec in specs]
    except NotImplementedError as error:
        if 'MacsModel' in str(error):
            raise
        reason = error
    except Exception as error:  # noqa: BLE001 - any meta incompatibility
        reason = error
    warnings.warn(
        f'MacsModel: the forward does not run on the meta device ({reason!r});'
        ' tracing a full copy of the model instead')
    return _trace_on_device(model, specs, shape)


def _trace_on_device(model: nn.Module, specs: Sequence[SubnetSpec],
                     shape: Tuple[int, ...]) -> List[List[CountedOp]]:
    device = next((p.device for p in model.parameters()),
                  torch.device('cpu'))
    tracer = _SubnetTracer(copy.deepcopy(model), shape, device)
    return [tracer.trace(spec) for spec in specs]


# ----------------------------------------------------------------------
# the MACs model
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class OpDependence:
    """What one counted op's MACs depend on.

    Attributes:
        kind / module: as in :class:`CountedOp`.
        macs_max: its MACs in the largest subnet.
        entries: the search-space entries (``'encoder.<stage>'``,
            ``'decoders.<task>'``) its MACs vary with.
    """
    kind: str
    module: str
    macs_max: int
    entries: Tuple[str, ...]


class _OpModel:
    """One op's cost ``K * prod_p (base_p + sum_e delta_p[e][choice_e])``
    over its (at most two) width-dependent factors p."""

    def __init__(self, op: CountedOp, positions: Sequence[int],
                 deltas: Sequence[Dict[int, List[int]]]):
        self.op = op
        fixed = [f for p, f in enumerate(op.factors) if p not in positions]
        self.constant = op.scale * math.prod(fixed)
        self.bases = [op.factors[p] for p in positions]
        self.deltas = list(deltas)  # per factor: {entry index: [delta]}

    def factor_values(self, indices: Sequence[int]) -> List[int]:
        return [
            base + sum(d[indices[e]] for e, d in deltas.items())
            for base, deltas in zip(self.bases, self.deltas)
        ]

    def macs(self, indices: Sequence[int]) -> int:
        return self.constant * math.prod(self.factor_values(indices))

    def entries(self) -> List[int]:
        return sorted({e for deltas in self.deltas for e in deltas})


class MacsModel:
    """Exact MACs of any subnet of a slimmable supernet, by table lookup.

    Args:
        model: an architecture with ``set_subnet(spec)`` and ``_forward(x)``
            (or a module whose ``forward`` takes the image); left untouched.
        search_space: its :class:`SearchSpace`; ``None`` takes
            ``model.search_space``.
        input_shape: (H, W) of one RGB image (or (C, H, W) / (N, C, H, W)),
            as for :func:`mmecmt.utils.flops.count_macs`.
        num_checks: random subnets (besides the smallest) at which the table
            model is checked op by op against a trace at construction.
        seed: seed of those random subnets.
        trace_on_meta: trace a weightless ``meta`` copy (default: no memory,
            no arithmetic, ~0.1 ms per op whatever the input size: ~6 s for
            the ECMT MobileNetV2 supernet with 5 tasks, 53 traces); False
            traces a full copy on the model's device.

    Raises:
        NotImplementedError: an op whose cost the per-entry / per-pair
            tables cannot represent (named with its module), or an op fvcore
            counts that is not modelled (einsum, multi-head attention).

    ``macs(spec)`` (also ``model(spec)``) takes a :class:`SubnetSpec` or its
    dict form; ``batch(specs)`` returns an int64 array (n,).
    """

    def __init__(self, model: nn.Module,
                 search_space: Optional[SearchSpace] = None,
                 input_shape: Optional[Sequence[int]] = None,
                 num_checks: int = 4, seed: int = 0,
                 trace_on_meta: bool = True):
        if search_space is None:
            search_space = getattr(model, 'search_space', None)
            if search_space is None:
                raise ValueError(
                    'MacsModel: pass a search_space (the model has no '
                    '.search_space)')
        if input_shape is None:
            raise ValueError('MacsModel needs input_shape=(H, W) (MACs '
                             'depend on the input size)')
        self.search_space = search_space
        self.input_shape = tuple(int(s) for s in input_shape)
        self._entries: List[Tuple[str, str, Tuple[float, ...]]] = \
            search_space.entries()
        self.entry_names = search_space.entry_names()
        self._n_encoder = len(search_space.encoder)
        self._n_decoders = len(search_space.decoders)
        self._choice_index = [{c: i for i, c in enumerate(choices)}
                              for _, _, choices in self._entries]
        self._encoder_lookup = [
            (name, index) for (part, name, _), index in zip(
                self._entries, self._choice_index) if part == 'encoder'
        ]
        self._decoder_lookup = [
            (name, index) for (part, name, _), index in zip(
                self._entries, self._choice_index) if part == 'decoders'
        ]
        self._max_indices = tuple(len(c) - 1 for _, _, c in self._entries)

        probes = [self._max_indices]
        for e, (_, _, choices) in enumerate(self._entries):
            for i in range(len(choices) - 1):
                probe = list(self._max_indices)
                probe[e] = i
                probes.append(tuple(probe))
        rng = np.random.default_rng(seed)
        checks = [tuple(0 for _ in self._entries)] + [
            tuple(int(rng.integers(len(c))) for _, _, c in self._entries)
            for _ in range(num_checks)
        ]
        traces = trace_counted_ops(
            model, [self._spec_of(ix) for ix in probes + checks],
            self.input_shape, on_meta=trace_on_meta)
        probe_traces = dict(zip(probes, traces[:len(probes)]))
        self._op_models = self._fit(probes, probe_traces)
        self._build_tables()
        for indices, trace in zip(checks, traces[len(probes):]):
            self._check(indices, trace)

    # ------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------
    def _spec_of(self, indices: Sequence[int]) -> SubnetSpec:
        encoder, decoders = {}, {}
        for (part, name, choices), i in zip(self._entries, indices):
            (encoder if part == 'encoder' else decoders)[name] = choices[i]
        return SubnetSpec(encoder, decoders)

    def _describe_indices(self, indices: Sequence[int]) -> str:
        return str(self._spec_of(indices).to_dict())

    def _check_same_graph(self, reference: List[CountedOp],
                          trace: List[CountedOp],
                          indices: Sequence[int]) -> None:
        for i, (a, b) in enumerate(zip(reference, trace)):
            if (a.kind, a.module, a.scale, len(a.factors)) != \
                    (b.kind, b.module, b.scale, len(b.factors)):
                raise NotImplementedError(
                    f'MacsModel: the counted ops change with the widths: '
                    f'{a.describe(i)} at the largest subnet is '
                    f'{b.kind} in {b.module or "<root>"!r} (factors '
                    f'{b.factors}, scale {b.scale}) at subnet '
                    f'{self._describe_indices(indices)}')
        if len(reference) != len(trace):
            raise NotImplementedError(
                f'MacsModel: the largest subnet runs {len(reference)} '
                f'counted ops, subnet {self._describe_indices(indices)} '
                f'runs {len(trace)}')

    def _fit(self, probes, probe_traces) -> List[_OpModel]:
        reference = probe_traces[self._max_indices]
        for indices in probes[1:]:
            self._check_same_graph(reference, probe_traces[indices], indices)
        models = []
        for j, op in enumerate(reference):
            deltas: Dict[int, Dict[int, List[int]]] = {}
            for indices in probes[1:]:
                e = next(k for k, (i, m) in enumerate(
                    zip(indices, self._max_indices)) if i != m)
                moved = probe_traces[indices][j].factors
                for p, (value, base) in enumerate(zip(moved, op.factors)):
                    if value != base:
                        per_entry = deltas.setdefault(p, {})
                        n_choices = len(self._entries[e][2])
                        per_entry.setdefault(e, [0] * n_choices)
                        per_entry[e][indices[e]] = value - base
            if len(deltas) > 2:
                moving = {
                    op.factors[p]: [self.entry_names[e] for e in d]
                    for p, d in deltas.items()
                }
                raise NotImplementedError(
                    f'MacsModel: {op.describe(j)} has {len(deltas)} '
                    f'width-dependent factors (base value -> entries: '
                    f'{moving}); at most two (input and output channels) '
                    'can be represented')
            positions = sorted(deltas)
            models.append(
                _OpModel(op, positions, [deltas[p] for p in positions]))
        return models

    def _build_tables(self) -> None:
        """Expand every op into constant + per-entry + per-pair tables."""
        sizes = [len(c) for _, _, c in self._entries]
        constant = 0
        singles: Dict[int, List[int]] = {}
        pairs: Dict[Tuple[int, int], List[List[int]]] = {}

        def add_single(e, values):
            table = singles.setdefault(e, [0] * sizes[e])
            for i, v in enumerate(values):
                table[i] += v

        def add_pair(a, b, fn):
            if a > b:
                a, b = b, a
                fn_ab = lambda i, j, fn=fn: fn(j, i)  # noqa: E731
            else:
                fn_ab = fn
            table = pairs.setdefault(
                (a, b), [[0] * sizes[b] for _ in range(sizes[a])])
            for i in range(sizes[a]):
                for j in range(sizes[b]):
                    table[i][j] += fn_ab(i, j)

        for model in self._op_models:
            k = model.constant
            if not model.bases:
                constant += k
            elif len(model.bases) == 1:
                constant += k * model.bases[0]
                for e, d in model.deltas[0].items():
                    add_single(e, [k * v for v in d])
            else:
                (a0, b0), (da, db) = model.bases, model.deltas
                constant += k * a0 * b0
                for e, d in da.items():
                    add_single(e, [k * b0 * v for v in d])
                for e, d in db.items():
                    add_single(e, [k * a0 * v for v in d])
                for ea, dd_a in da.items():
                    for eb, dd_b in db.items():
                        if ea == eb:
                            add_single(ea, [k * x * y
                                            for x, y in zip(dd_a, dd_b)])
                        else:
                            add_pair(ea, eb, lambda i, j, x=dd_a, y=dd_b:
                                     k * x[i] * y[j])
        self._constant = constant
        self._singles = [(e, t) for e, t in sorted(singles.items())
                         if any(t)]
        self._pairs = [(a, b, t) for (a, b), t in sorted(pairs.items())
                       if any(any(row) for row in t)]
        self._singles_np = [(e, np.asarray(t, dtype=np.int64))
                            for e, t in self._singles]
        self._pairs_np = [(a, b, np.asarray(t, dtype=np.int64))
                          for a, b, t in self._pairs]
        self.ops = tuple(
            OpDependence(m.op.kind, m.op.module, m.op.macs,
                         tuple(self.entry_names[e] for e in m.entries()))
            for m in self._op_models)

    def _check(self, indices: Sequence[int],
               trace: List[CountedOp]) -> None:
        self._check_same_graph([m.op for m in self._op_models], trace,
                               indices)
        for j, (model, op) in enumerate(zip(self._op_models, trace)):
            predicted = model.macs(indices)
            if predicted != op.macs:
                raise NotImplementedError(
                    f'MacsModel: {op.describe(j)} has factors {op.factors} '
                    f'(= {op.macs} MACs) at subnet '
                    f'{self._describe_indices(indices)}, but a sum of '
                    f'per-entry effects predicts {predicted}: its channels '
                    'depend on several entries in a non-additive way')
        total = sum(op.macs for op in trace)
        assert self._macs_of_indices(indices) == total, 'table expansion'

    # ------------------------------------------------------------------
    # queries
    # ------------------------------------------------------------------
    def _indices(self, spec: SpecLike) -> List[int]:
        """Choice index per entry; ValueError on an invalid spec."""
        if not isinstance(spec, SubnetSpec):
            spec = SubnetSpec.from_dict(spec)
        encoder, decoders = spec.encoder, spec.decoders
        if len(encoder) == self._n_encoder and \
                len(decoders) == self._n_decoders:
            try:
                return [index[encoder[name]]
                        for name, index in self._encoder_lookup] + [
                            index[decoders[name]]
                            for name, index in self._decoder_lookup]
            except KeyError:
                pass
        # not exactly a choice: within the tolerance, or raises naming the
        # bad entry
        return self.search_space.indices_of(spec)

    def _macs_of_indices(self, indices: Sequence[int]) -> int:
        total = self._constant
        for e, table in self._singles:
            total += table[indices[e]]
        for a, b, table in self._pairs:
            total += table[indices[a]][indices[b]]
        return total

    def macs(self, spec: SpecLike) -> int:
        """MACs of the subnet ``spec`` (exact integer, fvcore's count)."""
        return self._macs_of_indices(self._indices(spec))

    __call__ = macs

    def batch(self, specs: Union[Iterable[SpecLike], np.ndarray]
              ) -> np.ndarray:
        """MACs (n,) int64 of n specs, or of an (n, n_entries) array of
        width ratios in :meth:`SearchSpace.encode` order."""
        if isinstance(specs, np.ndarray):
            indices = self._indices_of_encoded(specs)
        else:
            indices = np.array([self._indices(s) for s in specs],
                               dtype=np.int64).reshape(-1, len(self._entries))
        return self.macs_of_indices(indices)

    def _indices_of_encoded(self, encoded: np.ndarray) -> np.ndarray:
        encoded = np.asarray(encoded, dtype=np.float64)
        if encoded.ndim != 2 or encoded.shape[1] != len(self._entries):
            raise ValueError(
                f'encoded subnets must have shape (n, {len(self._entries)}) '
                f'(entries {list(self.entry_names)}), got {encoded.shape}')
        indices = np.empty(encoded.shape, dtype=np.int64)
        for k, (_, _, choices) in enumerate(self._entries):
            indices[:, k] = match_choices(choices, encoded[:, k])
            bad = indices[:, k] < 0
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f'encoded subnet {row}: {self.entry_names[k]} = '
                    f'{encoded[row, k]} is not a valid width; choices are '
                    f'{list(choices)}')
        return indices

    def macs_of_indices(self, indices: np.ndarray) -> np.ndarray:
        """MACs (n,) int64 of an (n, n_entries) array of choice indices."""
        indices = np.asarray(indices, dtype=np.int64)
        total = np.full(indices.shape[0], self._constant, dtype=np.int64)
        for e, table in self._singles_np:
            total += table[indices[:, e]]
        for a, b, table in self._pairs_np:
            total += table[indices[:, a], indices[:, b]]
        return total

    def is_monotonic(self) -> bool:
        """Whether every width-dependent factor grows with every entry (so
        the smallest / largest subnets have the fewest / most MACs)."""
        min_indices = [0] * len(self._entries)
        for model in self._op_models:
            for deltas in model.deltas:
                for d in deltas.values():
                    if any(x > y for x, y in zip(d, d[1:])):
                        return False
            if any(v < 0 for v in model.factor_values(min_indices)):
                return False
        return True

    def macs_range(self) -> Tuple[int, int]:
        """(fewest, most) MACs over all subnets of the search space."""
        if self.is_monotonic():
            return (self._macs_of_indices([0] * len(self._entries)),
                    self._macs_of_indices(self._max_indices))
        n = self.search_space.num_subnets()
        if n > 2**22:
            raise NotImplementedError(
                f'MacsModel: MACs are not monotonic in the widths and the '
                f'space has {n} subnets, too many to enumerate')
        grid = np.indices([m + 1 for m in self._max_indices]).reshape(
            len(self._entries), -1).T
        macs = self.macs_of_indices(grid)
        return int(macs.min()), int(macs.max())

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_shape={self.input_shape}, '
                f'{len(self.ops)} counted ops, {len(self._singles)} entry '
                f'tables, {len(self._pairs)} pair tables)')


# ----------------------------------------------------------------------
# benchmarks and checks for the lead's tools
# ----------------------------------------------------------------------
def benchmark_macs_model(macs_model: MacsModel, num_specs: int = 10000,
                         seed: int = 0, repeats: int = 3,
                         verbose: bool = True) -> Dict[str, float]:
    """Time ``macs_model(spec)`` over ``num_specs`` random specs (best of
    ``repeats`` passes) and ``batch`` over all of them.

    Returns:
        ``{'us_per_call': ..., 'us_per_spec_batch': ..., 'num_specs': ...}``.
    """
    rng = np.random.default_rng(seed)
    specs = [macs_model.search_space.sample('random', rng)
             for _ in range(num_specs)]
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for spec in specs:
            macs_model(spec)
        best = min(best, time.perf_counter() - start)
    start = time.perf_counter()
    macs_model.batch(specs)
    batch_time = time.perf_counter() - start
    result = dict(us_per_call=best / num_specs * 1e6,
                  us_per_spec_batch=batch_time / num_specs * 1e6,
                  num_specs=float(num_specs))
    if verbose:
        print(f'MacsModel: {result["us_per_call"]:.2f} us/call, '
              f'{result["us_per_spec_batch"]:.2f} us/spec in batch, over '
              f'{num_specs} random subnets')
    return result


def compare_with_fvcore(model: nn.Module, macs_model: MacsModel,
                        specs: Iterable[SpecLike]
                        ) -> List[Tuple[SubnetSpec, int, int]]:
    """``(spec, analytic MACs, fvcore MACs of the exported static subnet)``
    per spec, at ``macs_model.input_shape``."""
    from mmecmt.models.slimmable.export import export_static
    from mmecmt.utils.flops import count_macs

    rows = []
    for spec in specs:
        if not isinstance(spec, SubnetSpec):
            spec = SubnetSpec.from_dict(spec)
        static = export_static(model, spec)
        rows.append((spec, macs_model(spec),
                     count_macs(static, macs_model.input_shape)))
    return rows


# ----------------------------------------------------------------------
# an on-disk cache of MACs models
# ----------------------------------------------------------------------
#: bump when MacsModel's pickled form changes (invalidates the caches).
MACS_CACHE_VERSION = 1


def _structure(model: nn.Module) -> list:
    """Class, and every tensor's name and shape: what the MACs depend on
    besides the input size and the search space."""
    return [type(model).__name__] + [
        [k, list(v.shape)] for k, v in model.state_dict().items()]


def load_or_build_macs_model(model: nn.Module, input_shape: Sequence[int],
                             cache_dir: Optional[str],
                             log_fn: Optional[Callable[[str], None]] = None
                             ) -> MacsModel:
    """:class:`MacsModel` of ``model`` at ``input_shape``, from
    ``cache_dir/macs_model_<hash>.pkl`` when present (the hash covers the
    model's structure, its search space and the input size), else built (a
    few seconds for the ECMT MobileNetV2 supernet) and saved there (None:
    no cache)."""
    t0 = time.perf_counter()
    path = None
    if cache_dir is not None:
        key = json.dumps(dict(
            version=MACS_CACHE_VERSION, shape=list(input_shape),
            space=model.search_space.to_dict(),
            structure=_structure(model)), sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        path = osp.join(cache_dir, f'macs_model_{digest}.pkl')
        if osp.isfile(path):
            try:
                with open(path, 'rb') as f:
                    macs_model = pickle.load(f)
                if isinstance(macs_model, MacsModel):
                    return macs_model
            except (pickle.UnpicklingError, EOFError, AttributeError,
                    ImportError):
                pass  # a stale or broken cache is rebuilt below
    macs_model = MacsModel(model, input_shape=tuple(input_shape))
    if path is not None:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = f'{path}.{os.getpid()}.tmp'
        with open(tmp, 'wb') as f:
            pickle.dump(macs_model, f)
        os.replace(tmp, path)
    if log_fn is not None:
        log_fn(f'MACs model at {input_shape[0]}x{input_shape[1]} built in '
               f'{time.perf_counter() - t0:.1f} s (cached as {path})')
    return macs_model
