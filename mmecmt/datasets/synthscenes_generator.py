"""SynthScenes: a seeded, procedurally generated multi-task dataset.

Each image is a ray-cast indoor scene: a rectangular room (floor, four walls,
ceiling) holding boxes, spheres, upright cylinders and tables (a top slab on
four legs, sometimes with a small object on it), seen by a pinhole camera at a
random position, height, yaw, pitch and roll. Surfaces carry procedural
textures (checker, stripes, rings, wood grain, smooth noise) in colours drawn
from a per-class palette, and are shaded with ambient + Lambert light from one
or two point lights with cast shadows; the image gets Gaussian noise and JPEG
compression. All labels come from the same ray casting, so the tasks are
geometrically consistent with each other and with the image.

This module uses numpy and OpenCV only (no mmseg / mmecmt registry), so it can
run standalone, e.g. through ``tools/dataset_converters/synthscenes.py``.

Classes
-------
:data:`SYNTHSCENES_CLASSES` = ``('floor', 'wall', 'ceiling', 'box', 'sphere',
'cylinder', 'table')``. The first three are *structural* (the room), the rest
are *objects* (foreground, salient, with parts). ``classes=`` selects a subset
in any order; the order defines the label ids. A class left out is not
generated at all: without ``'wall'`` the room has no walls, and rays that leave
the room see a sky gradient that is unlabeled (label 0, depth 0, normal 0).

Camera and conventions
----------------------
* Intrinsics (fixed for a resolution, stored in ``meta.json``): horizontal
  field of view :data:`HFOV_DEG`, square pixels ``fx = fy = (W / 2) /
  tan(HFOV / 2)``, principal point at the image centre ``cx = (W - 1) / 2``,
  ``cy = (H - 1) / 2``, pixel ``(u, v)`` = (column, row) with pixel centres at
  integer coordinates (the OpenCV convention). Back-projection of pixel
  ``(u, v)`` with depth ``z``: ``X = (u - cx) z / fx``,
  ``Y = (v - cy) z / fy``, ``Z = z``.
* Camera frame (OpenCV): **x right, y down, z forward** (along the optical
  axis).
* Depth: z-depth along the optical axis in metres (not the ray length),
  float32; 0 = invalid (sky only).
* Normals: unit vectors in the camera frame above, float32 (H, W, 3), pointing
  towards the camera side of the surface (``n . ray < 0``); so the floor's
  normal has a negative y component. Zero vector = invalid (sky only).

Files written (the NYUD_MT layout, plus two extensions)
-------------------------------------------------------
* ``gt_sets/train.txt``, ``gt_sets/val.txt``: one id per line; ids
  ``000000``, ``000001``, ... (train first, then val).
* ``images/<id>.jpg``: the RGB image, JPEG quality 95 (cv2 writes BGR order
  on disk; readers get RGB back with ``cv2.imread(...)[..., ::-1]``).
* ``segmentation/<id>.png``: uint8, 0 = unlabeled (sky), ``k + 1`` =
  ``classes[k]``. The NYUD loader maps ``x -> x - 1`` and 0 -> 255.
* ``depth/<id>.npy``: (H, W) float32 metres, 0 = invalid.
* ``normals/<id>.npy``: (H, W, 3) float32 unit vectors, zero = invalid.
* ``edge/<id>.npy``: (H, W) float32 in {0, 1}.
* ``saliency/<id>.png``: uint8 in {0, 255}; 255 = object pixel.
* ``parts/<id>.png`` (only with ``with_parts=True``): uint8, the value is an
  index into ``meta['part_names']``: 0 = background (room and sky; a class of
  its own, not ignored), 1..P = object parts. Read it as is (no shift), so
  the parts task has ``P + 1`` classes; 255 is reserved for ignore and never
  written.
* ``meta.json``: parameters, class and part names, task list, camera
  intrinsics, conventions, generator version. Written last: its presence
  means the dataset is complete.

Edges: a pixel is an edge pixel when one of its 4-neighbours has a different
semantic label (sky counts as a label), or lies on a different surface
(another object, another wall, another table slab) with a relative depth jump
above :data:`EDGE_DEPTH_JUMP`. Both pixels of such a pair are marked, so edges
are two pixels thick and symmetric under a horizontal flip.

Saliency: the pixels of object classes (box, sphere, cylinder, table).

Parts (per object class, ids in class order): box ``top`` (its +y face) /
``side``; sphere ``upper`` / ``lower`` hemisphere; cylinder ``cap`` / ``body``;
table ``top`` (the slab) / ``leg``. Part names are ``'<class>_<part>'``.

Determinism: image ``i`` is drawn from ``np.random.default_rng([seed, i])``
only, so the split sizes and the worker count do not change its content, and
the same arguments give byte-identical files.
"""
import colorsys
import json
import math
import multiprocessing
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

#: Version of the rendering code; part of ``meta.json`` and of the check in
#: :func:`ensure_synthscenes` (bump it when the output of a seed changes).
GENERATOR_VERSION = '1.0'

#: Room surfaces.
STRUCTURAL_CLASSES: Tuple[str, ...] = ('floor', 'wall', 'ceiling')
#: Foreground objects (salient, with parts).
OBJECT_CLASSES: Tuple[str, ...] = ('box', 'sphere', 'cylinder', 'table')
#: Default (and complete) class list, in label order.
SYNTHSCENES_CLASSES: Tuple[str, ...] = STRUCTURAL_CLASSES + OBJECT_CLASSES
#: Parts of each object class, in part-id order.
PARTS_PER_CLASS: Dict[str, Tuple[str, ...]] = {
    'box': ('top', 'side'),
    'sphere': ('upper', 'lower'),
    'cylinder': ('cap', 'body'),
    'table': ('top', 'leg'),
}
#: Horizontal field of view of the camera in degrees.
HFOV_DEG = 60.0
#: Relative depth jump between neighbouring pixels of different surfaces
#: that makes an edge.
EDGE_DEPTH_JUMP = 0.05
#: Keys of ``meta.json`` that :func:`ensure_synthscenes` compares.
PARAM_KEYS = ('generator_version', 'seed', 'num_train', 'num_val', 'height',
              'width', 'classes', 'with_parts')

