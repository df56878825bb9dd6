"""Which widths matter, and can the predictor rank subnets of equal MACs?

Two diagnostics of the subnets an accuracy predictor is fitted on (an
:class:`~mmecmt.search.subnet_evaluator.EvaluatedSubnetStore`: the widths
and the measured held-out scores of each subnet). They tell what a search
under a budget can gain over drawing subnets at random:

* :func:`width_effects`: per task, a least-squares fit of the standardised
  score on the standardised widths (one column per encoder stage and task
  decoder, :meth:`SearchSpace.encode` order). A coefficient is the change
  of the score, in its standard deviations, for one standard deviation more
  width of that entry, the other entries fixed. With the decoders fixed by
  the preference rule, the encoder search has as many effective dimensions
  as there are stages with an effect; entries without one only spend MACs.
* :func:`equal_macs_ranking`: the search compares subnets that all use about
  the budget, so what counts is how the predictor orders subnets of nearly
  equal MACs. By K-fold cross-validation over the evaluated subnets: of
  every pair of held-out subnets whose MACs differ by at most ``tolerance``
  (relative), the fraction whose fitness the predictor orders as measured;
  per task and for a preference-weighted fitness. Ordering by MACs (the
  larger predicted better) is reported beside it: 0.5 means no better than
  a coin.

:func:`plot_width_effects` draws the effects as a heat map.
"""
from typing import Callable, Mapping, Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..evaluation.control.plots import DPI, save_figure
from .space import SubnetSpec


def _zscore(a: np.ndarray) -> np.ndarray:
    """Columns of ``a`` (N, K) to zero mean and unit std (constant: 0)."""
    std = a.std(axis=0)
    return (a - a.mean(axis=0)) / np.where(std > 1e-12, std, np.inf)


