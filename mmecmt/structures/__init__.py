from .multitask_data_sample import MultiTaskDataSample
from .tasks import (CLS_IGNORE_INDEX, DENSE_KINDS, IGNORE_INDEX, TASK_KINDS,
                    TaskSpec, parse_tasks)

__all__ = [
    'MultiTaskDataSample', 'TaskSpec', 'parse_tasks', 'TASK_KINDS',
    'DENSE_KINDS', 'IGNORE_INDEX', 'CLS_IGNORE_INDEX'
]