_EPS = 1e-4
_SKY = -1  # surface id of rays that hit nothing


# --------------------------------------------------------------------------
# Classes, parts and camera
# --------------------------------------------------------------------------
def resolve_classes(
        classes: Optional[Sequence[str]] = None) -> Tuple[str, ...]:
    """Validate a class list; ``None`` gives :data:`SYNTHSCENES_CLASSES`."""
    if classes is None:
        return SYNTHSCENES_CLASSES
    if isinstance(classes, str):
        raise ValueError(
            f'classes must be a sequence of class names, got the string '
            f'{classes!r}; valid names are {list(SYNTHSCENES_CLASSES)}')
    classes = tuple(classes)
    if not classes:
        raise ValueError('classes must name at least one class; valid names '
                         f'are {list(SYNTHSCENES_CLASSES)}')
    unknown = [c for c in classes if c not in SYNTHSCENES_CLASSES]
    if unknown:
        raise ValueError(f'unknown SynthScenes classes {unknown}; valid names '
                         f'are {list(SYNTHSCENES_CLASSES)}')
    duplicates = sorted({c for c in classes if classes.count(c) > 1})
    if duplicates:
        raise ValueError(f'classes {duplicates} are listed more than once in '
                         f'{list(classes)}')
    return classes


def part_names(classes: Optional[Sequence[str]] = None) -> Tuple[str, ...]:
    """Names of the part ids: ``('background', '<class>_<part>', ...)``.

    Index = value in ``parts/<id>.png``; object classes in ``classes`` order.
    """
    names = ['background']
    for cls in resolve_classes(classes):
        names += [f'{cls}_{part}' for part in PARTS_PER_CLASS.get(cls, ())]
    return tuple(names)


def camera_intrinsics(height: int, width: int) -> Dict[str, float]:
    """Pinhole intrinsics ``fx, fy, cx, cy`` (pixels) for a resolution."""
    fx = (width / 2.0) / math.tan(math.radians(HFOV_DEG) / 2.0)
    return dict(fx=fx, fy=fx, cx=(width - 1) / 2.0, cy=(height - 1) / 2.0)


# --------------------------------------------------------------------------
# Primitives: ray intersection, normals, parts and texture coordinates
# --------------------------------------------------------------------------
class _Primitive:
    """A surface that rays can hit (world frame: y up, metres).

    Attributes set by :func:`sample_scene`: ``cls`` (class name),
    ``instance`` (object / room-surface id), ``surface_id`` (primitive id),
    ``texture`` (see :func:`_texture`). ``center`` (3,) and ``radius`` give a
    bounding sphere used to cull rays (``center = None``: no culling).

    ``intersect(origins, dirs)`` takes (N, 3) or (1, 3) origins and (N, 3)
    directions (not necessarily unit) and returns ``t`` (N,) float64 (ray
    parameter of the first hit from outside with t > _EPS; inf = miss) and
    ``face`` (N,) int8 (which face was hit). ``surface(points, face)`` returns
    for (n, 3) hit points the world normals (n, 3), the part index within the
    class's :data:`PARTS_PER_CLASS` (n,) and texture coordinates (n, 2) in
    metres.
    """
    center: Optional[np.ndarray] = None
    radius: float = 0.0

    def translate(self, offset) -> None:
        self.center = self.center + np.asarray(offset, np.float64)


class _RoomRect(_Primitive):
    """Axis-aligned rectangle of the room, facing the room's inside."""

    def __init__(self, axis: int, value: float, inward: float,
                 lo: np.ndarray, hi: np.ndarray):
        self.axis, self.value, self.inward = axis, value, inward
        self.lo, self.hi = lo, hi  # bounds of all three axes (axis ignored)
        self.others = [a for a in range(3) if a != axis]

    def intersect(self, origins, dirs):
        d = dirs[:, self.axis]
        with np.errstate(divide='ignore', invalid='ignore'):
            t = (self.value - origins[:, self.axis]) / d
        hit = (t > _EPS) & (d * self.inward < 0)
        for a in self.others:
            coord = origins[:, a] + t * dirs[:, a]
            hit &= (coord >= self.lo[a] - 1e-6) & (coord <= self.hi[a] + 1e-6)
        return np.where(hit, t, np.inf), np.zeros(len(t), np.int8)

    def surface(self, points, face):
        normal = np.zeros(3)
        normal[self.axis] = self.inward
        uv = points[:, self.others]
        return (np.broadcast_to(normal, points.shape),
                np.zeros(len(points), np.int64), uv)


def _yaw_matrix(yaw: float) -> np.ndarray:
    """World-from-local rotation about the world y axis."""
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


class _Box(_Primitive):
    """Box with half sizes ``half`` rotated by ``yaw`` about the y axis.

    Faces: ``2 * axis + (normal sign > 0)``; part 0 = top (+y), 1 = side.
    """

    def __init__(self, center, half, yaw):
        self.center = np.asarray(center, np.float64)
        self.half = np.asarray(half, np.float64)
        self.rot = _yaw_matrix(yaw)
        self.radius = float(np.linalg.norm(self.half))

    def intersect(self, origins, dirs):
        o = (origins - self.center) @ self.rot  # local = R^T (p - c)
        d = dirs @ self.rot
        d = np.where(np.abs(d) < 1e-12, 1e-12, d)
        tnear = np.full(len(d), -np.inf)
        tfar = np.full(len(d), np.inf)
        face = np.zeros(len(d), np.int8)
        for axis in range(3):
            inv = 1.0 / d[:, axis]
            t1 = (-self.half[axis] - o[:, axis]) * inv
            t2 = (self.half[axis] - o[:, axis]) * inv
            enter = np.minimum(t1, t2)
            later = enter > tnear
            tnear = np.where(later, enter, tnear)
            face = np.where(later, np.int8(2 * axis) + (inv < 0), face)
            tfar = np.minimum(tfar, np.maximum(t1, t2))
        hit = (tnear <= tfar) & (tnear > _EPS)
        return np.where(hit, tnear, np.inf), face.astype(np.int8)

    def surface(self, points, face):
        axis = face // 2
        sign = np.where(face % 2 == 1, 1.0, -1.0)
        n_local = np.zeros((len(face), 3))
        n_local[np.arange(len(face)), axis] = sign
        local = (points - self.center) @ self.rot
        uv = np.where((axis == 0)[:, None], local[:, [2, 1]],
                      np.where((axis == 1)[:, None], local[:, [0, 2]],
                               local[:, [0, 1]]))
        part = np.where(face == 3, 0, 1)
        return n_local @ self.rot.T, part, uv


