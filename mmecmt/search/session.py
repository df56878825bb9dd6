"""One trained supernet, ready to answer (preference, budget) requests.

:class:`SearchSession` holds what every request of a checkpoint shares: the
supernet with its weights, the analytic :class:`MacsModel`, the accuracy
predictor (loaded from its cache or built once) and the data loaders that
measure a subnet (BN recalibration on the training set, evaluation on the
val set). ``tools/search.py`` answers one request with it,
``tools/evaluate_control.py`` many, and
:class:`~mmecmt.engine.loops.SubnetSearchLoop` does the same inside a Runner.

Requests:

* ``mode='evolution'`` (ECMT): decoder widths from the preference
  (:class:`PreferenceRule`; shrunk together when they do not fit the budget
  with the narrowest encoder), encoder widths by :class:`EvolutionSearcher`
  under the budget with the predictor's preference-weighted fitness;
* ``mode='random'``: the best (by the same fitness) of as many random
  subnets as the evolution scores, decoders fixed the same way;
* ``mode='random_subnet'``: one random subnet within the budget, decoders
  fixed the same way, no predictor (seeded per request): what the predictor
  and the search add;
* all three then widen a subnet that leaves more than 10 % of the budget
  unused (``min_utilization``, :func:`~mmecmt.search.budget.fill_budget`);
* ``mode='uniform'``: the widest subnet with one width ratio for the whole
  network that fits the budget (no preference rule, no predictor).
"""
import hashlib
import json
import logging
import math
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmecmt.models.slimmable.bn_calibration import (
    BNCalibrator, calib_images_of, calibration_dataloader_cfg)
from mmecmt.registry import DATASETS
from mmecmt.utils.checkpoint import file_sha256
from mmecmt.utils.input_shape import (  # noqa: F401 (re-exported)
    macs_input_shape, training_crop_size)
from .budget import (DEFAULT_MIN_UTILIZATION, check_feasible,
                     check_utilization, fill_budget,
                     parse_budget)
from .evolution import EvolutionSearcher, largest_uniform_under_budget
from .macs import MacsModel, load_or_build_macs_model
from .predictor import AccuracyPredictor
from .preference import PreferenceRule, validate_preference
from .refinement import (DEFAULT_REFINE_SUBNETS, PredictorRefiner,
                         check_refinement)
from .space import SubnetSpec
from .subnet_evaluator import (DEFAULT_PREDICTOR_GROUP,
                               DEFAULT_PREDICTOR_SUBNETS,
                               DEFAULT_PREDICTOR_WORKERS, HOLDOUT_FRACTION,
                               MIN_QUALITY_SUBNETS, PREDICTOR_CALIB_IMAGES,
                               PREDICTOR_EDGE_MATCHING, EvaluatedSubnetStore,
                               SubnetEvaluator, build_predictor_dataset,
                               evaluate_subnets, holdout_split,
                               subset_dataloader_cfg, with_edge_matching)

SEARCH_MODES = ('evolution', 'random', 'random_subnet', 'uniform')
#: the modes that rank subnets with the accuracy predictor
PREDICTOR_MODES = ('evolution', 'random')
#: fraction of the evaluated subnets kept out of the predictor's fit to
#: measure its quality.
QUALITY_FRACTION = 0.2


#: hex sha256 of a file (the predictor cache key of a checkpoint).
sha256_of = file_sha256


def request_seed(seed: int, preference: Mapping[str, float],
                 budget: int) -> List[int]:
    """Seed of a request's random draws (``random_subnet`` mode): the
    base ``seed``, the budget and the preference (in millionths), so that
    every request draws its own subnet and the same request the same one."""
    return [int(seed), int(budget)] + [int(round(w * 1e6))
                                       for w in preference.values()]


def _no_fitness(specs) -> np.ndarray:
    """The fitness of the predictor-free ``random_subnet`` mode."""
    return np.zeros(len(specs))


def predictor_cache_path(work_dir: str, checkpoint_sha: str,
                         refine_rounds: int = 0,
                         refine_subnets: int = 0,
                         settings: Optional[Mapping] = None) -> str:
    """``<work_dir>/predictor_<sha256[:12]>.npz``, or
    ``predictor_<sha256[:12]>_refine<R>x<K>.npz`` for a predictor refined
    in ``R`` rounds of ``K`` search picks, with ``_p<hash>`` appended for
    non-default predictor ``settings`` (the config's ``predictor`` dict), so
    that predictors made differently never mix."""
    name = f'predictor_{checkpoint_sha[:12]}'
    if refine_rounds:
        name += f'_refine{int(refine_rounds)}x{int(refine_subnets)}'
    if settings:
        text = json.dumps(dict(settings), sort_keys=True)
        name += '_p' + hashlib.sha256(text.encode()).hexdigest()[:8]
    return osp.join(work_dir, name + '.npz')


