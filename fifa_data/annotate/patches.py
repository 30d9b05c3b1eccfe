"""A filled patch's mask: the whole of the place an inpainting removed something from.

A fill (`cv2.inpaint`, a healing brush, a generative fill) replaces a compact patch with content grown
from the patch's border, so near that border, and wherever the photo was flat, it reproduces what was
there: the visible change is a core with gaps. A JPEG save then spreads that change over every 8x8
block it touched, beyond the patch and as strongly as the faint part of the fill. Two steps recover
the patch:

1. where the fake is a JPEG saved once from its real plus the fill, the change is read off the fake's
   quantised luma coefficients (`jpeg_luma_change`): of all the changes of the real that those
   coefficients allow, the one smallest in total absolute value. It is zero on every block the fill
   left alone and, within a touched block, lies on the pixels that must have changed rather than
   spread over the block as the re-quantisation spreads it;
2. each part of that change (or, for a lossless fake, of the artifact mask), closed over its gaps and
   freed of specks, is taken whole as its convex hull (`patch_mask`): a brush stroke or a lasso is
   convex at the scale of a blemish; a part narrower than a brush (`core.families.BRUSH_RADIUS_PX`)
   is grown to a brush's width, as no fill is narrower.

`whole_patch` does both for the annotator, falling back to the artifact mask where the luma change
does not explain the difference (a recolouring).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.fft import dct
from skimage.morphology import remove_small_objects

from fifa_data.annotate.artifacts import JPEG_SPREAD_PX
from fifa_data.core import masks as masklib
from fifa_data.core.families import BRUSH_RADIUS_PX
from fifa_data.core.images import encoder_luma, jpeg_luma

BLOCK = 8  # a JPEG's luma blocks
PATCH_LEVELS = 2.0  # a pixel whose luma changed by more than this many levels belongs to the patch (as the truth counts a visible change)
CLOSE_PX = 2  # gaps of the change closed at this radius before a part is taken whole
MIN_PART_PX = 10  # parts of the change smaller than this are re-quantisation specks
PATCH_EXPLAINS = 0.9  # the luma change, spread as a JPEG spreads it, holds this share of the artifact mask (a colour edit's does not)
MAX_BLOCKS = 4096  # a change touching more blocks than this (a 512 px square) is no patch; not solved

_DCT = np.kron(dct(np.eye(BLOCK), norm="ortho", axis=0), dct(np.eye(BLOCK), norm="ortho", axis=0))  # a JPEG's 8x8 DCT on row-major blocks


def _blocks(plane: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The ``rows x cols`` whole blocks of `plane` as (rows, cols, 64) row-major vectors."""
    return plane[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK).transpose(0, 2, 1, 3).reshape(rows, cols, BLOCK * BLOCK)


