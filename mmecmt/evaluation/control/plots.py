"""Controllability figures, saved as PNG.

Drawn with :class:`matplotlib.figure.Figure` and the Agg canvas directly, so
no pyplot state or global backend is touched. Every panel is
:data:`PANEL_INCHES` square at :data:`DPI`, so a figure of ``rows x cols``
panels is ``(cols * PANEL_INCHES * DPI, rows * PANEL_INCHES * DPI)`` pixels.
"""
import itertools
import math
import os
import os.path as osp
import warnings
from typing import Mapping, Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .controllability import budget_controllability, task_controllability
from .pareto import pareto_front

#: Side of one panel in inches.
PANEL_INCHES = 4.0
#: Resolution of the saved PNGs.
DPI = 100
#: Panels per row of a grid.
MAX_COLUMNS = 3


def grid_shape(num_panels: int) -> tuple:
    """(rows, cols) of the panel grid used for ``num_panels`` panels."""
    if num_panels < 1:
        raise ValueError(f'need at least one panel, got {num_panels}')
    cols = min(MAX_COLUMNS, num_panels)
    return math.ceil(num_panels / cols), cols


def _new_figure(num_panels: int):
    rows, cols = grid_shape(num_panels)
    fig = Figure(
        figsize=(cols * PANEL_INCHES, rows * PANEL_INCHES),
        dpi=DPI,
        layout='constrained')
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[num_panels:]:
        ax.set_visible(False)
    return fig, axes[:num_panels]


def save_figure(fig, path: str) -> str:
    """Write ``fig`` to the PNG ``path`` at :data:`DPI` (folders are
    created); returns ``path``."""
    path = str(path)
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=DPI, format='png')
    return path


def _format_rho(rho: float) -> str:
    return 'undefined' if math.isnan(rho) else f'{rho:.3f}'


def _format_point(point: Sequence[float]) -> str:
    return '(' + ', '.join(f'{v:g}' for v in point) + ')'


