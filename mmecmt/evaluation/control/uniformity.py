"""Uniformity of the preference-weighted task losses (CDMA's metric).

"Controllable Dynamic Multi-Task Architectures" (CVPR 2022) measures how
well a network answering a preference ``r`` balances its tasks the way ``r``
asks: with the task losses ``L`` (on val, >= 0) of that network,

    Lhat_j = r_j L_j / sum_i r_i L_i            (a distribution over T tasks)
    uniformity(r, L) = 1 - KL(Lhat || U),  U = (1/T, ..., 1/T)
                     = 1 - sum_j Lhat_j log(T Lhat_j)        (natural log)

It is 1 when every task carries the same share of the weighted loss, and
falls to its minimum ``1 - log(T)`` when one task carries all of it.

Edge cases, defined here:

* a zero preference (or a zero loss) gives ``Lhat_j = 0``, and such a term
  adds nothing to the KL divergence (``0 log 0 = 0``);
* when every ``r_i L_i`` is 0, ``Lhat`` is undefined: :func:`uniformity`
  raises :class:`ValueError` (naming the row in the ``(N, T)`` form) instead
  of returning NaN, so that an undefined value never enters a mean unseen.

Preferences need not sum to 1: a common scale of ``r`` (or of ``L``)
cancels in ``Lhat``. The losses are taken as given; the metric compares
their raw scales across tasks, so the caller states which losses it used
(e.g. the per-task loss terms the model is trained on).
"""
import numpy as np


def uniformity(preference, losses) -> np.ndarray:
    """``1 - KL(Lhat || 1/T)`` with ``Lhat_j = r_j L_j / sum_i r_i L_i``.

    Args:
        preference: (T,) or (N, T) task preferences ``r``, finite, >= 0.
        losses: task losses ``L`` of the same shape, finite, >= 0.

    Returns:
        A float for (T,) inputs; an (N,) float64 array for (N, T) inputs.
        Each value lies in ``[1 - log(T), 1]``.

    Raises:
        ValueError: shapes differ or are not (T,) / (N, T) with T >= 1, a
            value is negative or not finite, or all ``r_i L_i`` of a row are 0
            (``Lhat`` undefined; the message names the row).
    """
    r = np.asarray(preference, dtype=np.float64)
    loss = np.asarray(losses, dtype=np.float64)
    if r.shape != loss.shape or r.ndim not in (1, 2) or r.shape[-1] == 0:
        raise ValueError('preference and losses must be (T,) or (N, T) '
                         'arrays of one shape with T >= 1, got '
                         f'{r.shape} and {loss.shape}')
    single = r.ndim == 1
    r2, loss2 = np.atleast_2d(r), np.atleast_2d(loss)
    for name, arr in (('preference', r2), ('losses', loss2)):
        bad = ~np.isfinite(arr) | (arr < 0)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            where = f'[{col}]' if single else f'[{row}, {col}]'
            raise ValueError(f'{name}{where} = {arr[row, col]}: must be '
                             'finite and >= 0')
    weighted = r2 * loss2  # (N, T)
    total = weighted.sum(axis=1)  # (N,)
    if np.any(total <= 0):
        row = int(np.flatnonzero(total <= 0)[0])
        where = '' if single else f' of row {row}'
        raise ValueError(
            f'uniformity undefined: every r_j * L_j{where} is 0 (preference '
            f'{r2[row].tolist()}, losses {loss2[row].tolist()})')
    lhat = weighted / total[:, None]
    num_tasks = lhat.shape[1]
    safe = np.where(lhat > 0, lhat, 1.0)  # log(1) = 0: 0 log 0 = 0
    kl = (lhat * np.log(num_tasks * safe)).sum(axis=1)
    out = 1.0 - kl
    return float(out[0]) if single else out


__all__ = ['uniformity']
