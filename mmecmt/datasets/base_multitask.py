"""Base class of the multi-task datasets: task selection and metainfo.

A multi-task dataset offers a fixed set of tasks (``AVAILABLE_TASKS``: task
name -> kind of :mod:`mmecmt.structures.tasks`); a config selects a subset
with ``tasks=(...)``. The dataset's ``metainfo`` then holds

* ``tasks``: ``{name: dict(kind=..., num_classes=...)}`` for the selected
  tasks, in the order given (``num_classes`` is None for kinds without
  classes). The runner hands the metainfo to the metric, which reads this.
* ``<task>_classes``: class names of every selected segmentation /
  classification task, and ``classes`` = ``semseg_classes`` when ``semseg``
  is selected (for mmseg's visualiser).

Every data info holds ``img_path``, ``img_id``, ``sample_idx`` (added by
mmengine), ``task_kinds`` ({task: kind}), ``gt_formats`` ({task: decoder name
of :mod:`mmecmt.datasets.gt_decoders`}), ``task_num_classes`` ({task: C} for
tasks with classes) and, per task, what its decoder reads (usually
``<task>_path``).
"""
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset

from mmecmt.registry import TRANSFORMS
from mmecmt.structures.tasks import TASK_KINDS, TaskSpec

#: kinds whose task needs a class count.
CLASS_KINDS = tuple(k for k, v in TASK_KINDS.items() if v is None)


