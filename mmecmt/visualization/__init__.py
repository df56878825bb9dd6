"""Drawing of multi-task ground truths and predictions."""
from .colorize import (BINARY_IGNORE_RGB, INVALID_RGB, colorize_depth,
                       colorize_labels, colorize_normals, colorize_probability,
                       default_palette, depth_value_range)
from .panel import draw_multitask_panel, save_panel, task_kinds_of

__all__ = [
    'draw_multitask_panel', 'save_panel', 'task_kinds_of', 'default_palette',
    'colorize_labels', 'colorize_depth', 'colorize_normals',
    'colorize_probability', 'depth_value_range', 'INVALID_RGB',
    'BINARY_IGNORE_RGB'
]
