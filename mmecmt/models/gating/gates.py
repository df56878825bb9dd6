"""InterroGate's gates: share or specialise every channel, per task and unit.

At gated unit ``l`` (Bejnordi et al., "InterroGate: Learning to Share,
Specialize, and Prune Representations for Multi-task Learning", arXiv
2402.16848) task ``t``'s next input mixes, channel by channel, its own
unit's output ``phi_t`` and the shared unit's output ``psi``::

    x_t = g_t * phi_t + (1 - g_t) * psi,      g_t = sigmoid(alpha_t)  (C,)

and the shared unit's next input is a learned combination of the tasks'
gated features, ``s = sum_t softmax(beta)_t * x_t`` (so a channel no task
reads is never read by the shared branch either: it can be pruned).

Gate values (:func:`gate_values`), our choices (the paper does not give
them):

- soft (the warm-up): ``g = sigmoid(alpha)``;
- straight-through hard (after the warm-up, and always in eval mode):
  ``g = 1[alpha > 0]`` in the forward pass, the sigmoid's gradient in the
  backward pass, so the trained model is the one that is pruned.
"""
from typing import Sequence

import torch
from torch import Tensor


class _StraightThroughGate(torch.autograd.Function):
    """Forward ``1[logits > 0]`` (exactly 0 / 1), backward the gradient of
    ``sigmoid(logits)``."""

    @staticmethod
    def forward(ctx, logits):
        ctx.save_for_backward(logits)
        return (logits > 0).to(logits.dtype)

    @staticmethod
    def backward(ctx, grad):
        (logits, ) = ctx.saved_tensors
        soft = torch.sigmoid(logits)
        return grad * soft * (1 - soft)


class _ValueWithGradientOf(torch.autograd.Function):
    """Forward ``value``, backward the gradient to ``surrogate``."""

    @staticmethod
    def forward(ctx, value, surrogate):
        return value.clone()

    @staticmethod
    def backward(ctx, grad):
        return None, grad


def straight_through(value: Tensor, surrogate: Tensor) -> Tensor:
    """``value`` exactly in the forward pass, the gradient of ``surrogate``
    (same shape) in the backward pass."""
    return _ValueWithGradientOf.apply(value.detach(), surrogate)


def gate_values(logits: Tensor, hard: bool) -> Tensor:
    """Gates ``g`` of ``logits`` (any shape): ``sigmoid(logits)``, or with
    ``hard`` the straight-through ``1[logits > 0]`` (value exactly 0 / 1,
    gradient of the sigmoid)."""
    if hard:
        return _StraightThroughGate.apply(logits)
    return torch.sigmoid(logits)


def gate_mix(gate: Tensor, own: Tensor, shared: Tensor) -> Tensor:
    """``gate * own + (1 - gate) * shared`` per channel.

    Shapes: gate (C,); own, shared (B, C, H, W) or (B, C) -> like ``own``.
    """
    if gate.dim() != 1 or own.shape != shared.shape or \
            own.size(1) != gate.numel():
        raise ValueError(
            f'gate_mix: gate {tuple(gate.shape)} must be (C,) and the '
            f'features ({tuple(own.shape)}, {tuple(shared.shape)}) equal '
            '(B, C, ...)')
    g = gate.view(1, -1, *([1] * (own.dim() - 2)))
    return g * own + (1 - g) * shared


def shared_combination(features: Sequence[Tensor], logits: Tensor) -> Tensor:
    """``sum_t softmax(logits)_t * features[t]``: the shared unit's input.

    Shapes: features T x (B, C, ...), logits (T,) -> (B, C, ...).
    """
    if logits.dim() != 1 or logits.numel() != len(features):
        raise ValueError(
            f'shared_combination: {len(features)} features need (T,) = '
            f'({len(features)},) logits, got {tuple(logits.shape)}')
    weights = torch.softmax(logits, dim=0)
    out = weights[0] * features[0]
    for w, f in zip(weights[1:], features[1:]):
        out = out + w * f
    return out


__all__ = ['gate_values', 'gate_mix', 'shared_combination',
           'straight_through']
