"""Measure the per-task scores of subnets of a trained supernet.

:class:`SubnetEvaluator` activates a subnet, recalibrates its BN statistics
(:class:`~mmecmt.models.slimmable.bn_calibration.BNCalibrator`) and runs one
pass over an evaluation dataloader through mmengine's
:class:`~mmengine.evaluator.Evaluator` (e.g. with ``MultiTaskMetric``). The
supernet's BN buffers and active subnet are restored afterwards.

:func:`holdout_split` fixes the data the accuracy predictor is trained on: a
held-out split of the **training** set (never the val set), the last
``fraction`` of the training dataset's indices; BN calibration uses the
other, first indices. :func:`build_predictor_dataset` evaluates the max, the
min and ``num_random`` random subnets and returns their higher-is-better
primary scores (lower-is-better metrics such as depth rmse or the normals'
mean angle are negated).

Speed (:func:`evaluate_subnets`): subnets are evaluated in groups of
``group_size``, each group's BN statistics computed in one pass over the
calibration images
(:func:`~mmecmt.models.slimmable.multi_bn_calibration.calibrate_subnets`,
exactly the per-subnet statistics) and the group scored in one pass over the
evaluation images; ``num_workers`` processes (forked, one thread each) share
the list through an :class:`EvaluatedSubnetStore`. A subnet's scores do not
depend on the group it was in nor on the process that measured it.
"""
import contextlib
import copy
import hashlib
import json
import math
import multiprocessing
import os
import sys
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import Evaluator

from mmecmt.models.slimmable.bn_calibration import (BNCalibrator,
                                                    load_bn_state,
                                                    save_bn_state)
from mmecmt.models.slimmable.multi_bn_calibration import calibrate_subnets
from mmecmt.evaluation.val_pass import (build_evaluator, evaluate_model,
                                        quiet_info_logs)
from mmecmt.evaluation.functional.delta_m import (PRIMARY_METRICS,
                                                  extract_primary_scores,
                                                  task_kind)
from .space import SearchSpace, SubnetSpec

#: default fraction of the training set held out for the predictor.
HOLDOUT_FRACTION = 0.1
#: random subnets (besides max and min) a predictor is fitted on by default.
DEFAULT_PREDICTOR_SUBNETS = 200
#: BN-calibration images of each predictor subnet (None: the session's,
#: i.e. the config's ``val_cfg.calibrate_bn.num_images``).
PREDICTOR_CALIB_IMAGES: Optional[int] = None
#: edge matching of the held-out scores (None: the val metric's own). The
#: distance-transform matching costs 0.37 s per subnet on the 100 held-out
#: SynthScenes images against 2.9 s for the one-to-one matching (45 % of a
#: whole subnet measurement), and ranks subnets nearly alike
#: (docs/results/predictor_build.md).
PREDICTOR_EDGE_MATCHING: Optional[str] = 'distance_transform'
#: processes measuring predictor subnets at once (one thread each).
DEFAULT_PREDICTOR_WORKERS = 2
#: subnets BN-calibrated and scored together in one pass over the images.
DEFAULT_PREDICTOR_GROUP = 8
#: fewest held-out subnets whose rank correlations are worth printing
#: without a warning.
MIN_QUALITY_SUBNETS = 20


def with_edge_matching(evaluator_cfg, edge_matching: Optional[str]):
    """A copy of a val-evaluator config (a dict or a list of dicts) whose
    ``MultiTaskMetric`` entries use ``edge_matching``; None: unchanged.

    Raises:
        ValueError: ``edge_matching`` is not one of the metric's options.
    """
    if edge_matching is None:
        return evaluator_cfg
    if edge_matching not in ('one_to_one', 'distance_transform'):
        raise ValueError(f"edge_matching must be 'one_to_one' or "
                         f"'distance_transform', got {edge_matching!r}")

    def one(cfg):
        cfg = copy.deepcopy(dict(cfg))
        if str(cfg.get('type', '')).split('.')[-1] == 'MultiTaskMetric':
            cfg['edge_matching'] = edge_matching
        return cfg

    if isinstance(evaluator_cfg, Mapping):
        return one(evaluator_cfg)
    return [one(c) for c in evaluator_cfg]


