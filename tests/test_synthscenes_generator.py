"""Tests of the SynthScenes generator (layout, formats, geometry, labels).

The generator and the CLI are loaded from their files, so these tests need
neither mmseg nor mmecmt.registry.
"""
import importlib.util
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _load(name, relpath):
    if name in sys.modules:
        return sys.modules[name]
    path = osp.join(ROOT, relpath)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


gen = _load('mmecmt_synthscenes_generator',
            'mmecmt/datasets/synthscenes_generator.py')
cli = _load('synthscenes_cli', 'tools/dataset_converters/synthscenes.py')

H, W = 32, 48
CLASSES = gen.SYNTHSCENES_CLASSES
OBJECT_IDS = [CLASSES.index(c) + 1 for c in gen.OBJECT_CLASSES]


def _scene(i, seed=0, height=H, width=W, **kwargs):
    return gen.render_scene(np.random.default_rng([seed, i]), height, width,
                            **kwargs)


@pytest.fixture(scope='module')
def scenes():
    return [_scene(i) for i in range(12)]


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('synth'))
    meta = gen.generate_synthscenes(out, num_train=3, num_val=2, height=H,
                                    width=W, seed=0, progress=False)
    return out, meta


def _rays(height, width):
    """(H, W, 3) camera-frame ray directions (x, y, 1) of the pixels."""
    intr = gen.camera_intrinsics(height, width)
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.stack([(u - intr['cx']) / intr['fx'],
                     (v - intr['cy']) / intr['fy'], np.ones_like(u)], -1)


# --------------------------------------------------------------------------
# layout and file formats
# --------------------------------------------------------------------------
def test_defaults_and_intrinsics():
    assert CLASSES == ('floor', 'wall', 'ceiling', 'box', 'sphere',
                       'cylinder', 'table')
    assert gen.part_names() == (
        'background', 'box_top', 'box_side', 'sphere_upper', 'sphere_lower',
        'cylinder_cap', 'cylinder_body', 'table_top', 'table_leg')
    intr = gen.camera_intrinsics(32, 48)
    # fx = (48 / 2) / tan(30 deg) = 24 * sqrt(3)
    assert intr['fx'] == pytest.approx(41.569219, abs=1e-5)
    assert intr['fy'] == intr['fx']
    assert (intr['cx'], intr['cy']) == (23.5, 15.5)