class _Sphere(_Primitive):
    """Sphere; part 0 = upper hemisphere, 1 = lower."""

    def __init__(self, center, radius):
        self.center = np.asarray(center, np.float64)
        self.radius = float(radius)

    def intersect(self, origins, dirs):
        oc = origins - self.center
        a = np.einsum('ij,ij->i', dirs, dirs)
        b = 2.0 * np.einsum('ij,ij->i', oc, dirs)
        c = np.einsum('ij,ij->i', oc, oc) - self.radius ** 2
        disc = b * b - 4 * a * c
        with np.errstate(invalid='ignore'):
            t = (-b - np.sqrt(disc)) / (2 * a)
        hit = (disc >= 0) & (t > _EPS)
        return np.where(hit, t, np.inf), np.zeros(len(a), np.int8)

    def surface(self, points, face):
        rel = points - self.center
        normal = rel / self.radius
        lon = np.arctan2(rel[:, 2], rel[:, 0]) * self.radius
        lat = np.arcsin(np.clip(normal[:, 1], -1, 1)) * self.radius
        part = np.where(rel[:, 1] >= 0, 0, 1)
        return normal, part, np.stack([lon, lat], 1)


class _Cylinder(_Primitive):
    """Upright cylinder from ``y0`` to ``y1``; faces 0 body, 1 top, 2 bottom.

    Part 0 = cap (top or bottom disc), 1 = body.
    """

    def __init__(self, base_xz, y0, y1, radius):
        self.cx, self.cz = float(base_xz[0]), float(base_xz[1])
        self.y0, self.y1, self.r = float(y0), float(y1), float(radius)
        self.center = np.array([self.cx, (y0 + y1) / 2, self.cz])
        self.radius = math.hypot(radius, (y1 - y0) / 2)

    def translate(self, offset) -> None:
        super().translate(offset)
        self.cx, self.cz = float(self.center[0]), float(self.center[2])
        self.y0 += float(offset[1])
        self.y1 += float(offset[1])

    def intersect(self, origins, dirs):
        ox = origins[:, 0] - self.cx
        oz = origins[:, 2] - self.cz
        oy = origins[:, 1]
        dx, dy, dz = dirs[:, 0], dirs[:, 1], dirs[:, 2]
        a = dx * dx + dz * dz
        b = 2 * (ox * dx + oz * dz)
        c = ox * ox + oz * oz - self.r ** 2
        disc = b * b - 4 * a * c
        with np.errstate(invalid='ignore', divide='ignore'):
            t_body = (-b - np.sqrt(disc)) / (2 * a)
            y = oy + t_body * dy
            body = (disc >= 0) & (a > 1e-12) & (t_body > _EPS) & (
                y >= self.y0) & (y <= self.y1)
            t_body = np.where(body, t_body, np.inf)
            t_top = (self.y1 - oy) / dy
            t_bot = (self.y0 - oy) / dy
        best, face = t_body, np.zeros(len(a), np.int8)
        for code, t_cap, ok in ((1, t_top, oy > self.y1),
                                (2, t_bot, oy < self.y0)):
            px = ox + t_cap * dx
            pz = oz + t_cap * dz
            cap = ok & (t_cap > _EPS) & (px * px + pz * pz <= self.r ** 2)
            t_cap = np.where(cap, t_cap, np.inf)
            closer = t_cap < best
            best = np.where(closer, t_cap, best)
            face = np.where(closer, np.int8(code), face)
        return best, face

    def surface(self, points, face):
        rx = points[:, 0] - self.cx
        rz = points[:, 2] - self.cz
        body = face == 0
        normal = np.zeros((len(face), 3))
        normal[:, 0] = np.where(body, rx / self.r, 0.0)
        normal[:, 2] = np.where(body, rz / self.r, 0.0)
        normal[:, 1] = np.where(face == 1, 1.0, np.where(face == 2, -1.0, 0))
        arc = np.arctan2(rz, rx) * self.r
        uv = np.where(body[:, None],
                      np.stack([arc, points[:, 1] - self.y0], 1),
                      np.stack([rx, rz], 1))
        part = np.where(body, 1, 0)
        return normal, part, uv


# --------------------------------------------------------------------------
# Scene sampling
# --------------------------------------------------------------------------
# Palettes: per class a list of (hue range, saturation range, value range).
_PALETTES = {
    'floor': [((0.05, 0.11), (0.3, 0.65), (0.35, 0.7)),    # wood
              ((0.0, 1.0), (0.0, 0.12), (0.3, 0.75)),      # grey tiles
              ((0.55, 0.65), (0.15, 0.4), (0.3, 0.55))],   # blue carpet
    'wall': [((0.0, 1.0), (0.04, 0.3), (0.7, 0.95))],      # pastel paint
    'ceiling': [((0.0, 1.0), (0.0, 0.07), (0.82, 1.0))],   # off-white
    'box': [((0.07, 0.11), (0.4, 0.65), (0.5, 0.8)),       # cardboard
            ((0.0, 1.0), (0.5, 0.9), (0.45, 0.9))],        # plastic
    'sphere': [((0.0, 1.0), (0.55, 1.0), (0.55, 1.0))],    # saturated
    'cylinder': [((0.5, 0.7), (0.1, 0.4), (0.4, 0.8)),     # metal
                 ((0.0, 1.0), (0.4, 0.85), (0.4, 0.9))],
    'table': [((0.04, 0.1), (0.4, 0.8), (0.2, 0.5)),       # dark wood
              ((0.0, 1.0), (0.0, 0.08), (0.1, 0.95))],     # black/white
}
# Texture kinds per class (drawn uniformly).
_TEXTURES = {
    'floor': ('checker', 'planks', 'plain'),
    'wall': ('plain', 'plain', 'vstripes'),
    'ceiling': ('plain',),
    'box': ('plain', 'checker', 'stripes'),
    'sphere': ('plain', 'vstripes', 'checker'),
    'cylinder': ('plain', 'hstripes', 'vstripes'),
    'table': ('planks', 'plain'),
}


