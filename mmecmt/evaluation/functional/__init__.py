"""Per-task metrics as pure numpy functions over summable statistics.

One module per metric family; each offers ``<family>_statistics`` (one
sample), ``<family>_scores`` (from summed statistics) and an accumulator that
sums statistics over batches / ranks (see :mod:`.accumulator`).
"""
from .accumulator import Accumulator, safe_ratio, to_numpy
from .classification import (ClassificationAccumulator, classification_scores,
                             classification_statistics)
from .delta_m import (PRIMARY_METRICS, compute_delta_m, extract_primary_scores,
                      primary_metric)
from .depth import DepthAccumulator, depth_scores, depth_statistics
from .edge import (EdgeAccumulator, edge_scores, edge_statistics,
                   edge_thresholds, maximum_matching_size, tolerance_pixels)
from .normals import (NormalsAccumulator, histogram_median, normal_angles,
                      normals_statistics)
from .saliency import (SaliencyAccumulator, saliency_scores,
                       saliency_statistics, saliency_thresholds)
from .segmentation import (SegmentationAccumulator, confusion_matrix,
                           segmentation_scores)
from .thinning import thin

__all__ = [
    'Accumulator', 'safe_ratio', 'to_numpy', 'ClassificationAccumulator',
    'classification_scores', 'classification_statistics', 'PRIMARY_METRICS',
    'compute_delta_m', 'extract_primary_scores', 'primary_metric',
    'DepthAccumulator', 'depth_scores', 'depth_statistics', 'EdgeAccumulator',
    'edge_scores', 'edge_statistics', 'edge_thresholds',
    'maximum_matching_size', 'tolerance_pixels', 'NormalsAccumulator',
    'histogram_median', 'normal_angles', 'normals_statistics',
    'SaliencyAccumulator', 'saliency_scores', 'saliency_statistics',
    'saliency_thresholds', 'SegmentationAccumulator', 'confusion_matrix',
    'segmentation_scores', 'thin'
]