def test_layout_and_file_formats(dataset):
    out, meta = dataset
    with open(osp.join(out, 'gt_sets', 'train.txt')) as f:
        assert f.read() == '000000\n000001\n000002\n'
    with open(osp.join(out, 'gt_sets', 'val.txt')) as f:
        assert f.read() == '000003\n000004\n'
    for name in ('images', 'segmentation', 'depth', 'normals', 'edge',
                 'saliency', 'parts'):
        assert len(os.listdir(osp.join(out, name))) == 5, name

    for i in range(5):
        iid = f'{i:06d}'
        ref = _scene(i)
        bgr = cv2.imread(osp.join(out, 'images', f'{iid}.jpg'))
        assert bgr.shape == (H, W, 3) and bgr.dtype == np.uint8
        # the file is the RGB render written as BGR JPEG quality 95
        ok, encoded = cv2.imencode('.jpg', ref['image'][..., ::-1].copy(),
                                   [cv2.IMWRITE_JPEG_QUALITY, 95])
        with open(osp.join(out, 'images', f'{iid}.jpg'), 'rb') as f:
            assert ok and f.read() == encoded.tobytes()
        # channel means survive JPEG: RGB order after flipping the BGR file
        np.testing.assert_allclose(
            bgr[..., ::-1].reshape(-1, 3).mean(0),
            ref['image'].reshape(-1, 3).mean(0), atol=2.0)

        seg = cv2.imread(osp.join(out, 'segmentation', f'{iid}.png'),
                         cv2.IMREAD_UNCHANGED)
        assert seg.dtype == np.uint8 and seg.shape == (H, W)
        np.testing.assert_array_equal(seg, ref['semseg'])
        assert seg.max() <= len(CLASSES)

        depth = np.load(osp.join(out, 'depth', f'{iid}.npy'))
        assert depth.dtype == np.float32 and depth.shape == (H, W)
        np.testing.assert_array_equal(depth, ref['depth'])

        normals = np.load(osp.join(out, 'normals', f'{iid}.npy'))
        assert normals.dtype == np.float32 and normals.shape == (H, W, 3)
        np.testing.assert_array_equal(normals, ref['normals'])

        edge = np.load(osp.join(out, 'edge', f'{iid}.npy'))
        assert edge.dtype == np.float32 and edge.shape == (H, W)
        assert set(np.unique(edge)) <= {0.0, 1.0}
        np.testing.assert_array_equal(edge, ref['edge'])

        sal = cv2.imread(osp.join(out, 'saliency', f'{iid}.png'),
                         cv2.IMREAD_UNCHANGED)
        assert sal.dtype == np.uint8 and set(np.unique(sal)) <= {0, 255}
        np.testing.assert_array_equal(sal, ref['saliency'] * 255)

        parts = cv2.imread(osp.join(out, 'parts', f'{iid}.png'),
                           cv2.IMREAD_UNCHANGED)
        assert parts.dtype == np.uint8
        np.testing.assert_array_equal(parts, ref['parts'])
        assert parts.max() < len(meta['part_names'])

    with open(osp.join(out, 'meta.json')) as f:
        on_disk = json.load(f)
    assert on_disk == meta
    assert meta['classes'] == list(CLASSES) and meta['num_classes'] == 7
    assert meta['part_names'] == list(gen.part_names())
    assert (meta['seed'], meta['num_train'], meta['num_val']) == (0, 3, 2)
    assert (meta['height'], meta['width']) == (H, W)
    assert meta['generator_version'] == gen.GENERATOR_VERSION
    assert meta['camera']['K'][0][0] == pytest.approx(41.569219, abs=1e-5)
    assert meta['camera']['K'][1][2] == 15.5
    assert meta['tasks']['semseg'] == dict(
        kind='segmentation', num_classes=7, path='segmentation/<id>.png')
    assert meta['tasks']['parts']['num_classes'] == 9


def test_no_parts(tmp_path):
    meta = gen.generate_synthscenes(str(tmp_path), num_train=1, num_val=1,
                                    height=16, width=24, with_parts=False,
                                    progress=False)
    assert not osp.exists(tmp_path / 'parts')
    assert meta['part_names'] == [] and 'parts' not in meta['tasks']
    assert 'parts' not in _scene(0, with_parts=False)


def test_cli(tmp_path, capsys):
    out = str(tmp_path / 'cli')
    meta = cli.main([out, '--num-train', '2', '--num-val', '1', '--height',
                     '16', '--width', '24', '--seed', '3', '--classes',
                     'floor', 'wall', 'sphere', '--no-parts', '--workers',
                     '2'])
    printed = capsys.readouterr().out
    assert 'SynthScenes: 3/3 images' in printed
    assert meta['classes'] == ['floor', 'wall', 'sphere']
    assert meta['seed'] == 3 and not meta['with_parts']
    assert sorted(os.listdir(osp.join(out, 'images'))) == [
        '000000.jpg', '000001.jpg', '000002.jpg']
    # same content as a direct render of (seed 3, image 1)
    ref = _scene(1, seed=3, height=16, width=24,
                 classes=('floor', 'wall', 'sphere'), with_parts=False)
    np.testing.assert_array_equal(
        np.load(osp.join(out, 'depth', '000001.npy')), ref['depth'])
    # --ensure with other parameters refuses
    with pytest.raises(ValueError, match='seed'):
        cli.main([out, '--ensure', '--num-train', '2', '--num-val', '1',
                  '--height', '16', '--width', '24', '--seed', '4',
                  '--classes', 'floor', 'wall', 'sphere', '--no-parts'])