def _colour(rng, cls) -> np.ndarray:
    palette = _PALETTES[cls]
    (h0, h1), (s0, s1), (v0, v1) = palette[rng.integers(len(palette))]
    return np.array(colorsys.hsv_to_rgb(rng.uniform(h0, h1) % 1.0,
                                        rng.uniform(s0, s1),
                                        rng.uniform(v0, v1)))


def _texture(rng, cls) -> dict:
    kind = _TEXTURES[cls][rng.integers(len(_TEXTURES[cls]))]
    c1 = _colour(rng, cls)
    if rng.random() < 0.5:
        c2 = c1 * rng.uniform(0.45, 0.8)
    else:
        c2 = _colour(rng, cls)
    scale = {
        'checker': rng.uniform(0.15, 0.8),
        'planks': rng.uniform(0.08, 0.3),
        'stripes': rng.uniform(0.05, 0.25),
        'vstripes': rng.uniform(0.08, 0.4),
        'hstripes': rng.uniform(0.05, 0.3),
        'plain': 1.0,
    }[kind]
    return dict(kind=kind, c1=c1, c2=c2, scale=scale,
                angle=rng.uniform(0, math.pi) if kind == 'stripes'
                else float(rng.integers(2)) * math.pi / 2,
                noise_amp=rng.uniform(0.03, 0.15),
                noise_freq=rng.uniform(1.0, 8.0, size=(3, 2)) *
                rng.choice([-1.0, 1.0], size=(3, 2)),
                noise_phase=rng.uniform(0, 2 * math.pi, size=3))


def _albedo(tex: dict, uv: np.ndarray) -> np.ndarray:
    """(n, 3) albedo in [0, 1] from texture parameters and (n, 2) coords."""
    u, v = uv[:, 0], uv[:, 1]
    kind, s = tex['kind'], tex['scale']
    if kind == 'checker':
        mix = (np.floor(u / s) + np.floor(v / s)) % 2
    elif kind == 'planks':  # boards along one axis, with a seam shade
        w = u if tex['angle'] == 0 else v
        mix = (np.floor(w / s) % 2) * 0.6
    elif kind == 'stripes':
        w = u * math.cos(tex['angle']) + v * math.sin(tex['angle'])
        mix = (np.sin(2 * math.pi * w / s) > 0).astype(np.float64)
    elif kind == 'vstripes':
        mix = (np.sin(2 * math.pi * u / s) > 0.3).astype(np.float64)
    elif kind == 'hstripes':
        mix = (np.sin(2 * math.pi * v / s) > 0).astype(np.float64)
    else:
        mix = np.zeros(len(u))
    noise = np.zeros(len(u))
    for freq, phase in zip(tex['noise_freq'], tex['noise_phase']):
        noise += np.sin(freq[0] * u + freq[1] * v + phase)
    colour = tex['c1'] * (1 - mix[:, None]) + tex['c2'] * mix[:, None]
    colour = colour * (1 + tex['noise_amp'] / 3 * noise[:, None])
    return np.clip(colour, 0.0, 1.0)


def _footprint_ok(x, z, radius, room, placed, camera_xz) -> bool:
    if abs(x) > room[0] - radius - 0.05 or abs(z) > room[2] - radius - 0.05:
        return False
    if math.hypot(x - camera_xz[0], z - camera_xz[1]) < radius + 0.6:
        return False
    return all(math.hypot(x - px, z - pz) > radius + pr + 0.05
               for px, pz, pr in placed)


def _object_primitives(rng, cls: str, scale: float, yaw: float) -> List:
    """Primitives of one object standing on y = 0 around the origin.

    A table is a top slab (``table_part = 0``) on four legs (``= 1``).
    """
    if cls == 'box':
        half = rng.uniform([0.15, 0.12, 0.15], [0.55, 0.6, 0.55]) * scale
        return [_Box((0.0, half[1], 0.0), half, yaw)]
    if cls == 'sphere':
        r = rng.uniform(0.15, 0.5) * scale
        return [_Sphere((0.0, r, 0.0), r)]
    if cls == 'cylinder':
        r = rng.uniform(0.1, 0.4) * scale
        h = rng.uniform(0.3, 1.5) * scale
        return [_Cylinder((0.0, 0.0), 0.0, h, r)]
    top_half = np.array([rng.uniform(0.4, 0.9), rng.uniform(0.02, 0.04),
                         rng.uniform(0.3, 0.6)])
    height = rng.uniform(0.55, 0.85)
    leg = rng.uniform(0.02, 0.05)
    rot = _yaw_matrix(yaw)
    top = _Box((0.0, height - top_half[1], 0.0), top_half, yaw)
    top.table_part = 0
    prims = [top]
    leg_height = height - 2 * top_half[1]
    inset = leg + rng.uniform(0.0, 0.08)
    for sx in (-1, 1):
        for sz in (-1, 1):
            corner = rot @ np.array([sx * (top_half[0] - inset), 0.0,
                                     sz * (top_half[2] - inset)])
            box = _Box((corner[0], leg_height / 2, corner[2]),
                       (leg, leg_height / 2, leg), yaw)
            box.table_part = 1
            prims.append(box)
    return prims


def _footprint_radius(prims) -> float:
    return max(
        math.hypot(p.center[0] - prims[0].center[0],
                   p.center[2] - prims[0].center[2]) +
        (math.hypot(p.half[0], p.half[2]) if isinstance(p, _Box) else
         p.r if isinstance(p, _Cylinder) else p.radius) for p in prims)


