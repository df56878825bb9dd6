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
"""
import copy
import json
import math
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
from mmecmt.evaluation.functional.delta_m import (PRIMARY_METRICS,
                                                  extract_primary_scores,
                                                  task_kind)
from .space import SearchSpace, SubnetSpec

#: default fraction of the training set held out for the predictor.
HOLDOUT_FRACTION = 0.1


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
    """

    def __init__(self, model, dataloader, evaluator_cfg,
                 calibrator: Optional[BNCalibrator] = None):
        self.model = model
        self.dataloader = dataloader
        self.evaluator = evaluator_cfg if isinstance(
            evaluator_cfg, Evaluator) else Evaluator(evaluator_cfg)
        dataset = getattr(dataloader, 'dataset', None)
        if dataset is not None and hasattr(dataset, 'metainfo'):
            self.evaluator.dataset_meta = dataset.metainfo
        self.calibrator = calibrator
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
            num = 0
            for data in self.dataloader:
                outputs = model.val_step(data)
                self.evaluator.process(data_samples=outputs, data_batch=data)
                num += len(outputs)
            return dict(self.evaluator.evaluate(num))
        finally:
            load_bn_state(model, bn_state)
            model.set_subnet(active)
            model.train(was_training)

    def scores(self, spec: SubnetSpec) -> Dict[str, float]:
        """``{task: higher-is-better primary score}`` of ``spec``."""
        metrics = self.evaluate(spec)
        primary = extract_primary_scores(metrics, self.kinds,
                                         edge_matching=self.edge_matching)
        return higher_is_better(primary, self.kinds)


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
    """

    def __init__(self, root: str):
        self.root = root
        os.makedirs(root, exist_ok=True)

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


def evaluate_subnets(evaluator: SubnetEvaluator, specs: Sequence[SubnetSpec],
                     progress: bool = True,
                     store: Optional[EvaluatedSubnetStore] = None,
                     poll_seconds: float = 2.0,
                     label: str = 'predictor') -> Dict[str, np.ndarray]:
    """Higher-is-better scores of ``specs``, evaluated for real.

    With a ``store``, entry ``i`` of the store is ``specs[i]``: subnets
    already evaluated there are read back, each new one is saved as soon as
    it is scored, and subnets claimed by another live process are left to
    it: this call waits for them at the end. Progress lines start with
    ``[label]``.

    Returns:
        ``{task: (N,) higher-is-better primary scores}``, N = len(specs).
    """
    specs = list(specs)
    if not specs:
        raise ValueError('evaluate_subnets: no subnets to evaluate')
    rows: List[Optional[Dict[str, float]]] = [None] * len(specs)
    t0 = time.perf_counter()
    done_here = 0

    def report(i: int, how: str) -> None:
        if not progress:
            return
        num_done = sum(r is not None for r in rows)
        elapsed = time.perf_counter() - t0
        eta = elapsed / max(done_here, 1) * (len(specs) - num_done)
        print(f'[{label}] {how} subnet {i + 1} ({num_done}/{len(specs)} '
              f'done, {elapsed:.1f} s, eta {eta:.1f} s): ' + ', '.join(
                  f'{t}={v:.4g}' for t, v in rows[i].items()),
              file=sys.stdout, flush=True)

    waiting = True
    while waiting:
        waiting = False
        for i, spec in enumerate(specs):
            if rows[i] is not None:
                continue
            if store is not None:
                rows[i] = store.load(i, spec)
                if rows[i] is not None:
                    continue
                if not store.claim(i):
                    waiting = True  # another process evaluates it
                    continue
            rows[i] = evaluator.scores(spec)
            done_here += 1
            if store is not None:
                store.save(i, spec, rows[i])
            report(i, 'evaluated')
        if waiting:
            time.sleep(poll_seconds)
    tasks = list(rows[0])
    return {t: np.array([r[t] for r in rows]) for t in tasks}


def build_predictor_dataset(evaluator: SubnetEvaluator,
                            search_space: SearchSpace, num_random: int,
                            seed: int = 0, progress: bool = True,
                            store: Optional[EvaluatedSubnetStore] = None,
                            poll_seconds: float = 2.0
                            ) -> Tuple[List[SubnetSpec],
                                       Dict[str, np.ndarray]]:
    """Evaluate :func:`predictor_subnets` for real
    (:func:`evaluate_subnets`).

    Returns:
        ``(specs, scores)``: the ``N = num_random + 2`` subnets and
        ``{task: (N,) higher-is-better primary scores}``.
    """
    specs = predictor_subnets(search_space, num_random, seed)
    return specs, evaluate_subnets(evaluator, specs, progress=progress,
                                   store=store, poll_seconds=poll_seconds)


__all__ = ['HOLDOUT_FRACTION', 'holdout_split', 'subset_dataloader_cfg',
           'higher_is_better', 'SubnetEvaluator', 'predictor_subnets',
           'EvaluatedSubnetStore', 'evaluate_subnets',
           'build_predictor_dataset']