def holdout_split(num_samples: int, fraction: float = HOLDOUT_FRACTION
                  ) -> Tuple[List[int], List[int]]:
    """Split ``range(num_samples)`` into ``(calibration, holdout)`` indices.

    The holdout is the last ``max(1, ceil(fraction * num_samples))``
    indices, the calibration part the others (deterministic: no shuffle).
    E.g. ``holdout_split(32, 0.1) == (list(range(28)), [28, 29, 30, 31])``.

    Raises:
        ValueError: ``fraction`` not in (0, 1), or fewer than 2 samples
            (both parts must be non-empty).
    """
    if not 0 < fraction < 1:
        raise ValueError(f'holdout fraction must lie in (0, 1), got '
                         f'{fraction!r}')
    if int(num_samples) != num_samples or num_samples < 2:
        raise ValueError(f'the training set has {num_samples} samples; a '
                         'held-out split needs at least 2')
    num_holdout = min(max(1, math.ceil(fraction * num_samples)),
                      num_samples - 1)
    cut = num_samples - num_holdout
    return list(range(cut)), list(range(cut, num_samples))


def subset_dataloader_cfg(dataloader_cfg: Mapping, indices: Sequence[int],
                          pipeline: Optional[list] = None,
                          shuffle: bool = False) -> dict:
    """A copy of ``dataloader_cfg`` restricted to ``indices`` of its dataset
    (the dataset's ``indices`` argument), optionally with another
    ``pipeline``, a ``DefaultSampler`` and no persistent workers."""
    cfg = copy.deepcopy(dict(dataloader_cfg))
    cfg['dataset'] = dict(cfg['dataset'])
    cfg['dataset']['indices'] = [int(i) for i in indices]
    if pipeline is not None:
        cfg['dataset']['pipeline'] = copy.deepcopy(list(pipeline))
    cfg['sampler'] = dict(type='DefaultSampler', shuffle=shuffle)
    cfg['persistent_workers'] = False
    return cfg


def higher_is_better(primary: Mapping[str, float],
                     kinds: Mapping[str, str]) -> Dict[str, float]:
    """Negate the primary scores of lower-is-better kinds (depth rmse,
    normals mean angle): ``{task: score}``, higher is better."""
    return {t: -float(v) if PRIMARY_METRICS[kinds[t]][1] else float(v)
            for t, v in primary.items()}


class SubnetEvaluator:
    """Evaluates subnets of a supernet after BN recalibration.

    Args:
        model: the supernet (``set_subnet``, ``val_step``, ``task_specs``).
        dataloader: the evaluation batches (test pipeline).
        evaluator_cfg: a metric config (e.g. ``dict(type='MultiTaskMetric')``)
            or a list of them, as ``val_evaluator`` in a config.
        calibrator: recalibrates the BN statistics of each subnet; None
            evaluates with the stored statistics.
        quiet: drop the metrics' INFO logs (``MultiTaskMetric``'s table of
            every task's metrics, ~10 lines per subnet); the caller reports.
    """

    def __init__(self, model, dataloader, evaluator_cfg,
                 calibrator: Optional[BNCalibrator] = None,
                 quiet: bool = True):
        self.model = model
        self.dataloader = dataloader
        self.evaluator = build_evaluator(evaluator_cfg, dataloader)
        self.calibrator = calibrator
        self.quiet = bool(quiet)
        self.kinds = {name: task_kind(name, spec)
                      for name, spec in model.task_specs.items()}
        metric = self.evaluator.metrics[0]
        self.edge_matching = getattr(metric, 'edge_matching', 'one_to_one')

    @torch.no_grad()
    def evaluate(self, spec: SubnetSpec) -> Dict[str, float]:
        """All metrics of ``spec`` (e.g. ``{'semseg/mIoU': ...}``)."""
        model = self.model
        active = model.subnet
        bn_state = save_bn_state(model)
        was_training = model.training
        try:
            if self.calibrator is not None:
                self.calibrator.calibrate(spec)
            else:
                model.set_subnet(spec)
            model.eval()
            metrics, _ = evaluate_model(model, self.dataloader,
                                        self.evaluator, quiet=self.quiet)
            return metrics
        finally:
            load_bn_state(model, bn_state)
            model.set_subnet(active)
            model.train(was_training)

    def _finish(self, evaluator: Evaluator, num: int) -> Dict[str, float]:
        with quiet_info_logs() if self.quiet else contextlib.nullcontext():
            return dict(evaluator.evaluate(num))

    @torch.no_grad()
    def evaluate_many(self, specs: Sequence[SubnetSpec]
                      ) -> List[Dict[str, float]]:
        """:meth:`evaluate` of every spec, with one pass over the
        calibration images (:func:`calibrate_subnets`) and one over the
        evaluation images for all of them: each batch runs through the
        subnets in turn, each with its own BN statistics. The result equals
        ``[self.evaluate(s) for s in specs]``."""
        specs = list(specs)
        if not specs:
            raise ValueError('evaluate_many: no subnets to evaluate')
        model = self.model
        active = model.subnet
        bn_state = save_bn_state(model)
        was_training = model.training
        evaluators = [self.evaluator] + [copy.deepcopy(self.evaluator)
                                         for _ in specs[1:]]
        try:
            if self.calibrator is not None:
                states = calibrate_subnets(self.calibrator, specs)
                bn_owner = self.calibrator.model  # the states' names
            else:
                states, bn_owner = [bn_state] * len(specs), model
            model.eval()
            num = 0
            for data in self.dataloader:
                for spec, state, evaluator in zip(specs, states, evaluators):
                    model.set_subnet(spec)
                    load_bn_state(bn_owner, state)
                    outputs = model.val_step(data)
                    evaluator.process(data_samples=outputs, data_batch=data)
                num += len(outputs)
            return [self._finish(e, num) for e in evaluators]
        finally:
            load_bn_state(model, bn_state)
            model.set_subnet(active)
            model.train(was_training)

    def _higher_is_better(self, metrics: Mapping[str, float]
                          ) -> Dict[str, float]:
        primary = extract_primary_scores(metrics, self.kinds,
                                         edge_matching=self.edge_matching)
        return higher_is_better(primary, self.kinds)

    def scores(self, spec: SubnetSpec) -> Dict[str, float]:
        """``{task: higher-is-better primary score}`` of ``spec``."""
        return self._higher_is_better(self.evaluate(spec))

    def scores_many(self, specs: Sequence[SubnetSpec]
                    ) -> List[Dict[str, float]]:
        """:meth:`scores` of every spec, measured with
        :meth:`evaluate_many`."""
        return [self._higher_is_better(m) for m in self.evaluate_many(specs)]