def sample_scene(rng: np.random.Generator,
                 classes: Sequence[str] = SYNTHSCENES_CLASSES) -> dict:
    """Draw a room, camera, objects and lights (world frame, y up, metres).

    Returns a dict with ``room`` (half sizes x, height, half size z),
    ``camera`` (``position`` (3,), ``rotation`` (3, 3) world-from-camera,
    columns = camera x right, y down, z forward), ``primitives`` (list) and
    ``lights`` (list of (position (3,), rgb intensity (3,))).
    """
    classes = resolve_classes(classes)
    room = np.array([rng.uniform(2.0, 4.5), rng.uniform(2.5, 3.3),
                     rng.uniform(2.0, 4.5)])
    # camera: inside the room, looking at least 2 m into it
    cam_h = rng.uniform(0.8, min(1.9, room[1] - 0.4))
    cam_xz = rng.uniform(-(room[[0, 2]] - 0.6), room[[0, 2]] - 0.6)
    for _ in range(20):
        yaw = rng.uniform(0, 2 * math.pi)
        fwd = np.array([math.sin(yaw), math.cos(yaw)])
        with np.errstate(divide='ignore'):
            reach = np.where(fwd > 0, (room[[0, 2]] - cam_xz) / fwd,
                             (-room[[0, 2]] - cam_xz) / fwd)
        if np.min(np.abs(reach)) > 2.0:
            break
    pitch = math.radians(rng.uniform(-35.0, 3.0))
    roll = math.radians(rng.uniform(-4.0, 4.0))
    position = np.array([cam_xz[0], cam_h, cam_xz[1]])
    forward = np.array([math.sin(yaw) * math.cos(pitch), math.sin(pitch),
                        math.cos(yaw) * math.cos(pitch)])
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    right, down = (right * math.cos(roll) + down * math.sin(roll),
                   -right * math.sin(roll) + down * math.cos(roll))
    rotation = np.stack([right, down, forward], 1)

    prims: List = []
    instance = 0
    # room: floor, ceiling, four walls
    lo = np.array([-room[0], 0.0, -room[2]])
    hi = np.array([room[0], room[1], room[2]])
    # (class, axis, coordinate, normal sign along the axis)
    rects = [('floor', 1, 0.0, 1.0), ('ceiling', 1, room[1], -1.0),
             ('wall', 0, -room[0], 1.0), ('wall', 0, room[0], -1.0),
             ('wall', 2, -room[2], 1.0), ('wall', 2, room[2], -1.0)]
    textures = {cls: _texture(rng, cls) for cls in STRUCTURAL_CLASSES}
    for cls, axis, value, inward in rects:
        if cls in classes:
            rect = _RoomRect(axis, value, inward, lo, hi)
            rect.cls, rect.instance = cls, instance
            rect.texture = textures[cls]
            prims.append(rect)
            instance += 1

    # objects: mostly in front of the camera, non-overlapping footprints
    object_classes = [c for c in classes if c in OBJECT_CLASSES]
    placed = []
    num_objects = int(rng.integers(3, 10)) if object_classes else 0
    for _ in range(num_objects):
        cls = object_classes[rng.integers(len(object_classes))]
        yaw_obj = rng.uniform(0, math.pi)
        obj = _object_primitives(rng, cls, 1.0, yaw_obj)
        radius = _footprint_radius(obj)
        for _attempt in range(30):
            if rng.random() < 0.85:
                dist = rng.uniform(1.0, 5.5)
                ang = yaw + math.radians(rng.uniform(-38.0, 38.0))
                x = cam_xz[0] + dist * math.sin(ang)
                z = cam_xz[1] + dist * math.cos(ang)
            else:
                x, z = rng.uniform(-room[[0, 2]], room[[0, 2]])
            if _footprint_ok(x, z, radius, room, placed, cam_xz):
                break
        else:
            continue
        placed.append((x, z, radius))
        tex = _texture(rng, cls)
        for p in obj:
            p.translate((x, 0.0, z))
            p.cls, p.instance, p.texture = cls, instance, tex
        prims += obj
        instance += 1
        # sometimes a small object on a table top
        small_classes = [c for c in object_classes if c != 'table']
        if cls == 'table' and small_classes and rng.random() < 0.6:
            top = obj[0]
            small_cls = small_classes[rng.integers(len(small_classes))]
            local = rng.uniform(-0.5, 0.5, size=2) * top.half[[0, 2]]
            sx, _, sz = top.rot @ np.array([local[0], 0.0, local[1]])
            y_top = top.center[1] + top.half[1]
            small = _object_primitives(rng, small_cls, 0.4,
                                       rng.uniform(0, math.pi))
            tex = _texture(rng, small_cls)
            for p in small:
                p.translate((top.center[0] + sx, y_top, top.center[2] + sz))
                p.cls, p.instance, p.texture = small_cls, instance, tex
            prims += small
            instance += 1

    # lights: one or two point lights under the ceiling
    lights = []
    num_lights = int(rng.integers(1, 3))
    for _ in range(num_lights):
        pos = np.array([rng.uniform(-room[0] + 0.3, room[0] - 0.3),
                        room[1] - rng.uniform(0.1, 0.4),
                        rng.uniform(-room[2] + 0.3, room[2] - 0.3)])
        tint = 1.0 + rng.uniform(-0.08, 0.08, size=3)
        lights.append((pos, rng.uniform(0.8, 1.2) / num_lights * tint * 1.3))
    ambient = rng.uniform(0.25, 0.45) * (1.0 + rng.uniform(-0.05, 0.05, 3))
    for surface_id, prim in enumerate(prims):
        prim.surface_id = surface_id
    return dict(room=room, camera=dict(position=position, rotation=rotation),
                primitives=prims, lights=lights, ambient=ambient,
                classes=classes)


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------
def _edges(semseg: np.ndarray, surface: np.ndarray,
           depth: np.ndarray) -> np.ndarray:
    """(H, W) float32 {0, 1}: label changes and depth jumps between surfaces.
    """
    edge = np.zeros(semseg.shape, bool)
    for axis in (0, 1):
        a = [slice(None), slice(None)]
        b = [slice(None), slice(None)]
        a[axis], b[axis] = slice(None, -1), slice(1, None)
        a, b = tuple(a), tuple(b)
        da, db = depth[a], depth[b]
        jump = np.abs(da - db) > EDGE_DEPTH_JUMP * np.minimum(da, db)
        pair = (semseg[a] != semseg[b]) | ((surface[a] != surface[b]) & jump)
        edge[a] |= pair
        edge[b] |= pair
    return edge.astype(np.float32)


