"""NYUD-v2 in the NYUD_MT layout (MTI-Net, ATRC, Multi-Task-Learning-PyTorch).

On-disk layout under ``data_root``::

    gt_sets/{train,val}.txt     one image id per line (795 train / 654 val)
    images/<id>.jpg             RGB image (.png also accepted)
    segmentation/<id>.png       uint8, 0 = unlabeled, 1..C classes
                                -> x - 1, unlabeled -> 255 (C = 40)
    depth/<id>.npy              (H, W) float depth in metres, 0 = invalid
    normals/<id>.npy            (H, W, 3) float, zero vector = invalid
    edge/<id>.npy               (H, W) binary float {0, 1}

Optional extension folders (used by SynthScenes, same ids):

    saliency/<id>.png           uint8, x / 255 > 0.5 -> task ``sal``
    parts/<id>.png              uint8, 0 = background, 1..P parts,
                                255 = ignore -> task ``parts``

Tasks: ``semseg`` (segmentation), ``depth``, ``normals``, ``edge`` (default)
and ``sal`` (saliency), ``parts`` (segmentation).
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmecmt.registry import DATASETS
from .base_multitask import (BaseMultiTaskDataset, read_split_file,
                             require_files)

#: The 40 NYUD-v2 classes (Gupta et al.), label order after x -> x - 1.
NYUD_CLASSES = (
    'wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door',
    'window', 'bookshelf', 'picture', 'counter', 'blinds', 'desk', 'shelves',
    'curtain', 'dresser', 'pillow', 'mirror', 'floor mat', 'clothes',
    'ceiling', 'books', 'refridgerator', 'television', 'paper', 'towel',
    'shower curtain', 'box', 'whiteboard', 'person', 'night stand', 'toilet',
    'sink', 'lamp', 'bathtub', 'bag', 'otherstructure', 'otherfurniture',
    'otherprop')

#: Image file suffixes tried when ``img_suffix`` is None, in order.
IMG_SUFFIXES = ('.jpg', '.png')


def generic_class_names(num_classes: int, prefix: str = 'class'
                        ) -> Tuple[str, ...]:
    """('class_0', ..., 'class_{C-1}')."""
    return tuple(f'{prefix}_{i}' for i in range(num_classes))


@DATASETS.register_module()
class NYUDv2Dataset(BaseMultiTaskDataset):
    """NYUD-v2 multi-task dataset (NYUD_MT layout, see the module docstring).

    Args:
        data_root: folder holding ``gt_sets/``, ``images/`` ...
        split: ``'train'`` or ``'val'``.
        tasks: subset of ``('semseg', 'depth', 'normals', 'edge', 'sal',
            'parts')``; default ``('semseg', 'depth', 'normals', 'edge')``.
        num_semseg_classes: class count of ``semseg`` (default 40, the NYUD
            classes); for a dataset in this layout with other classes. Names
            come from ``metainfo['semseg_classes']`` if given (its length must
            then match), else generic ``class_<i>`` names.
        num_parts_classes: class count of ``parts`` including background
            (needed with ``parts`` unless ``metainfo['parts_classes']``).
        img_suffix: image file suffix; None: ``.jpg`` if the first image
            exists with it, else ``.png``.
        check_files: check at load time that every file of every selected
            task exists (FileNotFoundError naming the first missing one).
        **kwargs: pipeline, metainfo, test_mode, serialize_data, lazy_init,
            indices, max_refetch (see :class:`BaseMultiTaskDataset`).
    """

    AVAILABLE_TASKS = dict(
        semseg='segmentation',
        depth='depth',
        normals='normals',
        edge='edge',
        sal='saliency',
        parts='segmentation')
    DEFAULT_TASKS = ('semseg', 'depth', 'normals', 'edge')
    METAINFO = dict(semseg_classes=NYUD_CLASSES)

    #: task -> (folder, file suffix, gt format name)
    TASK_FILES: Dict[str, Tuple[str, str, str]] = dict(
        semseg=('segmentation', '.png', 'nyud_semseg_png'),
        depth=('depth', '.npy', 'depth_npy'),
        normals=('normals', '.npy', 'normals_npy'),
        edge=('edge', '.npy', 'edge_npy'),
        sal=('saliency', '.png', 'saliency_png'),
        parts=('parts', '.png', 'label_png'))
    SPLIT_DIR = 'gt_sets'
    IMG_DIR = 'images'

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 tasks: Union[None, str, Sequence[str]] = None,
                 num_semseg_classes: Optional[int] = None,
                 num_parts_classes: Optional[int] = None,
                 img_suffix: Optional[str] = None,
                 check_files: bool = True,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        metainfo = dict(metainfo or {})
        self._set_class_names(metainfo, 'semseg', num_semseg_classes,
                              'class', with_background=False)
        self._set_class_names(metainfo, 'parts', num_parts_classes, 'part',
                              with_background=True)
        self.img_suffix = img_suffix
        self.check_files = check_files
        super().__init__(
            data_root=data_root,
            split=split,
            tasks=tasks,
            metainfo=metainfo,
            **kwargs)

    def _set_class_names(self, metainfo: dict, task: str,
                         num_classes: Optional[int], prefix: str,
                         with_background: bool) -> None:
        """Reconcile ``num_<task>_classes`` with ``metainfo[<task>_classes]``.
        """
        if num_classes is None:
            return
        key = f'{task}_classes'
        if key in metainfo:
            if len(metainfo[key]) != num_classes:
                raise ValueError(
                    f'{type(self).__name__}: num_{task}_classes='
                    f'{num_classes} but metainfo[{key!r}] lists '
                    f'{len(metainfo[key])} names')
            return
        default = self.METAINFO.get(key)
        if default is not None and len(default) == num_classes:
            return
        if with_background:
            names = ('background', ) + tuple(
                f'{prefix}_{i}' for i in range(1, num_classes))
        else:
            names = generic_class_names(num_classes, prefix)
        metainfo[key] = names

    # ------------------------------------------------------------------
    def task_file(self, task: str, img_id: str) -> str:
        folder, suffix, _ = self.TASK_FILES[task]
        return osp.join(self.data_root, folder, img_id + suffix)

    def _resolve_img_suffix(self, first_id: str) -> str:
        if self.img_suffix is not None:
            return self.img_suffix
        tried = []
        for suffix in IMG_SUFFIXES:
            path = osp.join(self.data_root, self.IMG_DIR, first_id + suffix)
            if osp.isfile(path):
                return suffix
            tried.append(path)
        raise FileNotFoundError(f'{type(self).__name__}: image of id '
                                f'{first_id!r} not found; tried {tried}')

    def load_data_list(self) -> List[dict]:
        """One data info per id of ``gt_sets/<split>.txt``."""
        ids = read_split_file(
            osp.join(self.data_root, self.SPLIT_DIR, f'{self.split}.txt'))
        suffix = self._resolve_img_suffix(ids[0])
        gt_formats = {t: self.TASK_FILES[t][2] for t in self.tasks}
        data_list = []
        for img_id in ids:
            img_path = osp.join(self.data_root, self.IMG_DIR, img_id + suffix)
            task_paths = {
                f'{t}_path': self.task_file(t, img_id)
                for t in self.tasks
            }
            if self.check_files:
                require_files([img_path], f'{type(self).__name__} image')
                for task in self.tasks:
                    require_files([task_paths[f'{task}_path']],
                                  f'{type(self).__name__} task {task!r}')
            data_list.append(
                self.make_data_info(img_id, img_path, gt_formats,
                                    **task_paths))
        return data_list
