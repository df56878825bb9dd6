"""Evaluation: per-task metrics (numpy, :mod:`.functional`), the mmengine
:class:`MultiTaskMetric`, and Delta_m."""
from .functional import (PRIMARY_METRICS, compute_delta_m,
                         extract_primary_scores, primary_metric)
from .metrics import MultiTaskMetric

__all__ = [
    'MultiTaskMetric', 'PRIMARY_METRICS', 'compute_delta_m',
    'extract_primary_scores', 'primary_metric'
]
