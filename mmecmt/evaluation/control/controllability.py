"""Controllability: do the answers follow the request? (This project's
explicit definitions; the papers of the field report HV and, for
CDMA, :mod:`.uniformity`.)

* Task controllability, at a fixed budget: for each task the Spearman rank
  correlation between its preference and its achieved (higher-is-better)
  score over the requests, then the mean over tasks. 1 = a higher preference
  always gives a higher score.
* Budget controllability: the Spearman correlation between requested budget
  and measured MACs (over all requests, and on average within each
  preference), and the budget
  violations (measured MACs above the requested budget), which must be 0.

A correlation is undefined when either input is constant (or there are fewer
than 2 requests): it is reported as NaN, with a warning unless the caller
asks for none (``warn=False``), and left out of the mean over tasks.
"""
import math
import warnings
from typing import Dict, Optional, Sequence

import numpy as np
from scipy.stats import spearmanr


def spearman(x, y, what: str = 'inputs', warn: bool = True) -> float:
    """Spearman rank correlation of two (N,) arrays.

    Returns NaN when either input is constant or N < 2, with a
    :class:`RuntimeWarning` naming ``what`` if ``warn`` (a caller that
    reports many correlations may count the NaNs and warn once instead).

    Raises:
        ValueError: shapes differ, are not 1-D, or hold NaN/inf.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f'{what}: spearman needs two (N,) arrays of equal '
                         f'length, got shapes {x.shape} and {y.shape}')
    for name, arr in (('first', x), ('second', y)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f'{what}: {name} input holds non-finite values '
                             f'{arr[~np.isfinite(arr)].tolist()}')
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        if not warn:
            return math.nan
        warnings.warn(
            f'{what}: Spearman correlation undefined (constant input or '
            f'fewer than 2 requests, N={len(x)}); reported as NaN',
            RuntimeWarning,
            stacklevel=2)
        return math.nan
    return float(spearmanr(x, y).statistic)


def task_controllability(preferences, scores,
                         task_names: Optional[Sequence[str]] = None,
                         warn: bool = True) -> Dict[str, float]:
    """Per-task Spearman correlation between preference and score.

    Args:
        preferences: (N, T) task preferences of N requests.
        scores: (N, T) achieved scores, **higher is better** (e.g.
            :func:`~.hypervolume.normalised_scores`).
        task_names: T names; default ``'task0'``, ``'task1'``, ...
        warn: warn about each undefined correlation.

    Returns:
        task name -> Spearman rho (NaN, with a warning if ``warn``, where
        undefined).
        Average with :func:`mean_task_controllability`.

    Raises:
        ValueError: shapes differ or are not 2-D, the names do not match T,
            or inputs are not finite.
    """
    prefs = np.asarray(preferences, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if prefs.ndim != 2 or prefs.shape != scores.shape:
        raise ValueError('preferences and scores must be (N, T) arrays of '
                         f'the same shape, got {prefs.shape} and '
                         f'{scores.shape}')
    num_tasks = prefs.shape[1]
    if task_names is None:
        task_names = [f'task{t}' for t in range(num_tasks)]
    task_names = list(task_names)
    if len(task_names) != num_tasks:
        raise ValueError(f'{len(task_names)} task names {task_names} for '
                         f'{num_tasks} columns')
    return {
        name: spearman(prefs[:, t], scores[:, t],
                       f'task {name!r} preference vs score', warn)
        for t, name in enumerate(task_names)
    }


def mean_task_controllability(per_task: Dict[str, float]) -> float:
    """Mean of the defined (non-NaN) per-task correlations; NaN if none."""
    values = [v for v in per_task.values() if not math.isnan(v)]
    return float(np.mean(values)) if values else math.nan


def _budget_arrays(requested, measured_macs):
    req = np.asarray(requested, dtype=np.float64)
    macs = np.asarray(measured_macs, dtype=np.float64)
    if req.ndim != 1 or req.shape != macs.shape:
        raise ValueError('requested and measured_macs must be (N,) arrays of '
                         f'equal length, got {req.shape} and {macs.shape}')
    for name, arr in (('requested', req), ('measured_macs', macs)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f'{name} holds non-finite values '
                             f'{arr[~np.isfinite(arr)].tolist()}')
    if np.any(req <= 0):
        raise ValueError('requested budgets must be > 0, got '
                         f'{req[req <= 0].tolist()}')
    return req, macs


def budget_violations(requested, measured_macs) -> Dict[str, float]:
    """Requests whose measured MACs exceed the requested budget.

    Args:
        requested: (N,) requested budgets (upper bounds, same unit as
            ``measured_macs``), > 0.
        measured_macs: (N,) MACs of the networks that answered them.

    Returns:
        dict with ``violations`` (int, number of requests with ``measured >
        requested``; must be 0) and ``max_violation_ratio``
        (``max((measured - requested) / requested)`` over the violations,
        0.0 when there are none; e.g. 0.05 = 5 % over budget).

    Raises:
        ValueError: shapes differ, inputs are not finite, or a budget is
            not positive.
    """
    req, macs = _budget_arrays(requested, measured_macs)
    over = macs > req
    ratio = float(np.max((macs[over] - req[over]) / req[over])) if np.any(
        over) else 0.0
    return dict(violations=int(over.sum()), max_violation_ratio=ratio)


def budget_controllability(requested, measured_macs,
                           groups: Optional[Sequence] = None,
                           warn: bool = True) -> Dict[str, float]:
    """How well the measured MACs follow the requested budgets.

    Args:
        requested: (N,) requested budgets (upper bounds, same unit as
            ``measured_macs``), > 0.
        measured_macs: (N,) MACs of the networks that answered them.
        groups: optional (N,) hashable labels, e.g. the preference of each
            request, for the within-group correlation.
        warn: warn when the overall correlation is undefined.

    Returns:
        dict with

        * ``spearman``: rho of requested vs measured over all requests (NaN
          where undefined, e.g. a single budget; warned if ``warn``);
        * ``group_spearman`` (only with ``groups``): the mean over groups
          with at least two distinct budgets of rho within the group (a
          group whose MACs do not change with its budgets counts 0);
        * the entries of :func:`budget_violations` (``violations``,
          ``max_violation_ratio``).

    Raises:
        ValueError: shapes differ, inputs are not finite, or a budget is
            not positive.
    """
    req, macs = _budget_arrays(requested, measured_macs)
    rho = spearman(req, macs, 'requested budget vs measured MACs', warn)
    out = dict(spearman=rho)
    if groups is not None:
        if len(groups) != len(req):
            raise ValueError(f'groups has {len(groups)} labels for '
                             f'{len(req)} requests')
        rhos = []
        for label in dict.fromkeys(groups):
            idx = [i for i, g in enumerate(groups) if g == label]
            if len(np.unique(req[idx])) < 2:
                continue
            if len(np.unique(macs[idx])) < 2:
                rhos.append(0.0)  # the budget changes nothing here
                continue
            rhos.append(float(spearmanr(req[idx], macs[idx])[0]))
        out['group_spearman'] = float(np.mean(rhos)) if rhos else math.nan
    out.update(budget_violations(req, macs))
    return out
