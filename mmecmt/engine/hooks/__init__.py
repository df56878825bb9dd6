"""Runner hooks of mmecmt."""
from .cikd_hook import CIKDHook
from .scheduled_value_hook import ScheduledValueHook
from .task_affinity_hook import TaskAffinityHook
from .visualization_hook import MultiTaskVisualizationHook

__all__ = ['MultiTaskVisualizationHook', 'ScheduledValueHook', 'CIKDHook',
           'TaskAffinityHook']
