"""Evolution search for the best subnet under a MACs budget, and baselines.

:class:`EvolutionSearcher` is Once-for-All's evolution search:

1. initial population: ``population_size`` random subnets within the budget
   (uniform draws over the free entries, over-budget draws rejected);
2. every generation: the ``round(parent_ratio * population_size)`` fittest
   *distinct* subnets of the population become the parents (ours: Once-for-
   All keeps duplicates, which lets copies of one subnet fill the parent set
   and stalls the search in a local optimum; de-duplicating found the exact
   optimum of the test problems where the original did not);
   ``population_size`` children are added to them:
   ``round(mutation_ratio * population_size)`` mutants of random parents
   (each free entry redrawn uniformly with probability ``mutation_prob``) and
   the rest uniform crossovers of two random parents (each free entry taken
   from either parent with probability 1/2). A child over the budget is
   rejected and redrawn from the same parent(s); after ``max_tries``
   rejections the child is a copy of its (feasible) first parent.
3. the best subnet ever evaluated is returned.

The searcher only sees a ``macs_fn(spec) -> int`` and a batched
``fitness_fn(list of specs) -> (N,) array`` (higher is better; one call per
generation), nothing of tensors or of the Runner. Entries in ``fixed`` (e.g.
the decoder widths the preference rule chose) never change: only the other
entries are searched. Every spec ever evaluated, and the result, is within
the budget. The same seed gives the same result.

Baselines: :meth:`EvolutionSearcher.random_search` (best of N random feasible
subnets) and :func:`largest_uniform_under_budget` (one width for the whole
network).
"""
import math
import numbers
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Tuple, Union

import numpy as np

from .budget import check_feasible
from .space import SearchSpace, SubnetSpec, match_choice

MacsFn = Callable[[SubnetSpec], int]
FitnessFn = Callable[[List[SubnetSpec]], np.ndarray]
FixedLike = Union[None, SubnetSpec, Mapping[str, Mapping[str, float]]]


@dataclass
class SearchHistory:
    """What one search did.

    Attributes:
        best_fitness: best fitness so far, after the initial population and
            after every generation (evolution: ``generations + 1`` values),
            or after every sample (random search: ``num_samples`` values).
        num_evaluated: subnets passed to ``fitness_fn``.
        num_rejected: candidates drawn over the budget (never evaluated).
        num_macs_calls: distinct subnets ``macs_fn`` was asked about.
        seconds: wall time of the search.
    """
    best_fitness: List[float] = field(default_factory=list)
    num_evaluated: int = 0
    num_rejected: int = 0
    num_macs_calls: int = 0
    seconds: float = 0.0


def _check_budget(budget) -> float:
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real) \
            or math.isnan(budget) or budget <= 0:
        raise ValueError(f'budget must be a number of MACs > 0, got '
                         f'{budget!r} (parse text with parse_budget)')
    return budget


class _Genome:
    """Choice indices ``(E,)`` over the search space's entries (encoder
    stages, then decoders: :meth:`SearchSpace.entries`), and the
    conversions to / from specs."""

    def __init__(self, search_space: SearchSpace):
        self.search_space = search_space
        entries = search_space.entries()
        self.names = [(part, name) for part, name, _ in entries]
        self.choices = [choices for _, _, choices in entries]
        self.num_choices = np.array([len(c) for c in self.choices])

    def to_spec(self, genome: np.ndarray) -> SubnetSpec:
        return self.search_space.spec_at(genome.tolist())

    def index(self, entry: int, ratio: float) -> int:
        part, name = self.names[entry]
        return self.search_space.choice_index(f'{part}.{name}', ratio)


