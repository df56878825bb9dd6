"""PASCAL-Context multi-task (the PASCAL_MT layout of ASTMT / MTI-Net / ATRC).

On-disk layout under ``data_root``::

    ImageSets/Context/{train,val}.txt     ids (4998 train / 5105 val)
    JPEGImages/<id>.jpg                   RGB image
    semseg/pascal-context/<id>.png        semseg, 0..20 (0 = background),
    (fallback: semseg/VOC12/<id>.png)     255 = ignore
    human_parts/<id>.mat                  PASCAL-Part annotation, key 'anno'
    sal_distill/<id>.png                  saliency, x / 255 > 0.5
    normals_distill/<id>.png              normals, RGB = xyz, 2 x / 255 - 1,
                                          (0, 0, 0) = invalid
    pascal-context/trainval/<id>.mat      key 'LabelMap' (459-class labels);
                                          edges = 1-px label boundaries

Tasks: ``semseg`` (21 classes), ``parts`` (6 parts + background, images
without a person: all 255), ``sal``, ``normals``, ``edge``. The decoding is
in :mod:`mmecmt.datasets.pascal_decoders`.
"""
import os.path as osp
from typing import List, Sequence, Union

from mmecmt.registry import DATASETS
from .base_multitask import (BaseMultiTaskDataset, read_split_file,
                             require_files)
from .pascal_decoders import HUMAN_PART_CLASSES

#: The 21 VOC classes, label order of the semseg PNGs.
PASCAL_MT_SEMSEG_CLASSES = (
    'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus',
    'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike',
    'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')

#: PASCAL-Context (459-class ``LabelMap``) labels whose distilled normals the
#: Multi-Task-Learning-PyTorch loader keeps: the context classes whose name
#: is also an NYUD class (``nyu_classes.json`` and ``context_classes.json``
#: of that repository; 'unknown' excluded) plus 'tvmonitor' (427).
MTL_NORMALS_VALID_CONTEXT_LABELS = (
    3, 4, 6, 9, 10, 11, 13, 15, 17, 18, 22, 23, 29, 30, 33, 34, 36, 37, 38,
    39, 41, 43, 46, 49, 50, 51, 53, 55, 56, 59, 61, 62, 65, 66, 68, 69, 72,
    73, 78, 83, 84, 85, 87, 88, 95, 96, 101, 104, 105, 107, 111, 113, 115,
    122, 124, 135, 141, 142, 143, 146, 150, 154, 157, 158, 159, 165, 172,
    174, 181, 183, 184, 191, 193, 195, 197, 199, 202, 213, 215, 216, 219,
    220, 223, 225, 228, 230, 232, 233, 238, 239, 242, 243, 246, 250, 251,
    252, 255, 260, 261, 263, 269, 272, 273, 275, 281, 283, 284, 285, 286,
    287, 288, 290, 291, 292, 293, 295, 304, 307, 309, 310, 314, 315, 319,
    323, 329, 330, 331, 336, 342, 345, 349, 350, 351, 352, 355, 357, 368,
    370, 371, 374, 379, 380, 383, 384, 397, 401, 403, 405, 407, 408, 411,
    412, 413, 414, 417, 419, 421, 423, 429, 430, 432, 440, 441, 442, 443,
    444, 446, 454, 457, 427)


