"""Compute budgets: parse them, print them, check them against a supernet.

A budget is a number of multiply-accumulates (MACs, fvcore's count) a subnet
may use for one forward pass. On the command line it is written either

* absolute: ``'12000000'``, ``'350M'``, ``'1.2G'`` (suffixes ``K`` = 1e3,
  ``M`` = 1e6, ``G`` = 1e9, ``T`` = 1e12, case-insensitive, optionally followed
  by ``MACs``: ``'1.2GMACs'``), or
* relative: ``'0.5x'``: that fraction of the largest subnet's MACs.

A budget above the largest subnet's MACs is valid (the largest subnet is
then feasible); a budget below the smallest subnet's is not
(:func:`check_feasible`).
"""
import math
import numbers
import re
from typing import Mapping, Optional, Union

#: the fraction of its budget a searched subnet is widened to by default
#: (:func:`fill_budget`; ours).
DEFAULT_MIN_UTILIZATION = 0.9
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


def check_feasible(budget: int, min_macs: int, max_macs: int) -> int:
    """Return ``budget`` if some subnet fits it, else raise.

    Args:
        budget: the budget in MACs.
        min_macs / max_macs: MACs of the smallest / largest subnet.

    Raises:
        ValueError: ``budget < min_macs``, stating the feasible range in one
            human unit, e.g. ``'budget 0.10 GMACs is below the smallest
            subnet (0.21 GMACs); feasible range 0.21 - 1.05 GMACs'``.
    """
    if min_macs > max_macs:
        raise ValueError(f'min_macs {min_macs} > max_macs {max_macs}')
    if budget < min_macs:
        # the unit of the smaller figure, so that budget and minimum differ
        # in print (0.05 vs 0.05 GMACs would read as 50.50 vs 50.61 MMACs)
        unit = macs_unit(min(budget, min_macs))
        lo = format_macs(min_macs, unit)
        hi = format_macs(max_macs, unit)
        raise ValueError(
            f'budget {format_macs(budget, unit)} is below the smallest '
            f'subnet ({lo}); feasible range {lo.split()[0]} - {hi}')
    return budget


def fill_budget(spec, search_space, macs_fn, budget: int,
                preference: Mapping[str, float],
                min_utilization: float = 1.0):
    """Spend what a subnet leaves of its budget, greedily, one width choice
    at a time.

    Widening steps, each kept only while the MACs stay within ``budget``:

    1. decoders: each step widens the decoder of the most preferred task
       that can still grow (ties: the narrower decoder first, so tasks of
       equal preference grow together);
    2. then encoder stages, one step each in forward order, round after
       round.

    It stops as soon as the MACs reach ``min_utilization * budget``
    (``1.0``: as far as anything fits). Narrowing never happens, so the
    result is at least as wide as ``spec`` everywhere.

    Args:
        spec: a :class:`~mmecmt.search.space.SubnetSpec` within the budget.
        search_space: its :class:`~mmecmt.search.space.SearchSpace`.
        macs_fn: ``spec -> MACs``.
        budget: the budget in MACs.
        preference: ``{task: weight}`` over exactly the decoder tasks.
        min_utilization: in [0, 1]; the fraction of the budget to reach
            (0: ``spec`` is returned unchanged).

    Returns:
        The widened spec (MACs ``<= budget``; ``>= min_utilization *
        budget`` unless even everything that fits falls short).

    Raises:
        ValueError: ``spec`` is already over the budget, ``preference`` does
            not name exactly the tasks, or ``min_utilization`` is outside
            [0, 1].
    """
    from .space import SubnetSpec
    check_utilization(min_utilization)
    if sorted(preference) != sorted(search_space.decoders):
        raise ValueError(f'preference tasks {sorted(preference)} must be '
                         f'exactly the decoder tasks '
                         f'{sorted(search_space.decoders)}')
    macs = macs_fn(spec)
    if macs > budget:
        raise ValueError(f'the subnet uses {format_macs(macs)}, over the '
                         f'budget {format_macs(budget)}')
    target = min_utilization * budget
    encoder, decoders = dict(spec.encoder), dict(spec.decoders)

    def try_widen(widths, name, choices) -> bool:
        """Widen ``widths[name]`` one choice if that fits; True if done."""
        nonlocal macs
        wider = [c for c in choices if c > widths[name]]
        if not wider:
            return False
        trial = dict(widths, **{name: wider[0]})
        trial_macs = macs_fn(SubnetSpec(
            trial if widths is encoder else encoder,
            trial if widths is decoders else decoders))
        if trial_macs > budget:
            return False
        widths[name], macs = wider[0], trial_macs
        return True

    def reached() -> bool:
        return macs >= target

    growing = set(search_space.decoders)
    while growing and not reached():
        task = min(growing, key=lambda t: (
            -preference[t], search_space.decoders[t].index(decoders[t]),
            list(search_space.decoders).index(t)))
        if not try_widen(decoders, task, search_space.decoders[task]):
            growing.discard(task)
    growing = list(search_space.encoder)
    while growing:
        for stage in list(growing):
            if reached():
                return SubnetSpec(encoder, decoders)
            if not try_widen(encoder, stage, search_space.encoder[stage]):
                growing.remove(stage)
    return SubnetSpec(encoder, decoders)


def check_utilization(value: float) -> float:
    """``value`` if it is a budget utilisation in [0, 1], else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not 0.0 <= float(value) <= 1.0:
        raise ValueError(f'min_utilization must be a number in [0, 1] (the '
                         f'fraction of the budget to spend), got {value!r}')
    return float(value)