def _candidate_rays(prim, origins, dirs, dir_norm) -> np.ndarray:
    """Indices of the rays that pass the primitive's bounding sphere."""
    center = getattr(prim, 'center', None)
    if center is None:
        return np.arange(len(dirs))
    oc = center - origins  # (1, 3) or (N, 3)
    if len(oc) == 1:
        proj = dirs @ oc[0] / dir_norm
    else:
        proj = np.einsum('ij,ij->i', oc, dirs) / dir_norm
    miss2 = np.einsum('ij,ij->i', oc, oc) - proj * proj
    radius = prim.radius + 1e-6
    return np.flatnonzero((miss2 <= radius * radius) & (proj > -radius))


def _intersect_culled(prim, origins, dirs, dir_norm):
    """``prim.intersect`` over the rays that may hit it: t (N,), face (N,)."""
    t = np.full(len(dirs), np.inf)
    face = np.zeros(len(dirs), np.int8)
    idx = _candidate_rays(prim, origins, dirs, dir_norm)
    if len(idx):
        sub_origins = origins if len(origins) == 1 else origins[idx]
        t[idx], face[idx] = prim.intersect(sub_origins, dirs[idx])
    return t, face


def _cast(prims, origins, dirs):
    """Nearest hit: t (N,), primitive index (N,, -1 = none), face (N,)."""
    n = len(dirs)
    dir_norm = np.linalg.norm(dirs, axis=1)
    best_t = np.full(n, np.inf)
    best_prim = np.full(n, -1, np.int64)
    best_face = np.zeros(n, np.int8)
    for k, prim in enumerate(prims):
        t, face = _intersect_culled(prim, origins, dirs, dir_norm)
        closer = t < best_t
        best_t[closer] = t[closer]
        best_prim[closer] = k
        best_face[closer] = face[closer]
    return best_t, best_prim, best_face


def render_scene(rng: np.random.Generator, height: int, width: int,
                 classes: Optional[Sequence[str]] = None,
                 with_parts: bool = True) -> Dict[str, np.ndarray]:
    """Draw and render one scene.

    Args:
        rng: the image's random generator (all randomness comes from it).
        height, width: image size in pixels.
        classes: class subset (see :func:`resolve_classes`).
        with_parts: also return the ``parts`` map.

    Returns:
        dict of arrays, all (H, W) unless stated:
        ``image`` (H, W, 3) uint8 RGB; ``semseg`` uint8 (0 = unlabeled sky,
        k + 1 = ``classes[k]``); ``depth`` float32 z-depth in metres
        (0 = invalid); ``normals`` (H, W, 3) float32 unit, camera frame
        x right / y down / z forward (zero = invalid); ``edge`` float32 {0, 1};
        ``saliency`` uint8 {0, 1}; ``parts`` uint8 (index into
        :func:`part_names`, only when ``with_parts``); ``instance`` int32
        id of the object or room surface (-1 = sky); ``surface`` int32 id of
        the primitive (a table's slab and legs differ; -1 = sky). The last
        two are not written to disk.
    """
    classes = resolve_classes(classes)
    if int(height) < 4 or int(width) < 4:
        raise ValueError(f'height and width must be >= 4, got '
                         f'{height} x {width}')
    height, width = int(height), int(width)
    scene = sample_scene(rng, classes)
    prims = scene['primitives']
    cam = scene['camera']
    rot, origin = cam['rotation'], cam['position']
    intr = camera_intrinsics(height, width)

    # rays with camera-frame direction (x, y, 1): ray parameter t = z-depth
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    d_cam = np.stack([(u - intr['cx']) / intr['fx'],
                      (v - intr['cy']) / intr['fy'],
                      np.ones_like(u)], -1).reshape(-1, 3)
    dirs = d_cam @ rot.T
    origins = origin[None, :]
    t, prim_idx, face = _cast(prims, origins, dirs)
    hit = prim_idx >= 0
    n_pix = height * width

    points = origin + np.where(hit, t, 0.0)[:, None] * dirs
    # per-primitive lookup tables; the extra last entry is for sky (idx -1)
    semseg = np.array([classes.index(p.cls) + 1 for p in prims] + [0],
                      np.uint8)[prim_idx]
    instance = np.array([p.instance for p in prims] + [-1],
                        np.int32)[prim_idx]
    surface = np.array([p.surface_id for p in prims] + [_SKY],
                       np.int32)[prim_idx]
    normals_w = np.zeros((n_pix, 3))
    albedo = np.zeros((n_pix, 3))
    parts = np.zeros(n_pix, np.uint8)
    names = part_names(classes)
    order = np.argsort(prim_idx, kind='stable')
    bounds = np.searchsorted(prim_idx[order], np.arange(len(prims) + 1))
    for k, prim in enumerate(prims):
        idx = order[bounds[k]:bounds[k + 1]]
        if not len(idx):
            continue
        nrm, part, uv = prim.surface(points[idx], face[idx])
        normals_w[idx] = nrm
        albedo[idx] = _albedo(prim.texture, uv)
        if prim.cls in PARTS_PER_CLASS:
            if prim.cls == 'table':  # a slab or a leg as a whole
                part = np.full_like(part, prim.table_part)
            ids = np.array([names.index(f'{prim.cls}_{p}')
                            for p in PARTS_PER_CLASS[prim.cls]], np.uint8)
            parts[idx] = ids[part]

    # shading: ambient + Lambert from point lights, shadows cast by objects
    occluders = [p for p in prims if p.cls in OBJECT_CLASSES]
    shade = np.zeros((n_pix, 3)) + scene['ambient']
    hit_idx = np.flatnonzero(hit)
    p_hit = points[hit_idx] + 1e-3 * normals_w[hit_idx]
    n_hit = normals_w[hit_idx]
    for light_pos, intensity in scene['lights']:
        to_light = light_pos - p_hit
        dist = np.linalg.norm(to_light, axis=1)
        cos = np.einsum('ij,ij->i', n_hit, to_light) / np.maximum(dist, 1e-9)
        lit = np.flatnonzero(cos > 0)
        p_lit, to_light_lit = p_hit[lit], to_light[lit]
        visible = np.ones(len(lit), bool)
        for prim in occluders:
            # cull with the rays cast from the light (one shared origin)
            idx = _candidate_rays(prim, light_pos[None], -to_light_lit,
                                  dist[lit])
            if len(idx):
                t_sh, _ = prim.intersect(p_lit[idx], to_light_lit[idx])
                visible[idx[t_sh < 1.0]] = False
        direct = np.zeros(len(hit_idx))
        direct[lit] = cos[lit] * visible / (1.0 + (dist[lit] / 5.0) ** 2)
        shade[hit_idx] += direct[:, None] * intensity
    colour = albedo * shade
    # sky gradient where nothing is hit (only with structural classes left out)
    sky_top = np.array([0.45, 0.62, 0.9])
    sky_low = np.array([0.85, 0.9, 0.97])
    elevation = dirs[:, 1] / np.linalg.norm(dirs, axis=1)  # sin(angle)
    sky = sky_low + (sky_top - sky_low) * np.clip(elevation, 0, 1)[:, None]
    colour = np.where(hit[:, None], colour, sky)
    exposure = rng.uniform(0.85, 1.15)
    noise_sigma = rng.uniform(1.0, 4.0) / 255.0
    colour = colour * exposure + rng.normal(0.0, noise_sigma, colour.shape)
    image = np.clip(np.round(colour * 255.0), 0, 255).astype(np.uint8)

    depth = np.where(hit, t, 0.0).astype(np.float32)
    normals_c = (normals_w @ rot).astype(np.float32)  # camera = R^T world
    shape = (height, width)
    out = dict(
        image=image.reshape(height, width, 3),
        semseg=semseg.reshape(shape),
        depth=depth.reshape(shape),
        normals=normals_c.reshape(height, width, 3),
        saliency=np.isin(semseg, [classes.index(c) + 1 for c in classes
                                  if c in OBJECT_CLASSES]).astype(
                                      np.uint8).reshape(shape),
        instance=instance.reshape(shape),
        surface=surface.reshape(shape),
    )
    out['edge'] = _edges(out['semseg'], surface.reshape(shape), out['depth'])
    if with_parts:
        out['parts'] = parts.reshape(shape)
    return out


