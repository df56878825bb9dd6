"""Hypervolume (HV) of the per-task scores reached for a set of requests.

Each task's primary score (:data:`~mmecmt.evaluation.functional.delta_m.
PRIMARY_METRICS`) is first turned into a higher-is-better number normalised by
the single-task reference, so that 1.0 means single-task quality:

* higher is better (mIoU, odsF, maxF, top-1): ``M / M_stl``;
* lower is better (depth rmse, normals mean angle): ``M_stl / M``.

The hypervolume is the volume dominated by these points and bounded below by
a reference point (default 0 in every task: this project's convention, in
normalised score space; "Controllable Dynamic Multi-Task Architectures",
CVPR 2022, computes HV in loss space with a reference point per setting),
computed by the maintained ``moocore`` library (C core, exact). State the
reference point with every HV figure: :func:`hypervolume_reference` gives
it.
"""
import math
from typing import Mapping, Optional, Sequence

import numpy as np

from ..functional.delta_m import (FRACTION_KINDS, PRIMARY_METRICS,
                                  task_kind)


def normalised_scores(records: Sequence[Mapping], stl_reference: Mapping[str,
                                                                        float],
                      tasks: Mapping[str, object]) -> np.ndarray:
    """Per-task scores as higher-is-better ratios to the single-task model.

    Args:
        records: N request records, each a mapping with a ``'scores'`` entry
            ``{task: primary metric}`` (units of ``MultiTaskMetric``).
        stl_reference: task -> primary metric of the single-task model.
        tasks: task -> kind (str, TaskSpec or dict with ``kind``); the column
            order of the result follows its iteration order.

    Returns:
        (N, T) float64 array, 1.0 = single-task quality, higher is better.

    Raises:
        KeyError: a record has no ``'scores'`` or lacks a task's score, or a
            task has no reference.
        ValueError: a score or reference is not finite, a reference is not
            positive, a lower-is-better score is not positive, a fraction
            metric lies outside [0, 1] (percent given instead of fraction), or
            no task is given.
    """
    if not tasks:
        raise ValueError('normalised_scores needs at least one task')
    kinds = {name: task_kind(name, task) for name, task in tasks.items()}
    refs = {}
    for name, kind in kinds.items():
        if name not in stl_reference:
            raise KeyError(f'no single-task reference for task {name!r}; '
                           f'given for {sorted(stl_reference)}')
        ref = float(stl_reference[name])
        if not math.isfinite(ref) or ref <= 0:
            raise ValueError(f'single-task reference of task {name!r} must '
                             f'be finite and > 0, got {ref}')
        _check_fraction(kind, name, ref, 'single-task reference')
        refs[name] = ref

    out = np.empty((len(records), len(kinds)), dtype=np.float64)
    for i, record in enumerate(records):
        if 'scores' not in record:
            raise KeyError(f'record {i} has no \'scores\' entry; keys: '
                           f'{sorted(record)}')
        scores = record['scores']
        for j, (name, kind) in enumerate(kinds.items()):
            if name not in scores:
                raise KeyError(f'record {i}: no score for task {name!r}; '
                               f'given for {sorted(scores)}')
            value = float(scores[name])
            if not math.isfinite(value):
                raise ValueError(
                    f'record {i}: score of task {name!r} is {value}')
            _check_fraction(kind, name, value, f'record {i} score')
            if PRIMARY_METRICS[kind][1]:  # lower is better
                if value <= 0:
                    raise ValueError(
                        f'record {i}: lower-is-better score of task {name!r} '
                        f'must be > 0 to normalise as M_stl / M, got {value}')
                out[i, j] = refs[name] / value
            else:
                if value < 0:
                    raise ValueError(f'record {i}: score of task {name!r} '
                                     f'must be >= 0, got {value}')
                out[i, j] = value / refs[name]
    return out


def _check_fraction(kind: str, name: str, value: float, what: str) -> None:
    if kind in FRACTION_KINDS and not 0 <= value <= 1:
        raise ValueError(
            f'{what} {value} of task {name!r} ({PRIMARY_METRICS[kind][0]}) '
            'must be a fraction in [0, 1], not a percentage')


def hypervolume_reference(num_tasks: int,
                          ref_point: Optional[Sequence[float]] = None
                          ) -> np.ndarray:
    """The reference point actually used: ``ref_point`` checked, or zeros.

    Returns:
        (T,) float64 array.
    """
    if ref_point is None:
        return np.zeros(num_tasks, dtype=np.float64)
    ref = np.asarray(ref_point, dtype=np.float64)
    if ref.shape != (num_tasks, ):
        raise ValueError(f'ref_point must have shape ({num_tasks},) to match '
                         f'the points, got {ref.shape}')
    if not np.all(np.isfinite(ref)):
        raise ValueError(f'ref_point must be finite, got {ref.tolist()}')
    return ref


def hypervolume(points, ref_point: Optional[Sequence[float]] = None) -> float:
    """Hypervolume of higher-is-better points above a reference point.

    The volume of the union of the boxes ``[ref, p]`` over the points ``p``.
    Points that do not strictly dominate the reference (some coordinate
    ``<= ref``) bound no volume and are ignored; dominated points add
    nothing. Computed by ``moocore.hypervolume`` with ``maximise=True``.

    Args:
        points: (N, T) array-like, higher is better (e.g.
            :func:`normalised_scores`). N may be 0.
        ref_point: (T,) reference point; ``None`` = the zero vector.

    Returns:
        The hypervolume (0.0 when no point dominates the reference).

    Raises:
        ValueError: ``points`` is not 2-D, has no column, holds NaN/inf, or
            ``ref_point`` has the wrong shape.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] == 0:
        raise ValueError('points must be an (N, T) array with T >= 1, got '
                         f'shape {pts.shape}')
    if not np.all(np.isfinite(pts)):
        bad = np.argwhere(~np.isfinite(pts))[0]
        raise ValueError(f'points must be finite; points[{bad[0]}, {bad[1]}]'
                         f' = {pts[tuple(bad)]}')
    ref = hypervolume_reference(pts.shape[1], ref_point)
    pts = pts[np.all(pts > ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    try:
        import moocore
    except ImportError as e:  # pragma: no cover - install problem
        raise ImportError('hypervolume needs the moocore package (see '
                          'setup.py: pip install moocore)') from e
    return float(moocore.hypervolume(pts, ref=ref, maximise=True))