def predictor_subnets(search_space: SearchSpace, num_random: int,
                      seed: int = 0) -> List[SubnetSpec]:
    """The subnets a predictor is fitted on: max, min and ``num_random``
    random ones (``search_space.sample('random', seed + i)``)."""
    if int(num_random) != num_random or num_random < 0:
        raise ValueError(f'num_random must be an integer >= 0, got '
                         f'{num_random!r}')
    return ([search_space.sample('max'), search_space.sample('min')] +
            [search_space.sample('random', seed + i)
             for i in range(int(num_random))])


class EvaluatedSubnetStore:
    """Evaluated subnets kept on disk, shared by cooperating processes.

    Entry ``i`` of a subnet list is the file ``<root>/<i>.json`` holding the
    subnet and its scores. Before evaluating entry ``i`` a process claims it
    by creating ``<root>/<i>.claim`` exclusively (holding its pid), so
    several processes pointed at one root (e.g. two ``tools/search.py`` runs
    of the same checkpoint) split the work, and an interrupted build resumes
    where it stopped. A claim whose process is gone is taken over.

    Args:
        root: the folder (created).
        protocol: how the scores are measured (JSON-serialisable, e.g. the
            number of calibration images and the edge matching), kept in
            ``<root>/protocol.json``: a folder holding subnets measured
            otherwise is refused, so scores of two protocols never mix.
            None: not recorded, not checked.

    Raises:
        ValueError: ``protocol`` differs from the folder's, or the folder
            holds entries but no ``protocol.json`` (measured before the
            protocol was recorded).
    """

    def __init__(self, root: str, protocol: Optional[Mapping] = None):
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.protocol = None if protocol is None else json.loads(
            json.dumps(dict(protocol), sort_keys=True))
        if self.protocol is not None:
            self._check_protocol()

    @classmethod
    def for_protocol(cls, root: str,
                     protocol: Mapping) -> 'EvaluatedSubnetStore':
        """The store of ``protocol`` at ``root``, or, when ``root`` holds
        subnets measured otherwise (or before protocols were recorded), at
        ``<root>/protocol_<sha256 of the protocol>[:8]``: measurements of
        different protocols never mix, and none is lost."""
        try:
            return cls(root, protocol)
        except ValueError:
            text = json.dumps(dict(protocol), sort_keys=True)
            digest = hashlib.sha256(text.encode()).hexdigest()[:8]
            return cls(os.path.join(root, f'protocol_{digest}'), protocol)

    def _check_protocol(self) -> None:
        path = os.path.join(self.root, 'protocol.json')
        if os.path.isfile(path):
            with open(path) as f:
                recorded = json.load(f)
            if recorded != self.protocol:
                raise ValueError(
                    f'{self.root} holds subnets measured with {recorded}, '
                    f'not {self.protocol}: use another folder or delete it')
            return
        num = self.num_done()
        if num:
            raise ValueError(
                f'{self.root} holds {num} evaluated subnets but no '
                'protocol.json (measured by an older mmecmt, possibly with '
                'other settings): delete the folder to rebuild')
        tmp = f'{path}.{os.getpid()}.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.protocol, f, sort_keys=True)
        os.replace(tmp, path)

    def num_done(self, num_entries: Optional[int] = None) -> int:
        """The number of finished entries (of the first ``num_entries``)."""
        return sum(1 for name in os.listdir(self.root)
                   if name.endswith('.json') and name[:-5].isdigit() and
                   (num_entries is None or int(name[:-5]) < num_entries))

    def _path(self, index: int, suffix: str) -> str:
        return os.path.join(self.root, f'{index}.{suffix}')

    def load(self, index: int, spec: SubnetSpec
             ) -> Optional[Dict[str, float]]:
        """The stored scores of entry ``index``, or None.

        Raises:
            ValueError: the entry holds another subnet (the folder belongs
                to a different subnet list: other seed or settings).
        """
        path = self._path(index, 'json')
        if not os.path.isfile(path):
            return None
        with open(path) as f:
            entry = json.load(f)
        if entry['subnet'] != spec.to_dict():
            raise ValueError(
                f'{path} holds subnet {entry["subnet"]}, not {spec.to_dict()}'
                f': {self.root} belongs to another subnet list; delete it or '
                'use the settings it was built with')
        return {t: float(v) for t, v in entry['scores'].items()}

    def entries(self) -> Tuple[List[SubnetSpec], Dict[str, np.ndarray]]:
        """Every finished entry of this folder (not of its sub-folders), in
        index order: ``(specs, {task: (N,) scores})``.

        Raises:
            ValueError: an entry that is not a readable store file (names
                it), or entries that score different tasks.
        """
        indices = sorted(int(name[:-5]) for name in os.listdir(self.root)
                         if name.endswith('.json') and name[:-5].isdigit())
        specs, rows = [], []
        for index in indices:
            path = self._path(index, 'json')
            try:
                with open(path) as f:
                    entry = json.load(f)
                specs.append(SubnetSpec.from_dict(entry['subnet']))
                rows.append({t: float(v) for t, v in
                             entry['scores'].items()})
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                raise ValueError(f'{path} is not an evaluated-subnet entry '
                                 f'({{"subnet": ..., "scores": ...}}): '
                                 f'{e}') from None
            if set(rows[-1]) != set(rows[0]):
                raise ValueError(f'{path} scores the tasks '
                                 f'{sorted(rows[-1])}, entry {indices[0]} '
                                 f'{sorted(rows[0])}')
        tasks = list(rows[0]) if rows else []
        return specs, {t: np.array([r[t] for r in rows]) for t in tasks}

    def claim(self, index: int) -> bool:
        """Take entry ``index`` for this process (False: another live
        process has it)."""
        path = self._path(index, 'claim')
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                if self._claim_alive(path):
                    return False
                try:
                    os.remove(path)  # stale: its process is gone
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, 'w') as f:
                f.write(str(os.getpid()))
            if os.path.isfile(self._path(index, 'json')):
                # saved by another process since the caller looked: entries
                # are written before their claim is released
                os.remove(path)
                return False
            return True
        return False

    @staticmethod
    def _claim_alive(path: str) -> bool:
        try:
            with open(path) as f:
                pid = int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return False
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def save(self, index: int, spec: SubnetSpec,
             scores: Mapping[str, float]) -> None:
        """Write entry ``index`` atomically and release its claim."""
        path = self._path(index, 'json')
        tmp = f'{path}.{os.getpid()}.tmp'
        with open(tmp, 'w') as f:
            json.dump(dict(subnet=spec.to_dict(),
                           scores={t: float(v) for t, v in scores.items()}),
                      f)
        os.replace(tmp, path)
        try:
            os.remove(self._path(index, 'claim'))
        except FileNotFoundError:
            pass