def jpeg_luma_change(real: np.ndarray, fake_file: bytes, region: np.ndarray | None = None) -> tuple[np.ndarray, int] | None:
    """The smallest (L1) luma change of `real` that the JPEG `fake_file`'s quantised luma coefficients
    allow, per 8x8 block (HxW float64, zero on untouched blocks and on blocks outside `region`), and
    the number of touched blocks solved; None when `fake_file` is not a JPEG of `real`'s size, or
    touches more than `MAX_BLOCKS` blocks (no patch is that large).

    Each coefficient of a block the encoder quantised to ``n`` at step ``q`` lay in ``[(n - 1/2) q,
    (n + 1/2) q]`` before the save; where the real's own coefficient lies outside that bin, the fake
    was changed there. A block whose smallest change cannot reach `PATCH_LEVELS` on any pixel (an
    encoder's integer DCT lands a real coefficient just outside its bin now and then) is left alone:
    the L1 solution's largest pixel is at most its L1 norm, at most that of the smallest L2 change,
    at most 8 times the L2 change's norm. A block whose decoded luma
    reaches 0 or 255 was clipped, so its bins cannot be read back: it is left out. The change is
    solved for every touched block at once (`_smallest_l1`).
    """
    decoded = jpeg_luma(fake_file)
    if decoded is None or decoded[0].shape != real.shape[:2]:
        return None
    fake_luma, table = decoded
    height, width = fake_luma.shape
    rows, cols = height // BLOCK, width // BLOCK  # a partial edge block's padding is the encoder's: left alone
    out = np.zeros((height, width))
    r0, r1, c0, c1 = 0, rows, 0, cols
    if region is not None:  # only the blocks that hold some of the region are read
        held = _blocks(region.astype(np.uint8), rows, cols).any(axis=-1)
        if not held.any():
            return out, 0
        r_any, c_any = np.flatnonzero(held.any(axis=1)), np.flatnonzero(held.any(axis=0))
        r0, r1, c0, c1 = r_any[0], r_any[-1] + 1, c_any[0], c_any[-1] + 1
    window = (slice(r0 * BLOCK, r1 * BLOCK), slice(c0 * BLOCK, c1 * BLOCK))
    q = table.reshape(-1)
    real_coefs = _blocks(encoder_luma(real[window]) - 128, r1 - r0, c1 - c0) @ _DCT.T
    fake_blocks = _blocks(fake_luma[window], r1 - r0, c1 - c0)
    bins = np.rint(((fake_blocks - 128) @ _DCT.T) / q)
    low, high = (bins - 0.5) * q - real_coefs, (bins + 0.5) * q - real_coefs  # the change's coefficient range
    least = np.clip(0.0, low, high)  # the coefficients of the smallest (L2) change; its L1 norm bounds the L1 solution's
    touched = (np.linalg.norm(least, axis=-1) * BLOCK > PATCH_LEVELS) & ~((fake_blocks <= 0) | (fake_blocks >= 255)).any(axis=-1)
    if region is not None:
        touched &= held[r0:r1, c0:c1]
    n = int(touched.sum())
    if n > MAX_BLOCKS:
        return None
    change = np.zeros((r1 - r0, c1 - c0, BLOCK * BLOCK))
    if n:
        change[touched] = _smallest_l1(low[touched], high[touched])
    out[window] = change.reshape(r1 - r0, c1 - c0, BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape((r1 - r0) * BLOCK, (c1 - c0) * BLOCK)
    return out, n


ADMM_STEPS = 200  # iterations of the L1 solver; 100 to 1,000 give the same patches


def _smallest_l1(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per row, the pixel change ``x`` of least L1 norm whose DCT lies in ``[low, high]``: ADMM on
    ``min |x|_1 + [DCT x in box]``, every block at once (the DCT is orthonormal, so each step is a
    soft threshold and a clip); ends on a change whose coefficients are clipped into the box."""
    coefs = np.clip(0.0, low, high)
    dual = np.zeros_like(coefs)
    for _ in range(ADMM_STEPS):
        pixels = (coefs - dual) @ _DCT
        pixels = np.sign(pixels) * np.maximum(np.abs(pixels) - 1.0, 0.0)
        moved = pixels @ _DCT.T
        coefs = np.clip(moved + dual, low, high)
        dual += moved - coefs
    return coefs @ _DCT


def convex_parts(mask: np.ndarray) -> np.ndarray:
    """Each connected part of `mask` replaced by its convex hull."""
    out = np.zeros(mask.shape, np.uint8)
    outlines, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)  # a part inside another's hole lies in its hull
    for outline in outlines:
        cv2.fillConvexPoly(out, cv2.convexHull(outline), 1)
    return out.astype(bool)


def patch_mask(changed: np.ndarray) -> np.ndarray:
    """The filled patches a boolean change mask outlines: closed over gaps of `CLOSE_PX`, parts under
    `MIN_PART_PX` pixels dropped, each part taken whole (`convex_parts`)."""
    closed = cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_CLOSE, masklib.disc(CLOSE_PX)) > 0
    return brush_wide(convex_parts(remove_small_objects(closed, max_size=MIN_PART_PX - 1)))


def brush_wide(mask: np.ndarray, radius: float = BRUSH_RADIUS_PX) -> np.ndarray:
    """Each part of `mask` narrower than a brush of `radius` grown until the brush fits in it: the
    smallest change the JPEG allows is sparse, so a small fill's change is a speck inside its hole."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8))
    if count <= 1:
        return mask
    inside = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    out = mask.copy()
    for k in range(1, count):
        part = labels == k
        grow = radius - float(inside[part].max())
        if grow >= 1.0:  # a pixel short or more: within a pixel, the part is a brush's footprint already
            out |= cv2.dilate(part.astype(np.uint8), masklib.disc(grow)) > 0
    return out


def whole_patch(artifact: np.ndarray, real: np.ndarray, fake_file: bytes | None, exact: bool, near: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """An inpainting's mask: its filled patches taken whole (`patch_mask`), outlined by the
    change read off the JPEG `fake_file`'s coefficients (`jpeg_luma_change`) where the fake
    was saved once from its `real` (`exact`) and that change, with a JPEG's spread, holds `PATCH_EXPLAINS` of
    the artifact mask; else by the artifact mask; the artifact mask itself when no patch remains.
    Returns the mask and what outlined it."""
    outline, how = artifact, {"outlined_by": "artifact"}
    if exact and fake_file is not None:
        region = cv2.dilate(artifact.astype(np.uint8), masklib.disc(JPEG_SPREAD_PX)) > 0  # a JPEG spreads a change no farther
        solved = jpeg_luma_change(real, fake_file, region)
        if solved is not None:
            changed = np.abs(solved[0]) > PATCH_LEVELS
            reach = cv2.dilate(changed.astype(np.uint8), masklib.disc(JPEG_SPREAD_PX)) > 0
            explained = float(np.count_nonzero(artifact & reach) / np.count_nonzero(artifact))
            how = {"outlined_by": "artifact", "blocks": solved[1], "levels": PATCH_LEVELS, "explained": round(explained, 4)}
            if explained >= PATCH_EXPLAINS:  # else the difference is mostly another change than luma's (a colour edit)
                outline, how["outlined_by"] = changed, "jpeg_luma_change"
    patch = patch_mask(outline)
    if near is not None:
        patch &= near
    return (patch, how) if patch.any() else (artifact, {"outlined_by": "none"})