# --------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------
def test_same_seed_same_scene_other_seed_differs():
    a, b, c = _scene(5), _scene(5), _scene(5, seed=1)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a['image'], c['image'])
    assert not np.array_equal(a['depth'], c['depth'])


def test_files_independent_of_split_and_workers(tmp_path):
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    gen.generate_synthscenes(one, num_train=4, num_val=0, height=16,
                             width=24, progress=False)
    gen.generate_synthscenes(two, num_train=1, num_val=3, height=16,
                             width=24, num_workers=2, progress=False)
    for sub in ('images', 'segmentation', 'depth', 'normals', 'edge',
                'saliency', 'parts'):
        names = sorted(os.listdir(osp.join(one, sub)))
        assert names == sorted(os.listdir(osp.join(two, sub)))
        for name in names:
            with open(osp.join(one, sub, name), 'rb') as f1, \
                    open(osp.join(two, sub, name), 'rb') as f2:
                assert f1.read() == f2.read(), f'{sub}/{name}'


# --------------------------------------------------------------------------
# geometry: depth and normals
# --------------------------------------------------------------------------
def test_normals_unit_and_facing_the_camera(scenes):
    for s in scenes:
        valid = s['depth'] > 0
        norm = np.linalg.norm(s['normals'], axis=-1)
        np.testing.assert_allclose(norm[valid], 1.0, atol=1e-5)
        assert np.all(norm[~valid] == 0)
        facing = np.einsum('hwc,hwc->hw', s['normals'], _rays(H, W))
        assert np.all(facing[valid] < 0)


def test_normals_agree_with_depth_on_planes(scenes):
    """Normals from back-projected depth match the given ones on planes."""
    angles = []
    for s in scenes:
        pts = _rays(H, W) * s['depth'][..., None]
        du = (pts[1:-1, 2:] - pts[1:-1, :-2])
        dv = (pts[2:, 1:-1] - pts[:-2, 1:-1])
        n = -np.cross(du, dv)  # x right, y down: du x dv points away
        n /= np.linalg.norm(n, axis=-1, keepdims=True) + 1e-12
        given = s['normals'][1:-1, 1:-1]
        # interior pixels of a plane: same surface and same normal in the
        # 3 x 3 neighbourhood
        same = np.ones((H - 2, W - 2), bool)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                sl = (slice(1 + dy, H - 1 + dy), slice(1 + dx, W - 1 + dx))
                same &= s['surface'][sl] == s['surface'][1:-1, 1:-1]
                same &= np.all(s['normals'][sl] == given, axis=-1)
        same &= s['depth'][1:-1, 1:-1] > 0
        cos = np.clip(np.sum(n * given, -1), -1, 1)
        angles.append(np.degrees(np.arccos(cos[same])))
    angles = np.concatenate(angles)
    assert len(angles) > 5000
    assert np.percentile(angles, 99) < 0.5


def test_floor_normal_points_up_and_depth_grows_toward_horizon(scenes):
    floor = CLASSES.index('floor') + 1
    rays = _rays(H, W)
    checked = 0
    for s in scenes:
        mask = s['semseg'] == floor
        if mask.sum() < 20:
            continue
        normals = s['normals'][mask]
        # one plane: one normal; pointing up = negative y (y is down)
        np.testing.assert_allclose(
            normals, np.broadcast_to(normals[0], normals.shape), atol=1e-6)
        assert normals[0, 1] < -0.75
        # camera height from each floor pixel: h = -z (n . ray) is constant
        # and within the sampled range 0.8 .. 1.9 m
        heights = -s['depth'][mask] * (rays[mask] @ normals[0])
        assert heights.std() < 1e-4
        assert 0.8 <= heights.mean() <= 1.9
        # up the image (smaller row) the floor gets farther
        both = mask[:-1] & mask[1:]
        assert both.any()
        assert np.all(s['depth'][:-1][both] > s['depth'][1:][both])
        checked += 1
    assert checked >= 8


