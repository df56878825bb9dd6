"""Pareto front (non-dominated set) of higher-is-better points."""
import numpy as np


def pareto_front(points) -> np.ndarray:
    """Indices of the non-dominated points, sorted along the first axis.

    ``p`` dominates ``q`` when ``p >= q`` in every coordinate and ``p > q`` in
    at least one. Identical points do not dominate each other, so all copies
    of a non-dominated point are kept.

    Args:
        points: (N, D) array-like, higher is better (usually D = 2: one task
            pair).

    Returns:
        (K,) int64 indices into ``points``, ordered by increasing first
        coordinate (ties: decreasing second coordinate), so that plotting
        ``points[idx]`` draws the front as a line.

    Raises:
        ValueError: ``points`` is not 2-D or holds NaN/inf.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] == 0:
        raise ValueError(
            f'points must be an (N, D) array with D >= 1, got {pts.shape}')
    if not np.all(np.isfinite(pts)):
        rows = np.unique(np.argwhere(~np.isfinite(pts))[:, 0]).tolist()
        raise ValueError(
            f'points must be finite, got non-finite values in rows {rows}')
    if len(pts) == 0:
        return np.zeros(0, dtype=np.int64)
    # dominated[i] = some j has pts[j] >= pts[i] everywhere and > somewhere.
    geq = np.all(pts[:, None, :] >= pts[None, :, :], axis=2)  # (j, i)
    gt = np.any(pts[:, None, :] > pts[None, :, :], axis=2)
    dominated = np.any(geq & gt, axis=0)
    idx = np.flatnonzero(~dominated)
    second = pts[idx, 1] if pts.shape[1] > 1 else np.zeros(len(idx))
    order = np.lexsort((-second, pts[idx, 0]))
    return idx[order].astype(np.int64)
