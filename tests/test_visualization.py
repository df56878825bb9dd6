"""Panels of ground truth | prediction and the hook that saves them."""
import os
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import LabelData, PixelData

from mmecmt.engine.hooks import MultiTaskVisualizationHook
from mmecmt.registry import HOOKS
from mmecmt.structures import MultiTaskDataSample, TaskSpec
from mmecmt.visualization import (BINARY_IGNORE_RGB, colorize_depth,
                                  colorize_labels, colorize_normals,
                                  colorize_probability, default_palette,
                                  draw_multitask_panel, save_panel)
from mmecmt.visualization.panel import (BAND_RGB, LABEL_HEIGHT,
                                        SEPARATOR_RGB, SEPARATOR_WIDTH)

H, W = 6, 8
KINDS = dict(
    semseg='segmentation',
    depth='depth',
    normals='normals',
    edge='edge',
    cls='classification')
# viridis at 0 and 1: (0.267004, 0.004874, 0.329415), (0.993248, 0.906157,
# 0.143936) times 255, rounded.
VIRIDIS_LOW = (68, 1, 84)
VIRIDIS_HIGH = (253, 231, 37)


def make_sample(with_gt=True, img_path=None, sample_idx=None):
    """A 6x8 sample with known values; see the comments for each task."""
    meta = dict(ori_shape=(H, W), img_shape=(H, W))
    if img_path is not None:
        meta['img_path'] = img_path
    if sample_idx is not None:
        meta['sample_idx'] = sample_idx
    sample = MultiTaskDataSample(metainfo=meta)
    # semseg: gt row 0 ignore, rest class 2; pred all class 0.
    seg = torch.full((1, H, W), 2, dtype=torch.long)
    seg[0, 0] = 255
    sample.pred_semseg = PixelData(data=torch.zeros(1, H, W, dtype=torch.long))
    # depth: gt 1 m, pixel (0, 0) invalid (0), pixel (5, 7) 3 m; pred 2 m
    # except pixel (1, 1) = 3 m -> shared range [1, 3].
    depth = torch.ones(1, H, W)
    depth[0, 0, 0] = 0
    depth[0, 5, 7] = 3
    pred_depth = torch.full((1, H, W), 2.0)
    pred_depth[0, 1, 1] = 3.0
    sample.pred_depth = PixelData(data=pred_depth)
    # normals: pred (0, 0, 1) everywhere; gt (1, 0, 0) with (0, 0) invalid.
    pred_n = torch.zeros(3, H, W)
    pred_n[2] = 1
    gt_n = torch.zeros(3, H, W)
    gt_n[0] = 1
    gt_n[:, 0, 0] = 0
    sample.pred_normals = PixelData(data=pred_n)
    # edge: pred 0.5; gt 1 with pixel (0, 0) ignore (255) and (0, 1) = 0.
    edge = torch.ones(1, H, W)
    edge[0, 0, 0] = 255
    edge[0, 0, 1] = 0
    sample.pred_edge = PixelData(data=torch.full((1, H, W), 0.5))
    sample.pred_cls = LabelData(
        label=torch.tensor([1]), score=torch.tensor([0.2, 0.7, 0.1]))
    if with_gt:
        sample.gt_semseg = PixelData(data=seg)
        sample.gt_depth = PixelData(data=depth)
        sample.gt_normals = PixelData(data=gt_n)
        sample.gt_edge = PixelData(data=edge)
        sample.gt_cls = LabelData(label=torch.tensor([2]))
    return sample


def make_image(value=(10, 20, 30)):
    image = np.zeros((H, W, 3), dtype=np.uint8)
    image[:] = value
    image[0, 0] = (200, 100, 50)
    return image


def cell(panel, row, col, height=H, width=W):
    """Cell (row, col) of a panel drawn with scale 1."""
    top = row * (LABEL_HEIGHT + height) + LABEL_HEIGHT
    left = col * (width + SEPARATOR_WIDTH)
    return panel[top:top + height, left:left + width]


# ----------------------------------------------------------------------
# colour maps
# ----------------------------------------------------------------------
def test_default_palette_is_voc_shifted_by_one():
    np.testing.assert_array_equal(
        default_palette(4),
        [[128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128]])
    assert not np.any(np.all(default_palette() == 0, axis=1))  # none black


def test_colorize_labels_ignore_black_and_range_checked():
    rgb = colorize_labels(np.array([[0, 255], [1, 0]]))
    assert rgb[0, 0].tolist() == [128, 0, 0]
    assert rgb[0, 1].tolist() == [0, 0, 0]
    assert rgb[1, 0].tolist() == [0, 128, 0]
    with pytest.raises(ValueError, match=r'class 3.*\[0, 2\]'):
        colorize_labels(np.array([[3]]), default_palette(3), 'gt_semseg')


