"""A deployment request: a task preference and a compute budget.

Every method (ECMT, CDMA, InterroGate, a family of static models) answers
the same request, so its parsing and validation live here, once.

**Preference.** A task preference ``r`` is a point on the probability simplex
with one entry per task (``r_t >= 0``, ``sum_t r_t = 1``): how much the user
cares about each task. It is never renormalised for the user: a preference
that is not a distribution is an error that states its sum.

**Budget.** A number of multiply-accumulates (MACs, fvcore's count) the
network may use for one forward pass, counted at the input size of
:func:`mmecmt.utils.input_shape.macs_input_shape`. On the command line it is
written either

* absolute: ``'12000000'``, ``'350M'``, ``'1.2G'`` (suffixes ``K`` = 1e3,
  ``M`` = 1e6, ``G`` = 1e9, ``T`` = 1e12, case-insensitive, optionally followed
  by ``MACs``: ``'1.2GMACs'``), or
* relative: ``'0.5x'``: that fraction of the largest network's MACs.

A budget below the smallest network a method can build is infeasible
(:func:`check_feasible` raises :class:`InfeasibleBudget`, stating the
range); one above the largest is answered by the largest network
(:func:`clip_to_range` says so).
"""
import math
import numbers
import re
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

#: tolerance on ``sum(r) == 1``.
SUM_TOLERANCE = 1e-6

PreferenceLike = Union[Mapping[str, float], Sequence[float], np.ndarray]


def validate_preference(pref: PreferenceLike,
                        tasks: Sequence[str]) -> Dict[str, float]:
    """Check that ``pref`` is a preference over exactly ``tasks``.

    Args:
        pref: ``{task: weight}``, or a sequence / array of shape ``(T,)``
            in the order of ``tasks``.
        tasks: the model's tasks.

    Returns:
        ``{task: float weight}`` in the order of ``tasks``.

    Raises:
        ValueError: a task is missing or unknown, a weight is not a finite
            number >= 0, or the weights do not sum to 1 (within 1e-6; the
            error states the sum; nothing is renormalised).
    """
    tasks = list(tasks)
    if not tasks:
        raise ValueError('a preference needs at least one task')
    if isinstance(pref, Mapping):
        missing = [t for t in tasks if t not in pref]
        unknown = [t for t in pref if t not in tasks]
        if missing or unknown:
            raise ValueError(
                f'preference {dict(pref)}: missing tasks {missing}, unknown '
                f'tasks {unknown}; expected exactly {tasks}')
        items = [(t, pref[t]) for t in tasks]
    else:
        values = list(np.asarray(pref, dtype=object).reshape(-1))
        if len(values) != len(tasks):
            raise ValueError(
                f'preference {values} has {len(values)} entries; expected '
                f'one per task {tasks}')
        items = list(zip(tasks, values))
    out = {}
    for task, value in items:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f'preference[{task!r}] = {value!r} is not a number') from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(
                f'preference[{task!r}] = {value} must be a finite number >= 0')
        out[task] = value
    total = sum(out.values())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ValueError(
            f'preference {out} sums to {total:.8g}, not 1 (tolerance '
            f'{SUM_TOLERANCE:g}): a preference is a point on the simplex; '
            'it is not renormalised for you')
    return out


_PREF_ITEM = re.compile(r'^\s*([^=\s]+)\s*=\s*([^=\s]+)\s*$')


