"""EvolutionSearcher, random search and the uniform-width baseline."""
import itertools

import numpy as np
import pytest

from mmecmt.search.evolution import (EvolutionSearcher,
                                     largest_uniform_under_budget,
                                     num_uniform_levels, uniform_level_spec,
                                     uniform_width_spec)
from mmecmt.search.space import SearchSpace, SubnetSpec

STAGES = ('layer1', 'layer2', 'layer3', 'layer4', 'layer5')
TASKS = ('semseg', 'depth')
ENC_CHOICES = (0.25, 0.5, 0.75, 1.0)
DEC_CHOICES = (0.5, 0.75, 1.0)
# MACs per unit width of every entry (stages, then decoders)
MACS_WEIGHTS = np.array([4000, 3000, 5000, 2000, 6000, 1000, 2000])
# fitness value per sqrt(width) of every entry
GAINS = np.array([1.0, 2.0, 0.5, 1.5, 3.0, 0.7, 1.2])


@pytest.fixture(scope='module')
def space():
    return SearchSpace({s: ENC_CHOICES for s in STAGES},
                       {t: DEC_CHOICES for t in TASKS})


def widths(spec):
    return np.array([spec.encoder[s] for s in STAGES] +
                    [spec.decoders[t] for t in TASKS])


def macs_of(spec):
    """Additive integer MACs."""
    return int(round(float(MACS_WEIGHTS @ widths(spec))))


class RecordingMacs:
    """:func:`macs_of`; remembers every spec it was asked about."""

    def __init__(self):
        self.seen = []

    def __call__(self, spec):
        self.seen.append(spec)
        return macs_of(spec)


class RecordingFitness:
    """Separable concave fitness ``sum_i g_i sqrt(w_i)``; remembers every
    batch."""

    def __init__(self):
        self.batches = []

    def __call__(self, specs):
        self.batches.append(list(specs))
        return np.array([GAINS @ np.sqrt(widths(s)) for s in specs])

    @property
    def evaluated(self):
        return [s for batch in self.batches for s in batch]


def all_subnets():
    """(9216, 7) widths of every subnet, their MACs and fitness."""
    grid = np.array(list(itertools.product(*([ENC_CHOICES] * 5 +
                                             [DEC_CHOICES] * 2))))
    return grid, np.rint(grid @ MACS_WEIGHTS), np.sqrt(grid) @ GAINS


MIN_MACS = int(MACS_WEIGHTS @ ([0.25] * 5 + [0.5] * 2))  # 6500
MAX_MACS = int(MACS_WEIGHTS.sum())  # 23000
BUDGET = 13000


def make(space, **kwargs):
    macs, fitness = RecordingMacs(), RecordingFitness()
    kwargs = dict(dict(population_size=30, generations=20), **kwargs)
    return EvolutionSearcher(space, macs, fitness, **kwargs), macs, fitness


def test_never_evaluates_or_returns_a_subnet_over_budget(space):
    searcher, macs, fitness = make(space)
    best, best_fitness, history = searcher.search(BUDGET)
    assert macs_of(best) <= BUDGET
    over = [s for s in macs.seen if macs_of(s) > BUDGET]
    assert over and history.num_rejected > 0  # the budget does bite
    assert all(macs_of(s) <= BUDGET for s in fitness.evaluated)
    # one fitness call for the initial population and one per generation
    assert len(fitness.batches) == 21
    assert [len(b) for b in fitness.batches] == [30] * 21
    assert history.num_evaluated == 30 * 21
    assert len(history.best_fitness) == 21
    assert np.all(np.diff(history.best_fitness) >= 0)
    assert history.best_fitness[-1] == best_fitness
    assert best_fitness == pytest.approx(GAINS @ np.sqrt(widths(best)))


