"""PascalContextMTDataset and the PASCAL_MT decoders on tiny files."""
import math

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from mmecmt.datasets import (HUMAN_PART_CLASSES,
                             MTL_NORMALS_VALID_CONTEXT_LABELS,
                             PASCAL_MT_SEMSEG_CLASSES, PascalContextMTDataset)
from mmecmt.datasets.pascal_decoders import edges_from_label_map
from mmecmt.datasets.transforms import LoadMultiTaskAnnotations

H, W = 4, 5


def write_part_mat(path, objects, imname='img'):
    """PASCAL-Part ``anno`` struct: objects = [(class_ind, mask, parts)],
    parts = [(name, mask)]."""
    obj_dtype = [('class', 'O'), ('class_ind', 'O'), ('mask', 'O'),
                 ('parts', 'O')]
    objs = np.zeros((1, len(objects)), dtype=obj_dtype)
    for i, (class_ind, mask, parts) in enumerate(objects):
        if parts:
            parr = np.zeros((1, len(parts)),
                            dtype=[('part_name', 'O'), ('mask', 'O')])
            for j, (name, part_mask) in enumerate(parts):
                parr[0, j] = (name, part_mask.astype(np.uint8))
        else:
            parr = np.zeros((0, 0))
        objs[0, i] = ('obj', np.array([[class_ind]], np.uint8),
                      mask.astype(np.uint8), parr)
    anno = np.zeros((1, 1), dtype=[('imname', 'O'), ('objects', 'O')])
    anno[0, 0] = (imname, objs)
    savemat(str(path), {'anno': anno})


def _mask(*pixels):
    m = np.zeros((H, W), bool)
    for y, x in pixels:
        m[y, x] = True
    return m


PERSON_PARTS = [
    ('hair', _mask((0, 0))), ('nose', _mask((0, 1))),     # head -> 1
    ('neck', _mask((1, 0))), ('torso', _mask((1, 1))),    # torso -> 2
    ('ruarm', _mask((2, 0))),                             # upper arm -> 3
    ('llarm', _mask((2, 1))), ('lhand', _mask((2, 2))),   # lower arm -> 4
    ('luleg', _mask((3, 0))),                             # upper leg -> 5
    ('rlleg', _mask((3, 1))), ('rfoot', _mask((3, 2))),   # lower leg -> 6
]
PERSON_MASK = _mask(*[(y, x) for y in range(4) for x in range(3)])
EXPECTED_PARTS = np.array([[1, 1, 0, 0, 0],
                           [2, 2, 0, 0, 0],
                           [3, 4, 4, 0, 0],
                           [5, 6, 6, 0, 0]], np.uint8)
LABEL_MAP = np.array([[1, 1, 3, 3, 3],
                      [1, 1, 3, 3, 3],
                      [9, 9, 9, 9, 9],
                      [9, 9, 9, 9, 9]], np.uint16)


def _bgr(rgb):
    return np.ascontiguousarray(np.asarray(rgb, np.uint8)[..., ::-1])


def make_pascal(root, ids=('2008_000001', '2008_000002')):
    for d in ('ImageSets/Context', 'JPEGImages', 'semseg/pascal-context',
              'semseg/VOC12', 'human_parts', 'sal_distill', 'normals_distill',
              'pascal-context/trainval'):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / 'ImageSets/Context/train.txt').write_text('\n'.join(ids) + '\n')
    (root / 'ImageSets/Context/val.txt').write_text(ids[0] + '\n')
    for k, img_id in enumerate(ids):
        cv2.imwrite(str(root / 'JPEGImages' / f'{img_id}.jpg'),
                    np.full((H, W, 3), 90, np.uint8))
        seg = np.zeros((H, W), np.uint8)
        seg[:, 0] = 15
        seg[0, 4] = 255
        # first id in pascal-context/, second only in the VOC12 fallback
        folder = 'semseg/pascal-context' if k == 0 else 'semseg/VOC12'
        cv2.imwrite(str(root / folder / f'{img_id}.png'), seg)
        objects = [(3, _mask((0, 4)), [])]
        if k == 0:
            objects.append((15, PERSON_MASK, PERSON_PARTS))
        write_part_mat(root / 'human_parts' / f'{img_id}.mat', objects)
        sal = np.array([[0, 127, 128, 255, 10]] * H, np.uint8)
        cv2.imwrite(str(root / 'sal_distill' / f'{img_id}.png'), sal)
        normals = np.zeros((H, W, 3), np.uint8)  # (0, 0, 0) = invalid
        normals[0, 0] = (255, 0, 128)
        normals[0, 2] = (128, 128, 255)
        normals[1, 1] = (255, 255, 255)
        cv2.imwrite(str(root / 'normals_distill' / f'{img_id}.png'),
                    _bgr(normals))
        savemat(str(root / 'pascal-context/trainval' / f'{img_id}.mat'),
                {'LabelMap': LABEL_MAP})
    return root