def parse_preference(text: str,
                     tasks: Optional[Sequence[str]] = None
                     ) -> Dict[str, float]:
    """Parse a command-line preference ``'semseg=0.5,depth=0.3,normals=0.2'``.

    Args:
        text: comma-separated ``task=weight`` items.
        tasks: if given, the result is checked with
            :func:`validate_preference` against these tasks.

    Returns:
        ``{task: weight}`` in the order written.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            f'preference {text!r}: expected "task=weight,task=weight,..."')
    pref = {}
    for item in text.split(','):
        match = _PREF_ITEM.match(item)
        if match is None:
            raise ValueError(
                f'preference {text!r}: item {item!r} is not "task=weight"')
        task, value = match.groups()
        if task in pref:
            raise ValueError(f'preference {text!r}: task {task!r} repeated')
        try:
            pref[task] = float(value)
        except ValueError:
            raise ValueError(f'preference {text!r}: weight {value!r} of task '
                             f'{task!r} is not a number') from None
    if tasks is not None:
        pref = validate_preference(pref, tasks)
    return pref


def sample_simplex(num: int, num_tasks: int, seed: int = 0) -> np.ndarray:
    """``num`` preferences drawn uniformly from the simplex (Dirichlet(1)).

    Returns:
        ``(num, num_tasks)`` float64 array; every row is >= 0 and sums to 1.
        The same ``seed`` gives the same array.
    """
    if int(num) != num or num < 0:
        raise ValueError(f'num must be an integer >= 0, got {num!r}')
    if int(num_tasks) != num_tasks or num_tasks < 1:
        raise ValueError(f'num_tasks must be an integer >= 1, got '
                         f'{num_tasks!r}')
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(int(num_tasks)), size=int(num))


def one_hot_preferences(tasks: Sequence[str]) -> List[Dict[str, float]]:
    """One preference per task, all weight on that task."""
    tasks = list(tasks)
    return [{t: float(t == chosen) for t in tasks} for chosen in tasks]


def uniform_preference(tasks: Sequence[str]) -> Dict[str, float]:
    """Equal weight ``1 / T`` on every task."""
    tasks = list(tasks)
    if not tasks:
        raise ValueError('a preference needs at least one task')
    return {t: 1.0 / len(tasks) for t in tasks}


def evaluation_preferences(tasks: Sequence[str], num: int,
                           seed: int = 0) -> List[Dict[str, float]]:
    """The preferences of a controllability study: ``num`` simplex samples
    (:func:`sample_simplex`, seeded), then one-hot per task, then uniform
    (``num + T + 1`` in all)."""
    tasks = list(tasks)
    sampled = [dict(zip(tasks, (float(v) for v in row)))
               for row in sample_simplex(num, len(tasks), seed)]
    return sampled + one_hot_preferences(tasks) + [uniform_preference(tasks)]


# ----------------------------------------------------------------------
# budgets
# ----------------------------------------------------------------------
#: multipliers of the absolute suffixes.
MACS_SUFFIXES = {'': 1, 'k': 10**3, 'm': 10**6, 'g': 10**9, 't': 10**12}
_NUMBER = r'(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?'
_ABSOLUTE = re.compile(r'^' + _NUMBER + r'\s*([kmgt]?)(?:macs)?$',
                       re.IGNORECASE)
_RELATIVE = re.compile(r'^' + _NUMBER + r'\s*x$', re.IGNORECASE)


def _number(mantissa: str, exponent: Optional[str]) -> float:
    return float(mantissa) * 10.0**int(exponent or 0)


def parse_budget(budget: Union[str, int, float],
                 max_macs: Optional[int] = None) -> int:
    """A budget in MACs from ``'1.2G'``, ``'350M'``, ``'12000000'``,
    ``'0.5x'`` or a plain positive number.

    Args:
        budget: the budget as written (see the module docstring).
        max_macs: MACs of the largest subnet; needed for ``'x'`` budgets.

    Returns:
        The budget in MACs, rounded down to an integer (MACs are integers,
        so ``macs <= floor(b)`` iff ``macs <= b``).

    Raises:
        ValueError: the text is not a budget, the budget is not > 0, or an
            ``'x'`` budget was given without ``max_macs``.
    """
    text = str(budget).strip()
    if isinstance(budget, bool):
        raise ValueError(f'budget {budget!r} is not a number of MACs')
    if isinstance(budget, numbers.Real):
        value = float(budget)
    else:
        absolute = _ABSOLUTE.match(text)
        relative = _RELATIVE.match(text)
        if absolute:
            mantissa, exponent, suffix = absolute.groups()
            value = _number(mantissa, exponent) * MACS_SUFFIXES[
                suffix.lower()]
        elif relative:
            if max_macs is None:
                raise ValueError(
                    f'budget {text!r} is a fraction of the largest subnet\'s '
                    'MACs, but the largest subnet\'s MACs were not given')
            if not max_macs > 0:
                raise ValueError(f'max_macs must be > 0, got {max_macs!r}')
            value = _number(*relative.groups()) * max_macs
        else:
            raise ValueError(
                f'budget {text!r} is not understood; write MACs as e.g. '
                '"12000000", "350M", "1.2G" (suffixes K, M, G, T) or a '
                'fraction of the largest subnet as e.g. "0.5x"')
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f'budget {text!r} must be a finite number of MACs '
                         '> 0')
    macs = int(math.floor(value))
    if macs < 1:
        raise ValueError(f'budget {text!r} is below 1 MAC')
    return macs


def macs_unit(macs: float) -> str:
    """The unit in which to print ``macs``: ``'G'`` from 1e8 (so 0.21 G),
    ``'M'`` from 1e5, ``'K'`` from 1e2, else ``''``."""
    for unit, threshold in (('G', 1e8), ('M', 1e5), ('K', 1e2)):
        if abs(macs) >= threshold:
            return unit
    return ''


def format_macs(macs: float, unit: Optional[str] = None) -> str:
    """``'0.21 GMACs'``: ``macs`` in ``unit`` (``'G'``, ``'M'``, ``'K'`` or
    ``''``; default :func:`macs_unit`) with two decimals."""
    unit = macs_unit(macs) if unit is None else unit
    if unit.lower() not in MACS_SUFFIXES:
        raise ValueError(f'unknown MACs unit {unit!r}; valid: G, M, K, T, ""')
    return f'{macs / MACS_SUFFIXES[unit.lower()]:.2f} {unit}MACs'


class InfeasibleBudget(ValueError):
    """A budget below the smallest network a method can build."""


def check_feasible(budget: int, min_macs: int, max_macs: int,
                   what: str = 'subnet') -> int:
    """Return ``budget`` if some network fits it, else raise.

    Args:
        budget: the budget in MACs.
        min_macs / max_macs: MACs of the smallest / largest network.
        what: the name of the networks in the message (``'subnet'``,
            ``'tree'``, ``'member'``).

    Raises:
        InfeasibleBudget: ``budget < min_macs``, stating the feasible range
            in one human unit, e.g. ``'budget 0.10 GMACs is below the
            smallest subnet (0.21 GMACs); feasible range 0.21 - 1.05
            GMACs'``.
    """
    if min_macs > max_macs:
        raise ValueError(f'min_macs {min_macs} > max_macs {max_macs}')
    if budget < min_macs:
        # the unit of the smaller figure, so that budget and minimum differ
        # in print (0.05 vs 0.05 GMACs would read as 50.50 vs 50.61 MMACs)
        unit = macs_unit(min(budget, min_macs))
        lo = format_macs(min_macs, unit)
        hi = format_macs(max_macs, unit)
        raise InfeasibleBudget(
            f'budget {format_macs(budget, unit)} is below the smallest '
            f'{what} ({lo}); feasible range {lo.split()[0]} - {hi}')
    return budget


def above_range_note(budget: int, max_macs: int,
                     what: str = 'subnet') -> Optional[str]:
    """None when ``budget <= max_macs``; else the sentence every tool prints
    and stores when a budget above the feasible range is answered by the
    largest network."""
    if budget <= max_macs:
        return None
    unit = macs_unit(min(budget, max_macs))
    return (f'budget {format_macs(budget, unit)} is above the largest '
            f'{what} ({format_macs(max_macs, unit)}): answered with the '
            f'largest {what}')


__all__ = ['SUM_TOLERANCE', 'PreferenceLike', 'validate_preference',
           'parse_preference', 'sample_simplex', 'one_hot_preferences',
           'uniform_preference', 'evaluation_preferences', 'MACS_SUFFIXES',
           'parse_budget', 'macs_unit',
           'format_macs', 'InfeasibleBudget', 'check_feasible',
           'above_range_note']
