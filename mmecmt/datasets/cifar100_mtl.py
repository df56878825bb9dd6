"""CIFAR-100 as 20 five-way classification tasks (CIFAR-100 MTL).

On-disk layout: the standard python pickles, under ``data_root`` or
``data_root/cifar-100-python``::

    cifar-100-python/train      dict: b'data' (N, 3072) uint8 (R, G, B planes
                                of 32 x 32), b'fine_labels', b'coarse_labels',
                                b'filenames'
    cifar-100-python/test       same (split 'val' or 'test')
    cifar-100-python/meta       b'fine_label_names', b'coarse_label_names'

Tasks: ``cls_00`` .. ``cls_19``, one per coarse superclass (the index is the
coarse label; ``metainfo['task_superclasses']`` gives the superclass names).
Task ``cls_<c>`` is a 5-way classification over the fine classes of
superclass ``c``, relabelled with ``np.unique(fine_labels_of_task,
return_inverse=True)`` (sorted fine label -> 0..4; ``fine % 5`` collides
inside superclasses). Each image belongs to exactly one task: its label
there is the relabelled class, every other selected task gets -1 (ignore).
Images of superclasses not in ``tasks`` are dropped.

The images are decoded once into memory and handed to the pipeline as
``results['img']`` (32, 32, 3) uint8 in BGR order, like ``mmcv.imread``, so
no ``LoadImageFromFile`` is needed. ``img_path`` is a virtual path
``<pickle>/<filename>``.
"""
import os.path as osp
import pickle
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from mmecmt.registry import DATASETS
from mmecmt.structures.tasks import CLS_IGNORE_INDEX
from .base_multitask import BaseMultiTaskDataset

NUM_SUPERCLASSES = 20
CIFAR_TASKS = tuple(f'cls_{c:02d}' for c in range(NUM_SUPERCLASSES))