def plot_pairwise_scatter(records_by_method: Mapping[str, np.ndarray],
                          task_names: Sequence[str],
                          budget_label: str,
                          path: str,
                          hv_ref_point: Optional[Sequence[float]] = None
                          ) -> str:
    """Scores of every task pair, one colour per method, with Pareto fronts.

    One panel per task pair (T (T - 1) / 2 panels); in each, every method's
    requests as points and its Pareto front (of that pair) as a staircase.
    Dashed lines mark single-task quality (1.0); the HV reference point is
    stated in the title.

    Args:
        records_by_method: method -> (N_m, T) normalised higher-is-better
            scores (:func:`~.hypervolume.normalised_scores`).
        task_names: the T task names (column order).
        budget_label: the budget these requests share, for the title.
        path: PNG file to write (folders are created).
        hv_ref_point: (T,) HV reference point to state; default zeros.

    Returns:
        ``path``.

    Raises:
        ValueError: fewer than 2 tasks, no method, or a score array that is
            not (N, T).
    """
    task_names = list(task_names)
    num_tasks = len(task_names)
    if num_tasks < 2:
        raise ValueError('a pairwise scatter needs at least 2 tasks, got '
                         f'{task_names}')
    if not records_by_method:
        raise ValueError('records_by_method is empty')
    scores = {}
    for method, pts in records_by_method.items():
        pts = np.asarray(pts, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != num_tasks:
            raise ValueError(f'method {method!r}: scores must be (N, '
                             f'{num_tasks}) for tasks {task_names}, got '
                             f'{pts.shape}')
        scores[method] = pts
    ref = np.zeros(num_tasks) if hv_ref_point is None else np.asarray(
        hv_ref_point, dtype=np.float64)

    pairs = list(itertools.combinations(range(num_tasks), 2))
    fig, axes = _new_figure(len(pairs))
    colours = [f'C{i % 10}' for i in range(len(scores))]
    for ax, (a, b) in zip(axes, pairs):
        for colour, (method, pts) in zip(colours, scores.items()):
            if len(pts) == 0:
                continue
            ax.scatter(pts[:, a], pts[:, b], s=18, color=colour, alpha=0.7,
                       label=method)
            front = pts[pareto_front(pts[:, [a, b]])][:, [a, b]]
            ax.plot(front[:, 0], front[:, 1], color=colour,
                    drawstyle='steps-pre', linewidth=1.2)
        ax.axvline(1.0, color='grey', linestyle='--', linewidth=0.8)
        ax.axhline(1.0, color='grey', linestyle='--', linewidth=0.8)
        ax.set_xlabel(f'{task_names[a]} (normalised)')
        ax.set_ylabel(f'{task_names[b]} (normalised)')
        ax.set_title(f'{task_names[a]} vs {task_names[b]}', fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f'budget {budget_label}: scores / single-task (1.0 = '
                 f'single-task)\nHV reference point {_format_point(ref)}',
                 fontsize=10)
    return save_figure(fig, path)


def plot_preference_vs_score(preferences,
                             scores,
                             task_names: Sequence[str],
                             path: str,
                             title: Optional[str] = None) -> str:
    """Preference (x) against normalised score (y), one panel per task.

    Each panel's title gives the task's Spearman correlation
    (:func:`~.controllability.task_controllability`; "undefined" for a
    constant input, without repeating its warning).

    Args:
        preferences: (N, T) task preferences.
        scores: (N, T) normalised higher-is-better scores.
        task_names: the T task names.
        path: PNG file to write.
        title: figure title (e.g. method and budget).

    Returns:
        ``path``.
    """
    prefs = np.asarray(preferences, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        rhos = task_controllability(prefs, scores, task_names)
    fig, axes = _new_figure(len(rhos))
    for t, (ax, (name, rho)) in enumerate(zip(axes, rhos.items())):
        ax.scatter(prefs[:, t], scores[:, t], s=18, color='C0')
        ax.axhline(1.0, color='grey', linestyle='--', linewidth=0.8)
        ax.set_xlabel(f'preference for {name}')
        ax.set_ylabel(f'{name} score / single-task')
        ax.set_title(f'{name}: Spearman {_format_rho(rho)}', fontsize=10)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_budget_vs_macs(requested,
                        measured,
                        path: str,
                        title: Optional[str] = None) -> str:
    """Requested budget (x) against measured MACs (y), with the line y = x.

    Requests above the line (violations: measured > requested) are drawn as
    red crosses; the title gives the Spearman correlation and the number of
    violations (:func:`~.controllability.budget_controllability`).

    Args:
        requested: (N,) requested budgets, same unit as ``measured``.
        measured: (N,) measured MACs.
        path: PNG file to write.
        title: prefix of the figure title (e.g. the method).

    Returns:
        ``path``.
    """
    req = np.asarray(requested, dtype=np.float64)
    macs = np.asarray(measured, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        stats = budget_controllability(req, macs)
    fig, (ax, ) = _new_figure(1)
    over = macs > req
    ax.scatter(req[~over], macs[~over], s=18, color='C0',
               label='within budget')
    if np.any(over):
        ax.scatter(req[over], macs[over], s=40, color='red', marker='x',
                   label='violation (MACs > budget)')
    if len(req):
        lo = min(req.min(), macs.min())
        hi = max(req.max(), macs.max())
        ax.plot([lo, hi], [lo, hi], color='grey', linestyle='--',
                linewidth=0.8, label='y = x')
    ax.set_xlabel('requested budget')
    ax.set_ylabel('measured MACs')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    head = f'{title}: ' if title else ''
    ax.set_title(f'{head}Spearman {_format_rho(stats["spearman"])}, '
                 f'{stats["violations"]} violation(s)', fontsize=10)
    return save_figure(fig, path)


#: Markers of the methods in :func:`plot_hv_vs_macs`, in method order.
MARKERS = ('o', 's', '^', 'D', 'v', 'P', 'X', '*', '<', '>')


def plot_hv_vs_macs(points_by_method: Mapping[str, Sequence[Sequence[float]]],
                    path: str,
                    hv_ref_point: Optional[Sequence[float]] = None,
                    labels_by_method: Optional[Mapping[str,
                                                       Sequence[str]]] = None,
                    macs_unit: str = '') -> str:
    """Hypervolume (y) against mean measured MACs (x), one point per
    (method, budget) group.

    One colour and marker per method; the points of a method are joined in
    order of increasing MACs, so methods whose budget ranges do not overlap
    (a family of static models, a controller with its own MACs range) can
    still be compared: the higher curve at equal MACs is the better one. A
    method with one group (e.g. a single fixed model) is a lone point. HV is
    that of the group's normalised scores (1.0 = single-task quality per
    task), so a group of many preferences can cover more volume than a
    single request; the reference point is stated in the y-axis label.

    Args:
        points_by_method: method -> (K, 2) rows ``(mean MACs, HV)`` of its K
            groups (K >= 1; any order).
        path: PNG file to write (folders are created).
        hv_ref_point: (T,) HV reference point to state; default: the zero
            point (stated as ``0``).
        labels_by_method: method -> K labels (e.g. the budget labels) written
            next to the points, in the order of ``points_by_method``.
        macs_unit: unit of the MACs for the x-axis label (e.g. ``'GMACs'``);
            default: the unit of the records.

    Returns:
        ``path``.

    Raises:
        ValueError: no method, a method without points or with points that
            are not (K, 2) finite values, or labels that do not match the
            points.
    """
    if not points_by_method:
        raise ValueError('points_by_method is empty')
    fig, (ax, ) = _new_figure(1)
    for m, (method, pts) in enumerate(points_by_method.items()):
        pts = np.asarray(pts, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
            raise ValueError(f'method {method!r}: points must be (K, 2) '
                             f'rows (mean MACs, HV) with K >= 1, got shape '
                             f'{pts.shape}')
        if not np.all(np.isfinite(pts)):
            raise ValueError(f'method {method!r}: points must be finite, '
                             f'got {pts.tolist()}')
        labels = None
        if labels_by_method is not None and method in labels_by_method:
            labels = list(labels_by_method[method])
            if len(labels) != len(pts):
                raise ValueError(f'method {method!r}: {len(labels)} labels '
                                 f'for {len(pts)} points')
        order = np.argsort(pts[:, 0], kind='stable')
        colour = f'C{m % 10}'
        ax.plot(pts[order, 0], pts[order, 1], color=colour,
                marker=MARKERS[m % len(MARKERS)], markersize=6,
                linewidth=1.2, label=method)
        texts = {}  # groups at one point (e.g. budgets above the range)
        for k in order if labels else ():
            texts.setdefault(tuple(pts[k]), []).append(str(labels[k]))
        for (x, y), text in texts.items():
            ax.annotate(', '.join(text), (x, y), textcoords='offset points',
                        xytext=(4, 4), fontsize=7, color=colour)
    ref = ('0' if hv_ref_point is None else
           _format_point(np.asarray(hv_ref_point, dtype=np.float64)))
    unit = f' ({macs_unit})' if macs_unit else ''
    ax.set_xlabel(f'mean measured MACs{unit}')
    ax.set_ylabel(f'HV of normalised scores (ref. point {ref})')
    ax.set_title('HV against compute, per method and budget', fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_gate_patterns(fractions: Mapping[str, np.ndarray],
                       tasks: Sequence[str], out_file: str) -> str:
    """InterroGate's gate patterns (the paper's Figure 5): one panel per
    trained model, a heat map of the fraction of task-specific channels per
    gated unit (x) and task (y), 0 = all shared, 1 = all specialised.

    Args:
        fractions: ``{model name: (units, T) array}``.
        tasks: the task names (rows).
        out_file: the PNG written.
    """
    fig, axes = _new_figure(len(fractions))
    for ax, (name, frac) in zip(axes, fractions.items()):
        frac = np.asarray(frac, dtype=float)
        image = ax.imshow(frac.T, cmap='viridis', vmin=0.0, vmax=1.0,
                          aspect='auto', interpolation='nearest')
        ax.set_yticks(range(len(tasks)), list(tasks))
        ax.set_xlabel('gated unit')
        ax.set_title(f'{name}: task-specific {frac.mean():.0%}',
                     fontsize=9)
    fig.colorbar(image, ax=list(axes), shrink=0.8,
                 label='fraction of task-specific channels')
    return save_figure(fig, out_file)
