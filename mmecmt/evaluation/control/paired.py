"""Is one method better than another on the same requests?

Two methods that answered the same (preference, budget) requests can be
compared request by request, which says more than two hypervolumes whose
difference may be smaller than what changes when one preference is left out:

* **preference-weighted score** of a request: ``sum_t r_t * s_t`` with
  ``s_t`` the normalised score (1.0 = single-task quality, higher is better,
  :func:`~.hypervolume.normalised_scores`): how well the answer serves the
  preference it was asked for;
* **wins / ties / losses** of method A against method B over the shared
  requests, by that score, and the mean difference;
* a **bootstrap interval of the HV difference**: the shared requests are
  resampled with replacement (the same draw for both methods, so the
  pairing is kept), HV(A) - HV(B) is computed per draw, and the 5th / 95th
  percentiles are reported. An interval that contains 0 means the HV order
  of the two methods can flip with the choice of preferences.
"""
from typing import Dict

import numpy as np

from .hypervolume import hypervolume

#: bootstrap draws of :func:`paired_comparison` by default.
BOOTSTRAP_DRAWS = 1000


def weighted_scores(prefs: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """``sum_t r_t * s_t`` per request.

    Args:
        prefs: (N, T) preferences.
        norm: (N, T) normalised scores.

    Returns:
        (N,) preference-weighted scores.
    """
    prefs, norm = np.asarray(prefs, float), np.asarray(norm, float)
    if prefs.shape != norm.shape or prefs.ndim != 2:
        raise ValueError(f'prefs {prefs.shape} and normalised scores '
                         f'{norm.shape} must be (N, T) arrays of one shape')
    return (prefs * norm).sum(axis=1)


def paired_comparison(prefs: np.ndarray, norm_a: np.ndarray,
                      norm_b: np.ndarray, ref_point=None,
                      draws: int = BOOTSTRAP_DRAWS, seed: int = 0,
                      tolerance: float = 1e-12) -> Dict[str, float]:
    """Compare methods A and B on N shared requests.

    Args:
        prefs: (N, T) the requests' preferences (row i: one request).
        norm_a / norm_b: (N, T) normalised scores of A's / B's answer to
            request i.
        ref_point: HV reference point (default zeros).
        draws: bootstrap draws (>= 1).
        seed: seeds the bootstrap draws.
        tolerance: weighted scores closer than this count as a tie.

    Returns:
        ``dict(num_requests, wins, ties, losses, mean_gap, hv_gap,
        hv_gap_low, hv_gap_high)``: wins / ties / losses of A by weighted
        score, their mean difference A - B, HV(A) - HV(B) on the requests
        and the 5th / 95th bootstrap percentiles of that difference.

    Raises:
        ValueError: shapes differ, fewer than 2 requests, or ``draws < 1``.
    """
    prefs = np.asarray(prefs, float)
    norm_a, norm_b = np.asarray(norm_a, float), np.asarray(norm_b, float)
    if not prefs.shape == norm_a.shape == norm_b.shape or prefs.ndim != 2:
        raise ValueError(f'prefs {prefs.shape} and the scores of A '
                         f'{norm_a.shape} and B {norm_b.shape} must be (N, T)'
                         ' arrays of one shape')
    n = len(prefs)
    if n < 2:
        raise ValueError(f'a paired comparison needs >= 2 shared requests, '
                         f'got {n}')
    if int(draws) != draws or draws < 1:
        raise ValueError(f'draws must be an integer >= 1, got {draws!r}')
    gap = weighted_scores(prefs, norm_a) - weighted_scores(prefs, norm_b)
    rng = np.random.default_rng(seed)
    boot = np.empty(int(draws))
    for k in range(int(draws)):
        idx = rng.integers(0, n, size=n)
        boot[k] = hypervolume(norm_a[idx], ref_point) - hypervolume(
            norm_b[idx], ref_point)
    return dict(
        num_requests=n,
        wins=int((gap > tolerance).sum()),
        ties=int((np.abs(gap) <= tolerance).sum()),
        losses=int((gap < -tolerance).sum()),
        mean_gap=float(gap.mean()),
        hv_gap=hypervolume(norm_a, ref_point) - hypervolume(norm_b,
                                                            ref_point),
        hv_gap_low=float(np.percentile(boot, 5)),
        hv_gap_high=float(np.percentile(boot, 95)))
