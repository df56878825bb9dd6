"""ECMT's preference rule: a task preference turned into decoder widths.

A task preference (:mod:`mmecmt.structures.request`, shared by every
method) is a point on the probability simplex. In ECMT the preference controls the **decoder** widths (a higher
preference gets a wider decoder); the encoder widths are then searched under
the compute budget (:mod:`mmecmt.search.evolution`).

Rules (``PreferenceRule(search_space, rule=...)``), for a task with
``n_choices`` ascending decoder width choices:

* ``'rank_by_max'`` (default; ours: the ECMT paper fixes only that a higher
  preference gets a wider decoder): task ``t`` gets the choice at
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
others in proportion) until they fit (ours; the ECMT paper leaves it open).
"""
import math
from typing import Callable, Dict, List, Mapping, Tuple, Union

from mmecmt.structures.request import (  # noqa: F401 (re-exported)
    SUM_TOLERANCE, PreferenceLike, one_hot_preferences, parse_preference,
    sample_simplex, uniform_preference, validate_preference)
from .space import SearchSpace

#: the names of the rules :class:`PreferenceRule` knows.
PREFERENCE_RULES = ('rank_by_max', 'linear')


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


