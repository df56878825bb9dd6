"""Save one ground truth | prediction panel per image during val / test."""
import os.path as osp
from typing import Dict, Mapping, Optional, Sequence

import cv2
import numpy as np
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmecmt.registry import HOOKS
from mmecmt.visualization import (draw_multitask_panel, save_panel,
                                  task_kinds_of)


@HOOKS.register_module()
class MultiTaskVisualizationHook(Hook):
    """Write ``<show_dir>/<image name>.png`` panels of every task.

    Each panel (see :func:`~mmecmt.visualization.draw_multitask_panel`)
    shows the input image and, per task of ``runner.model.task_specs``, its
    ground truth and prediction. The input image is read from the sample's
    ``img_path`` (converted to RGB); samples without a path (in-memory
    datasets such as CIFAR) use ``data_batch['inputs'][i]`` (3, H, W) BGR
    uint8 instead. The image is resized to the sample's ``ori_shape`` (the
    resolution of the predictions) when it differs.

    ``tools/test.py --show-dir DIR`` installs
    ``dict(type='MultiTaskVisualizationHook', draw=True, show_dir=DIR)``.

    Args:
        draw: draw at all; False turns the hook off.
        interval: draw every ``interval``-th batch (batch indices
            interval - 1, 2 * interval - 1, ...); 1 = every batch.
        show_dir: output folder; a relative path is taken relative to
            ``runner.work_dir/runner.timestamp`` (like mmseg/mmdet test
            tools). Default ``'vis'``. Validation panels go to the
            sub-folder ``val_iter_<runner.iter>``.
        class_palettes: ``{task: (K, 3) RGB}`` for segmentation tasks.
        class_names: ``{task: [class names]}`` for classification tasks;
            tasks not given here take the ``<task>_classes`` entry of the
            val / test dataset's metainfo when it has one.
        min_cell_size: see :func:`draw_multitask_panel`.
        backend_args: mmengine file backend arguments for reading images.
    """

    def __init__(self,
                 draw: bool = False,
                 interval: int = 1,
                 show_dir: Optional[str] = None,
                 class_palettes: Optional[Mapping[str, Sequence]] = None,
                 class_names: Optional[Mapping[str, Sequence[str]]] = None,
                 min_cell_size: int = 128,
                 backend_args: Optional[dict] = None):
        if int(interval) < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.draw = bool(draw)
        self.interval = int(interval)
        self.show_dir = show_dir
        self.class_palettes = dict(class_palettes or {})
        self.class_names = dict(class_names or {})
        self.min_cell_size = int(min_cell_size)
        self.backend_args = dict(backend_args) if backend_args else None

    # ------------------------------------------------------------------
    # mmengine hook points
    # ------------------------------------------------------------------
    def after_val_iter(self, runner, batch_idx: int, data_batch: dict,
                       outputs: Sequence) -> None:
        out_dir = osp.join(self.output_dir(runner), f'val_iter_{runner.iter}')
        self._draw_batch(runner, batch_idx, data_batch, outputs, out_dir,
                         'val')

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence) -> None:
        self._draw_batch(runner, batch_idx, data_batch, outputs,
                         self.output_dir(runner), 'test')

    # ------------------------------------------------------------------
    def output_dir(self, runner) -> str:
        """Folder of the panels: show_dir, under work_dir/timestamp unless
        absolute."""
        show_dir = self.show_dir if self.show_dir is not None else 'vis'
        if osp.isabs(show_dir):
            return show_dir
        return osp.join(runner.work_dir, runner.timestamp, show_dir)

    def _draw_batch(self, runner, batch_idx: int, data_batch: dict,
                    outputs: Sequence, out_dir: str, mode: str) -> None:
        if not self.draw or not self.every_n_inner_iters(
                batch_idx, self.interval):
            return
        task_kinds = self.task_kinds(runner.model)
        class_names = self.dataset_class_names(runner, mode, task_kinds)
        class_names.update(self.class_names)
        for i, sample in enumerate(outputs):
            image = self.load_image(sample, data_batch, i)
            panel = draw_multitask_panel(
                image, sample, task_kinds, self.class_palettes, class_names,
                self.min_cell_size)
            save_panel(
                osp.join(out_dir,
                         self.panel_name(sample, batch_idx, i) + '.png'),
                panel)

    @staticmethod
    def task_kinds(model) -> Dict[str, str]:
        """``{task: kind}`` of a (possibly DDP-wrapped) multi-task model."""
        if is_model_wrapper(model):
            model = model.module
        if not hasattr(model, 'task_specs'):
            raise AttributeError(
                f'{type(model).__name__} has no task_specs; '
                'MultiTaskVisualizationHook needs a multi-task model such as '
                'MultiTaskEncoderDecoder')
        return task_kinds_of(model.task_specs)

    @staticmethod
    def dataset_class_names(runner, mode: str,
                            task_kinds: Mapping[str, str]) -> Dict[str, list]:
        """``{task: metainfo['<task>_classes']}`` of the classification
        tasks, read from the runner's ``<mode>_dataloader`` dataset (empty
        when the runner has no such loader or the metainfo no such key)."""
        loader = getattr(runner, f'{mode}_dataloader', None)
        metainfo = getattr(getattr(loader, 'dataset', None), 'metainfo',
                           None) or {}
        return {
            task: list(metainfo[f'{task}_classes'])
            for task, kind in task_kinds.items()
            if kind == 'classification' and f'{task}_classes' in metainfo
        }

    def load_image(self, sample, data_batch: Optional[dict],
                   index: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB input image at the sample's ``ori_shape``."""
        img_path = sample.metainfo.get('img_path')
        if img_path:
            import mmcv
            from mmengine import fileio
            if self.backend_args is None and not osp.isfile(img_path):
                raise FileNotFoundError(
                    f'image {img_path!r} of a test sample does not exist')
            image = mmcv.imfrombytes(
                fileio.get(img_path, backend_args=self.backend_args),
                channel_order='rgb')
            if image is None:
                raise ValueError(f'could not decode the image {img_path!r}')
        else:
            image = self._image_from_batch(data_batch, index)
        ori_shape = sample.metainfo.get('ori_shape')
        if ori_shape is not None:
            height, width = (int(s) for s in ori_shape[:2])
            if image.shape[:2] != (height, width):
                image = cv2.resize(image, (width, height),
                                   interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(image)

    @staticmethod
    def _image_from_batch(data_batch: Optional[dict],
                          index: int) -> np.ndarray:
        """``data_batch['inputs'][index]`` (3, H, W) BGR uint8 -> RGB HWC."""
        inputs = None if data_batch is None else data_batch.get('inputs')
        if inputs is None or index >= len(inputs):
            raise KeyError(
                f'sample {index} has no img_path and data_batch["inputs"] '
                f'has no entry {index} to draw instead')
        image = inputs[index]
        if hasattr(image, 'detach'):
            image = image.detach().cpu().numpy()
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[0] != 3:
            raise ValueError(
                f'data_batch["inputs"][{index}] must be (3, H, W), got '
                f'{image.shape}')
        if image.dtype != np.uint8:
            raise ValueError(
                f'data_batch["inputs"][{index}] must be uint8 (the raw '
                f'image), got {image.dtype}')
        return image[::-1].transpose(1, 2, 0)

    @staticmethod
    def panel_name(sample, batch_idx: int, index: int) -> str:
        """File name (no extension): the image's base name, else the
        sample index, else ``batch<b>_<i>``."""
        img_path = sample.metainfo.get('img_path')
        if img_path:
            return osp.splitext(osp.basename(img_path))[0]
        if 'sample_idx' in sample.metainfo:
            return f'sample_{int(sample.metainfo["sample_idx"])}'
        return f'batch{batch_idx}_{index}'