def test_finds_the_optimum_of_a_separable_fitness(space):
    grid, grid_macs, grid_fitness = all_subnets()
    feasible = grid_macs <= BUDGET
    optimum = grid_fitness[feasible].max()
    searcher, macs, _ = make(space, population_size=50, generations=30)
    best, best_fitness, _ = searcher.search(BUDGET)
    assert best_fitness == pytest.approx(optimum, abs=1e-12)
    np.testing.assert_array_equal(
        widths(best), grid[feasible][np.argmax(grid_fitness[feasible])])
    # without a binding budget the optimum is the largest subnet
    best, best_fitness, _ = searcher.search(10**9)
    assert best == space.sample('max')
    assert best_fitness == pytest.approx(GAINS.sum())


def test_deterministic_for_a_seed(space):
    results = []
    for seed in (0, 0, 1):
        searcher, _, fitness = make(space, seed=seed, generations=5)
        best, best_fitness, history = searcher.search(BUDGET)
        results.append((best, best_fitness, history.best_fitness,
                        [s.key() for s in fitness.evaluated]))
    assert results[0] == results[1]
    assert results[0][3] != results[2][3]
    # a searcher re-run gives the same answer (the seed restarts per search)
    searcher, _, _ = make(space, generations=5)
    first = searcher.search(BUDGET)[:2]
    assert searcher.search(BUDGET)[:2] == first == results[0][:2]


def test_fixed_entries_are_never_changed(space):
    fixed = {'encoder': {'layer5': 0.5}, 'decoders': {'semseg': 1.0,
                                                      'depth': 0.75}}
    searcher, macs, fitness = make(space, fixed=fixed)
    best, best_fitness, _ = searcher.search(BUDGET)
    for spec in fitness.evaluated + macs.seen + [best]:
        assert spec.encoder['layer5'] == 0.5
        assert spec.decoders == {'semseg': 1.0, 'depth': 0.75}
    assert len({s.key() for s in fitness.evaluated}) > 20  # others do move
    # the optimum among the subnets with those entries
    grid, grid_macs, grid_fitness = all_subnets()
    mask = ((grid[:, 4] == 0.5) & (grid[:, 5] == 1.0) & (grid[:, 6] == 0.75)
            & (grid_macs <= BUDGET))
    assert best_fitness == pytest.approx(grid_fitness[mask].max())
    # a partial SubnetSpec works as well
    searcher, _, fitness = make(space, generations=2,
                                fixed=SubnetSpec({}, {'depth': 0.5}))
    searcher.search(BUDGET)
    assert {s.decoders['depth'] for s in fitness.evaluated} == {0.5}


def test_infeasible_budget_and_bad_arguments(space):
    searcher, _, _ = make(space)
    with pytest.raises(ValueError) as info:
        searcher.search(5000)
    assert str(info.value) == (
        'budget 5.00 KMACs is below the smallest subnet (6.50 KMACs); '
        'feasible range 6.50 - 23.00 KMACs')
    # feasible for the space, not with the decoders fixed at their widest
    searcher, _, _ = make(space, fixed={'decoders': {'semseg': 1.0,
                                                     'depth': 1.0}})
    with pytest.raises(ValueError) as info:
        searcher.search(MIN_MACS + 100)
    # smallest with the decoders at 1.0: 6500 - 1500 + 3000 = 8000
    assert str(info.value) == (
        'budget 6.60 KMACs is below the smallest subnet (8.00 KMACs); '
        'feasible range 8.00 - 23.00 KMACs with the fixed entries '
        "{'decoders': {'semseg': 1.0, 'depth': 1.0}}")
    with pytest.raises(ValueError, match='budget must be a number of MACs'):
        searcher.search('1G')
    with pytest.raises(ValueError,
                       match=r"fixed encoder\['layer9'\]: unknown"):
        make(space, fixed={'encoder': {'layer9': 0.5}})
    with pytest.raises(ValueError, match=r"decoders\['depth'\] = 0.6 is not"):
        make(space, fixed={'decoders': {'depth': 0.6}})
    with pytest.raises(ValueError, match='parent_ratio must lie in'):
        make(space, parent_ratio=1.5)
    with pytest.raises(ValueError, match='population_size must be'):
        make(space, population_size=1)