def _load(ds, idx):
    results = dict(ds.get_data_info(idx))
    results['ori_shape'] = (H, W)
    return LoadMultiTaskAnnotations()(results)


@pytest.fixture
def pascal_root(tmp_path):
    return make_pascal(tmp_path / 'PASCAL_MT')


def test_metainfo(pascal_root):
    ds = PascalContextMTDataset(data_root=str(pascal_root))
    assert len(ds) == 2
    assert ds.metainfo['tasks'] == dict(
        semseg=dict(kind='segmentation', num_classes=21),
        parts=dict(kind='segmentation', num_classes=7),
        sal=dict(kind='saliency', num_classes=None),
        normals=dict(kind='normals', num_classes=None),
        edge=dict(kind='edge', num_classes=None))
    assert ds.metainfo['semseg_classes'] == PASCAL_MT_SEMSEG_CLASSES
    assert ds.metainfo['parts_classes'] == HUMAN_PART_CLASSES == (
        'background', 'head', 'torso', 'upper_arms', 'lower_arms',
        'upper_legs', 'lower_legs')
    info = ds.get_data_info(1)
    assert info['semseg_path'].endswith('semseg/VOC12/2008_000002.png')
    assert info['edge_path'].endswith(
        'pascal-context/trainval/2008_000002.mat')


def test_semseg_and_saliency(pascal_root):
    ds = PascalContextMTDataset(data_root=str(pascal_root),
                                tasks=('semseg', 'sal'))
    res = _load(ds, 0)
    expected = np.zeros((H, W), np.uint8)
    expected[:, 0] = 15
    expected[0, 4] = 255
    np.testing.assert_array_equal(res['gt_semseg'], expected)
    # x / 255 > 0.5
    np.testing.assert_array_equal(res['gt_sal'],
                                  [[0, 0, 1, 1, 0]] * H)


def test_palette_semseg_png_gives_indices(pascal_root):
    """VOC label maps are palette PNGs: the indices are the labels."""
    from PIL import Image
    labels = np.zeros((H, W), np.uint8)
    labels[1, :] = 15
    labels[2, 2] = 255
    img = Image.frombytes('P', (W, H), labels.tobytes())
    palette = [0] * 768
    palette[15 * 3:15 * 3 + 3] = (192, 128, 128)  # VOC 'person' colour
    img.putpalette(palette)
    img.save(pascal_root / 'semseg/pascal-context/2008_000001.png')
    ds = PascalContextMTDataset(data_root=str(pascal_root),
                                tasks=('semseg', ))
    np.testing.assert_array_equal(_load(ds, 0)['gt_semseg'], labels)


def test_human_parts_mapping(pascal_root):
    ds = PascalContextMTDataset(data_root=str(pascal_root), tasks=('parts', ))
    res = _load(ds, 0)
    np.testing.assert_array_equal(res['gt_parts'], EXPECTED_PARTS)
    # image without a person: all ignore
    res = _load(ds, 1)
    np.testing.assert_array_equal(res['gt_parts'],
                                  np.full((H, W), 255, np.uint8))


def test_human_parts_unknown_name_and_no_object(tmp_path, pascal_root):
    path = pascal_root / 'human_parts' / '2008_000001.mat'
    write_part_mat(path, [(15, PERSON_MASK, [('tail', _mask((0, 0)))])])
    ds = PascalContextMTDataset(data_root=str(pascal_root), tasks=('parts', ))
    with pytest.raises(ValueError, match=r"2008_000001\.mat: unknown person "
                       r"part name 'tail'"):
        _load(ds, 0)
    # a file without any object: size taken from the image
    write_part_mat(path, [])
    res = _load(ds, 0)
    np.testing.assert_array_equal(res['gt_parts'],
                                  np.full((H, W), 255, np.uint8))


