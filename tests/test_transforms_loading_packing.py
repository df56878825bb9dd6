"""LoadMultiTaskAnnotations, PackMultiTaskInputs and mmseg's photometric
distortion on multi-task results."""
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import LabelData, PixelData

from mmecmt.datasets import get_gt_decoder
from mmecmt.datasets.transforms import (LoadMultiTaskAnnotations,
                                        PackMultiTaskInputs)
from mmecmt.registry import TRANSFORMS
from mmecmt.structures import MultiTaskDataSample


def _results(h=3, w=4):
    img = np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3)
    normals = np.zeros((h, w, 3), np.float32)
    normals[..., 2] = 1
    return dict(
        img=img, img_path='x.jpg', ori_shape=(h, w), img_shape=(h, w),
        sample_idx=4, flip=True, flip_direction='horizontal',
        gt_semseg=np.full((h, w), 7, np.uint8),
        gt_depth=np.full((h, w), 1.5, np.float32),
        gt_normals=normals,
        gt_edge=np.eye(h, w, dtype=np.uint8),
        gt_sal=np.full((h, w), 255, np.uint8),
        gt_cls_03=2,
        task_kinds=dict(semseg='segmentation', depth='depth',
                        normals='normals', edge='edge', sal='saliency',
                        cls_03='classification'),
        dense_gt_fields=['gt_semseg', 'gt_depth', 'gt_normals', 'gt_edge',
                         'gt_sal'])


def test_pack_shapes_and_dtypes():
    out = PackMultiTaskInputs()(_results())
    inputs, sample = out['inputs'], out['data_samples']
    assert inputs.shape == (3, 3, 4) and inputs.dtype == torch.uint8
    # CHW of the (BGR as loaded) image, channel 1 of pixel (0, 1) = 4
    assert inputs[1, 0, 1].item() == 4
    assert isinstance(sample, MultiTaskDataSample)
    assert sample.gt_tasks() == ['cls_03', 'depth', 'edge', 'normals', 'sal',
                                 'semseg']
    expect = dict(semseg=((1, 3, 4), torch.int64),
                  depth=((1, 3, 4), torch.float32),
                  normals=((3, 3, 4), torch.float32),
                  edge=((1, 3, 4), torch.float32),
                  sal=((1, 3, 4), torch.float32))
    for task, (shape, dtype) in expect.items():
        field = getattr(sample, f'gt_{task}')
        assert isinstance(field, PixelData), task
        assert tuple(field.data.shape) == shape, task
        assert field.data.dtype == dtype, task
    assert sample.gt_semseg.data.unique().tolist() == [7]
    assert sample.gt_sal.data.unique().tolist() == [255.0]
    assert sample.gt_normals.data[2].unique().tolist() == [1.0]
    assert sample.gt_edge.data[0, 1, 1].item() == 1.0
    assert isinstance(sample.gt_cls_03, LabelData)
    assert sample.gt_cls_03.label.tolist() == [2]
    assert sample.gt_cls_03.label.dtype == torch.int64
    meta = sample.metainfo
    assert meta['img_path'] == 'x.jpg' and meta['sample_idx'] == 4
    assert meta['flip'] is True and meta['ori_shape'] == (3, 4)
    assert 'pad_shape' not in meta  # only keys present are copied


def test_pack_rejects_bad_gt():
    res = _results()
    res['gt_normals'] = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r'gt_normals \(normals\) must be a '
                       r'3-D array'):
        PackMultiTaskInputs()(res)


def test_load_annotations_subset_and_errors(tmp_path):
    res = dict(gt_formats=dict(cls_00='label', cls_01='label'),
               task_kinds=dict(cls_00='classification',
                               cls_01='classification'),
               task_num_classes=dict(cls_00=5, cls_01=5),
               cls_00_label=3, cls_01_label=-1, img_path='v.png')
    out = LoadMultiTaskAnnotations(tasks=('cls_01', ))(dict(res))
    assert out['gt_cls_01'] == -1 and 'gt_cls_00' not in out
    assert out['task_kinds'] == dict(cls_01='classification')
    assert out['dense_gt_fields'] == []
    with pytest.raises(ValueError, match=r"tasks \['depth'\] are not "
                       r"provided"):
        LoadMultiTaskAnnotations(tasks=('depth', ))(dict(res))
    bad = dict(res, cls_00_label=5)
    with pytest.raises(ValueError, match=r"'cls_00'.*label 5 outside "
                       r"\[0, 5\)"):
        LoadMultiTaskAnnotations()(bad)
    with pytest.raises(KeyError, match='gt_formats'):
        LoadMultiTaskAnnotations()(dict(img_path='v.png'))
    with pytest.raises(KeyError, match="unknown gt format 'tiff_depth'"):
        get_gt_decoder('tiff_depth')
    missing = dict(gt_formats=dict(depth='depth_npy'),
                   task_kinds=dict(depth='depth'),
                   depth_path=str(tmp_path / 'gone.npy'))
    with pytest.raises(FileNotFoundError, match=r'gone\.npy does not exist'):
        LoadMultiTaskAnnotations()(missing)


def test_edge_npy_must_be_binary(tmp_path):
    path = tmp_path / 'e.npy'
    np.save(path, np.array([[0, 0.5], [1, 0]], np.float32))
    res = dict(gt_formats=dict(edge='edge_npy'), task_kinds=dict(edge='edge'),
               edge_path=str(path))
    with pytest.raises(ValueError, match=r'e\.npy: edge map must be binary'):
        LoadMultiTaskAnnotations()(res)


def test_photometric_distortion_from_mmseg_changes_image_only():
    with DefaultScope.overwrite_default_scope('mmecmt'):
        t = TRANSFORMS.build(dict(type='PhotoMetricDistortion'))
    assert type(t).__module__.startswith('mmseg.')
    rng = np.random.default_rng(0)
    res = _results(8, 8)
    res['img'] = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    before = {k: v.copy() for k, v in res.items()
              if isinstance(v, np.ndarray)}
    np.random.seed(3)
    changed = False
    for _ in range(5):  # each distortion is applied with p = 0.5
        out = t(dict(res, img=before['img'].copy()))
        changed |= not np.array_equal(out['img'], before['img'])
        assert out['img'].shape == (8, 8, 3) and out['img'].dtype == np.uint8
        for key, value in before.items():
            if key != 'img':
                np.testing.assert_array_equal(out[key], value)
    assert changed
