"""NYUDv2Dataset / SynthScenesDataset on tiny hand-written NYUD_MT folders."""
import json
import os.path as osp
import sys
import types

import cv2
import numpy as np
import pytest

from mmecmt.datasets import NYUD_CLASSES, NYUDv2Dataset, SynthScenesDataset
from mmecmt.datasets.transforms import LoadMultiTaskAnnotations

H, W = 4, 5


def _write_sample(root, img_id, seg, depth=None, normals=None, edge=None,
                  sal=None, parts=None):
    for folder in ('images', 'segmentation', 'depth', 'normals', 'edge',
                   'saliency', 'parts', 'gt_sets'):
        (root / folder).mkdir(exist_ok=True)
    img = np.full((H, W, 3), 100, np.uint8)
    cv2.imwrite(str(root / 'images' / f'{img_id}.png'), img)
    cv2.imwrite(str(root / 'segmentation' / f'{img_id}.png'), seg)
    np.save(root / 'depth' / f'{img_id}.npy',
            np.full((H, W), 2.5, np.float32) if depth is None else depth)
    if normals is None:
        normals = np.zeros((H, W, 3), np.float32)
        normals[..., 2] = 1
    np.save(root / 'normals' / f'{img_id}.npy', normals)
    np.save(root / 'edge' / f'{img_id}.npy',
            np.zeros((H, W), np.float32) if edge is None else edge)
    if sal is not None:
        cv2.imwrite(str(root / 'saliency' / f'{img_id}.png'), sal)
    if parts is not None:
        cv2.imwrite(str(root / 'parts' / f'{img_id}.png'), parts)


def _seg():
    seg = np.zeros((H, W), np.uint8)  # 0 = unlabeled
    seg[0, :] = 1      # class 0 (wall)
    seg[1, :] = 40     # class 39
    seg[2, :2] = 5     # class 4
    return seg


@pytest.fixture
def nyud_root(tmp_path):
    root = tmp_path / 'nyud'
    root.mkdir()
    _write_sample(root, 'a', _seg())
    _write_sample(root, 'b', _seg())
    (root / 'gt_sets' / 'train.txt').write_text('a\nb\n')
    (root / 'gt_sets' / 'val.txt').write_text('b\n')
    return root


def _load(data_info):
    results = dict(data_info)
    results['ori_shape'] = (H, W)
    return LoadMultiTaskAnnotations()(results)


def test_nyud_metainfo_and_data_info(nyud_root):
    ds = NYUDv2Dataset(data_root=str(nyud_root), split='train')
    assert len(ds) == 2
    meta = ds.metainfo
    assert meta['tasks'] == dict(
        semseg=dict(kind='segmentation', num_classes=40),
        depth=dict(kind='depth', num_classes=None),
        normals=dict(kind='normals', num_classes=None),
        edge=dict(kind='edge', num_classes=None))
    assert meta['semseg_classes'] == NYUD_CLASSES
    assert meta['classes'] == NYUD_CLASSES
    info = ds.get_data_info(1)
    assert info['img_id'] == 'b' and info['sample_idx'] == 1
    assert info['img_path'] == osp.join(str(nyud_root), 'images', 'b.png')
    assert info['semseg_path'].endswith(osp.join('segmentation', 'b.png'))
    assert info['gt_formats'] == dict(semseg='nyud_semseg_png',
                                      depth='depth_npy',
                                      normals='normals_npy',
                                      edge='edge_npy')
    assert info['task_kinds']['depth'] == 'depth'
    assert len(NYUDv2Dataset(data_root=str(nyud_root), split='val')) == 1


def test_nyud_semseg_decoding(nyud_root):
    ds = NYUDv2Dataset(data_root=str(nyud_root), tasks=('semseg', ))
    results = _load(ds.get_data_info(0))
    gt = results['gt_semseg']
    assert gt.dtype == np.uint8 and gt.shape == (H, W)
    expected = np.full((H, W), 255, np.uint8)
    expected[0, :] = 0
    expected[1, :] = 39
    expected[2, :2] = 4
    np.testing.assert_array_equal(gt, expected)
    assert results['dense_gt_fields'] == ['gt_semseg']
    assert results['task_kinds'] == dict(semseg='segmentation')