class EvolutionSearcher:
    """Once-for-All evolution search over subnets under a MACs budget.

    Args:
        search_space: the width choices.
        macs_fn: ``macs_fn(spec) -> int``, MACs of a subnet (e.g. a
            :class:`mmecmt.search.MacsModel`). Called once per distinct
            subnet (results are cached within a search).
        fitness_fn: ``fitness_fn(list of N specs) -> (N,) array``, higher is
            better (e.g. :meth:`AccuracyPredictor.fitness_fn`). Called once
            for the initial population and once per generation.
        population_size: subnets per population (>= 2).
        generations: number of generations (>= 0).
        parent_ratio: fraction of the population kept as parents.
        mutation_ratio: fraction of the children made by mutation (the rest
            by crossover).
        mutation_prob: probability of redrawing each free entry in a mutation.
        seed: seed of every random draw of a search.
        fixed: entries held constant, as a (partial) :class:`SubnetSpec` or
            ``{'encoder': {stage: ratio}, 'decoders': {task: ratio}}`` (either
            part optional).
        progress: print the best fitness after every generation.
        max_tries: draws per candidate before giving up on it (see
            ``repair`` for the initial population; a child falls back to a
            copy of its parent).
        repair: for the initial population: when ``max_tries`` uniform draws
            in a row are all over the budget (a tight budget), take the last
            draw and lower random free entries one step at a time until it
            fits (it always ends, the all-smallest subnet being feasible).
            With ``repair=False`` the search raises a RuntimeError instead.
    """

    def __init__(self, search_space: SearchSpace, macs_fn: MacsFn,
                 fitness_fn: FitnessFn, population_size: int = 100,
                 generations: int = 50, parent_ratio: float = 0.25,
                 mutation_ratio: float = 0.5, mutation_prob: float = 0.1,
                 seed: int = 0, fixed: FixedLike = None,
                 progress: bool = False, max_tries: int = 100,
                 repair: bool = True):
        if not isinstance(search_space, SearchSpace):
            raise TypeError('EvolutionSearcher needs a SearchSpace, got '
                            f'{type(search_space).__name__}')
        if not callable(macs_fn) or not callable(fitness_fn):
            raise TypeError('macs_fn and fitness_fn must be callables')
        for name, value, low in (('population_size', population_size, 2),
                                 ('generations', generations, 0),
                                 ('max_tries', max_tries, 1)):
            if int(value) != value or value < low:
                raise ValueError(f'{name} must be an integer >= {low}, got '
                                 f'{value!r}')
        for name, value in (('parent_ratio', parent_ratio),
                            ('mutation_ratio', mutation_ratio),
                            ('mutation_prob', mutation_prob)):
            if not 0 <= value <= 1:
                raise ValueError(f'{name} must lie in [0, 1], got {value!r}')
        self.search_space = search_space
        self.macs_fn = macs_fn
        self.fitness_fn = fitness_fn
        self.population_size = int(population_size)
        self.generations = int(generations)
        self.num_parents = max(1, int(round(parent_ratio *
                                            self.population_size)))
        self.num_mutations = int(round(mutation_ratio * self.population_size))
        self.num_crossovers = self.population_size - self.num_mutations
        self.mutation_prob = float(mutation_prob)
        self.seed = seed
        self.progress = progress
        self.max_tries = int(max_tries)
        self.repair = repair

        self._genome = _Genome(search_space)
        self.fixed = self._parse_fixed(fixed)
        num_entries = len(self._genome.names)
        self._free = np.array(
            [e for e in range(num_entries) if e not in self.fixed], dtype=int)
        self._base = np.zeros(num_entries, dtype=int)
        for entry, index in self.fixed.items():
            self._base[entry] = index
        self._free_num_choices = self._genome.num_choices[self._free]

    def _parse_fixed(self, fixed: FixedLike) -> Dict[int, int]:
        """``fixed`` -> ``{entry index: choice index}``."""
        if fixed is None:
            return {}
        if isinstance(fixed, SubnetSpec):
            fixed = fixed.to_dict()
        if not isinstance(fixed, Mapping) or set(fixed) - {'encoder',
                                                           'decoders'}:
            raise ValueError(
                'fixed must be a SubnetSpec or {"encoder": {stage: ratio}, '
                f'"decoders": {{task: ratio}}}}; got {fixed!r}')
        out = {}
        lookup = {name: e for e, name in enumerate(self._genome.names)}
        for part in ('encoder', 'decoders'):
            for name, ratio in dict(fixed.get(part, {})).items():
                entry = lookup.get((part, name))
                if entry is None:
                    valid = [n for p, n in self._genome.names if p == part]
                    raise ValueError(f'fixed {part}[{name!r}]: unknown; valid '
                                     f'{part} entries are {valid}')
                out[entry] = self._genome.index(entry, float(ratio))
        return out

    # ------------------------------------------------------------------
    # one search's state
    # ------------------------------------------------------------------
    def _start(self, budget) -> None:
        self._budget = _check_budget(budget)
        self._macs_cache: Dict[bytes, int] = {}
        self._history = SearchHistory()
        self._t0 = time.perf_counter()
        smallest = self._base.copy()
        largest = self._base.copy()
        largest[self._free] = self._free_num_choices - 1
        try:
            check_feasible(budget, self._macs(smallest), self._macs(largest))
        except ValueError as e:
            fixed = ''
            if self.fixed:
                entries = {}
                for entry, index in self.fixed.items():
                    part, name = self._genome.names[entry]
                    entries.setdefault(part, {})[name] = \
                        self._genome.choices[entry][index]
                fixed = f' with the fixed entries {entries}'
            raise ValueError(f'{e}{fixed}') from None

    def _macs(self, genome: np.ndarray) -> int:
        key = genome.tobytes()
        macs = self._macs_cache.get(key)
        if macs is None:
            macs = self.macs_fn(self._genome.to_spec(genome))
            self._macs_cache[key] = macs
            self._history.num_macs_calls += 1
        return macs

    def _feasible(self, genome: np.ndarray) -> bool:
        if self._macs(genome) <= self._budget:
            return True
        self._history.num_rejected += 1
        return False

    def _random(self, rng: np.random.Generator) -> np.ndarray:
        genome = self._base.copy()
        genome[self._free] = rng.integers(0, self._free_num_choices)
        return genome

    def _sample_feasible(self, rng: np.random.Generator) -> np.ndarray:
        """A random subnet within the budget (see ``repair``)."""
        for _ in range(self.max_tries):
            genome = self._random(rng)
            if self._feasible(genome):
                return genome
        if not self.repair:
            raise RuntimeError(
                f'no random subnet within the budget of {self._budget} MACs '
                f'in {self.max_tries} draws in a row (the budget is tight): '
                'raise the budget or max_tries, or use repair=True')
        while True:  # lower random free entries until it fits
            lowerable = self._free[genome[self._free] > 0]
            genome[lowerable[rng.integers(len(lowerable))]] -= 1
            if self._feasible(genome):
                return genome

    def _mutate(self, rng: np.random.Generator,
                parent: np.ndarray) -> np.ndarray:
        for _ in range(self.max_tries):
            child = parent.copy()
            mask = rng.random(len(self._free)) < self.mutation_prob
            child[self._free[mask]] = rng.integers(
                0, self._free_num_choices[mask])
            if self._feasible(child):
                return child
        return parent.copy()

    def _crossover(self, rng: np.random.Generator, parent1: np.ndarray,
                   parent2: np.ndarray) -> np.ndarray:
        for _ in range(self.max_tries):
            child = parent1.copy()
            mask = rng.random(len(self._free)) < 0.5
            child[self._free[mask]] = parent2[self._free[mask]]
            if self._feasible(child):
                return child
        return parent1.copy()

    def _evaluate(self, genomes: List[np.ndarray]) -> np.ndarray:
        specs = [self._genome.to_spec(g) for g in genomes]
        fitness = np.asarray(self.fitness_fn(specs), dtype=np.float64)
        if fitness.shape != (len(specs), ):
            raise ValueError(f'fitness_fn returned shape {fitness.shape} for '
                             f'{len(specs)} subnets; expected '
                             f'({len(specs)},)')
        bad = np.flatnonzero(~np.isfinite(fitness))
        if len(bad):
            raise ValueError(f'fitness_fn returned {fitness[bad[0]]} for '
                             f'subnet {specs[bad[0]].to_dict()}')
        self._history.num_evaluated += len(specs)
        return fitness

    def _select_parents(self, population: List[np.ndarray],
                        fitness: np.ndarray) -> np.ndarray:
        """Indices of the ``num_parents`` fittest distinct subnets (fewer if
        the population holds fewer distinct ones), fittest first."""
        chosen, seen = [], set()
        for i in np.argsort(-fitness, kind='stable'):
            key = population[i].tobytes()
            if key not in seen:
                seen.add(key)
                chosen.append(i)
                if len(chosen) == self.num_parents:
                    break
        return np.array(chosen, dtype=int)

    def _finish(self, population: List[np.ndarray], fitness: np.ndarray
                ) -> Tuple[SubnetSpec, float, SearchHistory]:
        best = int(np.argmax(fitness))
        self._history.seconds = time.perf_counter() - self._t0
        return (self._genome.to_spec(population[best]), float(fitness[best]),
                self._history)

    # ------------------------------------------------------------------
    # searches
    # ------------------------------------------------------------------
    def search(self, budget: Union[int, float]
               ) -> Tuple[SubnetSpec, float, SearchHistory]:
        """Evolve subnets within ``budget`` MACs.

        Returns:
            ``(best_spec, best_fitness, history)``; ``best_spec`` is the
            fittest subnet ever evaluated (the first one on ties).

        Raises:
            ValueError: the budget is below the smallest subnet (with the
                fixed entries), stating the feasible range.
        """
        self._start(budget)
        rng = np.random.default_rng(self.seed)
        population = [self._sample_feasible(rng)
                      for _ in range(self.population_size)]
        fitness = self._evaluate(population)
        self._history.best_fitness.append(float(fitness.max()))
        for generation in range(self.generations):
            order = self._select_parents(population, fitness)
            parents = [population[i] for i in order]
            children = []
            for _ in range(self.num_mutations):
                parent = parents[rng.integers(len(parents))]
                children.append(self._mutate(rng, parent))
            for _ in range(self.num_crossovers):
                first, second = rng.integers(len(parents), size=2)
                children.append(
                    self._crossover(rng, parents[first], parents[second]))
            population = parents + children
            fitness = np.concatenate([fitness[order],
                                      self._evaluate(children)])
            self._history.best_fitness.append(float(fitness.max()))
            if self.progress:
                print(f'[evolution] generation {generation + 1}/'
                      f'{self.generations}: best fitness '
                      f'{fitness.max():.6g}', flush=True)
        return self._finish(population, fitness)

    def random_search(self, num_samples: int, budget: Union[int, float]
                      ) -> Tuple[SubnetSpec, float, SearchHistory]:
        """Baseline: the fittest of ``num_samples`` random subnets within
        ``budget`` (drawn as the initial population is, ``fixed`` held;
        one ``fitness_fn`` call). Returns ``(best_spec, best_fitness,
        history)``."""
        if int(num_samples) != num_samples or num_samples < 1:
            raise ValueError(f'num_samples must be an integer >= 1, got '
                             f'{num_samples!r}')
        self._start(budget)
        rng = np.random.default_rng(self.seed)
        population = [self._sample_feasible(rng)
                      for _ in range(int(num_samples))]
        fitness = self._evaluate(population)
        self._history.best_fitness = np.maximum.accumulate(fitness).tolist()
        return self._finish(population, fitness)