def test_normals_decoding(pascal_root):
    ds = PascalContextMTDataset(data_root=str(pascal_root),
                                tasks=('normals', ))
    n = _load(ds, 0)['gt_normals']
    assert n.dtype == np.float32 and n.shape == (H, W, 3)
    # (255, 0, 128) -> (1, -1, 1/255), normalised; channel 0 = R = x
    norm = math.sqrt(2 + (1 / 255)**2)
    np.testing.assert_allclose(n[0, 0], (1 / norm, -1 / norm,
                                         1 / 255 / norm), atol=1e-6)
    np.testing.assert_allclose(n[1, 1], [1 / math.sqrt(3)] * 3, atol=1e-6)
    norm = math.sqrt(1 + 2 * (1 / 255)**2)
    np.testing.assert_allclose(n[0, 2], (1 / 255 / norm, 1 / 255 / norm,
                                         1 / norm), atol=1e-6)
    # (0, 0, 0) -> invalid zero vector
    np.testing.assert_array_equal(n[3, 4], (0, 0, 0))
    valid = np.linalg.norm(n, axis=-1) > 0
    assert valid.sum() == 3


def test_normals_valid_labels_mtl(pascal_root):
    assert 3 in MTL_NORMALS_VALID_CONTEXT_LABELS  # air conditioner
    assert 1 not in MTL_NORMALS_VALID_CONTEXT_LABELS  # accordion
    assert 427 in MTL_NORMALS_VALID_CONTEXT_LABELS  # tvmonitor
    assert len(MTL_NORMALS_VALID_CONTEXT_LABELS) == 170
    ds = PascalContextMTDataset(data_root=str(pascal_root),
                                tasks=('normals', ),
                                normals_valid_labels='mtl')
    n = _load(ds, 0)['gt_normals']
    # label 1 at (0, 0) and (1, 1) -> invalid; label 3 at (0, 2) kept
    np.testing.assert_array_equal(n[0, 0], 0)
    np.testing.assert_array_equal(n[1, 1], 0)
    assert abs(np.linalg.norm(n[0, 2]) - 1) < 1e-6
    with pytest.raises(ValueError, match='normals_valid_labels'):
        PascalContextMTDataset(data_root=str(pascal_root),
                               normals_valid_labels='nyud')


def test_edges_from_label_map(pascal_root):
    expected = np.array([[0, 1, 0, 0, 0],
                         [1, 1, 1, 1, 1],
                         [0, 0, 0, 0, 0],
                         [0, 0, 0, 0, 0]], np.uint8)
    np.testing.assert_array_equal(edges_from_label_map(LABEL_MAP), expected)
    ds = PascalContextMTDataset(data_root=str(pascal_root), tasks=('edge', ))
    np.testing.assert_array_equal(_load(ds, 0)['gt_edge'], expected)


def test_errors_name_file(pascal_root):
    (pascal_root / 'sal_distill' / '2008_000002.png').unlink()
    with pytest.raises(FileNotFoundError,
                       match=r'sal_distill.2008_000002\.png'):
        PascalContextMTDataset(data_root=str(pascal_root))
    (pascal_root / 'semseg/VOC12/2008_000002.png').unlink()
    with pytest.raises(FileNotFoundError, match=r'neither .*2008_000002'):
        PascalContextMTDataset(data_root=str(pascal_root), tasks=('semseg', ))
    savemat(str(pascal_root / 'pascal-context/trainval/2008_000001.mat'),
            {'Labels': LABEL_MAP})
    ds = PascalContextMTDataset(data_root=str(pascal_root), tasks=('edge', ))
    with pytest.raises(KeyError, match=r"2008_000001\.mat: no key 'LabelMap'"):
        _load(ds, 0)
    (pascal_root / 'normals_distill' / '2008_000001.png').write_bytes(b'xx')
    ds = PascalContextMTDataset(data_root=str(pascal_root),
                                tasks=('normals', ))
    with pytest.raises(ValueError, match=r'cannot decode .*2008_000001\.png'):
        _load(ds, 0)
    with pytest.raises(ValueError, match=r"unknown task 'depth'.*'semseg'"):
        PascalContextMTDataset(data_root=str(pascal_root), tasks=('depth', ))