def test_nyud_depth_normals_edge_decoding(tmp_path):
    root = tmp_path / 'n'
    root.mkdir()
    depth = np.arange(H * W, dtype=np.float64).reshape(H, W) / 10
    normals = np.zeros((H, W, 3), np.float32)
    normals[0, 0] = (0, 0, 2)         # re-normalised to (0, 0, 1)
    normals[0, 1] = (3, 4, 0)         # -> (0.6, 0.8, 0)
    edge = np.zeros((H, W), np.float32)
    edge[1, 2] = 1
    _write_sample(root, 'x', _seg(), depth=depth, normals=normals, edge=edge)
    (root / 'gt_sets' / 'train.txt').write_text('x\n')
    ds = NYUDv2Dataset(data_root=str(root))
    res = _load(ds.get_data_info(0))
    assert res['gt_depth'].dtype == np.float32
    np.testing.assert_allclose(res['gt_depth'], depth.astype(np.float32))
    np.testing.assert_allclose(res['gt_normals'][0, 0], (0, 0, 1))
    np.testing.assert_allclose(res['gt_normals'][0, 1], (0.6, 0.8, 0),
                               atol=1e-6)
    np.testing.assert_array_equal(res['gt_normals'][1, 1], (0, 0, 0))
    assert res['gt_edge'].dtype == np.uint8
    assert res['gt_edge'].sum() == 1 and res['gt_edge'][1, 2] == 1
    assert sorted(res['dense_gt_fields']) == [
        'gt_depth', 'gt_edge', 'gt_normals', 'gt_semseg']


def test_nyud_unknown_task_and_split(nyud_root):
    with pytest.raises(ValueError, match=r"unknown task 'albedo'.*semseg"):
        NYUDv2Dataset(data_root=str(nyud_root), tasks=('semseg', 'albedo'))
    with pytest.raises(ValueError, match="unknown split 'test'"):
        NYUDv2Dataset(data_root=str(nyud_root), split='test')


def test_nyud_missing_file_names_it(nyud_root):
    (nyud_root / 'depth' / 'b.npy').unlink()
    with pytest.raises(FileNotFoundError, match=r'depth.b\.npy'):
        NYUDv2Dataset(data_root=str(nyud_root))
    # without the depth task the dataset loads
    assert len(NYUDv2Dataset(data_root=str(nyud_root),
                             tasks=('semseg', 'edge'))) == 2


def test_nyud_wrong_shapes_raise(nyud_root):
    np.save(nyud_root / 'depth' / 'a.npy', np.ones((H + 1, W), np.float32))
    np.save(nyud_root / 'normals' / 'a.npy', np.ones((H, W), np.float32))
    ds = NYUDv2Dataset(data_root=str(nyud_root), tasks=('depth', ))
    with pytest.raises(ValueError,
                       match=r'a\.npy has size \(5, 5\).*\(4, 5\)'):
        _load(ds.get_data_info(0))
    ds = NYUDv2Dataset(data_root=str(nyud_root), tasks=('normals', ))
    with pytest.raises(ValueError, match=r'a\.npy: normals must have shape'):
        _load(ds.get_data_info(0))


def test_nyud_corrupt_and_out_of_range_files(nyud_root):
    (nyud_root / 'edge' / 'a.npy').write_bytes(b'not a numpy file')
    ds = NYUDv2Dataset(data_root=str(nyud_root), tasks=('edge', ))
    with pytest.raises(ValueError, match=r'cannot read \.npy file .*a\.npy'):
        _load(ds.get_data_info(0))
    seg = _seg()
    seg[3, 3] = 41  # -> 40, outside 40 classes
    cv2.imwrite(str(nyud_root / 'segmentation' / 'a.png'), seg)
    ds = NYUDv2Dataset(data_root=str(nyud_root), tasks=('semseg', ))
    with pytest.raises(ValueError, match=r'a\.png has labels \[40\]'):
        _load(ds.get_data_info(0))


def test_nyud_configurable_class_count(nyud_root):
    ds = NYUDv2Dataset(data_root=str(nyud_root), tasks=('semseg', ),
                       num_semseg_classes=13)
    assert ds.metainfo['tasks']['semseg']['num_classes'] == 13
    assert ds.metainfo['semseg_classes'][:2] == ('class_0', 'class_1')
    # labels 39 are now out of range
    with pytest.raises(ValueError, match=r'outside \[0, 13\)'):
        _load(ds.get_data_info(0))
    names = tuple('abcdefghijklmnopqrstuvwxyz0123456789ABCD')
    ds = NYUDv2Dataset(data_root=str(nyud_root), tasks=('semseg', ),
                       metainfo=dict(semseg_classes=names))
    assert ds.metainfo['semseg_classes'] == names
    with pytest.raises(ValueError, match='num_semseg_classes=13'):
        NYUDv2Dataset(data_root=str(nyud_root), num_semseg_classes=13,
                      metainfo=dict(semseg_classes=names))
    with pytest.raises(ValueError, match="parts_classes"):
        NYUDv2Dataset(data_root=str(nyud_root), tasks=('parts', ))