def _format_scores(scores: Mapping[str, float]) -> str:
    return ' '.join(f'{t}={v:.4g}' for t, v in scores.items())


def _format_seconds(seconds: float) -> str:
    if seconds < 90:
        return f'{seconds:.0f} s'
    return f'{seconds / 60:.1f} min'


class _Progress:
    """One line per evaluated subnet, counting every process's subnets (the
    store's), and an estimate of the remaining time after this process's
    first group: the remaining subnets times this process's seconds per
    subnet (of its last group), shared by the ``num_workers`` processes."""

    def __init__(self, label: str, num: int, store, enabled: bool,
                 num_workers: int, estimate: bool):
        self.label, self.num, self.store = label, num, store
        self.enabled, self.num_workers = enabled, num_workers
        self.estimate = estimate
        self.start_done = self.done()
        self.groups = 0

    def done(self) -> int:
        return 0 if self.store is None else self.store.num_done(self.num)

    def group(self, indices: Sequence[int],
              rows: Sequence[Mapping[str, float]], seconds: float,
              local_done: int) -> None:
        if not self.enabled:
            return
        done = local_done if self.store is None else max(self.done(),
                                                         local_done)
        per = seconds / len(indices)
        eta = per * (self.num - done) / self.num_workers
        for j, (i, row) in enumerate(zip(indices, rows)):
            count = done - len(indices) + j + 1
            print(f'[{self.label}] {count}/{self.num} done; subnet {i + 1}: '
                  f'{_format_scores(row)} ({per:.1f} s/subnet, eta '
                  f'{_format_seconds(eta)})', file=sys.stdout, flush=True)
        self.groups += 1
        if self.groups == 1 and self.estimate and done < self.num:
            print(f'[{self.label}] estimated time for the remaining '
                  f'{self.num - done} subnets: {_format_seconds(eta)} '
                  f'({per:.1f} s per subnet and process, '
                  f'{self.num_workers} process(es))', file=sys.stdout,
                  flush=True)


