"""MultiTaskMetric: every task's metrics (and Delta_m) in one mmengine metric.

Output keys (python floats; units):

==============  ==========================================================
kind            keys
==============  ==========================================================
segmentation    ``<t>/mIoU``, ``<t>/aAcc``, ``<t>/mAcc`` (fractions)
depth           ``<t>/rmse`` (metres), ``<t>/abs_rel``, ``<t>/delta1``
normals         ``<t>/mean``, ``<t>/median``, ``<t>/rmse`` (degrees),
                ``<t>/within_11.25``, ``<t>/within_22.5``, ``<t>/within_30``
                (fractions)
edge            ``<t>/odsF``, ``<t>/ods_threshold``; with
                ``edge_matching='distance_transform'``: ``<t>/odsF_dt``,
                ``<t>/ods_threshold_dt``
saliency        ``<t>/maxF``, ``<t>/IoU``, ``<t>/best_threshold``
classification  ``<t>/top1`` (fraction)
all             IoU / F / accuracies / thresholds are fractions in [0, 1]
--              ``delta_m`` (percent) when ``stl_reference`` is given
==============  ==========================================================

All metrics are dataset-level: ``process`` stores small per-sample sufficient
statistics (confusion matrices, sums, sparse angle histograms, edge counts
per threshold), never full maps, and ``compute_metrics`` sums them.
"""
import logging
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement

from mmecmt.registry import METRICS
from mmecmt.structures.tasks import TaskSpec, parse_tasks
from ..functional import (PRIMARY_METRICS, ClassificationAccumulator,
                          DepthAccumulator, EdgeAccumulator,
                          NormalsAccumulator, SaliencyAccumulator,
                          SegmentationAccumulator, compute_delta_m,
                          primary_metric, to_numpy)
from ..functional.accumulator import Accumulator
from ..functional.normals import DEFAULT_BIN_WIDTH

__all__ = ['MultiTaskMetric', 'PRIMARY_METRICS', 'compute_delta_m']


def _field(item, key: str):
    """``item[key]`` for dicts (``to_dict()`` output), else an attribute."""
    if isinstance(item, Mapping):
        if key not in item:
            raise KeyError(f'expected key {key!r}, found {sorted(item)}')
        return item[key]
    return getattr(item, key)


def _has_field(item, key: str) -> bool:
    return key in item if isinstance(item, Mapping) else hasattr(item, key)


