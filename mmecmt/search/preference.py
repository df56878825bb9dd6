"""Task preferences and the rule that turns one into decoder widths.

A task preference ``r`` is a point on the probability simplex with one entry
per task (``r_t >= 0``, ``sum_t r_t = 1``): how much the user cares about each
task. In ECMT the preference controls the **decoder** widths (a higher
preference gets a wider decoder); the encoder widths are then searched under
the compute budget (:mod:`mmecmt.search.evolution`).

Rules (``PreferenceRule(search_space, rule=...)``), for a task with
``n_choices`` ascending decoder width choices:

* ``'rank_by_max'`` (default, REFERENCE.md §1): task ``t`` gets the choice at
  position ``round(r_t / max(r) * (n_choices - 1))``. The most preferred task
  always gets the widest decoder; the others scale relative to it, so the
  uniform preference gives every decoder its widest width and a one-hot
  preference gives the chosen task the widest and every other the narrowest.
* ``'linear'``: position ``round(r_t * (n_choices - 1))``: the absolute
  preference. Only a dominant task (``r_t >= 1 - 0.5 / (n_choices - 1)``)
  gets the widest decoder; the uniform preference over T tasks gives every
  decoder position ``round((n_choices - 1) / T)``.

``round`` rounds halves up (``floor(x + 0.5)``, not Python's round-half-to-
even), with a 1e-9 tolerance so that ``0.5 * 3 = 1.4999999999`` style float
error does not flip a position.

Budgets: when the decoders a preference asks for do not fit the budget even
with the narrowest encoder, :meth:`PreferenceRule.within_budget` shrinks
them all together (the most preferred task one width step at a time, the
others in proportion) until they fit (ours; REFERENCE.md leaves it open).
"""
import math
import re
from typing import (Callable, Dict, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np

from .space import SearchSpace

#: tolerance on ``sum(r) == 1``.
SUM_TOLERANCE = 1e-6
#: the names of the rules :class:`PreferenceRule` knows.
PREFERENCE_RULES = ('rank_by_max', 'linear')

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


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5 + 1e-9))


class PreferenceRule:
    """Maps a task preference to decoder width ratios.

    Args:
        search_space: gives the tasks (its decoders) and each task's
            ascending decoder width choices.
        rule: ``'rank_by_max'`` (default) or ``'linear'``; see the module
            docstring for the formulas.
    """

    def __init__(self, search_space: SearchSpace, rule: str = 'rank_by_max'):
        if not isinstance(search_space, SearchSpace):
            raise TypeError('PreferenceRule needs a SearchSpace, got '
                            f'{type(search_space).__name__}')
        if not search_space.decoders:
            raise ValueError('the search space has no decoder choices: a '
                             'preference has nothing to control')
        if rule not in PREFERENCE_RULES:
            raise ValueError(
                f'unknown preference rule {rule!r}; valid: {PREFERENCE_RULES}')
        self.search_space = search_space
        self.rule = rule

    @classmethod
    def from_cfg(cls, cfg: Union[None, str, Mapping],
                 search_space: SearchSpace) -> 'PreferenceRule':
        """Build from ``None`` (the default rule), a rule name, or a dict
        ``dict(rule='linear')`` / ``dict(type='linear')``."""
        if cfg is None:
            return cls(search_space)
        if isinstance(cfg, str):
            return cls(search_space, rule=cfg)
        if isinstance(cfg, Mapping):
            cfg = dict(cfg)
            if 'type' in cfg and 'rule' in cfg:
                raise ValueError(f'preference rule cfg {cfg}: give "rule" or '
                                 '"type", not both')
            rule = cfg.pop('rule', cfg.pop('type', 'rank_by_max'))
            if cfg:
                raise ValueError(f'preference rule cfg: unknown keys '
                                 f'{sorted(cfg)}; valid: ["rule"]')
            return cls(search_space, rule=rule)
        raise TypeError('a preference rule cfg is None, a rule name or a '
                        f'dict; got {type(cfg).__name__}')

    @property
    def tasks(self) -> List[str]:
        return list(self.search_space.decoders)

    def positions(self, pref: PreferenceLike,
                  scale: float = 1.0) -> Dict[str, int]:
        """``{task: index into its decoder choices}`` for ``pref``.

        ``scale`` in [0, 1] shrinks every level before rounding
        (``round(scale * level * last)``): 1 is the rule itself, 0 gives
        every task its narrowest decoder.
        """
        pref = validate_preference(pref, self.tasks)
        if not 0.0 <= scale <= 1.0:
            raise ValueError(f'decoder scale must lie in [0, 1], got {scale}')
        top = max(pref.values())  # > 0: the weights sum to 1
        out = {}
        for task, weight in pref.items():
            last = len(self.search_space.decoders[task]) - 1
            level = weight / top if self.rule == 'rank_by_max' else weight
            out[task] = min(_round_half_up(scale * level * last), last)
        return out

    def __call__(self, pref: PreferenceLike,
                 scale: float = 1.0) -> Dict[str, float]:
        """``{task: decoder width ratio}`` for ``pref`` (``scale``: see
        :meth:`positions`)."""
        return {task: self.search_space.decoders[task][pos]
                for task, pos in self.positions(pref, scale).items()}

    def within_budget(self, pref: PreferenceLike,
                      fits: Callable[[Dict[str, float]], bool]
                      ) -> Tuple[Dict[str, float], float]:
        """The rule's decoders, shrunk until ``fits(decoders)``.

        A small budget may not hold the decoders a preference asks for even
        with the narrowest encoder. Then all decoders shrink together: the
        scale takes the values ``k / L`` for ``k = L, L - 1, ..., 0`` (L =
        the most choices of any decoder minus one), so the most preferred
        task loses one width step at a time and the others follow in
        proportion, keeping the preference's order. At scale 0 every
        decoder is at its narrowest.

        Args:
            pref: the preference.
            fits: ``decoders -> bool``, e.g. "the smallest encoder with
                these decoders is within the budget".

        Returns:
            ``(decoders, scale)``: the first decoders that fit and their
            scale (1.0: the rule unchanged).

        Raises:
            ValueError: not even the narrowest decoders fit.
        """
        steps = max(len(c) for c in self.search_space.decoders.values()) - 1
        for k in range(steps, -1, -1):
            scale = k / steps if steps else 0.0
            decoders = self(pref, scale)
            if fits(decoders):
                return decoders, scale
        raise ValueError('not even the narrowest decoders fit the budget')

    def __repr__(self) -> str:
        return f'{type(self).__name__}(rule={self.rule!r}, tasks={self.tasks})'


# ----------------------------------------------------------------------
# preference sets
# ----------------------------------------------------------------------
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