@DATASETS.register_module()
class PascalContextMTDataset(BaseMultiTaskDataset):
    """PASCAL-Context multi-task dataset (see the module docstring).

    Args:
        data_root: the PASCAL_MT folder.
        split: ``'train'`` or ``'val'``.
        tasks: subset of ``('semseg', 'parts', 'sal', 'normals', 'edge')``
            (default: all five).
        normals_valid_labels: None (default): every normals pixel that is
            not stored as (0, 0, 0) is valid. ``'mtl'``: also invalidate the
            pixels whose context label is not in
            :data:`MTL_NORMALS_VALID_CONTEXT_LABELS`, as the
            Multi-Task-Learning-PyTorch loader does; or a sequence of
            context labels to keep.
        check_files: check at load time that every file exists.
        **kwargs: pipeline, metainfo, test_mode, serialize_data, lazy_init,
            indices, max_refetch.
    """

    AVAILABLE_TASKS = dict(
        semseg='segmentation',
        parts='segmentation',
        sal='saliency',
        normals='normals',
        edge='edge')
    DEFAULT_TASKS = ('semseg', 'parts', 'sal', 'normals', 'edge')
    METAINFO = dict(
        semseg_classes=PASCAL_MT_SEMSEG_CLASSES,
        parts_classes=HUMAN_PART_CLASSES)

    GT_FORMATS = dict(
        semseg='pascal_semseg_png',
        parts='pascal_human_parts_mat',
        sal='pascal_saliency_png',
        normals='pascal_normals_png',
        edge='pascal_edge_mat')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 tasks: Union[None, str, Sequence[str]] = None,
                 normals_valid_labels: Union[None, str, Sequence[int]] = None,
                 check_files: bool = True,
                 **kwargs):
        if isinstance(normals_valid_labels, str):
            if normals_valid_labels != 'mtl':
                raise ValueError(
                    f'normals_valid_labels={normals_valid_labels!r}; expected '
                    "None, 'mtl' or a sequence of context labels")
            normals_valid_labels = MTL_NORMALS_VALID_CONTEXT_LABELS
        self.normals_valid_labels = (None if normals_valid_labels is None
                                     else tuple(
                                         int(v)
                                         for v in normals_valid_labels))
        self.check_files = check_files
        super().__init__(
            data_root=data_root, split=split, tasks=tasks, **kwargs)

    def label_map_file(self, img_id: str) -> str:
        return osp.join(self.data_root, 'pascal-context', 'trainval',
                        img_id + '.mat')

    def semseg_file(self, img_id: str) -> str:
        """semseg/pascal-context/<id>.png, else semseg/VOC12/<id>.png."""
        context = osp.join(self.data_root, 'semseg', 'pascal-context',
                           img_id + '.png')
        if osp.isfile(context):
            return context
        voc = osp.join(self.data_root, 'semseg', 'VOC12', img_id + '.png')
        if osp.isfile(voc) or not self.check_files:
            return voc
        raise FileNotFoundError(f'PascalContextMTDataset task \'semseg\': '
                                f'neither {context} nor {voc} exists')

    def task_file(self, task: str, img_id: str) -> str:
        if task == 'semseg':
            return self.semseg_file(img_id)
        if task == 'edge':
            return self.label_map_file(img_id)
        folder, suffix = dict(
            parts=('human_parts', '.mat'),
            sal=('sal_distill', '.png'),
            normals=('normals_distill', '.png'))[task]
        return osp.join(self.data_root, folder, img_id + suffix)

    def load_data_list(self) -> List[dict]:
        ids = read_split_file(
            osp.join(self.data_root, 'ImageSets', 'Context',
                     f'{self.split}.txt'))
        data_list = []
        for img_id in ids:
            img_path = osp.join(self.data_root, 'JPEGImages', img_id + '.jpg')
            extra = {f'{t}_path': self.task_file(t, img_id)
                     for t in self.tasks}
            if 'normals' in self.tasks:
                extra['normals_valid_labels'] = self.normals_valid_labels
                if self.normals_valid_labels is not None:
                    extra['normals_label_map_path'] = self.label_map_file(
                        img_id)
            if self.check_files:
                require_files([img_path], 'PascalContextMTDataset image')
                for key, path in extra.items():
                    if key.endswith('_path'):
                        require_files([path],
                                      f'PascalContextMTDataset {key}')
            data_list.append(
                self.make_data_info(img_id, img_path, self.GT_FORMATS,
                                    **extra))
        return data_list