def width_effects(x: np.ndarray, y: np.ndarray, names: Sequence[str],
                  tasks: Sequence[str]) -> dict:
    """Standardised linear effects of the widths on the task scores.

    Args:
        x: ``(N, D)`` width ratios of N evaluated subnets.
        y: ``(N, T)`` higher-is-better scores.
        names: the D entry names (:meth:`SearchSpace.entry_names`);
            tasks: the T task names.

    Returns:
        ``dict(coefficients={task: {name: coef}}, r2={task: R^2})``: the
        least-squares coefficients of ``zscore(y_t)`` on ``zscore(x)``
        (constant columns get 0) and the fraction of each score's variance
        the linear fit explains.

    Raises:
        ValueError: shapes that do not match, or fewer than 3 subnets.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(names):
        raise ValueError(f'widths have shape {x.shape}; expected (N, '
                         f'{len(names)}) for the entries {list(names)}')
    if y.shape != (len(x), len(tasks)):
        raise ValueError(f'scores have shape {y.shape}; expected '
                         f'({len(x)}, {len(tasks)}) for the tasks '
                         f'{list(tasks)}')
    if len(x) < 3:
        raise ValueError(f'need at least 3 evaluated subnets, got {len(x)}')
    zx, zy = _zscore(x), _zscore(y)
    coef = np.linalg.lstsq(zx, zy, rcond=None)[0]  # (D, T)
    residual = zy - zx @ coef
    total = (zy**2).sum(axis=0)
    r2 = np.where(total > 0, 1.0 - (residual**2).sum(axis=0) /
                  np.where(total > 0, total, 1.0), 0.0)
    return dict(
        coefficients={t: {n: float(coef[d, i]) for d, n in enumerate(names)}
                      for i, t in enumerate(tasks)},
        r2={t: float(r2[i]) for i, t in enumerate(tasks)})


def pairwise_order_accuracy(predicted: np.ndarray, measured: np.ndarray,
                            macs: np.ndarray, tolerance: float):
    """How often ``predicted`` orders pairs of nearly equal MACs as
    ``measured`` does.

    Pairs ``i < j`` count when ``|macs_i - macs_j| <= tolerance *
    max(macs_i, macs_j)`` and their measured values differ; a predicted
    tie counts one half.

    Args:
        predicted, measured, macs: ``(N,)`` arrays.

    Returns:
        ``(accuracy, num_pairs)``; accuracy is NaN without a pair.
    """
    predicted, measured, macs = (np.asarray(a, dtype=np.float64).ravel()
                                 for a in (predicted, measured, macs))
    if not predicted.shape == measured.shape == macs.shape:
        raise ValueError(f'predicted {predicted.shape}, measured '
                         f'{measured.shape} and macs {macs.shape} must have '
                         'one value per subnet each')
    i, j = np.triu_indices(len(macs), k=1)
    near = (np.abs(macs[i] - macs[j]) <=
            tolerance * np.maximum(macs[i], macs[j]))
    true_sign = np.sign(measured[i] - measured[j])
    keep = near & (true_sign != 0)
    if not keep.any():
        return float('nan'), 0
    pred_sign = np.sign(predicted[i] - predicted[j])[keep]
    agree = np.where(pred_sign == 0, 0.5, pred_sign == true_sign[keep])
    return float(agree.mean()), int(keep.sum())


def equal_macs_ranking(specs: Sequence[SubnetSpec],
                       scores: Mapping[str, np.ndarray], macs: np.ndarray,
                       new_predictor: Callable, preference: Mapping[str,
                                                                    float],
                       tolerance: float = 0.05, folds: int = 5,
                       seed: int = 0) -> dict:
    """Cross-validated ranking of subnets of nearly equal MACs.

    The subnets are split into ``folds`` random folds (``seed``); each fold
    is predicted by a predictor fitted on the others (``new_predictor()``
    returns an unfitted :class:`AccuracyPredictor`). Per fold, the pairs of
    :func:`pairwise_order_accuracy` are scored for every task and for the
    preference-weighted fitness (:meth:`AccuracyPredictor.
    fitness_coefficients` of the fold's predictor, applied to the predicted
    and to the measured scores alike); ordering by MACs is scored on the
    same pairs.

    Args:
        specs: N evaluated subnets; scores: ``{task: (N,)}``, higher is
            better; macs: ``(N,)`` their MACs.
        preference: weights of the fitness (a distribution over the tasks).
        tolerance: the largest relative MACs difference of a pair, in
            (0, 1).
        folds: number of folds, 2 ... N.

    Returns:
        ``{name: dict(predictor=accuracy, macs=accuracy, pairs=count)}`` for
        every task and ``'fitness'``, pooled over the folds (accuracy NaN
        without a pair), plus ``'settings'``.
    """
    specs = list(specs)
    macs = np.asarray(macs, dtype=np.float64)
    if macs.shape != (len(specs), ):
        raise ValueError(f'macs has shape {macs.shape}; expected '
                         f'({len(specs)},), one per subnet')
    if not 0 < tolerance < 1:
        raise ValueError(f'tolerance must lie in (0, 1), got {tolerance!r}')
    if int(folds) != folds or not 2 <= folds <= len(specs):
        raise ValueError(f'folds must be an integer in [2, {len(specs)}] '
                         f'(the number of subnets), got {folds!r}')
    order = np.random.default_rng(seed).permutation(len(specs))
    parts = np.array_split(order, int(folds))
    tasks = list(scores)
    names = tasks + ['fitness']
    counts = {n: dict(predictor=0.0, macs=0.0, pairs=0) for n in names}
    for test in parts:
        train = np.setdiff1d(order, test)
        predictor = new_predictor().fit(
            [specs[i] for i in train],
            {t: np.asarray(v)[train] for t, v in scores.items()})
        test_specs = [specs[i] for i in test]
        pred = predictor.predict_features(predictor.encode(test_specs))
        true = np.stack([np.asarray(scores[t])[test]
                         for t in predictor.tasks], axis=1)
        lo, coef = predictor.fitness_coefficients(preference)
        columns = {t: (pred[:, k], true[:, k])
                   for k, t in enumerate(predictor.tasks)}
        columns['fitness'] = ((pred - lo) @ coef, (true - lo) @ coef)
        for name, (p, m) in columns.items():
            acc, num = pairwise_order_accuracy(p, m, macs[test], tolerance)
            if num:
                macs_acc, _ = pairwise_order_accuracy(macs[test], m,
                                                      macs[test], tolerance)
                counts[name]['predictor'] += acc * num
                counts[name]['macs'] += macs_acc * num
                counts[name]['pairs'] += num
    result = {}
    for name, c in counts.items():
        num = c['pairs']
        result[name] = dict(
            predictor=c['predictor'] / num if num else float('nan'),
            macs=c['macs'] / num if num else float('nan'), pairs=num)
    result['settings'] = dict(tolerance=float(tolerance), folds=int(folds),
                              seed=int(seed), preference=dict(preference),
                              num_subnets=len(specs))
    return result


def effective_entries(effects: Mapping, threshold: float = 0.1,
                      prefix: Optional[str] = 'encoder.') -> list:
    """Entries (of ``prefix``, e.g. the encoder stages) whose standardised
    effect on some task is at least ``threshold`` in magnitude."""
    coefficients = effects['coefficients']
    names = next(iter(coefficients.values())).keys()
    return [n for n in names
            if (prefix is None or n.startswith(prefix)) and
            max(abs(c[n]) for c in coefficients.values()) >= threshold]


def plot_width_effects(coefficients: Mapping[str, Mapping[str, float]],
                       path: str, title: Optional[str] = None) -> str:
    """Heat map of standardised width effects: one row per task, one column
    per search-space entry (:func:`width_effects`), blue for positive, red
    for negative, each cell labelled with its value.

    Args:
        coefficients: ``{task: {entry: coefficient}}``, every task with the
            same entries.
        path: PNG file to write (folders are created).
        title: figure title; default names what the cells are.

    Returns:
        ``path``.

    Raises:
        ValueError: no task.
    """
    tasks = list(coefficients)
    if not tasks:
        raise ValueError('no tasks to plot')
    names = list(coefficients[tasks[0]])
    grid = np.array([[coefficients[t][n] for n in names] for t in tasks])
    scale = max(float(np.abs(grid).max()), 1e-12)
    fig = Figure(figsize=(max(4.0, 0.55 * len(names) + 2.0),
                          0.45 * len(tasks) + 2.2), dpi=DPI,
                 layout='constrained')
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    image = ax.imshow(grid, cmap='RdBu', vmin=-scale, vmax=scale,
                      aspect='auto')
    ax.set_xticks(range(len(names)), names, rotation=60, ha='right',
                  fontsize=8)
    ax.set_yticks(range(len(tasks)), tasks, fontsize=9)
    for (row, col), value in np.ndenumerate(grid):
        ax.text(col, row, f'{value:.2f}', ha='center', va='center',
                fontsize=7,
                color='white' if abs(value) > 0.6 * scale else 'black')
    fig.colorbar(image, ax=ax, shrink=0.8,
                 label='score std per width std')
    ax.set_title(title or 'standardised effect of each width on each task',
                 fontsize=10)
    return save_figure(fig, path)


__all__ = ['width_effects', 'pairwise_order_accuracy',
           'equal_macs_ranking', 'effective_entries', 'plot_width_effects']