def load_cifar_pickle(path: str, keys: Sequence[bytes]) -> dict:
    """Unpickle a CIFAR file (``encoding='bytes'``) and check its keys."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'CIFAR-100 file {path} does not exist')
    try:
        with open(path, 'rb') as f:
            content = pickle.load(f, encoding='bytes')
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f'cannot unpickle CIFAR-100 file {path}: {err}'
                         ) from err
    if not isinstance(content, dict):
        raise ValueError(f'{path}: expected a dict, got {type(content)}')
    missing = [k for k in keys if k not in content]
    if missing:
        raise KeyError(f'{path}: missing keys {missing}; found '
                       f'{sorted(content)}')
    return content


def _decode_names(names) -> List[str]:
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def cifar_rows_to_bgr(data: np.ndarray, path: str) -> np.ndarray:
    """(N, 3072) uint8 rows of R, G, B planes -> (N, 32, 32, 3) BGR."""
    data = np.asarray(data)
    if data.ndim != 2 or data.shape[1] != 3072 or data.dtype != np.uint8:
        raise ValueError(f'{path}: b\'data\' must be (N, 3072) uint8, got '
                         f'shape {data.shape} dtype {data.dtype}')
    rgb = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(rgb[..., ::-1])


def relabel_fine_per_superclass(fine: np.ndarray, coarse: np.ndarray,
                                classes_per_task: int, path: str = ''
                                ) -> Tuple[np.ndarray, Dict[int, np.ndarray]]:
    """Relabel the fine labels inside each superclass to 0..K-1.

    Args:
        fine: (N,) fine labels 0..99.
        coarse: (N,) coarse labels 0..19.
        classes_per_task: K, the expected number of fine classes in each
            superclass present.

    Returns:
        (N,) int64 task-local labels and {coarse: (K,) sorted fine labels}.
    """
    local = np.full(fine.shape, -1, dtype=np.int64)
    fine_of_task = {}
    for c in np.unique(coarse):
        in_task = coarse == c
        uniq, inverse = np.unique(fine[in_task], return_inverse=True)
        if len(uniq) != classes_per_task:
            raise ValueError(
                f'{path}: superclass {int(c)} has {len(uniq)} fine classes '
                f'{uniq.tolist()}, expected {classes_per_task}')
        local[in_task] = inverse.ravel()
        fine_of_task[int(c)] = uniq
    return local, fine_of_task


@DATASETS.register_module()
class CIFAR100MTLDataset(BaseMultiTaskDataset):
    """CIFAR-100 MTL: 20 tasks ``cls_00`` .. ``cls_19`` (see module doc).

    Args:
        data_root: folder holding ``cifar-100-python/`` (or that folder).
        split: ``'train'``, ``'val'`` or ``'test'`` (val = test pickle).
        tasks: subset of ``cls_00`` .. ``cls_19`` (default all 20).
        classes_per_task: fine classes per superclass (5 in CIFAR-100).
        **kwargs: pipeline, metainfo, test_mode, serialize_data, lazy_init,
            indices, max_refetch.
    """

    AVAILABLE_TASKS = {t: 'classification' for t in CIFAR_TASKS}
    DEFAULT_TASKS = CIFAR_TASKS
    SPLITS = ('train', 'val', 'test')
    PICKLE_OF_SPLIT = dict(train='train', val='test', test='test')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 tasks: Union[None, str, Sequence[str]] = None,
                 classes_per_task: int = 5,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        self.classes_per_task = int(classes_per_task)
        self.pickle_dir = self._find_pickle_dir(data_root)
        meta_path = osp.join(self.pickle_dir, 'meta')
        meta = load_cifar_pickle(
            meta_path, (b'fine_label_names', b'coarse_label_names'))
        self.fine_names = _decode_names(meta[b'fine_label_names'])
        self.coarse_names = _decode_names(meta[b'coarse_label_names'])
        if len(self.coarse_names) != NUM_SUPERCLASSES:
            raise ValueError(f'{meta_path}: expected {NUM_SUPERCLASSES} '
                             f'coarse label names, got '
                             f'{len(self.coarse_names)}')
        # class names per task need the split's labels: read it now.
        self._split_path = osp.join(
            self.pickle_dir, self.PICKLE_OF_SPLIT.get(split, str(split)))
        self._raw = None
        if split in self.SPLITS:
            self._raw = self._read_split()
        merged = dict(
            superclasses=tuple(self.coarse_names),
            task_superclasses={
                t: self.coarse_names[c]
                for c, t in enumerate(CIFAR_TASKS)
            })
        merged.update(metainfo or {})
        super().__init__(
            data_root=data_root,
            split=split,
            tasks=tasks,
            metainfo=merged,
            **kwargs)
        if self._fully_initialized:
            self._raw = None  # the decoded images now live in the data list

    @staticmethod
    def _find_pickle_dir(data_root: str) -> str:
        nested = osp.join(data_root, 'cifar-100-python')
        if osp.isdir(nested):
            return nested
        if osp.isfile(osp.join(data_root, 'meta')):
            return data_root
        raise FileNotFoundError(
            f'CIFAR100MTLDataset: neither {nested}/ nor {data_root}/meta '
            'exists')

    def _read_split(self) -> dict:
        path = self._split_path
        raw = load_cifar_pickle(path, (b'data', b'fine_labels',
                                       b'coarse_labels', b'filenames'))
        images = cifar_rows_to_bgr(raw[b'data'], path)
        fine = np.asarray(raw[b'fine_labels'], dtype=np.int64)
        coarse = np.asarray(raw[b'coarse_labels'], dtype=np.int64)
        names = _decode_names(raw[b'filenames'])
        n = len(images)
        if not (len(fine) == len(coarse) == len(names) == n):
            raise ValueError(
                f'{path}: {n} images but {len(fine)} fine labels, '
                f'{len(coarse)} coarse labels, {len(names)} file names')
        if n and (coarse.min() < 0 or coarse.max() >= NUM_SUPERCLASSES):
            raise ValueError(f'{path}: coarse labels must be in [0, '
                             f'{NUM_SUPERCLASSES}), found {coarse.min()}..'
                             f'{coarse.max()}')
        if n and (fine.min() < 0 or fine.max() >= len(self.fine_names)):
            raise ValueError(f'{path}: fine labels must be in [0, '
                             f'{len(self.fine_names)}), found {fine.min()}..'
                             f'{fine.max()}')
        local, fine_of_task = relabel_fine_per_superclass(
            fine, coarse, self.classes_per_task, path)
        return dict(images=images, coarse=coarse, local=local,
                    fine_of_task=fine_of_task, names=names)

    def task_classes(self, task: str) -> Tuple[str, ...]:
        """The fine class names of a task, in relabelled order."""
        key = f'{task}_classes'
        if key in self._metainfo:
            return tuple(self._metainfo[key])
        coarse = CIFAR_TASKS.index(task)
        fine_of_task = self._raw_or_load()['fine_of_task']
        if coarse not in fine_of_task:
            raise ValueError(f'{self._split_path}: task {task!r} '
                             f'(superclass {self.coarse_names[coarse]!r}) '
                             'has no image')
        names = tuple(self.fine_names[f] for f in fine_of_task[coarse])
        self._metainfo[key] = names
        return names

    def _raw_or_load(self) -> dict:
        if self._raw is None:
            self._raw = self._read_split()
        return self._raw

    def load_data_list(self) -> List[dict]:
        """One data info per image of a selected task (image in memory)."""
        raw = self._raw_or_load()
        selected = {CIFAR_TASKS.index(t): t for t in self.tasks}
        for task in self.tasks:
            self.task_classes(task)  # raises for a task without images
        gt_formats = {t: 'label' for t in self.tasks}
        data_list = []
        for idx, (img, c, label, name) in enumerate(
                zip(raw['images'], raw['coarse'], raw['local'],
                    raw['names'])):
            own_task = selected.get(int(c))
            if own_task is None:
                continue
            labels = {
                f'{t}_label': (int(label) if t == own_task else
                               CLS_IGNORE_INDEX)
                for t in self.tasks
            }
            data_list.append(
                self.make_data_info(
                    img_id=f'{self.split}_{idx:05d}',
                    img_path=osp.join(self._split_path, name),
                    gt_formats=gt_formats,
                    img=img,
                    img_shape=img.shape[:2],
                    ori_shape=img.shape[:2],
                    **labels))
        return data_list