def _evaluate_part(evaluator: SubnetEvaluator, specs: List[SubnetSpec],
                   store: Optional[EvaluatedSubnetStore], group_size: int,
                   poll_seconds: float, progress: _Progress,
                   wait: bool) -> List[Optional[Dict[str, float]]]:
    """Evaluate the entries this process can claim, in groups; with
    ``wait``, then wait for those that other processes hold (reaping
    finished child processes, so that their stale claims are taken over).
    Returns the rows (None: left to another process, only without
    ``wait``)."""
    rows: List[Optional[Dict[str, float]]] = [None] * len(specs)
    local_done = 0
    while True:
        pending = False
        group: List[int] = []
        for i, spec in enumerate(specs):
            if rows[i] is not None:
                continue
            if store is not None:
                rows[i] = store.load(i, spec)
                if rows[i] is not None:
                    continue
                if not store.claim(i):
                    pending = True  # another process evaluates it
                    continue
            group.append(i)
            if len(group) == group_size:
                break
        if group:
            t0 = time.perf_counter()
            many = getattr(evaluator, 'scores_many', None)
            group_specs = [specs[i] for i in group]
            new_rows = many(group_specs) if many is not None else [
                evaluator.scores(spec) for spec in group_specs]
            for i, row in zip(group, new_rows):
                rows[i] = row
                if store is not None:
                    store.save(i, specs[i], row)
            local_done += len(group)
            progress.group(group, new_rows, time.perf_counter() - t0,
                           local_done)
            continue
        if not pending or not wait:
            return rows
        multiprocessing.active_children()  # reap finished workers
        time.sleep(poll_seconds)


def _worker(evaluator, specs, store, group_size, poll_seconds, label,
            num, enabled, num_workers) -> None:
    """A forked helper process: one thread, evaluates what it can claim."""
    torch.set_num_threads(1)
    progress = _Progress(label, num, store, enabled, num_workers,
                         estimate=False)
    _evaluate_part(evaluator, specs, store, group_size, poll_seconds,
                   progress, wait=False)