def test_colorize_depth_shared_range_and_invalid():
    rgb = colorize_depth(np.array([[0.0, 1.0, 3.0]]), (1.0, 3.0))
    assert rgb[0].tolist() == [[0, 0, 0], list(VIRIDIS_LOW),
                               list(VIRIDIS_HIGH)]
    with pytest.raises(ValueError, match='outside value_range'):
        colorize_depth(np.array([[5.0]]), (1.0, 3.0))


def test_colorize_normals_and_probability():
    normals = np.zeros((3, 1, 3))
    normals[:, 0, 0] = (0, 0, 1)
    normals[:, 0, 1] = (-1, 1, 0)
    rgb = colorize_normals(normals)
    # (n + 1) / 2 * 255 = 127.5 -> 128 (rounded half to even), 1 -> 255.
    assert rgb[0].tolist() == [[128, 128, 255], [0, 255, 128], [0, 0, 0]]
    grey = colorize_probability(np.array([[0.0, 0.5, 1.0, 255]]))
    assert grey[0].tolist() == [[0, 0, 0], [128, 128, 128],
                                [255, 255, 255], list(BINARY_IGNORE_RGB)]
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        colorize_probability(np.array([[1.5]]), 'pred_edge')


# ----------------------------------------------------------------------
# panel
# ----------------------------------------------------------------------
def test_panel_layout_size():
    sample = make_sample()
    panel = draw_multitask_panel(make_image(), sample, KINDS, min_cell_size=1)
    # 5 task rows of (20 + 6); 3 columns of 8 with two 2-px separators.
    assert panel.shape == (5 * (LABEL_HEIGHT + H), 3 * W + 2 * 2, 3)
    assert panel.dtype == np.uint8
    # default min_cell_size 128: scale ceil(128 / 8) = 16 -> 96 x 128 cells
    panel = draw_multitask_panel(make_image(), sample, KINDS)
    assert panel.shape == (5 * (LABEL_HEIGHT + 96), 3 * 128 + 2 * 2, 3)
    # two tasks only
    panel = draw_multitask_panel(
        make_image(), sample, dict(depth='depth', cls='classification'),
        min_cell_size=1)
    assert panel.shape == (2 * (LABEL_HEIGHT + H), 3 * W + 4, 3)


def test_panel_pixel_colours():
    image = make_image()
    panel = draw_multitask_panel(image, make_sample(), KINDS, min_cell_size=1)
    np.testing.assert_array_equal(cell(panel, 0, 0), image)  # input
    assert not cell(panel, 1, 0).any()  # blank below the input
    assert panel[0, W].tolist() == list(SEPARATOR_RGB)
    assert panel[0, W + SEPARATOR_WIDTH + 1].tolist() == list(BAND_RGB)
    # semseg: gt row 0 ignored -> black, class 2 -> VOC colour 3; pred 0.
    gt, pred = cell(panel, 0, 1), cell(panel, 0, 2)
    assert (gt[0] == 0).all()
    assert (gt[1:] == (128, 128, 0)).all()
    assert (pred == (128, 0, 0)).all()
    # depth: shared range [1, 3] m
    gt, pred = cell(panel, 1, 1), cell(panel, 1, 2)
    assert gt[0, 0].tolist() == [0, 0, 0]
    assert gt[0, 1].tolist() == list(VIRIDIS_LOW)
    assert gt[5, 7].tolist() == list(VIRIDIS_HIGH)
    assert pred[1, 1].tolist() == list(VIRIDIS_HIGH)
    # 2 m is the middle of [1, 3]: viridis at index round(0.5 * 255) = 128
    from matplotlib import colormaps
    mid = np.round(colormaps['viridis'](128 / 255)[:3] * np.array(255.0))
    assert pred[0, 0].tolist() == mid.astype(int).tolist()
    # normals: pred (0, 0, 1) -> (128, 128, 255); gt (1, 0, 0) -> (255,
    # 128, 128) except the invalid zero vector -> black
    gt, pred = cell(panel, 2, 1), cell(panel, 2, 2)
    assert (pred == (128, 128, 255)).all()
    assert gt[0, 0].tolist() == [0, 0, 0]
    assert gt[3, 3].tolist() == [255, 128, 128]
    # edge: gt 1 -> white, 0 -> black, ignore -> dark blue; pred 0.5 -> 128
    gt, pred = cell(panel, 3, 1), cell(panel, 3, 2)
    assert gt[0, 0].tolist() == list(BINARY_IGNORE_RGB)
    assert gt[0, 1].tolist() == [0, 0, 0]
    assert gt[2, 2].tolist() == [255, 255, 255]
    assert (pred == 128).all()


