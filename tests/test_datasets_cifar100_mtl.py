"""CIFAR100MTLDataset on tiny hand-written cifar-100-python pickles."""
import pickle

import numpy as np
import pytest
import torch

from mmecmt.datasets import CIFAR100MTLDataset
from mmecmt.registry import DATASETS

# superclass 0 (aquatic mammals) and 1 (fish) with the real CIFAR-100 fine
# labels: fine % 5 collides (4, 0, 0, 2, 0) and (1, 2, 2, 3, 1).
FINE_OF = {0: [4, 30, 55, 72, 95], 1: [1, 32, 67, 73, 91]}
_rest = [f for f in range(100) if f not in FINE_OF[0] + FINE_OF[1]]
for _c in range(2, 20):
    FINE_OF[_c] = _rest[(_c - 2) * 5:(_c - 1) * 5]


def _rows(n):
    """(n, 3072) rows: R plane = image index, G = 100, B = 200."""
    data = np.zeros((n, 3, 1024), np.uint8)
    data[:, 0] = np.arange(n)[:, None]
    data[:, 1] = 100
    data[:, 2] = 200
    return data.reshape(n, 3072)


def write_cifar(root, order_seed=0, drop_fine=None):
    d = root / 'cifar-100-python'
    d.mkdir(parents=True)
    pairs = [(c, f) for c in range(20) for f in FINE_OF[c]
             if f != drop_fine]
    rng = np.random.default_rng(order_seed)
    pairs = [pairs[i] for i in rng.permutation(len(pairs))]
    for split in ('train', 'test'):
        content = {
            b'data': _rows(len(pairs)),
            b'fine_labels': [f for _, f in pairs],
            b'coarse_labels': [c for c, _ in pairs],
            b'filenames': [f'{split}_{i}.png'.encode()
                           for i in range(len(pairs))],
        }
        with open(d / split, 'wb') as fh:
            pickle.dump(content, fh)
    meta = {b'fine_label_names': [f'fine{i:02d}'.encode()
                                  for i in range(100)],
            b'coarse_label_names': [f'super{i:02d}'.encode()
                                    for i in range(20)]}
    with open(d / 'meta', 'wb') as fh:
        pickle.dump(meta, fh)
    return pairs


def test_relabelling_and_ignore(tmp_path):
    pairs = write_cifar(tmp_path)
    ds = CIFAR100MTLDataset(data_root=str(tmp_path), split='train')
    assert len(ds) == 100
    meta = ds.metainfo
    assert list(meta['tasks']) == [f'cls_{i:02d}' for i in range(20)]
    assert meta['tasks']['cls_00'] == dict(kind='classification',
                                           num_classes=5)
    assert meta['cls_00_classes'] == ('fine04', 'fine30', 'fine55', 'fine72',
                                      'fine95')
    assert meta['task_superclasses']['cls_01'] == 'super01'
    expected_local = {0: {4: 0, 30: 1, 55: 2, 72: 3, 95: 4},
                      1: {1: 0, 32: 1, 67: 2, 73: 3, 91: 4}}
    seen = {0: set(), 1: set()}
    for idx, (c, f) in enumerate(pairs):
        info = ds.get_data_info(idx)
        own = f'cls_{c:02d}'
        for t in meta['tasks']:
            if t != own:
                assert info[f'{t}_label'] == -1
        if c in expected_local:
            assert info[f'{own}_label'] == expected_local[c][f]
            seen[c].add(info[f'{own}_label'])
    # all five labels used: no fine % 5 collision
    assert seen == {0: set(range(5)), 1: set(range(5))}


def test_image_is_bgr_in_memory(tmp_path):
    write_cifar(tmp_path)
    ds = CIFAR100MTLDataset(data_root=str(tmp_path / 'cifar-100-python'),
                            split='val')
    info = ds.get_data_info(7)
    img = info['img']
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert (img[..., 0] == 200).all() and (img[..., 1] == 100).all()
    assert (img[..., 2] == 7).all()  # R plane = index 7
    assert info['img_shape'] == (32, 32)
    assert info['img_path'].endswith('cifar-100-python/test/test_7.png')


def test_task_subset_keeps_only_their_images(tmp_path):
    write_cifar(tmp_path)
    ds = CIFAR100MTLDataset(data_root=str(tmp_path), tasks=('cls_01',
                                                            'cls_00'))
    assert len(ds) == 10
    assert list(ds.metainfo['tasks']) == ['cls_01', 'cls_00']
    labels = sorted((ds.get_data_info(i)['cls_00_label'],
                     ds.get_data_info(i)['cls_01_label'])
                    for i in range(10))
    assert labels == [(-1, k) for k in range(5)] + [(k, -1) for k in range(5)]
    with pytest.raises(ValueError, match=r"unknown task 'cls_20'"):
        CIFAR100MTLDataset(data_root=str(tmp_path), tasks=('cls_20', ))


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='cifar-100-python'):
        CIFAR100MTLDataset(data_root=str(tmp_path))
    write_cifar(tmp_path, drop_fine=72)
    with pytest.raises(ValueError, match=r'train: superclass 0 has 4 fine '
                       r'classes \[4, 30, 55, 95\], expected 5'):
        CIFAR100MTLDataset(data_root=str(tmp_path))
    (tmp_path / 'cifar-100-python' / 'test').write_bytes(b'garbage')
    with pytest.raises(ValueError, match=r'cannot unpickle .*test'):
        CIFAR100MTLDataset(data_root=str(tmp_path), split='test')


def test_pipeline_packs_labels(tmp_path):
    pairs = write_cifar(tmp_path)
    ds = DATASETS.build(
        dict(type='CIFAR100MTLDataset', data_root=str(tmp_path),
             split='train', tasks=('cls_00', 'cls_01'),
             pipeline=[dict(type='LoadMultiTaskAnnotations'),
                       dict(type='RandomFlip', prob=0.0),
                       dict(type='PackMultiTaskInputs')]))
    out = ds[0]
    inputs, sample = out['inputs'], out['data_samples']
    assert inputs.shape == (3, 32, 32) and inputs.dtype == torch.uint8
    info = ds.get_data_info(0)
    assert sample.gt_cls_00.label.tolist() == [info['cls_00_label']]
    assert sample.gt_cls_01.label.tolist() == [info['cls_01_label']]
    assert sample.gt_cls_00.label.dtype == torch.int64
    assert sorted([sample.gt_cls_00.label.item(),
                   sample.gt_cls_01.label.item()])[0] == -1
    assert sample.metainfo['flip'] is False
    assert sample.metainfo['img_shape'] == (32, 32)
