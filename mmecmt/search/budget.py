"""ECMT's budget helpers: widening a subnet to use its budget.

Parsing, printing and checking budgets is shared by every method:
:mod:`mmecmt.structures.request` (re-exported here).
"""
import numbers
from typing import Mapping

from mmecmt.structures.request import (  # noqa: F401 (re-exported)
    MACS_SUFFIXES, InfeasibleBudget, above_range_note, check_feasible,
    format_macs, macs_unit, parse_budget)

#: the fraction of its budget a searched subnet is widened to by default
#: (:func:`fill_budget`; ours).
DEFAULT_MIN_UTILIZATION = 0.9


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
