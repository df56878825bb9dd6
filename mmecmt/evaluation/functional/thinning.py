"""Morphological thinning of binary edge maps (MATLAB ``bwmorph(.., 'thin',
inf)``), used by the BSDS boundary benchmark before matching.

The algorithm is the two-subiteration parallel thinning of Guo and Hall
(1989, algorithm A1), as described by Lam, Lee and Suen (1992, p. 879) and
implemented by MATLAB's ``bwmorph`` and scikit-image's ``thin``: per
subiteration a pixel is deleted when a lookup table over its 8-neighbourhood
says so; repeat until nothing changes. Vectorised with numpy.
"""
import numpy as np

# Neighbour bit order: bit 0 = E, 1 = NE, 2 = N, 3 = NW, 4 = W, 5 = SW,
# 6 = S, 7 = SE; (dy, dx) offsets of each bit.
_NEIGHBOUR_OFFSETS = ((0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1),
                      (1, 0), (1, 1))


def _thinning_luts():
    """Deletion lookup tables (256,) bool of the two subiterations."""

    def bits(n):
        return [bool(n >> i & 1) for i in range(8)]

    def g1(b):  # exactly one 4-connected 0->1 crossing (X_H(p) = 1)
        return sum(1 for i in (0, 2, 4, 6)
                   if not b[i] and (b[i + 1] or b[(i + 2) % 8])) == 1

    def g2(b):  # 2 <= min(n1, n2) <= 3
        n1 = sum(1 for k in (1, 3, 5, 7) if b[k] or b[k - 1])
        n2 = sum(1 for k in (1, 3, 5, 7) if b[k] or b[(k + 1) % 8])
        return min(n1, n2) in (2, 3)

    def g3(b):  # (x2 | x3 | ~x8) & x1 == 0
        return not ((b[1] or b[2] or not b[7]) and b[0])

    def g3p(b):  # (x6 | x7 | ~x4) & x5 == 0
        return not ((b[5] or b[6] or not b[3]) and b[4])

    first = np.zeros(256, dtype=bool)
    second = np.zeros(256, dtype=bool)
    for n in range(256):
        b = bits(n)
        base = g1(b) and g2(b)
        first[n] = base and g3(b)
        second[n] = base and g3p(b)
    return first, second


_LUT_FIRST, _LUT_SECOND = _thinning_luts()


def _neighbour_code(mask: np.ndarray) -> np.ndarray:
    """(H, W) uint8 code of each pixel's 8 neighbours (outside = 0)."""
    padded = np.pad(mask, 1).astype(np.uint8)
    h, w = mask.shape
    code = np.zeros((h, w), dtype=np.uint8)
    for bit, (dy, dx) in enumerate(_NEIGHBOUR_OFFSETS):
        code |= padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] << bit
    return code


def thin(mask) -> np.ndarray:
    """Thin a binary (H, W) mask to one-pixel-wide curves.

    Args:
        mask: (H, W) bool (or 0/1) array.

    Returns:
        (H, W) bool array, a subset of ``mask``.
    """
    skel = np.asarray(mask).astype(bool).copy()
    if skel.ndim != 2:
        raise ValueError(f'thin() needs an (H, W) mask, got {skel.shape}')
    count = -1
    while count != int(skel.sum()):
        count = int(skel.sum())
        for lut in (_LUT_FIRST, _LUT_SECOND):
            delete = lut[_neighbour_code(skel)] & skel
            skel[delete] = False
    return skel