@METRICS.register_module()
class MultiTaskMetric(BaseMetric):
    """Per-task metrics of a multi-task model, and optionally Delta_m.

    Args:
        tasks: task name -> ``dict(kind=..., num_classes=...)`` (or
            TaskSpec). None: read ``self.dataset_meta['tasks']`` (the Runner
            sets ``dataset_meta`` from the dataset's metainfo).
        stl_reference: task name -> primary metric of the single-task model
            (same units as this metric's output, e.g. mIoU 0.42 not 42); when
            given, ``delta_m`` (percent) is output. Every evaluated task needs
            a reference.
        edge_max_dist: edge matching tolerance, fraction of the diagonal.
        edge_thresholds: number of edge thresholds (99 -> 0.01..0.99).
        edge_matching: ``'one_to_one'`` (``odsF``) or
            ``'distance_transform'`` (optimistic, ``odsF_dt``).
        edge_thin: thin binarised edge maps before matching (BSDS style;
            measured 0.2-0.5 s per 96 x 128 map, against 3-35 ms without).
        saliency_threshold_step: 0.05 -> thresholds 0.05..0.95.
        normals_bin_width: histogram resolution of the median angle
            (degrees).
        collect_device, prefix, collect_dir: see ``BaseMetric``.
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 tasks: Optional[Mapping] = None,
                 stl_reference: Optional[Mapping[str, float]] = None,
                 edge_max_dist: float = 0.0075,
                 edge_thresholds: int = 99,
                 edge_matching: str = 'one_to_one',
                 edge_thin: bool = False,
                 saliency_threshold_step: float = 0.05,
                 normals_bin_width: float = DEFAULT_BIN_WIDTH,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device,
                         prefix=prefix,
                         collect_dir=collect_dir)
        self._tasks = parse_tasks(tasks) if tasks is not None else None
        self.stl_reference = dict(stl_reference) if stl_reference else None
        self.edge_max_dist = float(edge_max_dist)
        self.edge_thresholds = int(edge_thresholds)
        self.edge_matching = edge_matching
        self.edge_thin = bool(edge_thin)
        self.saliency_threshold_step = float(saliency_threshold_step)
        self.normals_bin_width = float(normals_bin_width)
        # Build one accumulator of each configurable kind now, so that a bad
        # option (edge matching, threshold count, bin width) raises here.
        for kind in ('edge', 'saliency', 'normals'):
            self._make_accumulator(TaskSpec(kind, kind))

    # ------------------------------------------------------------------
    @property
    def tasks(self) -> Dict[str, TaskSpec]:
        """The tasks: from the constructor, else ``dataset_meta['tasks']``
        (read each time, so a new ``dataset_meta`` takes effect)."""
        if self._tasks is not None:
            return self._tasks
        meta = self.dataset_meta
        if not meta or 'tasks' not in meta:
            raise ValueError(
                'MultiTaskMetric: no tasks given and dataset_meta has no '
                f"'tasks' entry (dataset_meta keys: "
                f'{sorted(meta) if meta else None}); pass tasks=dict('
                "name=dict(kind=..., num_classes=...)) or set "
                "metainfo['tasks'] in the dataset")
        return parse_tasks(meta['tasks'])

    def _make_accumulator(self, spec: TaskSpec) -> Accumulator:
        kind = spec.kind
        if kind == 'segmentation':
            return SegmentationAccumulator(spec.num_classes)
        if kind == 'depth':
            return DepthAccumulator()
        if kind == 'normals':
            return NormalsAccumulator(self.normals_bin_width)
        if kind == 'edge':
            return EdgeAccumulator(self.edge_thresholds, self.edge_max_dist,
                                   self.edge_matching, self.edge_thin)
        if kind == 'saliency':
            return SaliencyAccumulator(self.saliency_threshold_step)
        if kind == 'classification':
            return ClassificationAccumulator()
        raise ValueError(f'task {spec.name!r}: no metric for kind {kind!r}')

    # ------------------------------------------------------------------
    def _sample_statistics(self, spec: TaskSpec, accumulator: Accumulator,
                           pred, gt) -> Dict[str, np.ndarray]:
        """Statistics of one task of one sample."""
        try:
            if spec.kind != 'classification':
                return accumulator.statistics(to_numpy(_field(pred, 'data')),
                                              to_numpy(_field(gt, 'data')))
            if _has_field(pred, 'label') and _field(pred, 'label') is not None:
                pred_label = to_numpy(_field(pred, 'label'))
            else:  # only scores: top-1 = argmax
                pred_label = np.argmax(to_numpy(_field(pred, 'score')), -1)
            gt_label = to_numpy(_field(gt, 'label'))
            return accumulator.statistics(pred_label.reshape(-1),
                                          gt_label.reshape(-1))
        except (KeyError, ValueError) as err:
            raise type(err)(f'task {spec.name!r} ({spec.kind}): {err}') \
                from err

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store the per-task statistics of each sample in ``self.results``.

        Args:
            data_batch: unused.
            data_samples: dicts (``MultiTaskDataSample.to_dict()``) or
                MultiTaskDataSample with ``pred_<task>`` and ``gt_<task>``;
                a task missing either is skipped for that sample.
        """
        tasks = self.tasks
        accumulators = {
            name: self._make_accumulator(spec)
            for name, spec in tasks.items()
        }
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            record = {}
            for name, spec in tasks.items():
                pred = sample.get(f'pred_{name}')
                gt = sample.get(f'gt_{name}')
                if pred is None or gt is None:
                    continue
                record[name] = self._sample_statistics(spec,
                                                       accumulators[name],
                                                       pred, gt)
            self.results.append(record)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Sum the statistics of all samples; return the flat metric dict."""
        metrics: Dict[str, float] = {}
        primary: Dict[str, float] = {}
        evaluated = {}
        tasks = self.tasks
        for name, spec in tasks.items():
            accumulator = self._make_accumulator(spec)
            for record in results:
                if name in record:
                    accumulator.add(record[name])
            if accumulator.empty:
                print_log(
                    f'MultiTaskMetric: task {name!r} has no sample '
                    'with both a prediction and a ground truth',
                    logger='current',
                    level=logging.WARNING)
                continue
            scores = accumulator.compute()
            for key, value in scores.items():
                metrics[f'{name}/{key}'] = float(value)
            primary[name] = float(scores[primary_metric(
                spec.kind, self.edge_matching)])
            evaluated[name] = spec.kind
        if self.stl_reference is not None:
            missing = sorted(set(tasks) - set(evaluated))
            if missing:
                raise ValueError(
                    f'Delta_m: tasks {missing} were not evaluated (no sample '
                    'with prediction and ground truth); Delta_m over a '
                    'subset of the tasks would not be comparable')
            metrics['delta_m'] = float(
                compute_delta_m(primary, self.stl_reference, evaluated))
        self._log_table(metrics, tasks)
        return metrics

    def _log_table(self, metrics: Dict[str, float],
                   tasks: Dict[str, TaskSpec]) -> None:
        """Log one row per task (and Delta_m) with mmengine's logger."""
        rows = []
        for name, spec in tasks.items():
            values = [(k.split('/', 1)[1], v) for k, v in metrics.items()
                      if k.startswith(f'{name}/')]
            if values:
                rows.append((name, spec.kind, '  '.join(f'{k}={v:.4f}'
                                                        for k, v in values)))
        if 'delta_m' in metrics:
            rows.append(('all', 'delta_m (%)', f'{metrics["delta_m"]:+.3f}'))
        try:
            from prettytable import PrettyTable
            table = PrettyTable(['task', 'kind', 'metrics'])
            table.align['metrics'] = 'l'
            for row in rows:
                table.add_row(row)
            text = table.get_string()
        except ImportError:  # pragma: no cover - prettytable comes with mmseg
            text = '\n'.join(' | '.join(row) for row in rows)
        print_log('\n' + text, logger='current')
