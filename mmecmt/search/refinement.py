"""Refine the accuracy predictor where the search looks.

A predictor fitted on uniformly random subnets ranks the whole space, but
the search does not sample the whole space: it *optimises* the predictor
under a budget, and so it ends where the predictor is most optimistic,
often at combinations of widths that the random subnets rarely covered.
There the predicted fitness of the search's pick can be far above its
measured one (on the seed-0 SynthScenes supernet, evolution's picks are
predicted +0.03 to +0.10 above random search's picks and measure the same),
and a better optimiser gains nothing over random search.

:class:`PredictorRefiner` (ours; the ECMT paper only fixes "a few hundred
random subnets that were actually evaluated") closes that loop, as
predictor-guided NAS does: ``rounds`` times,

1. draw ``subnets_per_round`` training requests
   (:func:`refinement_requests`: preference ~ Dirichlet(0.5), so peaked and
   flat ones; budget uniform over the feasible MACs range; a seed stream of
   its own, apart from any evaluation requests);
2. answer each with the search and the current predictor;
3. measure the new picks for real (the caller's ``evaluate_fn``: BN
   recalibrated, on the held-out training split, never on val);
4. report the current predictor's quality on them *before* they are added
   (:func:`search_region_quality`: rank correlations per task and the mean
   over-prediction of the requests' fitness), then add them and refit.

It knows nothing of tensors or of the Runner: the caller gives the fit,
search and evaluation functions.
"""
import math
from typing import (Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple)

import numpy as np

from .space import SubnetSpec

#: training requests (and so at most new subnets) per refinement round.
DEFAULT_REFINE_SUBNETS = 25
#: Dirichlet concentration of the refinement preferences (< 1: peaked and
#: flat preferences both occur).
REFINE_CONCENTRATION = 0.5

Request = Tuple[Dict[str, float], int]
Scores = Dict[str, np.ndarray]


def refinement_requests(tasks: Sequence[str], macs_range: Tuple[int, int],
                        num: int, seed: int, round_index: int,
                        concentration: float = REFINE_CONCENTRATION
                        ) -> List[Request]:
    """``num`` (preference, budget) training requests of one round.

    Preferences ~ Dirichlet(``concentration``) over ``tasks``; budgets
    uniform in ``[min, max]`` MACs (rounded down to whole MACs, never below
    the minimum). The same ``(seed, round_index)`` gives the same requests.
    """
    if int(num) != num or num < 1:
        raise ValueError(f'subnets per refinement round must be an integer '
                         f'>= 1, got {num!r}')
    if not (math.isfinite(concentration) and concentration > 0):
        raise ValueError(f'concentration must be > 0, got {concentration!r}')
    lo, hi = (int(v) for v in macs_range)
    if not 0 < lo <= hi:
        raise ValueError(f'MACs range must be 0 < min <= max, got '
                         f'{macs_range}')
    rng = np.random.default_rng([int(seed), 0x5EF1, int(round_index)])
    prefs = rng.dirichlet(np.full(len(tasks), float(concentration)),
                          size=int(num))
    budgets = np.floor(rng.uniform(lo, hi, size=int(num))).astype(np.int64)
    budgets = np.maximum(budgets, lo)
    return [({t: float(w) for t, w in zip(tasks, row / row.sum())}, int(b))
            for row, b in zip(prefs, budgets)]


def check_refinement(rounds: int, subnets_per_round: int) -> None:
    """Raise ValueError unless ``rounds`` is an integer >= 0 and, when it
    is not 0, ``subnets_per_round`` an integer >= 1."""
    if isinstance(rounds, bool) or int(rounds) != rounds or rounds < 0:
        raise ValueError(f'refinement rounds must be an integer >= 0, got '
                         f'{rounds!r}')
    if rounds and (isinstance(subnets_per_round, bool)
                   or int(subnets_per_round) != subnets_per_round
                   or subnets_per_round < 1):
        raise ValueError('subnets per refinement round must be an integer '
                         f'>= 1, got {subnets_per_round!r}')


def measured_fitness(predictor, preference: Mapping[str, float],
                     scores: Mapping[str, float]) -> float:
    """The fitness :meth:`AccuracyPredictor.fitness_fn` would give a subnet
    whose true scores are ``scores`` (same normalisation)."""
    lo, coef = predictor.fitness_coefficients(preference)
    y = np.array([float(scores[t]) for t in predictor.tasks])
    return float((y - lo) @ coef)