class BaseMultiTaskDataset(BaseDataset):
    """Selects tasks, checks the split and builds the task metainfo.

    Subclasses set ``AVAILABLE_TASKS``, ``DEFAULT_TASKS``, ``SPLITS`` and
    ``METAINFO`` (with ``<task>_classes`` for the class tasks) and implement
    :meth:`load_data_list`; they may override :meth:`task_classes`.

    Args:
        data_root: dataset root folder.
        split: one of ``SPLITS``.
        tasks: names of the tasks to load (subset of ``AVAILABLE_TASKS``);
            None = ``DEFAULT_TASKS``.
        pipeline: transforms.
        metainfo: overrides of ``METAINFO`` (e.g. ``semseg_classes``).
        test_mode, serialize_data, lazy_init, indices, max_refetch: as in
            :class:`mmengine.dataset.BaseDataset`.
    """

    AVAILABLE_TASKS: Dict[str, str] = {}
    DEFAULT_TASKS: Tuple[str, ...] = ()
    SPLITS: Tuple[str, ...] = ('train', 'val')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 tasks: Union[None, str, Sequence[str]] = None,
                 pipeline: Sequence = (),
                 metainfo: Optional[dict] = None,
                 test_mode: bool = False,
                 serialize_data: bool = True,
                 lazy_init: bool = False,
                 indices: Union[None, int, Sequence[int]] = None,
                 max_refetch: int = 1000):
        if split not in self.SPLITS:
            raise ValueError(f'{type(self).__name__}: unknown split '
                             f'{split!r}; valid splits are '
                             f'{list(self.SPLITS)}')
        if not data_root:
            raise ValueError(f'{type(self).__name__}: data_root is required')
        self.split = split
        self.tasks: Tuple[str, ...] = self.select_tasks(tasks)
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(),
            serialize_data=serialize_data,
            pipeline=self.build_pipeline(pipeline),
            test_mode=test_mode,
            lazy_init=True,
            indices=indices,
            max_refetch=max_refetch)
        # the task metainfo (class names and counts) is checked before any
        # file is listed
        self._metainfo.update(self.build_task_metainfo())
        if not lazy_init:
            self.full_init()

    @staticmethod
    def build_pipeline(pipeline: Sequence) -> list:
        """Build transform configs with mmecmt's TRANSFORMS registry.

        mmengine's ``Compose`` builds with the root registry, which finds
        mmecmt's transforms only under ``default_scope='mmecmt'``; building
        here makes a dataset work without a default scope too (mmcv / mmseg
        transforms are reached through the registry's parents).
        """
        return [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in pipeline
        ]

    # ------------------------------------------------------------------
    # Tasks.
    # ------------------------------------------------------------------
    @classmethod
    def select_tasks(cls, tasks: Union[None, str, Sequence[str]]
                     ) -> Tuple[str, ...]:
        """Validate ``tasks`` against ``AVAILABLE_TASKS``."""
        if tasks is None:
            tasks = cls.DEFAULT_TASKS
        if isinstance(tasks, str):
            tasks = (tasks, )
        tasks = tuple(tasks)
        valid = list(cls.AVAILABLE_TASKS)
        if not tasks:
            raise ValueError(f'{cls.__name__}: tasks is empty; valid tasks '
                             f'are {valid}')
        for task in tasks:
            if task not in cls.AVAILABLE_TASKS:
                raise ValueError(f'{cls.__name__}: unknown task {task!r}; '
                                 f'valid tasks are {valid}')
        if len(set(tasks)) != len(tasks):
            raise ValueError(f'{cls.__name__}: duplicate task in {tasks}')
        return tasks

    @property
    def task_kinds(self) -> Dict[str, str]:
        """{task: kind} of the selected tasks."""
        return {t: self.AVAILABLE_TASKS[t] for t in self.tasks}

    def task_classes(self, task: str) -> Tuple[str, ...]:
        """Class names of a segmentation / classification task.

        Default: ``metainfo[f'{task}_classes']``.
        """
        key = f'{task}_classes'
        if key not in self._metainfo:
            raise ValueError(f'{type(self).__name__}: task {task!r} needs '
                             f'class names; give metainfo={{{key!r}: (...)}}')
        classes = tuple(self._metainfo[key])
        if len(classes) < 2:
            raise ValueError(f'{type(self).__name__}: {key} must list at '
                             f'least 2 classes, got {classes}')
        return classes

    def task_num_classes(self) -> Dict[str, int]:
        """{task: class count} of the selected tasks that have classes."""
        return {
            t: len(self.task_classes(t))
            for t, kind in self.task_kinds.items() if kind in CLASS_KINDS
        }

    def build_task_metainfo(self) -> dict:
        """``tasks`` and ``<task>_classes`` entries of the metainfo."""
        meta: dict = {}
        tasks = {}
        for task, kind in self.task_kinds.items():
            num_classes = None
            if kind in CLASS_KINDS:
                classes = self.task_classes(task)
                meta[f'{task}_classes'] = classes
                num_classes = len(classes)
            TaskSpec(task, kind, num_classes)  # validates kind / class count
            tasks[task] = dict(kind=kind, num_classes=num_classes)
        meta['tasks'] = tasks
        if 'semseg' in tasks:
            meta['classes'] = meta['semseg_classes']
        return meta

    # ------------------------------------------------------------------
    # Data infos.
    # ------------------------------------------------------------------
    def make_data_info(self, img_id: str, img_path: Optional[str],
                       gt_formats: Dict[str, str], **extra) -> dict:
        """The common part of a data info.

        Args:
            img_id: sample id.
            img_path: image file (or a virtual path for in-memory images).
            gt_formats: {task: decoder name} for the selected tasks.
            extra: further entries (``<task>_path`` ...).
        """
        missing = [t for t in self.tasks if t not in gt_formats]
        if missing:
            raise ValueError(f'{type(self).__name__}: no gt format for tasks '
                             f'{missing}')
        if getattr(self, '_num_classes_cache', None) is None:
            self._num_classes_cache = self.task_num_classes()
        info = dict(
            img_path=img_path,
            img_id=img_id,
            task_kinds=dict(self.task_kinds),
            task_num_classes=dict(self._num_classes_cache),
            gt_formats={t: gt_formats[t] for t in self.tasks})
        info.update(extra)
        return info


def read_split_file(path: str) -> List[str]:
    """Ids listed one per line (blank lines skipped)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file {path} does not exist')
    with open(path) as f:
        ids = [line.strip() for line in f]
    ids = [i for i in ids if i]
    if not ids:
        raise ValueError(f'split file {path} lists no ids')
    return ids


def require_files(paths: Iterable[str], what: str) -> None:
    """Raise FileNotFoundError naming the first missing file."""
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what}: file {path} does not exist')
