"""SynthScenes: a procedurally generated multi-task dataset in the NYUD layout.

On-disk layout under ``data_root`` (written by
:func:`mmecmt.datasets.synthscenes_generator.ensure_synthscenes`)::

    meta.json                   at least {"classes": [...]}, and
                                "part_names" (or "part_classes") with parts
    gt_sets/{train,val}.txt     one id per line
    images/<id>.jpg|.png        RGB image
    segmentation/<id>.png       uint8, 0 = unlabeled, k + 1 = class k
                                (decoded like NYUD: x - 1, 0 -> 255)
    depth/<id>.npy              (H, W) float32 metres, 0 = invalid
    normals/<id>.npy            (H, W, 3) float32 unit vectors, 0 = invalid
    edge/<id>.npy               (H, W) {0, 1}
    saliency/<id>.png           uint8, x / 255 > 0.5
    parts/<id>.png              uint8, 0 = background, 1..P parts, 255 ignore

``meta.json['classes']`` names the segmentation classes (C = its length);
``meta.json['part_names']`` (or ``'part_classes'``) names the parts; when
its first name is not ``background`` a ``background`` class 0 is prepended
(P + 1 classes in all).
"""
import json
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

from mmecmt.registry import DATASETS
from .nyud import NYUDv2Dataset

META_FILE = 'meta.json'
#: keys of meta.json that may hold the part names, in order of preference.
PART_NAME_KEYS = ('part_classes', 'part_names')


def read_synthscenes_meta(data_root: str) -> dict:
    """``<data_root>/meta.json`` with its class lists checked."""
    path = osp.join(data_root, META_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'SynthScenesDataset: {path} does not exist; generate the data '
            'with generate=dict(num_train=..., num_val=...) or '
            'mmecmt.datasets.synthscenes_generator.ensure_synthscenes')
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f'cannot parse {path}: {err}') from err
    names = meta.get('classes') if isinstance(meta, dict) else None
    if not isinstance(names, (list, tuple)) or len(names) < 2:
        raise ValueError(f'{path}: key \'classes\' must list at least 2 '
                         f'class names, got {names!r}')
    for key in PART_NAME_KEYS:
        if key in meta and not isinstance(meta[key], (list, tuple)):
            raise ValueError(f'{path}: key {key!r} must be a list of part '
                             f'names, got {meta[key]!r}')
    return meta


def part_names_of(meta: dict) -> Tuple[str, ...]:
    """The part names of meta.json (``part_classes`` or ``part_names``);
    empty when the data has no parts."""
    for key in PART_NAME_KEYS:
        if meta.get(key):
            return tuple(meta[key])
    return ()


def parts_classes_with_background(part_classes: Sequence[str]
                                  ) -> Tuple[str, ...]:
    """Part names with ``background`` as class 0."""
    names = tuple(part_classes)
    if names[0].lower() != 'background':
        names = ('background', ) + names
    return names


@DATASETS.register_module()
class SynthScenesDataset(NYUDv2Dataset):
    """SynthScenes (NYUD layout + ``sal`` and ``parts``; see module doc).

    Args:
        data_root: dataset folder (created when ``generate`` is given).
        split: ``'train'`` or ``'val'``.
        tasks: subset of ``('semseg', 'depth', 'normals', 'edge', 'sal',
            'parts')``; default all but ``parts``.
        generate: None, or the keyword arguments of
            ``ensure_synthscenes(data_root, **generate)`` (``num_train``,
            ``num_val``, ``height``, ``width``, ``seed``, ``with_parts`` ...),
            called before anything is read: it generates the data on first
            use and returns at once when it exists.
        metainfo: overrides of the class names read from meta.json.
        **kwargs: as :class:`NYUDv2Dataset` (``img_suffix``,
            ``check_files``, pipeline, test_mode, ...).
    """

    DEFAULT_TASKS = ('semseg', 'depth', 'normals', 'edge', 'sal')
    METAINFO: dict = dict()

    @staticmethod
    def _ensure_generated(data_root: str, generate: dict) -> None:
        """Generate the data once: under torch.distributed rank 0 writes it
        while the other ranks wait at a barrier, then everyone checks it."""
        from mmengine.dist import barrier, get_dist_info

        from .synthscenes_generator import ensure_synthscenes
        rank, world_size = get_dist_info()
        if world_size > 1 and rank != 0:
            barrier()  # wait for rank 0 to finish writing
            ensure_synthscenes(data_root, **generate)
            return
        ensure_synthscenes(data_root, **generate)
        if world_size > 1:
            barrier()

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 tasks: Union[None, str, Sequence[str]] = None,
                 generate: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        for arg in ('num_semseg_classes', 'num_parts_classes'):
            if arg in kwargs:
                raise TypeError(f'SynthScenesDataset takes class names from '
                                f'{META_FILE}; {arg} is not an argument')
        if generate is not None:
            self._ensure_generated(data_root, dict(generate))
        meta = read_synthscenes_meta(data_root)
        self.synthscenes_meta = meta
        merged = dict(semseg_classes=tuple(meta['classes']))
        parts = part_names_of(meta)
        if parts:
            merged['parts_classes'] = parts_classes_with_background(parts)
        merged.update(metainfo or {})
        if 'parts' in self.select_tasks(tasks) and \
                'parts_classes' not in merged:
            raise ValueError(
                f'SynthScenesDataset: task \'parts\' selected but '
                f'{osp.join(data_root, META_FILE)} lists no part names (data '
                'generated with with_parts=False?)')
        super().__init__(
            data_root=data_root,
            split=split,
            tasks=tasks,
            metainfo=merged,
            **kwargs)
