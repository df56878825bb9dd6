"""Datasets built from configs with full pipelines: what ``ds[i]`` yields."""
import cv2
import numpy as np
import torch
from scipy.io import savemat

from mmecmt.registry import DATASETS

H, W = 16, 20


def make_nyud(root):
    for d in ('gt_sets', 'images', 'segmentation', 'depth', 'normals',
              'edge'):
        (root / d).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    ids = ['0001', '0002']
    (root / 'gt_sets' / 'train.txt').write_text('\n'.join(ids))
    (root / 'gt_sets' / 'val.txt').write_text(ids[0])
    for i in ids:
        cv2.imwrite(str(root / 'images' / f'{i}.jpg'),
                    rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
        seg = rng.choice(np.array([0, 1, 2, 40], np.uint8), size=(H, W))
        cv2.imwrite(str(root / 'segmentation' / f'{i}.png'), seg)
        depth = rng.uniform(0.5, 10, (H, W)).astype(np.float32)
        depth[0] = 0
        np.save(root / 'depth' / f'{i}.npy', depth)
        n = rng.normal(size=(H, W, 3)).astype(np.float32)
        n /= np.linalg.norm(n, axis=-1, keepdims=True)
        n[:, 0] = 0
        np.save(root / 'normals' / f'{i}.npy', n)
        np.save(root / 'edge' / f'{i}.npy',
                (rng.random((H, W)) > 0.8).astype(np.float32))
    return root


TRAIN_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='RandomResize', ratio_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=(12, 14)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackMultiTaskInputs'),
]


def test_nyud_train_pipeline(tmp_path):
    root = make_nyud(tmp_path / 'nyud')
    ds = DATASETS.build(
        dict(type='NYUDv2Dataset', data_root=str(root), split='train',
             pipeline=TRAIN_PIPELINE))
    np.random.seed(0)
    for idx in range(2):
        out = ds[idx]
        inputs, sample = out['inputs'], out['data_samples']
        assert inputs.shape == (3, 12, 14) and inputs.dtype == torch.uint8
        assert sample.gt_semseg.data.shape == (1, 12, 14)
        assert sample.gt_semseg.data.dtype == torch.int64
        # labels: 0 -> 255, 1 -> 0, 2 -> 1, 40 -> 39 (+ 255 crop padding)
        assert set(sample.gt_semseg.data.unique().tolist()) <= {0, 1, 39, 255}
        depth = sample.gt_depth.data
        assert depth.shape == (1, 12, 14) and depth.dtype == torch.float32
        assert ((depth == 0) | ((depth >= 0.5) & (depth <= 10))).all()
        norms = sample.gt_normals.data.norm(dim=0)
        assert sample.gt_normals.data.shape == (3, 12, 14)
        assert torch.allclose(norms[norms > 0], torch.ones(1), atol=1e-5)
        assert set(sample.gt_edge.data.unique().tolist()) <= {0., 1., 255.}
        meta = sample.metainfo
        assert meta['img_shape'] == (12, 14) and meta['ori_shape'] == (H, W)
        assert meta['sample_idx'] == idx and isinstance(meta['flip'], bool)
        assert meta['img_path'].endswith(f'000{idx + 1}.jpg')
    assert set(ds.metainfo['tasks']) == {'semseg', 'depth', 'normals', 'edge'}


def test_nyud_test_pipeline_keeps_gts_at_original_size(tmp_path):
    root = make_nyud(tmp_path / 'nyud')
    ds = DATASETS.build(
        dict(type='NYUDv2Dataset', data_root=str(root), split='val',
             test_mode=True,
             pipeline=[dict(type='LoadImageFromFile'),
                       dict(type='LoadMultiTaskAnnotations'),
                       dict(type='Resize', scale=(40, 32), keep_ratio=True),
                       dict(type='Pad', size_divisor=32),
                       dict(type='PackMultiTaskInputs')]))
    out = ds[0]
    assert out['inputs'].shape == (3, 32, 64)  # (32, 40) padded to 32
    sample = out['data_samples']
    assert sample.gt_semseg.data.shape == (1, H, W)
    assert sample.metainfo['scale_factor'] == (2.0, 2.0)
    assert sample.metainfo['pad_shape'] == (32, 64)
    raw = cv2.imread(str(root / 'segmentation' / '0001.png'), -1)
    expected = np.where(raw == 0, 255, raw.astype(np.int64) - 1)
    np.testing.assert_array_equal(sample.gt_semseg.data[0].numpy(), expected)


def test_pascal_train_pipeline(tmp_path):
    root = tmp_path / 'PASCAL_MT'
    for d in ('ImageSets/Context', 'JPEGImages', 'semseg/pascal-context',
              'human_parts', 'sal_distill', 'normals_distill',
              'pascal-context/trainval'):
        (root / d).mkdir(parents=True)
    (root / 'ImageSets/Context/train.txt').write_text('a\n')
    rng = np.random.default_rng(1)
    cv2.imwrite(str(root / 'JPEGImages/a.jpg'),
                rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
    cv2.imwrite(str(root / 'semseg/pascal-context/a.png'),
                np.full((H, W), 15, np.uint8))
    # PASCAL-Part: one person whose whole left half is 'torso'
    mask = np.zeros((H, W), np.uint8)
    mask[:, :W // 2] = 1
    parts = np.zeros((1, 1), dtype=[('part_name', 'O'), ('mask', 'O')])
    parts[0, 0] = ('torso', mask)
    objs = np.zeros((1, 1), dtype=[('class', 'O'), ('class_ind', 'O'),
                                   ('mask', 'O'), ('parts', 'O')])
    objs[0, 0] = ('person', np.array([[15]], np.uint8), mask, parts)
    anno = np.zeros((1, 1), dtype=[('imname', 'O'), ('objects', 'O')])
    anno[0, 0] = ('a', objs)
    savemat(str(root / 'human_parts/a.mat'), {'anno': anno})
    cv2.imwrite(str(root / 'sal_distill/a.png'),
                np.full((H, W), 200, np.uint8))
    cv2.imwrite(str(root / 'normals_distill/a.png'),
                np.full((H, W, 3), 255, np.uint8))
    label_map = np.ones((H, W), np.uint16)
    label_map[:, W // 2:] = 2
    savemat(str(root / 'pascal-context/trainval/a.mat'),
            {'LabelMap': label_map})
    ds = DATASETS.build(
        dict(type='PascalContextMTDataset', data_root=str(root),
             pipeline=[dict(type='LoadImageFromFile'),
                       dict(type='LoadMultiTaskAnnotations'),
                       dict(type='RandomFlip', prob=1.0),
                       dict(type='PackMultiTaskInputs')]))
    sample = ds[0]['data_samples']
    # flipped: torso (2) now on the right half, background 0 on the left
    parts = sample.gt_parts.data[0]
    assert (parts[:, W // 2:] == 2).all() and (parts[:, :W // 2] == 0).all()
    assert (sample.gt_sal.data == 1).all()
    # (1, 1, 1) / sqrt(3) with x negated by the flip
    n = sample.gt_normals.data
    assert torch.allclose(n[:, 0, 0], torch.tensor([-1., 1., 1.]) / 3**0.5)
    # edge column: one side of the boundary, mirrored
    edge = sample.gt_edge.data[0]
    assert edge.sum().item() == H
    assert (edge[:, W - 1 - (W // 2 - 1)] == 1).all()