# --------------------------------------------------------------------------
# Writing the dataset
# --------------------------------------------------------------------------
_SUBDIRS = ('gt_sets', 'images', 'segmentation', 'depth', 'normals', 'edge',
            'saliency')


def image_id(index: int) -> str:
    """File id of image ``index``: zero padded to 6 digits."""
    return f'{index:06d}'


def _write_sample(out_dir: str, index: int, sample: Dict[str, np.ndarray]):
    iid = image_id(index)

    def imwrite(path, array, params=()):
        if not cv2.imwrite(path, array, list(params)):
            raise IOError(f'could not write {path}')

    imwrite(osp.join(out_dir, 'images', f'{iid}.jpg'),
            np.ascontiguousarray(sample['image'][..., ::-1]),
            (cv2.IMWRITE_JPEG_QUALITY, 95))
    imwrite(osp.join(out_dir, 'segmentation', f'{iid}.png'), sample['semseg'])
    imwrite(osp.join(out_dir, 'saliency', f'{iid}.png'),
            sample['saliency'] * np.uint8(255))
    np.save(osp.join(out_dir, 'depth', f'{iid}.npy'), sample['depth'])
    np.save(osp.join(out_dir, 'normals', f'{iid}.npy'), sample['normals'])
    np.save(osp.join(out_dir, 'edge', f'{iid}.npy'), sample['edge'])
    if 'parts' in sample:
        imwrite(osp.join(out_dir, 'parts', f'{iid}.png'), sample['parts'])


def _render_and_write(job) -> int:
    """Worker: render and write images ``start .. stop - 1``."""
    out_dir, start, stop, seed, height, width, classes, with_parts = job
    for index in range(start, stop):
        rng = np.random.default_rng([seed, index])
        sample = render_scene(rng, height, width, classes, with_parts)
        _write_sample(out_dir, index, sample)
    return stop - start


def _build_meta(num_train, num_val, height, width, seed, classes,
                with_parts) -> dict:
    intr = camera_intrinsics(height, width)
    parts = list(part_names(classes)) if with_parts else []
    tasks = dict(
        semseg=dict(kind='segmentation', num_classes=len(classes),
                    path='segmentation/<id>.png'),
        depth=dict(kind='depth', path='depth/<id>.npy'),
        normals=dict(kind='normals', path='normals/<id>.npy'),
        edge=dict(kind='edge', path='edge/<id>.npy'),
        saliency=dict(kind='saliency', path='saliency/<id>.png'),
    )
    if with_parts:
        tasks['parts'] = dict(kind='segmentation', num_classes=len(parts),
                              path='parts/<id>.png')
    return dict(
        dataset='SynthScenes',
        generator_version=GENERATOR_VERSION,
        seed=seed, num_train=num_train, num_val=num_val,
        height=height, width=width,
        classes=list(classes),
        num_classes=len(classes),
        with_parts=with_parts,
        part_names=parts,
        tasks=tasks,
        camera=dict(
            hfov_deg=HFOV_DEG, **intr,
            K=[[intr['fx'], 0.0, intr['cx']], [0.0, intr['fy'], intr['cy']],
               [0.0, 0.0, 1.0]],
            frame='x right, y down, z forward (OpenCV); pixel centres at '
                  'integer (u, v)'),
        conventions=dict(
            segmentation='uint8 PNG: 0 = unlabeled, k + 1 = classes[k]',
            depth='float32 z-depth in metres along the optical axis, '
                  '0 = invalid',
            normals='float32 (H, W, 3) unit, camera frame x right, y down, '
                    'z forward, facing the camera; zero = invalid',
            edge='float32 {0, 1}; label changes and depth jumps between '
                 'surfaces, 2 px thick',
            saliency='uint8 PNG {0, 255}; 255 = object pixel',
            parts='uint8 PNG: value = index into part_names, 0 = background '
                  '(a class), 255 = ignore (never written)'),
        splits=dict(train='gt_sets/train.txt', val='gt_sets/val.txt'),
    )