# ----------------------------------------------------------------------
# the uniform-width baseline
# ----------------------------------------------------------------------
def uniform_width_spec(search_space: SearchSpace, ratio: float) -> SubnetSpec:
    """Every encoder stage and every decoder at width ``ratio``, which must
    be a choice of each of them (else ValueError naming those that lack
    it; see :func:`uniform_level_spec` for lists that differ)."""
    entries = search_space.entries()
    indices = [match_choice(choices, ratio) for _, _, choices in entries]
    lacking = [f'{part}[{name!r}]'
               for (part, name, _), i in zip(entries, indices) if i is None]
    if lacking:
        raise ValueError(f'width {ratio} is not a choice of {lacking}; use '
                         'uniform_level_spec for choice lists that differ')
    return search_space.spec_at(indices)


def num_uniform_levels(search_space: SearchSpace) -> int:
    """L, the length of the longest choice list: the uniform levels are
    ``0 .. L - 1``."""
    return max(len(c) for c in list(search_space.encoder.values()) +
               list(search_space.decoders.values()))


def uniform_level_spec(search_space: SearchSpace, level: int) -> SubnetSpec:
    """The uniform-width subnet at ``level`` (0 = narrowest, ``L - 1`` =
    widest, ``L`` = :func:`num_uniform_levels`).

    Every entry takes the same position in its choice list. Where the lists
    differ in length, the position is relative: an entry with ``n`` choices
    takes index ``round(level * (n - 1) / (L - 1))`` (halves up). E.g. with
    encoder choices (0.5, 0.625, 0.75, 0.875, 1.0) and decoder choices
    (0.25, 0.5, 0.75, 1.0), levels 0..4 give the decoders 0.25, 0.5, 0.75,
    0.75, 1.0. With equal lists this is the same index everywhere.
    """
    num_levels = num_uniform_levels(search_space)
    if int(level) != level or not 0 <= level < num_levels:
        raise ValueError(f'uniform level must be an integer in [0, '
                         f'{num_levels - 1}], got {level!r}')

    def pick(choices):
        if num_levels == 1:
            return choices[0]
        return choices[int(math.floor(level * (len(choices) - 1) /
                                      (num_levels - 1) + 0.5 + 1e-9))]

    return SubnetSpec({k: pick(c) for k, c in search_space.encoder.items()},
                      {k: pick(c) for k, c in search_space.decoders.items()})


def largest_uniform_under_budget(search_space: SearchSpace, macs_fn: MacsFn,
                                 budget: Union[int, float]) -> SubnetSpec:
    """Baseline: the widest uniform-width subnet (:func:`uniform_level_spec`)
    within ``budget`` MACs.

    Raises:
        ValueError: even the narrowest uniform subnet is over the budget
            (stating the uniform subnets' MACs range).
    """
    _check_budget(budget)
    num_levels = num_uniform_levels(search_space)
    for level in range(num_levels - 1, -1, -1):
        spec = uniform_level_spec(search_space, level)
        macs = macs_fn(spec)
        if macs <= budget:
            return spec
    check_feasible(budget, macs,
                   macs_fn(uniform_level_spec(search_space, num_levels - 1)))
    raise AssertionError('unreachable')  # check_feasible raised