def test_panel_classification_text_cells():
    sample = make_sample()
    panel = draw_multitask_panel(
        make_image(), sample, dict(cls='classification'))
    cell_h, cell_w = 96, 128
    gt = panel[LABEL_HEIGHT:LABEL_HEIGHT + cell_h,
               cell_w + SEPARATOR_WIDTH:2 * cell_w + SEPARATOR_WIDTH]
    pred = panel[LABEL_HEIGHT:, 2 * (cell_w + SEPARATOR_WIDTH):]
    for text_cell in (gt, pred):
        assert text_cell[-1, -1].tolist() == list(BAND_RGB)
        assert text_cell.max() == 255  # white text drawn
    # text lines are LABEL_HEIGHT high: the gt has one ('gt: class 2'), the
    # prediction two ('pred: class 1', 'p = 0.70')
    assert (gt[:LABEL_HEIGHT] > 200).any()
    assert (pred[LABEL_HEIGHT:2 * LABEL_HEIGHT] > 200).any()
    assert not (gt[LABEL_HEIGHT:2 * LABEL_HEIGHT] > 200).any()
    with pytest.raises(ValueError, match=r'label 2 is outside \[0, 1\]'):
        draw_multitask_panel(
            make_image(), sample, dict(cls='classification'),
            class_names=dict(cls=['a', 'b']))


def test_panel_prediction_only():
    panel = draw_multitask_panel(
        make_image(), make_sample(with_gt=False), KINDS, min_cell_size=1)
    assert panel.shape == (5 * (LABEL_HEIGHT + H), 2 * W + 2, 3)
    assert (cell(panel, 2, 1) == (128, 128, 255)).all()  # normals pred


