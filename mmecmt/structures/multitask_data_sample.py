"""Data sample holding every task's ground truth and prediction."""
from typing import List

from mmengine.structures import BaseDataElement


class MultiTaskDataSample(BaseDataElement):
    """A data sample of a multi-task model.

    Fields (see :mod:`mmecmt.structures.tasks` for shapes):
    ``gt_<task>`` (PixelData or LabelData) and ``pred_<task>`` per task,
    plus the image meta information (``img_shape``, ``ori_shape``,
    ``pad_shape``, ``flip``, ``img_path`` ...).
    """

    def gt_tasks(self) -> List[str]:
        """Names of the tasks with a ground truth in this sample."""
        return sorted(k[3:] for k in self.keys() if k.startswith('gt_'))

    def pred_tasks(self) -> List[str]:
        """Names of the tasks with a prediction in this sample."""
        return sorted(k[5:] for k in self.keys() if k.startswith('pred_'))
