"""One image's ground truths and predictions of every task, side by side.

Layout of :func:`draw_multitask_panel` (one row per task, in the order of
``task_kinds``; each cell has a text band of :data:`LABEL_HEIGHT` pixels
above it)::

    +---------+-----------+-------------+
    | input   | task1 gt  | task1 pred  |
    +---------+-----------+-------------+
    | (blank) | task2 gt  | task2 pred  |
    +---------+-----------+-------------+

The ground-truth column is left out when the sample has no ground truth of
any task; columns are separated by a white line of :data:`SEPARATOR_WIDTH`
pixels. Images smaller than ``min_cell_size`` are enlarged by an integer
factor (nearest neighbour) so that the text stays readable.
"""
import math
import os
import os.path as osp
from typing import Dict, Mapping, Optional, Sequence

import cv2
import numpy as np

from mmecmt.structures.tasks import CLS_IGNORE_INDEX, TASK_KINDS

from .colorize import (check_palette, colorize_depth, colorize_labels,
                       colorize_normals, colorize_probability,
                       default_palette, depth_value_range)

#: height in pixels of the text band above each cell.
LABEL_HEIGHT = 20
#: width in pixels of the white separator between two columns.
SEPARATOR_WIDTH = 2
SEPARATOR_RGB = (255, 255, 255)
#: images whose longer side is shorter are enlarged to at least this size.
MIN_CELL_SIZE = 128
#: background of text bands and text-only (classification) cells.
BAND_RGB = (40, 40, 40)
TEXT_RGB = (255, 255, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw_multitask_panel(
        image_rgb: np.ndarray,
        data_sample,
        task_kinds: Mapping[str, str],
        class_palettes: Optional[Mapping[str, Sequence]] = None,
        class_names: Optional[Mapping[str, Sequence[str]]] = None,
        min_cell_size: int = MIN_CELL_SIZE) -> np.ndarray:
    """Draw the input image and every task's ground truth | prediction.

    Args:
        image_rgb: (H, W, 3) uint8 RGB input image, at the resolution of the
            dense maps (the sample's ``ori_shape``).
        data_sample: a :class:`~mmecmt.structures.MultiTaskDataSample` with
            ``pred_<task>`` and optionally ``gt_<task>`` fields in the
            canonical formats of :mod:`mmecmt.structures.tasks`.
        task_kinds: ``{task: kind}``; rows are drawn in this order.
        class_palettes: ``{task: (K, 3) RGB}`` for segmentation tasks;
            default :func:`~mmecmt.visualization.colorize.default_palette`.
        class_names: ``{task: [name of class 0, ...]}`` shown next to class
            indices of classification tasks.
        min_cell_size: enlarge the cells until their longer side has at
            least this many pixels (integer factor, nearest neighbour).

    Returns:
        (T * (LABEL_HEIGHT + s * H), C * s * W + (C - 1) * SEPARATOR_WIDTH,
        3) uint8 RGB, where T is the number of tasks, C = 3 columns (2 without
        any ground truth) and s the enlargement factor
        ``max(1, ceil(min_cell_size / max(H, W)))``. Cell (row r, column c)
        starts at ``y = r * (LABEL_HEIGHT + s * H) + LABEL_HEIGHT``,
        ``x = c * (s * W + SEPARATOR_WIDTH)``.
    """
    image_rgb = _check_image(image_rgb)
    if not task_kinds:
        raise ValueError('task_kinds is empty: nothing to draw')
    for task, kind in task_kinds.items():
        if kind not in TASK_KINDS:
            raise ValueError(f'task {task!r}: unknown kind {kind!r}; valid '
                             f'kinds are {sorted(TASK_KINDS)}')
        if f'gt_{task}' not in data_sample and \
                f'pred_{task}' not in data_sample:
            raise KeyError(
                f'sample {_sample_name(data_sample)} has neither gt_{task} '
                f'nor pred_{task}; its fields: {sorted(data_sample.keys())}')
    class_palettes = dict(class_palettes or {})
    class_names = dict(class_names or {})

    height, width = image_rgb.shape[:2]
    scale = max(1, math.ceil(min_cell_size / max(height, width)))
    cell_h, cell_w = height * scale, width * scale
    has_gt = any(f'gt_{task}' in data_sample for task in task_kinds)
    columns = 3 if has_gt else 2
    row_h = LABEL_HEIGHT + cell_h
    col_w = cell_w + SEPARATOR_WIDTH
    panel = np.zeros(
        (len(task_kinds) * row_h, columns * col_w - SEPARATOR_WIDTH, 3),
        dtype=np.uint8)
    for col in range(1, columns):
        panel[:, col * col_w - SEPARATOR_WIDTH:col * col_w] = SEPARATOR_RGB

    def put_cell(row: int, col: int, label: str, content: np.ndarray):
        top, left = row * row_h, col * col_w
        band = panel[top:top + LABEL_HEIGHT, left:left + cell_w]
        band[:] = BAND_RGB
        _put_text_line(band, label, 0, LABEL_HEIGHT)
        panel[top + LABEL_HEIGHT:top + row_h, left:left + cell_w] = content

    put_cell(0, 0, 'input', _enlarge(image_rgb, scale))
    for row, (task, kind) in enumerate(task_kinds.items()):
        gt, pred = _task_cells(task, kind, data_sample, (height, width),
                               scale, class_palettes.get(task),
                               class_names.get(task))
        if has_gt:
            put_cell(row, 1, f'{task} gt', gt)
        put_cell(row, columns - 1, f'{task} pred', pred)
    return panel


def save_panel(path: str, panel: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 RGB panel as a PNG file (parents created)."""
    if not str(path).lower().endswith('.png'):
        raise ValueError(f'panels are saved as PNG; got the path {path!r}')
    _check_image(panel, 'panel')
    parent = osp.dirname(osp.abspath(path))
    os.makedirs(parent, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(panel[..., ::-1])):
        raise OSError(f'could not write the panel to {path!r}')


# ----------------------------------------------------------------------
# per-task cells
# ----------------------------------------------------------------------
def _task_cells(task, kind, sample, image_hw, scale, palette, names):
    """(gt cell, pred cell), each (scale * H, scale * W, 3) uint8: colour
    maps enlarged by ``scale``, text cells drawn at that size."""
    gt = sample.get(f'gt_{task}')
    pred = sample.get(f'pred_{task}')
    cell_hw = (image_hw[0] * scale, image_hw[1] * scale)
    if kind == 'classification':
        return (_classification_cell(task, gt, 'gt', names, cell_hw),
                _classification_cell(task, pred, 'pred', names, cell_hw))
    gt_map = None if gt is None else _dense_array(gt, f'gt_{task}', image_hw)
    pred_map = None if pred is None else _dense_array(pred, f'pred_{task}',
                                                      image_hw)
    if kind == 'segmentation':
        palette = default_palette() if palette is None else check_palette(
            palette, f'class_palettes[{task!r}]')
        draw = lambda m, name: colorize_labels(m, palette, name)  # noqa: E731
    elif kind == 'depth':
        value_range = depth_value_range(gt_map, pred_map)
        draw = lambda m, name: colorize_depth(m, value_range, name)  # noqa
    elif kind == 'normals':
        draw = colorize_normals
    else:  # edge, saliency
        draw = colorize_probability
    gt_rgb = _text_cell(['no ground truth'], cell_hw) if gt_map is None \
        else _enlarge(draw(gt_map, f'gt_{task}'), scale)
    pred_rgb = _text_cell(['no prediction'], cell_hw) if pred_map is None \
        else _enlarge(draw(pred_map, f'pred_{task}'), scale)
    return gt_rgb, pred_rgb


def _dense_array(field, key: str, image_hw) -> np.ndarray:
    """PixelData -> (C, H, W) NumPy array at the image's (H, W)."""
    if 'data' not in field:
        raise KeyError(f'{key} has no "data" field; its fields: '
                       f'{sorted(field.keys())}')
    array = _to_numpy(field.data)
    if array.ndim != 3 or tuple(array.shape[-2:]) != tuple(image_hw):
        raise ValueError(
            f'{key} has shape {array.shape}; expected (C, {image_hw[0]}, '
            f'{image_hw[1]}) like the input image (ori_shape)')
    return array


def _classification_cell(task, field, which, names, cell_hw) -> np.ndarray:
    if field is None:
        lines = ['no ground truth' if which == 'gt' else 'no prediction']
    else:
        if 'label' not in field:
            raise KeyError(f'{which}_{task} has no "label" field; its fields: '
                           f'{sorted(field.keys())}')
        label = int(_to_numpy(field.label).reshape(-1)[0])
        if which == 'gt' and label == CLS_IGNORE_INDEX:
            lines = ['no label']
        else:
            lines = [f'{which}: {_class_text(task, label, names)}']
            if which == 'pred' and 'score' in field:
                score = _to_numpy(field.score).reshape(-1)
                if not 0 <= label < score.size:
                    raise ValueError(
                        f'pred_{task}: label {label} outside the score '
                        f'vector range [0, {score.size - 1}]')
                lines.append(f'p = {score[label]:.2f}')
    return _text_cell(lines, cell_hw)


def _class_text(task, label: int, names) -> str:
    if names is None:
        return f'class {label}'
    if not 0 <= label < len(names):
        raise ValueError(f'class_names[{task!r}] has {len(names)} names; '
                         f'label {label} is outside [0, {len(names) - 1}]')
    return f'{label} {names[label]}'


# ----------------------------------------------------------------------
# drawing helpers
# ----------------------------------------------------------------------
def _text_cell(lines, cell_hw) -> np.ndarray:
    """A (*cell_hw, 3) BAND_RGB cell with ``lines`` of text."""
    cell = np.empty((*cell_hw, 3), dtype=np.uint8)
    cell[:] = BAND_RGB
    line_h = max(1, min(LABEL_HEIGHT, cell_hw[0] // max(1, len(lines))))
    for i, line in enumerate(lines):
        _put_text_line(cell, line, i * line_h, line_h)
    return cell


def _put_text_line(canvas: np.ndarray, text: str, top: int,
                   height: int) -> None:
    """Write ``text`` in white into rows [top, top + height) of ``canvas``,
    scaled down to fit its width."""
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, 1.0, 1)
    scale = min(0.6, (canvas.shape[1] - 4) / max(text_w, 1),
                (height - 4) / max(text_h + baseline, 1))
    scale = max(scale, 0.2)
    baseline_y = top + height - 2 - int(round(baseline * scale))
    cv2.putText(canvas, text, (2, baseline_y), _FONT, scale, TEXT_RGB, 1,
                cv2.LINE_AA)


def _enlarge(rgb: np.ndarray, scale: int) -> np.ndarray:
    if scale == 1:
        return rgb
    return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)


def _check_image(image, name: str = 'image_rgb') -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'{name} must be an (H, W, 3) uint8 array, got '
                         f'shape {image.shape} dtype {image.dtype}')
    return image


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _sample_name(sample) -> str:
    return repr(sample.metainfo.get('img_path',
                                    sample.metainfo.get('sample_idx', '?')))


def task_kinds_of(task_specs: Mapping) -> Dict[str, str]:
    """``{task: TaskSpec}`` (a model's ``task_specs``) -> ``{task: kind}``."""
    return {name: spec.kind for name, spec in task_specs.items()}