# ---------------------------------------------------------------- SynthScenes
def _write_synthscenes(root, part_classes=('head', 'body'),
                       part_key='part_classes'):
    root.mkdir(parents=True, exist_ok=True)
    sal = np.array([[0, 127, 128, 255, 200]] * H, np.uint8)
    parts = np.zeros((H, W), np.uint8)
    parts[0, 0] = 1
    parts[0, 1] = 2
    parts[3, 4] = 255
    seg = np.ones((H, W), np.uint8)
    seg[2, 2] = 3
    _write_sample(root, '000', seg, sal=sal, parts=parts)
    _write_sample(root, '001', seg, sal=sal, parts=parts)
    (root / 'gt_sets' / 'train.txt').write_text('000\n')
    (root / 'gt_sets' / 'val.txt').write_text('001\n')
    (root / 'meta.json').write_text(json.dumps(
        dict(classes=['floor', 'wall', 'box'],
             **{part_key: list(part_classes)})))


def test_synthscenes_reads_meta_and_decodes_sal_parts(tmp_path):
    root = tmp_path / 'synth'
    _write_synthscenes(root)
    ds = SynthScenesDataset(data_root=str(root), split='val',
                            tasks=('semseg', 'sal', 'parts'))
    meta = ds.metainfo
    assert meta['semseg_classes'] == ('floor', 'wall', 'box')
    assert meta['parts_classes'] == ('background', 'head', 'body')
    assert meta['tasks'] == dict(
        semseg=dict(kind='segmentation', num_classes=3),
        sal=dict(kind='saliency', num_classes=None),
        parts=dict(kind='segmentation', num_classes=3))
    res = _load(ds.get_data_info(0))
    assert res['gt_semseg'][0, 0] == 0 and res['gt_semseg'][2, 2] == 2
    # x / 255 > 0.5: 127 -> 0, 128 -> 1
    np.testing.assert_array_equal(res['gt_sal'][0], [0, 0, 1, 1, 1])
    assert res['gt_parts'][0, 0] == 1 and res['gt_parts'][0, 1] == 2
    assert res['gt_parts'][3, 4] == 255 and res['gt_parts'][2, 2] == 0
    assert SynthScenesDataset.DEFAULT_TASKS == ('semseg', 'depth', 'normals',
                                                'edge', 'sal')


def test_synthscenes_part_names_key_and_no_parts(tmp_path):
    root = tmp_path / 'synth'
    # the generator's key: 'part_names', background already first
    _write_synthscenes(root, part_classes=('background', 'head', 'body'),
                       part_key='part_names')
    ds = SynthScenesDataset(data_root=str(root), tasks=('parts', ))
    assert ds.metainfo['parts_classes'] == ('background', 'head', 'body')
    # data generated without parts: the parts task is refused, others load
    _write_synthscenes(root, part_classes=(), part_key='part_names')
    with pytest.raises(ValueError, match=r"'parts'.*no part names"):
        SynthScenesDataset(data_root=str(root), tasks=('semseg', 'parts'))
    ds = SynthScenesDataset(data_root=str(root))
    assert 'parts_classes' not in ds.metainfo
    assert list(ds.metainfo['tasks']) == ['semseg', 'depth', 'normals',
                                          'edge', 'sal']


def test_synthscenes_generate_called_before_loading(tmp_path, monkeypatch):
    root = tmp_path / 'gen'
    calls = []

    def fake_ensure(out_dir, **kwargs):
        calls.append((out_dir, kwargs))
        _write_synthscenes(root)
        return {}

    fake = types.ModuleType('mmecmt.datasets.synthscenes_generator')
    fake.ensure_synthscenes = fake_ensure
    monkeypatch.setitem(sys.modules, 'mmecmt.datasets.synthscenes_generator',
                        fake)
    ds = SynthScenesDataset(
        data_root=str(root),
        generate=dict(num_train=1, num_val=1, height=H, width=W, seed=3))
    assert calls == [(str(root), dict(num_train=1, num_val=1, height=H,
                                      width=W, seed=3))]
    assert len(ds) == 1


def test_synthscenes_without_meta_explains(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'meta\.json.*generate='):
        SynthScenesDataset(data_root=str(tmp_path / 'none'))