def predictor_store_path(work_dir: str, checkpoint_sha: str) -> str:
    """``<work_dir>/predictor_<sha256[:12]>_subnets``: the evaluated
    subnets of every predictor of a checkpoint (refined or not)."""
    return osp.join(work_dir, f'predictor_{checkpoint_sha[:12]}_subnets')


#: keys of a config's ``predictor`` dict (AccuracyPredictor's arguments).
PREDICTOR_SETTINGS = ('kind', 'alpha', 'hidden', 'seed', 'epochs', 'lr')


def predictor_settings(cfg) -> dict:
    """The config's ``predictor`` dict (default: none, i.e. the
    :class:`AccuracyPredictor` defaults), checked against
    :data:`PREDICTOR_SETTINGS`; e.g. ``predictor = dict(alpha='auto')``."""
    settings = dict(cfg.get('predictor') or {})
    unknown = sorted(set(settings) - set(PREDICTOR_SETTINGS))
    if unknown:
        raise ValueError(f'config predictor: unknown keys {unknown}; valid '
                         f'keys are {list(PREDICTOR_SETTINGS)}')
    if 'hidden' in settings:
        settings['hidden'] = list(settings['hidden'])
    return settings


@dataclass
class SearchResult:
    """One answered request.

    Attributes:
        spec: the chosen subnet.
        macs: its analytic MACs (<= the budget).
        fitness: the predictor fitness (None in the ``random_subnet`` and
            ``uniform`` modes).
        num_evaluations: fitness evaluations the search used.
        seconds: search time (without any measurement).
        decoders: the decoder widths fixed by the preference rule (None in
            ``uniform`` mode).
        decoder_scale: 1.0 when the rule's decoders fit the budget, less
            when they had to shrink (:meth:`PreferenceRule.within_budget`).
    """
    spec: SubnetSpec
    macs: int
    fitness: Optional[float]
    num_evaluations: int
    seconds: float
    decoders: Optional[Dict[str, float]] = field(default=None)
    decoder_scale: float = 1.0