def evaluate_subnets(evaluator: SubnetEvaluator, specs: Sequence[SubnetSpec],
                     progress: bool = True,
                     store: Optional[EvaluatedSubnetStore] = None,
                     poll_seconds: float = 2.0,
                     label: str = 'predictor', group_size: int = 1,
                     num_workers: int = 1) -> Dict[str, np.ndarray]:
    """Higher-is-better scores of ``specs``, evaluated for real.

    With a ``store``, entry ``i`` of the store is ``specs[i]``: subnets
    already evaluated there are read back, each new one is saved as soon as
    it is scored, and subnets claimed by another live process are left to
    it: this call waits for them at the end. Each evaluated subnet prints
    one progress line starting with ``[label]`` (done / total, the scores,
    seconds per subnet, the remaining time); after the first group, an
    estimate of the remaining time.

    Args:
        group_size: subnets calibrated and scored together
            (:meth:`SubnetEvaluator.scores_many`; 1: one at a time).
        num_workers: processes measuring at once (>= 2 needs a ``store``):
            ``num_workers - 1`` helpers are forked (``fork`` start method),
            each running one thread; this process works too and sets its
            threads to 1 while they run (restored afterwards). A helper
            that dies leaves its claims stale: they are taken over.

    Returns:
        ``{task: (N,) higher-is-better primary scores}``, N = len(specs).
    """
    specs = list(specs)
    if not specs:
        raise ValueError('evaluate_subnets: no subnets to evaluate')
    for name, value in (('group_size', group_size),
                        ('num_workers', num_workers)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f'{name} must be an integer >= 1, got '
                             f'{value!r}')
    if num_workers > 1 and store is None:
        raise ValueError('num_workers > 1 needs a store: the processes '
                         'share their subnets through it')
    group_size, num_workers = int(group_size), int(num_workers)
    report = _Progress(label, len(specs), store, progress, num_workers,
                       estimate=True)
    workers = []
    num_threads = torch.get_num_threads()
    if num_workers > 1 and report.start_done < len(specs):
        torch.set_num_threads(1)
        context = multiprocessing.get_context('fork')
        for w in range(1, num_workers):
            worker = context.Process(
                target=_worker,  # not a daemon: it runs data workers
                args=(evaluator, specs, store, group_size, poll_seconds,
                      f'{label} w{w}', len(specs), progress, num_workers))
            worker.start()
            workers.append(worker)
    try:
        rows = _evaluate_part(evaluator, specs, store, group_size,
                              poll_seconds, report, wait=True)
    except BaseException:
        for worker in workers:
            worker.terminate()
        raise
    finally:
        for worker in workers:
            worker.join()
        torch.set_num_threads(num_threads)
    for w, worker in enumerate(workers, 1):
        if worker.exitcode:
            print(f'[{label}] warning: helper process w{w} exited with code '
                  f'{worker.exitcode}; this process measured its subnets',
                  file=sys.stderr, flush=True)
    tasks = list(rows[0])
    return {t: np.array([r[t] for r in rows]) for t in tasks}


def build_predictor_dataset(evaluator: SubnetEvaluator,
                            search_space: SearchSpace, num_random: int,
                            seed: int = 0, progress: bool = True,
                            store: Optional[EvaluatedSubnetStore] = None,
                            poll_seconds: float = 2.0, group_size: int = 1,
                            num_workers: int = 1
                            ) -> Tuple[List[SubnetSpec],
                                       Dict[str, np.ndarray]]:
    """Evaluate :func:`predictor_subnets` for real
    (:func:`evaluate_subnets`, with its ``group_size`` and
    ``num_workers``).

    Returns:
        ``(specs, scores)``: the ``N = num_random + 2`` subnets and
        ``{task: (N,) higher-is-better primary scores}``.
    """
    specs = predictor_subnets(search_space, num_random, seed)
    return specs, evaluate_subnets(evaluator, specs, progress=progress,
                                   store=store, poll_seconds=poll_seconds,
                                   group_size=group_size,
                                   num_workers=num_workers)


__all__ = ['HOLDOUT_FRACTION', 'DEFAULT_PREDICTOR_SUBNETS',
           'PREDICTOR_CALIB_IMAGES', 'PREDICTOR_EDGE_MATCHING',
           'DEFAULT_PREDICTOR_WORKERS', 'DEFAULT_PREDICTOR_GROUP',
           'MIN_QUALITY_SUBNETS', 'with_edge_matching', 'quiet_info_logs',
           'holdout_split', 'subset_dataloader_cfg',
           'higher_is_better', 'SubnetEvaluator', 'predictor_subnets',
           'EvaluatedSubnetStore', 'evaluate_subnets',
           'build_predictor_dataset']
