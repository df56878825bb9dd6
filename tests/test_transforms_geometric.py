"""Multi-task geometric transforms: flip, crop, resize, pad."""
import numpy as np
import pytest

from mmecmt.datasets.transforms import (Pad, RandomCrop, RandomFlip,
                                        RandomResize, Resize)

KINDS = dict(semseg='segmentation', depth='depth', normals='normals',
             edge='edge', sal='saliency')


def make_results(h=2, w=3):
    img = np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3)
    semseg = np.arange(h * w, dtype=np.uint8).reshape(h, w)
    depth = np.arange(1, h * w + 1, dtype=np.float32).reshape(h, w)
    normals = np.zeros((h, w, 3), np.float32)
    normals[0, 0] = (0.6, 0.0, 0.8)
    normals[h - 1, 1] = (0.0, -0.6, 0.8)
    edge = np.zeros((h, w), np.uint8)
    edge[0, 0] = 1
    sal = np.ones((h, w), np.uint8)
    return dict(img=img, gt_semseg=semseg, gt_depth=depth,
                gt_normals=normals, gt_edge=edge, gt_sal=sal,
                task_kinds=dict(KINDS), img_shape=(h, w), ori_shape=(h, w),
                dense_gt_fields=[f'gt_{t}' for t in KINDS])


def test_horizontal_flip_mirrors_and_negates_normals_x():
    res = RandomFlip(prob=1.0)(make_results())
    assert res['flip'] is True and res['flip_direction'] == 'horizontal'
    ref = make_results()
    np.testing.assert_array_equal(res['img'], ref['img'][:, ::-1])
    np.testing.assert_array_equal(res['gt_semseg'], [[2, 1, 0], [5, 4, 3]])
    np.testing.assert_array_equal(res['gt_depth'], [[3, 2, 1], [6, 5, 4]])
    np.testing.assert_array_equal(res['gt_edge'], [[0, 0, 1], [0, 0, 0]])
    n = res['gt_normals']
    np.testing.assert_allclose(n[0, 2], (-0.6, 0.0, 0.8))
    np.testing.assert_allclose(n[1, 1], (0.0, -0.6, 0.8))  # x = 0 stays
    np.testing.assert_array_equal(n[0, 0], (0, 0, 0))
    assert not np.signbit(n[..., 0][n[..., 2] == 0]).any()  # no -0.0


def test_vertical_flip_negates_normals_y():
    res = RandomFlip(prob=1.0, direction='vertical')(make_results())
    np.testing.assert_array_equal(res['gt_semseg'], [[3, 4, 5], [0, 1, 2]])
    np.testing.assert_allclose(res['gt_normals'][1, 0], (0.6, 0.0, 0.8))
    np.testing.assert_allclose(res['gt_normals'][0, 1], (0.0, 0.6, 0.8))


def test_flip_prob_zero_keeps_everything():
    res = RandomFlip(prob=0.0)(make_results())
    ref = make_results()
    assert res['flip'] is False and res['flip_direction'] is None
    for key in ref['dense_gt_fields'] + ['img']:
        np.testing.assert_array_equal(res[key], ref[key])
    with pytest.raises(ValueError, match='direction'):
        RandomFlip(direction='diagonal')


def test_crop_pads_with_kind_values():
    res = RandomCrop(crop_size=(4, 5))(make_results())
    assert res['img'].shape == (4, 5, 3) and res['img_shape'] == (4, 5)
    assert (res['img'][2:] == 0).all() and (res['img'][:, 3:] == 0).all()
    np.testing.assert_array_equal(res['img'][:2, :3], make_results()['img'])
    for key, pad in (('gt_semseg', 255), ('gt_edge', 255), ('gt_sal', 255),
                     ('gt_depth', 0), ('gt_normals', 0)):
        gt = res[key]
        assert gt.shape[:2] == (4, 5), key
        assert (gt[2:] == pad).all() and (gt[:, 3:] == pad).all(), key
        np.testing.assert_array_equal(gt[:2, :3], make_results()[key])
    assert res['gt_semseg'].dtype == np.uint8
    assert res['gt_depth'].dtype == np.float32


def test_crop_window_is_shared_and_seeded():
    def run(seed):
        np.random.seed(seed)
        return RandomCrop(crop_size=3)(make_results(6, 7))

    res = run(0)
    ref = make_results(6, 7)
    x0, y0, x1, y1 = res['crop_bbox']
    assert (x1 - x0, y1 - y0) == (3, 3)
    for key in ('img', 'gt_semseg', 'gt_depth', 'gt_normals'):
        np.testing.assert_array_equal(res[key], ref[key][y0:y1, x0:x1])
    assert run(0)['crop_bbox'] == res['crop_bbox']