class SearchSession:
    """A trained supernet with its MACs model, predictor and measurement.

    Args:
        cfg: the supernet's config (``train_dataloader``,
            ``val_dataloader``, ``val_evaluator``, ``randomness``).
        model: the supernet, weights loaded (``set_subnet``,
            ``search_space``).
        input_shape: (H, W) at which MACs are counted, padded to the
            preprocessor's divisor (:func:`~mmecmt.utils.input_shape.
            macs_input_shape`; default: the
            training crop).
        calib_images: training images for each BN recalibration (default:
            ``cfg.val_cfg.calibrate_bn.num_images``, else 1024).
        cache_dir: where the MACs model is cached (default: the config's
            ``work_dir``).

    Attributes:
        macs_model (MacsModel): loaded from its cache, or built on first use
            (~50 traced subnets).
        calibrator (BNCalibrator): BN recalibration on the training set.
    """

    def __init__(self, cfg, model, input_shape: Optional[Tuple[int,
                                                               int]] = None,
                 calib_images: Optional[int] = None,
                 cache_dir: Optional[str] = None):
        if not callable(getattr(model, 'set_subnet', None)):
            raise TypeError(f'{type(model).__name__} is not a slimmable '
                            'supernet (no set_subnet)')
        self.cfg = cfg
        self.model = model
        self.search_space = model.search_space
        self.tasks: List[str] = list(self.search_space.decoders)
        self.input_shape = macs_input_shape(cfg, input_shape)
        self.calib_images = int(calib_images or calib_images_of(cfg))
        self.seed = int(cfg.get('randomness', {}).get('seed', 0))
        self.predictor_cfg = predictor_settings(cfg)
        self.predictor: Optional[AccuracyPredictor] = None
        self.cache_dir = cache_dir or cfg.get('work_dir')
        self._macs_model: Optional[MacsModel] = None
        self._calibrator: Optional[BNCalibrator] = None
        self._val_evaluator: Optional[SubnetEvaluator] = None

    # ------------------------------------------------------------------
    # MACs and budgets
    # ------------------------------------------------------------------
    @property
    def macs_model(self) -> MacsModel:
        """The supernet's :class:`MacsModel` at :attr:`input_shape`, loaded
        from (or built once into) the config's work dir."""
        if self._macs_model is None:
            self._macs_model = load_or_build_macs_model(
                self.model, self.input_shape, self.cache_dir,
                lambda m: print_log(m, logger='current'))
        return self._macs_model

    def budget(self, text) -> int:
        """A budget (``'1.2G'``, ``'350M'``, ``'0.5x'`` or MACs) in MACs.

        Raises:
            ValueError: unparsable, or outside the feasible range (the
                message states the range).
        """
        lo, hi = self.macs_model.macs_range()
        return check_feasible(parse_budget(text, hi), lo, hi)

    # ------------------------------------------------------------------
    # accuracy predictor
    # ------------------------------------------------------------------
    def load_or_build_predictor(
            self, cache: str, key: str, num_subnets: Optional[int] = None,
            holdout_fraction: float = HOLDOUT_FRACTION, seed: int = 0,
            refine_rounds: int = 0,
            refine_subnets: int = DEFAULT_REFINE_SUBNETS,
            store: Optional[str] = None,
            calib_images: Optional[int] = None,
            edge_matching: Optional[str] = 'default',
            num_workers: Optional[int] = None,
            group_size: Optional[int] = None) -> dict:
        """Load the predictor from ``cache`` (refused unless its ``key``
        matches), or evaluate ``num_subnets`` random subnets + max + min on
        the held-out training split, report the predictor's quality on
        :data:`QUALITY_FRACTION` of them, fit it on all, refine it in
        ``refine_rounds`` rounds of ``refine_subnets`` picks of the default
        ECMT search (:class:`~mmecmt.search.refinement.PredictorRefiner`;
        also measured on the held-out split)
        and save it. The evaluated subnets are kept in ``store`` (default
        ``<cache without .npz>_subnets/``; :class:`EvaluatedSubnetStore`,
        refinement rounds in sub-folders): an interrupted build resumes
        there, and processes building the same cache share the subnets.

        Defaults (None) are those of
        :mod:`~mmecmt.search.subnet_evaluator`: ``num_subnets``
        :data:`DEFAULT_PREDICTOR_SUBNETS`. Measurement of each subnet: BN
        statistics from ``calib_images`` training images (default
        :data:`PREDICTOR_CALIB_IMAGES`, else the session's
        ``calib_images``), scores on the held-out split with the val
        metric, its edge matching replaced by ``edge_matching``
        (``'default'``: :data:`PREDICTOR_EDGE_MATCHING`; None: as
        configured); ``num_workers`` processes of one thread each (default
        :data:`DEFAULT_PREDICTOR_WORKERS`), ``group_size`` subnets per
        calibration pass (:data:`DEFAULT_PREDICTOR_GROUP`); neither of the
        last two changes any score (:func:`evaluate_subnets`).

        A loaded predictor fitted on another number of subnets than
        ``num_subnets + 2`` (without refinement) is used, with a warning
        naming the cache to delete.

        Returns:
            Information for the report (cache, loaded, num_train, quality,
            refinement, build_seconds).
        """
        check_refinement(refine_rounds, refine_subnets)
        if num_subnets is None:
            num_subnets = DEFAULT_PREDICTOR_SUBNETS
        if edge_matching == 'default':
            edge_matching = PREDICTOR_EDGE_MATCHING
        num_workers = int(num_workers or DEFAULT_PREDICTOR_WORKERS)
        group_size = int(group_size or DEFAULT_PREDICTOR_GROUP)
        if osp.isfile(cache):
            self.predictor = AccuracyPredictor.load(cache, self.search_space,
                                                    key=key)
            num_train = self.predictor.num_train
            print_log(f'Loaded the accuracy predictor from {cache} (fitted '
                      f'on {num_train} subnets)', logger='current')
            asked = int(num_subnets) + 2
            if num_train < asked or (not refine_rounds
                                     and num_train != asked):
                print_log(
                    f'The cached predictor was fitted on {num_train} '
                    f'subnets, not the {asked} asked ({num_subnets} random '
                    f'+ max + min): it is used as it is; delete {cache} to '
                    'rebuild it', logger='current', level=logging.WARNING)
            return dict(cache=cache, loaded=True, num_train=num_train)
        t0 = time.perf_counter()
        calib_images = int(calib_images or PREDICTOR_CALIB_IMAGES
                           or self.calib_images)
        train_cfg = self.cfg.train_dataloader
        dataset = DATASETS.build(dict(train_cfg.dataset, pipeline=[]))
        calib_idx, holdout_idx = holdout_split(len(dataset),
                                               holdout_fraction)
        calib_loader = Runner.build_dataloader(
            subset_dataloader_cfg(calibration_dataloader_cfg(train_cfg),
                                  calib_idx, shuffle=True), seed=self.seed)
        eval_cfg = subset_dataloader_cfg(
            train_cfg, holdout_idx,
            pipeline=self.cfg.val_dataloader.dataset.pipeline)
        eval_cfg['batch_size'] = self.cfg.val_dataloader.get('batch_size', 1)
        eval_loader = Runner.build_dataloader(eval_cfg, seed=self.seed)
        evaluator = SubnetEvaluator(
            self.model, eval_loader,
            with_edge_matching(self.cfg.val_evaluator, edge_matching),
            BNCalibrator(self.model, calib_loader, num_images=calib_images,
                         show_progress=False))
        # evaluated subnets are kept next to the cache: an interrupted build
        # resumes, and concurrent builds of one checkpoint share the work
        store = store or osp.splitext(cache)[0] + '_subnets'
        protocol = dict(calib_images=calib_images,
                        holdout_fraction=float(holdout_fraction),
                        edge_matching=evaluator.edge_matching,
                        seed=int(seed))
        subnet_store = EvaluatedSubnetStore.for_protocol(store, protocol)
        store = subnet_store.root
        num_total = int(num_subnets) + 2
        num_stored = subnet_store.num_done(num_total)
        for line in (
                f'Building the accuracy predictor (first use of this '
                f'checkpoint): {num_total} subnets (max, min and '
                f'{num_subnets} random); {num_stored} of them already '
                f'evaluated in {store}',
                f'Each subnet: BN statistics from {calib_images} training '
                f'images of [0, {len(calib_idx)}), scores on the held-out '
                f'training images [{holdout_idx[0]}, {holdout_idx[-1] + 1})'
                f' (edge matching: {evaluator.edge_matching}); '
                f'{num_workers} process(es), {group_size} subnets per '
                'calibration pass; the time estimate follows the first '
                'subnets',
                f'The predictor will be cached at {cache}; later requests '
                'on this checkpoint load it'):
            print_log(line, logger='current')
        specs, scores = build_predictor_dataset(
            evaluator, self.search_space, num_subnets, seed=seed,
            store=subnet_store, group_size=group_size,
            num_workers=num_workers)
        quality = self._predictor_quality(specs, scores, seed)

        def search_fn(predictor, pref, budget):
            self.predictor = predictor
            return self.search(pref, budget, mode='evolution',
                               seed=seed).spec

        def evaluate_fn(new_specs, round_index):
            folder = osp.join(store, f'refine_n{num_subnets}_k'
                              f'{refine_subnets}_round{round_index}')
            return evaluate_subnets(
                evaluator, new_specs,
                store=EvaluatedSubnetStore(folder, protocol=protocol),
                label=f'refine {round_index + 1}', group_size=group_size,
                num_workers=num_workers)

        refiner = PredictorRefiner(
            lambda s, y: self.new_predictor().fit(s, y),
            search_fn, evaluate_fn, self.tasks,
            self.macs_model.macs_range(), refine_rounds, refine_subnets,
            seed=seed, log_fn=lambda m: print_log(m, logger='current'))
        self.predictor, specs, scores, history = refiner.run(specs, scores)
        self.predictor.save(cache, key=key)
        seconds = time.perf_counter() - t0
        print_log(f'Saved the accuracy predictor to {cache} (built in '
                  f'{seconds / 60:.1f} min)', logger='current')
        return dict(cache=cache, loaded=False, num_train=len(specs),
                    quality=quality, refinement=history,
                    build_seconds=seconds)

    def predictor_for_checkpoint(self, work_dir: str, checkpoint: str,
                                 **kwargs) -> dict:
        """:meth:`load_or_build_predictor` with the checkpoint's cache
        (:func:`predictor_cache_path`, keyed by its sha256) and subnet store
        (:func:`predictor_store_path`) in ``work_dir``; ``kwargs`` go to
        :meth:`load_or_build_predictor`.

        A predictor built with other settings than the defaults (number of
        subnets, seed, calibration images, held-out fraction, edge matching)
        gets a cache file of its own (the settings' hash in its name), so
        asking for another size builds that size. Its subnets go to the
        same store when they are measured the same way (the random subnets
        of a seed are the same for every size: only the missing ones are
        evaluated), else to a sub-folder ``protocol_<hash>`` of it
        (:meth:`EvaluatedSubnetStore.for_protocol`).
        """
        sha = sha256_of(checkpoint)
        if kwargs.get('num_subnets') is None:
            kwargs.pop('num_subnets', None)
        if kwargs.get('edge_matching', '') == 'default':
            kwargs.pop('edge_matching')
        build = dict(num_subnets=int(kwargs.get('num_subnets',
                                                DEFAULT_PREDICTOR_SUBNETS)),
                     seed=int(kwargs.get('seed', 0)),
                     calib_images=kwargs.get('calib_images'),
                     holdout_fraction=float(kwargs.get('holdout_fraction',
                                                       HOLDOUT_FRACTION)),
                     edge_matching=kwargs.get('edge_matching',
                                              PREDICTOR_EDGE_MATCHING))
        defaults = dict(num_subnets=DEFAULT_PREDICTOR_SUBNETS, seed=0,
                        calib_images=None, holdout_fraction=HOLDOUT_FRACTION,
                        edge_matching=PREDICTOR_EDGE_MATCHING)
        changed = {k: v for k, v in build.items() if v != defaults[k]}
        cache = predictor_cache_path(work_dir, sha,
                                     kwargs.get('refine_rounds', 0),
                                     kwargs.get('refine_subnets',
                                                DEFAULT_REFINE_SUBNETS),
                                     dict(self.predictor_cfg, **changed))
        return self.load_or_build_predictor(
            cache, sha, store=predictor_store_path(work_dir, sha), **kwargs)

    def new_predictor(self) -> AccuracyPredictor:
        """An unfitted predictor with the config's ``predictor`` settings."""
        return AccuracyPredictor(self.search_space, self.tasks,
                                 **self.predictor_cfg)

    def _predictor_quality(self, specs, scores, seed) -> Optional[dict]:
        """Spearman / Kendall per task of a predictor fitted without a
        random :data:`QUALITY_FRACTION` of the subnets, on those; a warning
        when they are fewer than :data:`MIN_QUALITY_SUBNETS` (rank
        correlations of a handful of points mean little)."""
        order = np.random.default_rng(seed).permutation(len(specs))
        num_test = max(1, int(round(QUALITY_FRACTION * len(specs))))
        test, train = order[:num_test], order[num_test:]
        if len(train) < 2:
            print_log(f'Predictor quality not measured: {len(specs)} '
                      'evaluated subnets are too few to hold any out',
                      logger='current', level=logging.WARNING)
            return None
        probe = self.new_predictor().fit(
            [specs[i] for i in train], {t: v[train]
                                        for t, v in scores.items()})
        quality = probe.evaluate([specs[i] for i in test],
                                 {t: v[test] for t, v in scores.items()})
        print_log('Predictor quality on %d held-out subnets (fitted on the '
                  'other %d): %s' % (len(test), len(train), ', '.join(
                      f'{t}: spearman={q["spearman"]:.3f} '
                      f'kendall={q["kendall"]:.3f}'
                      for t, q in quality.items())), logger='current')
        if num_test < MIN_QUALITY_SUBNETS:
            need = math.ceil(MIN_QUALITY_SUBNETS / QUALITY_FRACTION) - 2
            print_log(
                f'These correlations come from only {num_test} held-out '
                f'subnets (fewer than {MIN_QUALITY_SUBNETS}): too few to '
                'judge the predictor; build it on at least '
                f'--predictor-subnets {need} to measure it',
                logger='current', level=logging.WARNING)
        return quality

    # ------------------------------------------------------------------
    # search and measurement
    # ------------------------------------------------------------------
    def search(self, preference: Mapping[str, float], budget: int,
               mode: str = 'evolution', rule: str = 'rank_by_max',
               population: int = 100, generations: int = 50,
               seed: int = 0,
               min_utilization: float = DEFAULT_MIN_UTILIZATION
               ) -> SearchResult:
        """Answer one request (see the module docstring for the modes).

        ``min_utilization`` (all modes but ``uniform``): when the found
        subnet uses less than this fraction of the budget, widen it until it
        does (:func:`fill_budget`: decoders by decreasing preference, then
        encoder stages), so that the MACs follow the budget. The default
        0.9 keeps room for the preference at the largest budget (1.0 would
        make every 1.0x request the largest subnet); 0 disables it (the
        search alone). Ours: the ECMT paper leaves unspent budget open.

        Raises:
            ValueError: unknown mode, a preference that is not a
                distribution over the tasks, a budget the fixed decoders
                cannot meet, or ``min_utilization`` outside [0, 1].
            RuntimeError: ``evolution`` / ``random`` without a predictor.
        """
        if mode not in SEARCH_MODES:
            raise ValueError(f'unknown search mode {mode!r}; valid modes '
                             f'are {list(SEARCH_MODES)}')
        pref = validate_preference(preference, self.tasks)
        check_utilization(min_utilization)
        macs_fn = self.macs_model.macs
        t0 = time.perf_counter()
        if mode == 'uniform':
            spec = largest_uniform_under_budget(self.search_space, macs_fn,
                                                budget)
            return SearchResult(spec, int(macs_fn(spec)), None, 0,
                                time.perf_counter() - t0)
        if mode in PREDICTOR_MODES and self.predictor is None:
            raise RuntimeError(f'mode {mode!r} needs the accuracy predictor:'
                               ' call load_or_build_predictor first')
        min_encoder = self.search_space.sample('min').encoder
        preference_rule = PreferenceRule(self.search_space, rule)
        decoders, scale = preference_rule.within_budget(
            pref, lambda d: macs_fn(SubnetSpec(min_encoder, d)) <= budget)
        if mode == 'random_subnet':
            fitness_fn, fitness, num_evals = None, None, 0
            searcher = EvolutionSearcher(
                self.search_space, macs_fn, _no_fitness,
                seed=request_seed(seed, pref, budget),
                fixed=dict(decoders=decoders))
            spec = searcher.random_search(1, budget)[0]
        else:
            fitness_fn = self.predictor.fitness_fn(pref)
            searcher = EvolutionSearcher(
                self.search_space, macs_fn, fitness_fn,
                population_size=population, generations=generations,
                seed=seed, fixed=dict(decoders=decoders))
            num_evals = population * (1 + generations) - \
                searcher.num_parents * generations
            if mode == 'random':
                spec, fitness, _ = searcher.random_search(num_evals, budget)
            else:
                spec, fitness, _ = searcher.search(budget)
        widened = fill_budget(spec, self.search_space, macs_fn, budget, pref,
                              min_utilization)
        if widened != spec:
            spec = widened
            if fitness_fn is not None:
                fitness = float(fitness_fn([spec])[0])
        return SearchResult(spec, int(macs_fn(spec)), fitness, num_evals,
                            time.perf_counter() - t0, decoders=decoders,
                            decoder_scale=scale)

    def predicted_scores(self, spec: SubnetSpec) -> Dict[str, float]:
        """The predictor's higher-is-better score per task."""
        if self.predictor is None:
            raise RuntimeError('no accuracy predictor loaded')
        return {t: float(v[0])
                for t, v in self.predictor.predict([spec]).items()}

    @property
    def calibrator(self) -> BNCalibrator:
        """BN recalibration on ``calib_images`` training images (built
        once)."""
        if self._calibrator is None:
            calib_loader = Runner.build_dataloader(
                calibration_dataloader_cfg(self.cfg.train_dataloader),
                seed=self.seed)
            self._calibrator = BNCalibrator(
                self.model, calib_loader, num_images=self.calib_images,
                show_progress=False, seed=self.seed)
        return self._calibrator

    @property
    def val_evaluator(self) -> SubnetEvaluator:
        """Val-set measurement with BN recalibration on the training set
        (built once)."""
        if self._val_evaluator is None:
            val_cfg = dict(self.cfg.val_dataloader)
            val_cfg['persistent_workers'] = False
            val_loader = Runner.build_dataloader(val_cfg, seed=self.seed)
            self._val_evaluator = SubnetEvaluator(
                self.model, val_loader, self.cfg.val_evaluator,
                self.calibrator)
        return self._val_evaluator

    def measure(self, spec: SubnetSpec) -> Dict[str, float]:
        """Val metrics of ``spec`` after BN recalibration (e.g.
        ``{'semseg/mIoU': ...}``); the supernet is left as it was."""
        return self.val_evaluator.evaluate(spec)


__all__ = ['SEARCH_MODES', 'PREDICTOR_MODES', 'SearchResult',
           'SearchSession', 'request_seed', 'sha256_of',
           'predictor_cache_path', 'predictor_store_path',
           'predictor_settings', 'PREDICTOR_SETTINGS',
           'training_crop_size']
