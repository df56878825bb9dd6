"""Measure the per-task scores of subnets of a trained supernet.

:class:`SubnetEvaluator` activates a subnet, recalibrates its BN statistics
(:class:`~mmecmt.engine.bn_calibration.BNCalibrator`) and runs one pass over
an evaluation dataloader through mmengine's
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
import math
import sys
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import Evaluator

from mmecmt.engine.bn_calibration import (BNCalibrator, load_bn_state,
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


def build_predictor_dataset(evaluator: SubnetEvaluator,
                            search_space: SearchSpace, num_random: int,
                            seed: int = 0, progress: bool = True
                            ) -> Tuple[List[SubnetSpec],
                                       Dict[str, np.ndarray]]:
    """Evaluate :func:`predictor_subnets` for real.

    Returns:
        ``(specs, scores)``: the ``N = num_random + 2`` subnets and
        ``{task: (N,) higher-is-better primary scores}``.
    """
    specs = predictor_subnets(search_space, num_random, seed)
    rows = []
    t0 = time.perf_counter()
    for i, spec in enumerate(specs):
        rows.append(evaluator.scores(spec))
        if progress:
            elapsed = time.perf_counter() - t0
            eta = elapsed / (i + 1) * (len(specs) - i - 1)
            print(f'[predictor] evaluated subnet {i + 1}/{len(specs)} '
                  f'({elapsed:.1f} s, eta {eta:.1f} s): ' + ', '.join(
                      f'{t}={v:.4g}' for t, v in rows[-1].items()),
                  file=sys.stdout, flush=True)
    tasks = list(rows[0])
    return specs, {t: np.array([r[t] for r in rows]) for t in tasks}


__all__ = ['HOLDOUT_FRACTION', 'holdout_split', 'subset_dataloader_cfg',
           'higher_is_better', 'SubnetEvaluator', 'predictor_subnets',
           'build_predictor_dataset']