def test_panel_bad_input():
    sample = make_sample()
    with pytest.raises(ValueError, match="unknown kind 'flow'"):
        draw_multitask_panel(make_image(), sample, dict(semseg='flow'))
    with pytest.raises(KeyError, match='gt_sal nor pred_sal'):
        draw_multitask_panel(make_image(), sample, dict(sal='saliency'))
    big = np.zeros((H + 1, W, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r'gt_semseg has shape'):
        draw_multitask_panel(big, sample, dict(semseg='segmentation'))
    with pytest.raises(ValueError, match='uint8'):
        draw_multitask_panel(make_image().astype(np.float32), sample, KINDS)


def test_save_panel_roundtrip(tmp_path):
    panel = draw_multitask_panel(
        make_image(), make_sample(), KINDS, min_cell_size=1)
    path = str(tmp_path / 'sub' / 'x.png')
    save_panel(path, panel)
    loaded = cv2.imread(path, cv2.IMREAD_COLOR)[..., ::-1]
    np.testing.assert_array_equal(loaded, panel)
    with pytest.raises(ValueError, match='PNG'):
        save_panel(str(tmp_path / 'x.jpg'), panel)


# ----------------------------------------------------------------------
# hook
# ----------------------------------------------------------------------
def fake_runner(work_dir):
    specs = {
        name: TaskSpec(name, kind, 3 if kind in ('segmentation',
                                                 'classification') else None)
        for name, kind in KINDS.items()
    }
    return SimpleNamespace(
        model=SimpleNamespace(task_specs=specs),
        work_dir=str(work_dir),
        timestamp='20240101_000000',
        iter=7)


def test_hook_is_registered():
    hook = HOOKS.build(
        dict(type='MultiTaskVisualizationHook', draw=True, show_dir='x'))
    assert isinstance(hook, MultiTaskVisualizationHook)
    with pytest.raises(ValueError, match='interval'):
        MultiTaskVisualizationHook(interval=0)


def test_hook_writes_one_png_per_sample(tmp_path):
    image_dir = tmp_path / 'images'
    image_dir.mkdir()
    bgr = make_image()[..., ::-1]
    cv2.imwrite(str(image_dir / 'a.jpg.png'), bgr)
    cv2.imwrite(str(image_dir / 'b.png'), bgr)
    outputs = [
        make_sample(img_path=str(image_dir / 'a.jpg.png')),
        make_sample(img_path=str(image_dir / 'b.png'))
    ]
    runner = fake_runner(tmp_path / 'work')
    hook = MultiTaskVisualizationHook(draw=True, show_dir='vis',
                                      min_cell_size=1)
    hook.after_test_iter(runner, 0, dict(inputs=[]), outputs)
    out_dir = tmp_path / 'work' / '20240101_000000' / 'vis'
    assert sorted(os.listdir(out_dir)) == ['a.jpg.png', 'b.png']
    panel = cv2.imread(str(out_dir / 'b.png'))[..., ::-1]
    assert panel.shape == (5 * (LABEL_HEIGHT + H), 3 * W + 4, 3)
    np.testing.assert_array_equal(cell(panel, 0, 0), make_image())
    assert (cell(panel, 2, 2) == (128, 128, 255)).all()


def test_hook_in_memory_images_absolute_dir_and_resize(tmp_path):
    # CIFAR-like: no img_path; the input (3, 3, 4) BGR is resized to 6x8.
    sample = make_sample(sample_idx=5)
    bgr = torch.zeros(3, 3, 4, dtype=torch.uint8)
    bgr[0], bgr[1], bgr[2] = 30, 20, 10  # B, G, R
    runner = fake_runner(tmp_path / 'work')
    show_dir = str(tmp_path / 'abs_vis')
    hook = MultiTaskVisualizationHook(draw=True, show_dir=show_dir,
                                      min_cell_size=1)
    hook.after_test_iter(runner, 3, dict(inputs=[bgr]), [sample])
    assert os.listdir(show_dir) == ['sample_5.png']
    panel = cv2.imread(osp.join(show_dir, 'sample_5.png'))[..., ::-1]
    assert (cell(panel, 0, 0) == (10, 20, 30)).all()  # RGB, full 6x8
    # without sample_idx: batch<b>_<i>
    del sample.sample_idx
    hook.after_test_iter(runner, 3, dict(inputs=[bgr]), [sample])
    assert sorted(os.listdir(show_dir)) == ['batch3_0.png', 'sample_5.png']


def test_hook_draw_interval_and_val(tmp_path):
    runner = fake_runner(tmp_path)
    bgr = torch.zeros(3, H, W, dtype=torch.uint8)
    batch = dict(inputs=[bgr])
    off = MultiTaskVisualizationHook(draw=False, show_dir='off')
    off.after_test_iter(runner, 0, batch, [make_sample(sample_idx=0)])
    off.after_val_iter(runner, 0, batch, [make_sample(sample_idx=0)])
    assert not (tmp_path / '20240101_000000').exists()
    hook = MultiTaskVisualizationHook(draw=True, interval=2, show_dir='v',
                                      min_cell_size=1)
    for batch_idx in range(4):  # draws batches 1 and 3
        hook.after_test_iter(runner, batch_idx, batch,
                             [make_sample(sample_idx=batch_idx)])
    hook.after_val_iter(runner, 1, batch, [make_sample(sample_idx=9)])
    out_dir = tmp_path / '20240101_000000' / 'v'
    assert sorted(os.listdir(out_dir)) == [
        'sample_1.png', 'sample_3.png', 'val_iter_7'
    ]
    assert os.listdir(out_dir / 'val_iter_7') == ['sample_9.png']


def test_hook_errors(tmp_path):
    runner = fake_runner(tmp_path)
    hook = MultiTaskVisualizationHook(draw=True, show_dir='v')
    missing = str(tmp_path / 'missing.jpg')
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        hook.after_test_iter(runner, 0, {}, [make_sample(img_path=missing)])
    with pytest.raises(KeyError, match='no img_path'):
        hook.after_test_iter(runner, 0, dict(inputs=[]), [make_sample()])
    runner.model = SimpleNamespace()
    with pytest.raises(AttributeError, match='task_specs'):
        hook.after_test_iter(runner, 0, {}, [make_sample()])


def test_hook_class_names_from_dataset_metainfo(tmp_path):
    runner = fake_runner(tmp_path)
    runner.test_dataloader = SimpleNamespace(
        dataset=SimpleNamespace(metainfo=dict(cls_classes=['a', 'b', 'c'])))
    bgr = torch.zeros(3, H, W, dtype=torch.uint8)
    hook = MultiTaskVisualizationHook(draw=True, show_dir='v')
    hook.after_test_iter(runner, 0, dict(inputs=[bgr]),
                         [make_sample(sample_idx=0)])
    saved = cv2.imread(str(tmp_path / '20240101_000000' / 'v' /
                           'sample_0.png'))[..., ::-1]
    image = np.zeros((H, W, 3), dtype=np.uint8)
    kinds = {task: spec.kind for task, spec in runner.model.task_specs.items()}
    named = draw_multitask_panel(image, make_sample(), kinds,
                                 class_names=dict(cls=['a', 'b', 'c']))
    unnamed = draw_multitask_panel(image, make_sample(), kinds)
    np.testing.assert_array_equal(saved, named)
    assert (named != unnamed).any()  # 'class 1' vs '1 b'