def test_random_resize_nearest_labels_and_unit_normals():
    rng = np.random.default_rng(0)
    res = make_results(8, 10)
    res['gt_semseg'] = rng.choice(np.array([0, 3, 7, 255], np.uint8),
                                  size=(8, 10))
    normals = rng.normal(size=(8, 10, 3)).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    normals[:2] = 0  # invalid rows
    res['gt_normals'] = normals
    depth_values = set(res['gt_depth'].ravel().tolist())
    out = RandomResize(ratio_range=(1.5, 1.5))(res)
    assert out['img'].shape == (12, 15, 3) and out['img_shape'] == (12, 15)
    assert out['scale_factor'] == (1.5, 1.5)
    assert set(np.unique(out['gt_semseg']).tolist()) == {0, 3, 7, 255}
    assert set(out['gt_depth'].ravel().tolist()) <= depth_values
    norms = np.linalg.norm(out['gt_normals'], axis=-1)
    assert np.allclose(norms[norms > 0], 1, atol=1e-6)
    assert (norms[:3] == 0).all() and (norms[3:] > 0).all()
    assert out['gt_edge'].shape == out['gt_sal'].shape == (12, 15)


def test_random_resize_ratio_is_seeded():
    np.random.seed(1)
    a = RandomResize(ratio_range=(0.5, 2.0))(make_results(10, 10))
    np.random.seed(1)
    b = RandomResize(ratio_range=(0.5, 2.0))(make_results(10, 10))
    assert a['img_shape'] == b['img_shape']
    with pytest.raises(ValueError, match='ratio_range'):
        RandomResize(ratio_range=(2.0, 0.5))


def test_resize_image_only_by_default():
    res = Resize(scale=(10, 8), keep_ratio=True)(make_results(4, 5))
    # factor min(10 / 5, 8 / 4) = 2
    assert res['img'].shape == (8, 10, 3)
    assert res['scale_factor'] == (2.0, 2.0) and res['keep_ratio'] is True
    assert res['gt_semseg'].shape == (4, 5)  # gts stay at original size
    res = Resize(scale=(10, 8), keep_ratio=True, resize_gts=True)(
        make_results(4, 5))
    assert res['gt_semseg'].shape == (8, 10)
    np.testing.assert_array_equal(res['gt_semseg'][::2, ::2],
                                  make_results(4, 5)['gt_semseg'])
    res = Resize(scale=(7, 3), keep_ratio=False)(make_results(4, 5))
    assert res['img'].shape == (3, 7, 3)
    assert res['scale_factor'] == (7 / 5, 3 / 4)


def test_pad_to_size_divisor():
    res = make_results(5, 6)
    res['gt_other_size'] = np.zeros((2, 2), np.uint8)
    res['task_kinds']['other_size'] = 'segmentation'
    res['dense_gt_fields'].append('gt_other_size')
    out = Pad(size_divisor=4)(res)
    assert out['img'].shape == (8, 8, 3) and out['pad_shape'] == (8, 8)
    assert (out['img'][5:] == 0).all() and (out['img'][:, 6:] == 0).all()
    assert (out['gt_semseg'][5:] == 255).all()
    assert (out['gt_semseg'][:, 6:] == 255).all()
    assert (out['gt_depth'][5:] == 0).all()
    assert out['gt_normals'].shape == (8, 8, 3)
    assert out['gt_other_size'].shape == (2, 2)  # not image-sized: kept
    out = Pad(size=(7, 6))(make_results(5, 6))
    assert out['img'].shape == (6, 7, 3)
    with pytest.raises(ValueError, match='exactly one'):
        Pad()


def test_mismatched_gt_size_raises():
    res = make_results(4, 5)
    res['gt_depth'] = np.zeros((3, 5), np.float32)
    with pytest.raises(ValueError, match=r'RandomCrop: gt_depth has size'):
        RandomCrop(crop_size=2)(res)


def test_mmseg_seg_fields_are_transformed():
    res = dict(img=np.zeros((2, 3, 3), np.uint8),
               gt_seg_map=np.array([[0, 1, 2], [3, 4, 5]], np.uint8),
               seg_fields=['gt_seg_map'])
    out = RandomFlip(prob=1.0)(res)
    np.testing.assert_array_equal(out['gt_seg_map'], [[2, 1, 0], [5, 4, 3]])
