"""Delta_m: mean relative change of a multi-task model against single-task
models, one primary metric per task.

``delta_m = 100 / T * sum_t (-1)^{l_t} (M_t - M_stl,t) / M_stl,t`` **in
percent**, with ``l_t = 1`` where lower is better. Positive = better than the
single-task models on average.

Primary metrics (:data:`PRIMARY_METRICS`, units as output by
:class:`~mmecmt.evaluation.MultiTaskMetric`): segmentation mIoU (fraction),
depth rmse (metres, lower better), normals mean angle (degrees, lower
better), edge odsF (fraction), saliency maxF (fraction), classification top-1
(fraction). Scores and references must use the same units: fraction metrics
are checked to lie in [0, 1] so that a reference given in percent is caught.
"""
import math
from typing import Dict, Mapping, Optional

from mmecmt.structures.tasks import TASK_KINDS

#: task kind -> (primary metric name, lower is better)
PRIMARY_METRICS: Dict[str, tuple] = {
    'segmentation': ('mIoU', False),
    'depth': ('rmse', True),
    'normals': ('mean', True),
    'edge': ('odsF', False),
    'saliency': ('maxF', False),
    'classification': ('top1', False),
}

#: Kinds whose primary metric is a fraction in [0, 1].
FRACTION_KINDS = ('segmentation', 'edge', 'saliency', 'classification')


def task_kind(name: str, task) -> str:
    """The kind of a task given as a kind string, a TaskSpec or a dict."""
    kind = task if isinstance(task, str) else (task.get('kind') if isinstance(
        task, Mapping) else getattr(task, 'kind', None))
    if kind not in TASK_KINDS:
        raise ValueError(f'task {name!r}: unknown kind {kind!r}; valid kinds '
                         f'are {sorted(TASK_KINDS)}')
    return kind


def primary_metric(kind: str, edge_matching: str = 'one_to_one') -> str:
    """Name of the primary metric of a kind (``odsF_dt`` for edges scored
    with the distance-transform matching)."""
    if kind not in PRIMARY_METRICS:
        raise ValueError(f'unknown task kind {kind!r}; valid kinds are '
                         f'{sorted(PRIMARY_METRICS)}')
    name = PRIMARY_METRICS[kind][0]
    if kind == 'edge' and edge_matching == 'distance_transform':
        name += '_dt'
    return name


def extract_primary_scores(
        metrics: Mapping[str, float],
        tasks: Mapping[str, object],
        prefix: Optional[str] = None,
        edge_matching: str = 'one_to_one') -> Dict[str, float]:
    """Pick ``'<task>/<primary>'`` out of a flat metric dict.

    Args:
        metrics: e.g. the output of ``MultiTaskMetric`` (``'semseg/mIoU'``,
            ...), optionally with a ``'<prefix>/'`` in front of every key.
        tasks: task name -> kind (str, TaskSpec or dict with ``kind``).
        prefix: the evaluator prefix, if any.

    Returns:
        task name -> primary metric value.
    """
    out = {}
    for name, task in tasks.items():
        key = f'{name}/{primary_metric(task_kind(name, task), edge_matching)}'
        if prefix:
            key = f'{prefix}/{key}'
        if key not in metrics:
            raise KeyError(f'metric {key!r} of task {name!r} not found; '
                           f'available: {sorted(metrics)}')
        out[name] = float(metrics[key])
    return out


def compute_delta_m(scores: Mapping[str, float], stl_reference: Mapping[str,
                                                                        float],
                    tasks: Mapping[str, object]) -> float:
    """Delta_m in percent over the tasks of ``tasks``.

    Args:
        scores: task name -> primary metric of the multi-task model.
        stl_reference: task name -> primary metric of the single-task model
            (extra entries are ignored).
        tasks: task name -> kind (str, TaskSpec or dict with ``kind``); the
            sign of each term follows :data:`PRIMARY_METRICS`.

    Returns:
        Delta_m in percent (e.g. ``-2.5`` = 2.5 % worse on average).

    Raises:
        KeyError: a task lacks a score or a reference.
        ValueError: no task, a reference is 0 or not finite, or a fraction
            metric lies outside [0, 1].
    """
    if not tasks:
        raise ValueError('compute_delta_m needs at least one task')
    total = 0.0
    for name, task in tasks.items():
        kind = task_kind(name, task)
        for what, source in (('score', scores), ('single-task reference',
                                                 stl_reference)):
            if name not in source:
                raise KeyError(f'Delta_m: no {what} for task {name!r}; given '
                               f'for {sorted(source)}')
        value = float(scores[name])
        ref = float(stl_reference[name])
        if not math.isfinite(ref) or ref == 0:
            raise ValueError(
                f'Delta_m: single-task reference of task {name!r} must be '
                f'finite and non-zero, got {ref}')
        if not math.isfinite(value):
            raise ValueError(f'Delta_m: score of task {name!r} is {value}')
        if kind in FRACTION_KINDS:
            for what, v in (('score', value), ('reference', ref)):
                if not 0 <= v <= 1:
                    raise ValueError(
                        f'Delta_m: {what} {v} of task {name!r} '
                        f'({PRIMARY_METRICS[kind][0]}) must be a fraction in '
                        '[0, 1], not a percentage')
        lower_is_better = PRIMARY_METRICS[kind][1]
        sign = -1.0 if lower_is_better else 1.0
        total += sign * (value - ref) / ref
    return 100.0 * total / len(tasks)