def test_box_tops_are_parallel_to_the_floor(scenes):
    floor = CLASSES.index('floor') + 1
    box_top = gen.part_names().index('box_top')
    checked = 0
    for s in scenes:
        top, fl = s['parts'] == box_top, s['semseg'] == floor
        if top.any() and fl.any():
            up = s['normals'][fl][0]
            np.testing.assert_allclose(s['normals'][top],
                                       np.broadcast_to(up, (top.sum(), 3)),
                                       atol=1e-5)
            checked += 1
    assert checked >= 1


# --------------------------------------------------------------------------
# labels: edges, saliency, parts
# --------------------------------------------------------------------------
def test_edges_hand_computed():
    semseg = np.array([[1, 1, 2, 2],
                       [1, 1, 2, 2],
                       [1, 1, 1, 1]], np.uint8)
    surface = np.array([[0, 0, 1, 1],
                        [0, 0, 1, 1],
                        [0, 0, 3, 3]], np.int32)
    depth = np.array([[2.0, 2.0, 2.0, 2.0],
                      [2.0, 2.0, 2.0, 2.0],
                      [2.0, 2.02, 3.0, 3.0]], np.float32)
    # label change between columns 1 | 2 in rows 0-1 and between rows 1 | 2
    # in columns 2-3; surface 0 | 3 in row 2 with a 48 % depth jump; no edge
    # from the 1 % jump inside surface 0
    expected = np.array([[0, 1, 1, 0],
                         [0, 1, 1, 1],
                         [0, 1, 1, 1]], np.float32)
    np.testing.assert_array_equal(gen._edges(semseg, surface, depth),
                                  expected)


def test_edges_fire_on_label_boundaries_only_near_changes(scenes):
    for s in scenes:
        seg, edge, surf = s['semseg'], s['edge'], s['surface']
        for a, b in (((slice(None), slice(None, -1)),
                      (slice(None), slice(1, None))),
                     ((slice(None, -1), slice(None)),
                      (slice(1, None), slice(None)))):
            change = seg[a] != seg[b]
            assert np.all(edge[a][change] == 1)
            assert np.all(edge[b][change] == 1)
        # an edge pixel has a 4-neighbour of another label or surface
        near_change = np.zeros_like(seg, bool)
        for axis in (0, 1):
            for shift in (1, -1):
                other_seg = np.roll(seg, shift, axis)
                other_surf = np.roll(surf, shift, axis)
                differs = (other_seg != seg) | (other_surf != surf)
                if shift == 1:
                    idx = (slice(1, None),) if axis == 0 else \
                        (slice(None), slice(1, None))
                else:
                    idx = (slice(None, -1),) if axis == 0 else \
                        (slice(None), slice(None, -1))
                near_change[idx] |= differs[idx]
        assert np.all(near_change[edge == 1])
        assert 0.01 < edge.mean() < 0.4


def test_saliency_equals_object_mask_and_parts_match_classes(scenes):
    names = gen.part_names()
    for s in scenes:
        objects = np.isin(s['semseg'], OBJECT_IDS)
        np.testing.assert_array_equal(s['saliency'], objects.astype(np.uint8))
        np.testing.assert_array_equal(s['parts'] > 0, objects)
        for pid in np.unique(s['parts'][s['parts'] > 0]):
            cls = names[pid].split('_')[0]
            assert np.all(s['semseg'][s['parts'] == pid] ==
                          CLASSES.index(cls) + 1)
        # in the camera frame the floor's normal is the world's up vector:
        # upper hemispheres face up, lower ones down, cylinder caps are flat
        floor = s['semseg'] == CLASSES.index('floor') + 1
        if floor.any():
            up = s['normals'][floor][0]
            upper = s['parts'] == names.index('sphere_upper')
            lower = s['parts'] == names.index('sphere_lower')
            cap = s['parts'] == names.index('cylinder_cap')
            assert np.all(s['normals'][upper] @ up >= -1e-6)
            assert np.all(s['normals'][lower] @ up < 1e-6)
            np.testing.assert_allclose(np.abs(s['normals'][cap] @ up), 1.0,
                                       atol=1e-5)


