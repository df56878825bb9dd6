"""One study repeated over training seeds: the HV of every (method, budget)
group and the HV gap of every compared pair, with a t interval over the
seeds, so that a difference between two methods is claimed only where the
trainings, not just the requests, agree on it.

The controllability report's own intervals (:mod:`.paired`) resample the
requests of one training; these resample nothing and use the spread of the
trained models instead.
"""
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
from scipy import stats

from .plots import _new_figure, save_figure


def t_interval(values: Sequence[float],
               confidence: float = 0.95) -> Tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``values`` and its two-sided
    Student-t interval (``low == high == mean`` for a single value).

    Raises:
        ValueError: no value, a value that is not finite, or a confidence
            outside (0, 1).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f'values must be a non-empty list of finite '
                         f'numbers, got {list(values)}')
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must be in (0, 1), got {confidence}')
    mean = float(x.mean())
    if len(x) == 1:
        return mean, mean, mean
    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1) *
                 x.std(ddof=1) / np.sqrt(len(x)))
    return mean, mean - half, mean + half


def verdict(low: float, high: float, a: str, b: str) -> str:
    """Which of ``a`` and ``b`` is ahead by an interval ``[low, high]`` of
    ``a - b``."""
    if low > 0:
        return f'{a} ahead'
    if high < 0:
        return f'{b} ahead'
    return 'not distinguishable'


def seed_summary(results: Mapping[str, Mapping],
                 pairs: Sequence[Tuple[str, str]] = (),
                 confidence: float = 0.95) -> Dict[str, dict]:
    """Summarise one study's control results over seeds.

    Args:
        results: seed label -> the ``control_results.json`` of that seed's
            run (same methods and budgets; a group answered in some seeds
            only uses those).
        pairs: ``(A, B)`` method pairs whose HV gap ``A - B`` is compared
            per budget (only seeds where both answered count).
        confidence: of the t intervals.

    Returns:
        ``dict(seeds=[labels], hv={method: {budget: dict(values, mean, low,
        high)}}, gaps={budget: {'A vs B': dict(values, mean, low, high,
        verdict)}})``; ``values`` are per seed, in ``seeds`` order (None
        where the group was not answered).

    Raises:
        ValueError: no results, or a pair naming a method that no seed has.
    """
    if not results:
        raise ValueError('no results to summarise')
    seeds = list(results)
    hv: Dict[str, Dict[str, dict]] = {}
    for seed in seeds:
        for method, groups in results[seed]['summary'].items():
            for budget, group in groups.items():
                entry = hv.setdefault(method, {}).setdefault(
                    budget, dict(values=[None] * len(seeds)))
                if group.get('answered') and group.get('hv') is not None:
                    entry['values'][seeds.index(seed)] = float(group['hv'])
    for groups in hv.values():
        for entry in groups.values():
            done = [v for v in entry['values'] if v is not None]
            mean, low, high = t_interval(done, confidence) if done else (
                None, None, None)
            entry.update(mean=mean, low=low, high=high)
    gaps: Dict[str, Dict[str, dict]] = {}
    for a, b in pairs:
        for method in (a, b):
            if method not in hv:
                raise ValueError(f'pair ({a!r}, {b!r}): no seed has method '
                                 f'{method!r}; the methods are {list(hv)}')
        for budget in hv[a]:
            if budget not in hv[b]:
                continue
            values = [None if x is None or y is None else x - y for x, y in
                      zip(hv[a][budget]['values'], hv[b][budget]['values'])]
            done = [v for v in values if v is not None]
            if not done:
                continue
            mean, low, high = t_interval(done, confidence)
            gaps.setdefault(budget, {})[f'{a} vs {b}'] = dict(
                values=values, mean=mean, low=low, high=high,
                verdict=verdict(low, high, a, b) if len(done) > 1 else
                'one seed')
    return dict(seeds=seeds, confidence=confidence, hv=hv, gaps=gaps)


def plot_hv_over_seeds(summary: Mapping, path: str,
                       budgets: Optional[Sequence[str]] = None) -> str:
    """HV per budget (x) of every method: each seed as a dot, the mean with
    its t interval as an error bar. Returns ``path``."""
    fig, (ax, ) = _new_figure(1)
    labels = list(budgets or [])
    if not labels:  # budgets in the order the report lists them
        for groups in summary['hv'].values():
            labels += [b for b in groups if b not in labels]
    methods = list(summary['hv'])
    width = 0.8 / max(1, len(methods))
    for m, method in enumerate(methods):
        colour, label = f'C{m % 10}', method
        for j, budget in enumerate(labels):
            entry = summary['hv'][method].get(budget)
            if entry is None or entry['mean'] is None:
                continue
            x = j - 0.4 + width * (m + 0.5)
            done = [v for v in entry['values'] if v is not None]
            ax.scatter([x] * len(done), done, s=10, color=colour, alpha=0.5)
            ax.errorbar([x], [entry['mean']],
                        yerr=[[entry['mean'] - entry['low']],
                              [entry['high'] - entry['mean']]],
                        fmt='o', color=colour, capsize=3, label=label)
            label = None  # one legend entry per method
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    ax.set_xlabel('budget')
    ax.set_ylabel('HV of normalised scores')
    ax.set_title(f'HV over {len(summary["seeds"])} seeds: mean, '
                 f'{summary["confidence"]:.0%} t interval; dots: seeds',
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


__all__ = ['plot_hv_over_seeds', 'seed_summary', 't_interval', 'verdict']