def _check_params(num_train, num_val, height, width, seed, num_workers):
    for name, value, low in (('num_train', num_train, 0),
                             ('num_val', num_val, 0), ('height', height, 4),
                             ('width', width, 4), ('seed', seed, 0),
                             ('num_workers', num_workers, 1)):
        is_int = isinstance(value, (int, np.integer)) and not isinstance(
            value, bool)
        if not is_int or value < low:
            raise ValueError(f'{name} must be an integer >= {low}, got '
                             f'{value!r}')
    if num_train + num_val == 0:
        raise ValueError('num_train + num_val must be > 0, got 0')


def generate_synthscenes(out_dir: str,
                         num_train: int = 1000,
                         num_val: int = 200,
                         height: int = 96,
                         width: int = 128,
                         seed: int = 0,
                         classes: Optional[Sequence[str]] = None,
                         with_parts: bool = True,
                         num_workers: int = 1,
                         progress: bool = True) -> dict:
    """Render the dataset into ``out_dir`` (NYUD_MT layout, see module doc).

    Ids ``0 .. num_train - 1`` form the train split, the next ``num_val``
    the val split. An existing ``meta.json`` is removed first and written
    again at the end, so an interrupted run leaves no ``meta.json``. Files of
    an earlier, larger dataset in ``out_dir`` are overwritten where the ids
    collide, otherwise left (the split files list the current ones).

    Returns:
        the meta dict that is written to ``out_dir/meta.json``.
    """
    classes = resolve_classes(classes)
    _check_params(num_train, num_val, height, width, seed, num_workers)
    num_train, num_val, height, width, seed = (
        int(num_train), int(num_val), int(height), int(width), int(seed))
    with_parts = bool(with_parts)
    meta = _build_meta(num_train, num_val, height, width, seed, classes,
                       with_parts)
    meta_path = osp.join(out_dir, 'meta.json')
    if osp.exists(meta_path):
        os.remove(meta_path)
    for sub in _SUBDIRS + (('parts', ) if with_parts else ()):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)

    total = num_train + num_val
    # chunks: small enough to share work between workers, at most 25 images
    chunk = max(1, min(25, math.ceil(total / (4 * num_workers))))
    jobs = [(out_dir, start, min(start + chunk, total), seed, height, width,
             classes, with_parts) for start in range(0, total, chunk)]
    report_every = max(1, min(100, total // 10))
    start_time = time.time()
    done, next_report = 0, report_every

    def report(count):
        nonlocal done, next_report
        done += count
        if progress and (done >= next_report or done == total):
            print(f'SynthScenes: {done}/{total} images '
                  f'({time.time() - start_time:.1f} s)', flush=True)
            next_report = (done // report_every + 1) * report_every

    if num_workers == 1:
        for job in jobs:
            report(_render_and_write(job))
    else:
        method = 'fork' if 'fork' in multiprocessing.get_all_start_methods() \
            else 'spawn'
        with multiprocessing.get_context(method).Pool(num_workers) as pool:
            for count in pool.imap_unordered(_render_and_write, jobs):
                report(count)

    ids = [image_id(i) for i in range(total)]
    for split, split_ids in (('train', ids[:num_train]),
                             ('val', ids[num_train:])):
        with open(osp.join(out_dir, 'gt_sets', f'{split}.txt'), 'w') as f:
            f.write(''.join(f'{i}\n' for i in split_ids))
    tmp_path = meta_path + '.tmp'
    with open(tmp_path, 'w') as f:
        json.dump(meta, f, indent=2)
    os.replace(tmp_path, meta_path)
    return meta


def ensure_synthscenes(out_dir: str,
                       num_train: int = 1000,
                       num_val: int = 200,
                       height: int = 96,
                       width: int = 128,
                       seed: int = 0,
                       classes: Optional[Sequence[str]] = None,
                       with_parts: bool = True,
                       num_workers: int = 1,
                       progress: bool = True) -> dict:
    """Return the dataset's meta, generating the dataset if it is missing.

    If ``out_dir/meta.json`` exists and its parameters (:data:`PARAM_KEYS`)
    equal the requested ones, it is returned untouched; if it is missing the
    dataset is generated; if it exists with other parameters, a ValueError
    names the mismatching keys (the dataset is never silently overwritten).
    """
    classes = resolve_classes(classes)
    _check_params(num_train, num_val, height, width, seed, num_workers)
    meta_path = osp.join(out_dir, 'meta.json')
    if not osp.exists(meta_path):
        return generate_synthscenes(out_dir, num_train, num_val, height,
                                    width, seed, classes, with_parts,
                                    num_workers, progress)
    try:
        with open(meta_path) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f'{meta_path} is not a readable SynthScenes '
                         f'meta.json: {err}') from err
    wanted = _build_meta(int(num_train), int(num_val), int(height),
                         int(width), int(seed), classes, bool(with_parts))
    mismatched = [key for key in PARAM_KEYS if meta.get(key) != wanted[key]]
    if mismatched:
        details = ', '.join(f'{key}: on disk {meta.get(key)!r}, requested '
                            f'{wanted[key]!r}' for key in mismatched)
        raise ValueError(
            f'SynthScenes at {out_dir} was generated with other parameters '
            f'({details}). Use another directory or delete this one.')
    return meta


__all__ = [
    'SYNTHSCENES_CLASSES', 'STRUCTURAL_CLASSES', 'OBJECT_CLASSES',
    'PARTS_PER_CLASS', 'GENERATOR_VERSION', 'HFOV_DEG', 'camera_intrinsics',
    'resolve_classes', 'part_names', 'sample_scene', 'render_scene',
    'generate_synthscenes', 'ensure_synthscenes', 'image_id'
]

if __name__ == '__main__':  # pragma: no cover
    sys.exit('use tools/dataset_converters/synthscenes.py')