def test_tasks_are_not_trivial(scenes):
    classes_per_image = [len(np.unique(s['semseg'])) for s in scenes]
    assert np.mean(classes_per_image) > 3
    depth_span = [s['depth'].max() - s['depth'][s['depth'] > 0].min()
                  for s in scenes]
    assert np.mean(depth_span) > 1.0
    assert np.mean([s['saliency'].any() for s in scenes]) > 0.7
    # the image is not a function of the label alone: pixels of one class
    # vary in colour, and different classes overlap in mean colour range
    stds = [s['image'][s['semseg'] == k].std() for s in scenes
            for k in np.unique(s['semseg'])
            if (s['semseg'] == k).sum() > 50]
    assert np.median(stds) > 5


# --------------------------------------------------------------------------
# class subsets and ensure_synthscenes
# --------------------------------------------------------------------------
def test_class_subset_without_room_shows_unlabeled_sky():
    classes = ('sphere', 'floor')
    s = _scene(2, classes=classes)
    assert set(np.unique(s['semseg'])) <= {0, 1, 2}
    sky = s['semseg'] == 0
    assert sky.any()  # no walls: rays above the horizon leave the room
    assert np.all(s['depth'][sky] == 0)
    assert np.all(s['normals'][sky] == 0)
    assert np.all(s['depth'][~sky] > 0)
    assert gen.part_names(classes) == ('background', 'sphere_upper',
                                       'sphere_lower')
    assert set(np.unique(s['parts'])) <= {0, 1, 2}
    np.testing.assert_array_equal(s['saliency'], (s['semseg'] == 1))


def test_bad_classes_raise():
    with pytest.raises(ValueError, match='unknown SynthScenes classes'):
        gen.resolve_classes(['floor', 'chair'])
    with pytest.raises(ValueError, match='more than once'):
        gen.resolve_classes(['floor', 'floor'])
    with pytest.raises(ValueError, match='at least one'):
        gen.resolve_classes([])
    with pytest.raises(ValueError, match='num_train'):
        gen.generate_synthscenes('/nonexistent', num_train=-1,
                                 progress=False)


def test_ensure_generates_reuses_and_refuses(tmp_path, monkeypatch):
    out = str(tmp_path / 'ens')
    kwargs = dict(num_train=2, num_val=1, height=16, width=24, seed=7,
                  classes=['floor', 'box'], progress=False)
    meta = gen.ensure_synthscenes(out, **kwargs)
    assert meta['num_train'] == 2 and meta['classes'] == ['floor', 'box']
    assert osp.isfile(osp.join(out, 'images', '000002.jpg'))

    def no_generation(*args, **kw):
        raise AssertionError('must not regenerate')

    monkeypatch.setattr(gen, 'generate_synthscenes', no_generation)
    assert gen.ensure_synthscenes(out, **kwargs) == meta

    bad = dict(kwargs, seed=8, height=20)
    with pytest.raises(ValueError) as err:
        gen.ensure_synthscenes(out, **bad)
    assert 'seed' in str(err.value) and 'height' in str(err.value)
    assert 'width' not in str(err.value)
    with pytest.raises(ValueError, match='classes'):
        gen.ensure_synthscenes(out, **dict(kwargs, classes=['box', 'floor']))

    with open(osp.join(out, 'meta.json'), 'w') as f:
        f.write('{not json')
    with pytest.raises(ValueError, match='meta.json'):
        gen.ensure_synthscenes(out, **kwargs)


def test_meta_removed_until_generation_completes(tmp_path, monkeypatch):
    out = str(tmp_path / 'partial')
    gen.generate_synthscenes(out, num_train=1, num_val=0, height=16,
                             width=24, progress=False)
    assert osp.isfile(osp.join(out, 'meta.json'))

    def crash(*args, **kwargs):
        raise RuntimeError('disk full')

    monkeypatch.setattr(gen, '_write_sample', crash)
    with pytest.raises(RuntimeError):
        gen.generate_synthscenes(out, num_train=1, num_val=0, height=16,
                                 width=24, seed=1, progress=False)
    assert not osp.exists(osp.join(out, 'meta.json'))