def test_bad_fitness_output(space):
    searcher = EvolutionSearcher(space, RecordingMacs(),
                                 lambda specs: np.zeros(len(specs) + 1),
                                 population_size=4, generations=1)
    with pytest.raises(ValueError, match=r'returned shape \(5,\) for 4'):
        searcher.search(BUDGET)
    searcher = EvolutionSearcher(space, RecordingMacs(),
                                 lambda specs: np.full(len(specs), np.nan),
                                 population_size=4, generations=1)
    with pytest.raises(ValueError, match='fitness_fn returned nan'):
        searcher.search(BUDGET)


def test_tight_budget_repair_or_error(space):
    # only the smallest subnet fits: uniform draws (1 in 9216) never hit it
    searcher, _, _ = make(space, repair=False, max_tries=20, generations=2)
    with pytest.raises(RuntimeError, match='in 20 draws in a row'):
        searcher.search(MIN_MACS)
    searcher, macs, fitness = make(space, max_tries=20, generations=2)
    best, _, _ = searcher.search(MIN_MACS)
    assert best == space.sample('min')
    assert all(macs_of(s) <= MIN_MACS for s in fitness.evaluated)


def test_random_search(space):
    searcher, macs, fitness = make(space)
    best, best_fitness, history = searcher.random_search(200, BUDGET)
    assert len(fitness.batches) == 1 and len(fitness.evaluated) == 200
    assert all(macs_of(s) <= BUDGET for s in fitness.evaluated)
    values = [GAINS @ np.sqrt(widths(s)) for s in fitness.evaluated]
    assert best_fitness == pytest.approx(max(values))
    assert len(history.best_fitness) == 200
    assert history.best_fitness[-1] == best_fitness
    assert np.all(np.diff(history.best_fitness) >= 0)


def test_uniform_baseline(space):
    assert uniform_width_spec(space, 0.75) == SubnetSpec(
        dict.fromkeys(STAGES, 0.75), dict.fromkeys(TASKS, 0.75))
    with pytest.raises(ValueError, match=r"width 0.25 is not a choice of "
                       r"\[\"decoders\['semseg'\]\""):
        uniform_width_spec(space, 0.25)
    # 4 encoder choices, 3 decoder choices: decoders take the relative
    # position round(level * 2 / 3): 0, 1, 1, 2
    assert num_uniform_levels(space) == 4
    assert [uniform_level_spec(space, k).decoders['semseg']
            for k in range(4)] == [0.5, 0.75, 0.75, 1.0]
    assert [uniform_level_spec(space, k).encoder['layer1']
            for k in range(4)] == list(ENC_CHOICES)
    # MACs of the levels: 6500, 20000 * 0.5 + 3000 * 0.75 = 12250, 17250,
    # 23000
    macs = RecordingMacs()
    assert [macs_of(uniform_level_spec(space, k)) for k in range(4)] == [
        6500, 12250, 17250, 23000]
    assert largest_uniform_under_budget(space, macs, BUDGET) == \
        uniform_level_spec(space, 1)
    assert largest_uniform_under_budget(space, macs, 17250) == \
        uniform_level_spec(space, 2)
    assert largest_uniform_under_budget(space, macs, 10**9) == \
        space.sample('max')
    with pytest.raises(ValueError, match='feasible range 6.50 - 23.00 KMACs'):
        largest_uniform_under_budget(space, macs, 6000)
    with pytest.raises(ValueError, match='uniform level must be'):
        uniform_level_spec(space, 4)
    # the searched subnet is at least as fit as the uniform one
    searched = make(space)[0].search(BUDGET)[1]
    uniform = RecordingFitness()([uniform_level_spec(space, 1)])[0]
    assert searched > uniform