def search_region_quality(predictor, requests: Sequence[Request],
                          specs: Sequence[SubnetSpec],
                          scores: Mapping[str, np.ndarray]) -> dict:
    """The predictor on subnets the search picked: per task Spearman /
    Kendall / RMSE (:meth:`AccuracyPredictor.evaluate`), and
    ``fitness_overprediction``: the mean of predicted minus measured
    fitness, each pick under its own request's preference (> 0: the search
    is led by over-optimistic predictions)."""
    quality = predictor.evaluate(list(specs), scores)
    gaps = []
    for i, ((pref, _), spec) in enumerate(zip(requests, specs)):
        predicted = float(predictor.fitness_fn(pref)([spec])[0])
        true = measured_fitness(predictor, pref,
                                {t: v[i] for t, v in scores.items()})
        gaps.append(predicted - true)
    return dict(tasks=quality,
                fitness_overprediction=float(np.mean(gaps)))


class PredictorRefiner:
    """Refit a predictor on the subnets its own search picks.

    Args:
        fit_fn: ``(specs, scores) -> fitted AccuracyPredictor``.
        search_fn: ``(predictor, preference, budget) -> SubnetSpec``: the
            search that will use the predictor (e.g. ECMT's evolution with
            the preference rule and the widening).
        evaluate_fn: ``(specs, round_index) -> {task: (N,) scores}``: real,
            higher-is-better scores of new subnets.
        tasks: the tasks (preference entries).
        macs_range: ``(min, max)`` MACs of the search space.
        rounds: refinement rounds (0: none).
        subnets_per_round: training requests per round (repeated picks and
            picks already evaluated are measured once).
        seed: seed of the refinement requests.
        log_fn: progress messages (default: none).
    """

    def __init__(self, fit_fn: Callable, search_fn: Callable,
                 evaluate_fn: Callable, tasks: Sequence[str],
                 macs_range: Tuple[int, int], rounds: int,
                 subnets_per_round: int, seed: int = 0,
                 log_fn: Optional[Callable[[str], None]] = None):
        check_refinement(rounds, subnets_per_round)
        self.fit_fn = fit_fn
        self.search_fn = search_fn
        self.evaluate_fn = evaluate_fn
        self.tasks = list(tasks)
        self.macs_range = macs_range
        self.rounds = int(rounds)
        self.subnets_per_round = int(subnets_per_round)
        self.seed = int(seed)
        self.log_fn = log_fn or (lambda message: None)

    def run(self, specs: Sequence[SubnetSpec], scores: Scores):
        """Fit on ``specs`` / ``scores``, then refine.

        Returns:
            ``(predictor, specs, scores, history)``: the predictor fitted
            on all evaluated subnets, those subnets and their scores, and
            one dict per round (``round``, ``requests``, ``new_subnets``,
            ``quality``: :func:`search_region_quality` of the predictor
            before the round's picks were added; None when the round found
            nothing new).
        """
        specs = list(specs)
        scores = {t: np.asarray(v, dtype=np.float64)
                  for t, v in scores.items()}
        predictor = self.fit_fn(specs, scores)
        history = []
        for round_index in range(self.rounds):
            requests = refinement_requests(
                self.tasks, self.macs_range, self.subnets_per_round,
                self.seed, round_index)
            seen = {s.key() for s in specs}
            new_specs, new_requests = [], []
            for pref, budget in requests:
                spec = self.search_fn(predictor, pref, budget)
                if spec.key() not in seen:
                    seen.add(spec.key())
                    new_specs.append(spec)
                    new_requests.append((pref, budget))
            entry = dict(round=round_index, requests=len(requests),
                         new_subnets=len(new_specs), quality=None)
            if new_specs:
                new_scores = self.evaluate_fn(new_specs, round_index)
                entry['quality'] = search_region_quality(
                    predictor, new_requests, new_specs, new_scores)
                specs += new_specs
                scores = {t: np.concatenate([scores[t], new_scores[t]])
                          for t in scores}
                predictor = self.fit_fn(specs, scores)
            history.append(entry)
            self.log_fn(format_round(entry))
        return predictor, specs, scores, history


def format_round(entry: Mapping) -> str:
    """One line of a refinement round for the log."""
    head = (f'Predictor refinement round {entry["round"] + 1}: '
            f'{entry["new_subnets"]} new subnets from {entry["requests"]} '
            'requests')
    quality = entry.get('quality')
    if not quality:
        return head
    return head + ('; before adding them: fitness over-prediction '
                   f'{quality["fitness_overprediction"]:+.4f}, ' + ', '.join(
                       f'{t} spearman={q["spearman"]:.3f}'
                       for t, q in quality['tasks'].items()))


__all__ = ['DEFAULT_REFINE_SUBNETS', 'REFINE_CONCENTRATION',
           'refinement_requests', 'check_refinement',
           'measured_fitness', 'search_region_quality', 'PredictorRefiner',
           'format_round']
