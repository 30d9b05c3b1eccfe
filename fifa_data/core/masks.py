"""Binary masks and COCO run-length encoding (RLE), built on pycocotools.

An RLE is ``{"size": [h, w], "counts": str}`` with compressed, column-major counts, exactly as
COCO tools read and write it. Every function that takes a mask also takes an RLE dict (with
``str``, ``bytes`` or uncompressed ``list[int]`` counts); set operations and resize return the kind
of their first argument.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence

import cv2
import numpy as np
from pycocotools import mask as _coco_mask

__all__ = [
    "area",
    "bbox",
    "decode",
    "encode",
    "intersection",
    "iou",
    "merge",
    "resize",
    "to_mask",
    "to_rle",
    "union",
]

MaskOrRLE = np.ndarray | dict

# Compressed counts store 6 bits per character (5 of value, 1 "more follows"), offset by 48.
_RLE_CHARS = bytes(range(48, 112))


def _check_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {mask.shape}")
    return mask


def _check_size(size) -> tuple[int, int]:
    try:
        h, w = (int(s) for s in size)
        valid = [h, w] == list(size) and h >= 0 and w >= 0
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f"RLE 'size' must be [h, w] with non-negative ints, got {size!r}")
    return h, w


@functools.lru_cache(maxsize=4096)  # a row's masks recur: in its other tasks' rows and in the pairs row
def _run_total(counts: bytes) -> int | None:
    """Sum of the runs in compressed counts, read as pycocotools' rleFrString does; None if malformed."""
    # pycocotools never checks this sum, and decoding counts that fall short of h*w returns
    # uninitialised memory, so it is checked here.
    if not counts:
        return 0
    if counts.translate(None, _RLE_CHARS):
        return None
    c = np.frombuffer(counts, np.uint8).astype(np.int64) - 48
    last = (c & 0x20) == 0
    starts = np.flatnonzero(np.r_[True, last[:-1]])
    chunks = np.diff(np.r_[starts, c.size])
    if not last[-1] or chunks.max() > 7:
        return None
    shift = 5 * (np.arange(c.size) - np.repeat(starts, chunks))
    x = np.add.reduceat((c & 0x1F) << shift, starts) - (((c[last] & 0x10) > 0) << (5 * chunks))
    x[1::2] = np.cumsum(x[1::2])  # runs from the 4th on are stored as deltas to the run two back
    x[2::2] = np.cumsum(x[2::2])
    return int(x.sum()) if (x >= 0).all() else None


def _coco(x: MaskOrRLE) -> dict:
    """Compressed RLE with bytes counts, the form pycocotools' functions take."""
    if isinstance(x, np.ndarray):
        mask = _check_mask(x)
        # A bool mask is viewed as uint8 without a copy; a Fortran-ordered one is then encoded as is.
        mask = mask.view(np.uint8) if mask.dtype == bool else (mask != 0).view(np.uint8)
        rle = _coco_mask.encode(np.asfortranarray(mask))
        return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"]}
    if not isinstance(x, dict):
        raise ValueError(f"expected a 2-D mask array or an RLE dict, got {type(x).__name__}")
    missing = {"size", "counts"} - x.keys()
    if missing:
        raise ValueError(f"RLE dict is missing {sorted(missing)}; it has keys {sorted(x.keys())}")
    h, w = _check_size(x["size"])
    counts = x["counts"]
    if isinstance(counts, str):
        try:
            counts = counts.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("RLE 'counts' string is not ASCII") from None
    if isinstance(counts, bytes):
        total = _run_total(counts)
        if total is None:
            raise ValueError("RLE 'counts' is not a valid compressed COCO RLE string")
        if total != h * w:
            raise ValueError(f"RLE 'counts' cover {total} pixels, but size {[h, w]} has {h * w}")
        return {"size": [h, w], "counts": counts}
    if isinstance(counts, (list, tuple, np.ndarray)):
        runs = np.asarray(counts)
        if runs.ndim != 1 or (runs.size and (runs.dtype.kind not in "iu" or runs.min() < 0)):
            raise ValueError("uncompressed RLE 'counts' must be a list of non-negative ints")
        if int(runs.sum()) != h * w:
            raise ValueError(f"uncompressed RLE 'counts' sum to {runs.sum()}, but size {[h, w]} has {h * w}")
        return _coco_mask.frPyObjects({"size": [h, w], "counts": runs.tolist()}, h, w)
    raise ValueError(f"RLE 'counts' must be str, bytes or a list of ints, got {type(counts).__name__}")


def _same_size(rles: Sequence[dict]) -> None:
    sizes = list(dict.fromkeys(tuple(r["size"]) for r in rles))
    if len(sizes) > 1:
        raise ValueError(f"mask sizes differ: {' vs '.join(str(list(s)) for s in sizes)}")


def _public(rle: dict) -> dict:
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _like(x: MaskOrRLE, rle: dict) -> MaskOrRLE:
    return decode(rle) if isinstance(x, np.ndarray) else _public(rle)


def encode(mask: np.ndarray) -> dict:
    """Encode a 2-D mask (nonzero = foreground) as ``{"size": [h, w], "counts": str}``."""
    return _public(_coco(_check_mask(mask)))


def decode(rle: dict) -> np.ndarray:
    """Decode a COCO RLE dict (compressed or uncompressed counts) into a boolean HxW mask."""
    rle = _coco(rle)
    with warnings.catch_warnings():
        # pycocotools' mask buffer predates numpy 2's `copy` keyword; numpy warns, harmlessly.
        warnings.simplefilter("ignore", DeprecationWarning)
        return _coco_mask.decode(rle).astype(bool)


def to_rle(x: MaskOrRLE) -> dict:
    """Return ``x`` as a compressed RLE dict with ``str`` counts."""
    return _public(_coco(x))


def to_mask(x: MaskOrRLE) -> np.ndarray:
    """Return ``x`` as a boolean HxW mask."""
    return _check_mask(x) != 0 if isinstance(x, np.ndarray) else decode(x)


def area(x: MaskOrRLE) -> int:
    """Number of foreground pixels."""
    if isinstance(x, np.ndarray):
        return int(np.count_nonzero(_check_mask(x)))
    return int(_coco_mask.area(_coco(x)))


def bbox(x: MaskOrRLE) -> list[float] | None:
    """Tight box ``[x0, y0, x1, y1]`` in pixels, with x1 = x0 + width exclusive; None if empty."""
    rle = _coco(x)
    if not _coco_mask.area(rle):
        return None
    x0, y0, w, h = (float(v) for v in _coco_mask.toBbox(rle))
    return [x0, y0, x0 + w, y0 + h]


def iou(a: MaskOrRLE, b: MaskOrRLE) -> float:
    """Intersection over union of two masks of the same size.

    Two empty masks score 1.0: predicting nothing for an absent region is right (as in gRefCOCO's gIoU).
    """
    ra, rb = _coco(a), _coco(b)
    _same_size([ra, rb])
    if not _coco_mask.area(ra) and not _coco_mask.area(rb):
        return 1.0
    return float(_coco_mask.iou([ra], [rb], [0])[0, 0])


def intersection(a: MaskOrRLE, b: MaskOrRLE) -> MaskOrRLE:
    """Pixels in both ``a`` and ``b``, as a mask if ``a`` is a mask, else as an RLE dict."""
    rles = [_coco(a), _coco(b)]
    _same_size(rles)
    return _like(a, _coco_mask.merge(rles, intersect=True))


def union(a: MaskOrRLE, b: MaskOrRLE) -> MaskOrRLE:
    """Pixels in ``a`` or ``b``, as a mask if ``a`` is a mask, else as an RLE dict."""
    return merge([a, b])


def merge(masks: Sequence[MaskOrRLE]) -> MaskOrRLE:
    """Union of one or more masks, of the same kind as the first one."""
    if not len(masks):
        raise ValueError("merge needs at least one mask")
    rles = [_coco(m) for m in masks]
    _same_size(rles)
    return _like(masks[0], _coco_mask.merge(rles, intersect=False))


def _resize_axis(mask: np.ndarray, n: int, axis: int) -> np.ndarray:
    src = mask.shape[axis]
    if n >= src:
        return np.take(mask, (2 * np.arange(n) + 1) * src // (2 * n), axis=axis)
    return np.logical_or.reduceat(mask, np.arange(n) * src // n, axis=axis)


def resize(x: MaskOrRLE, size: tuple[int, int]) -> MaskOrRLE:
    """Resize to ``size = (h, w)``: nearest neighbour along an axis that grows, logical OR over
    each output pixel's source pixels along one that shrinks, so a 1-px line is never lost."""
    h, w = _check_size(size)
    mask = to_mask(x)
    if 0 in mask.shape or 0 in (h, w):
        raise ValueError(f"cannot resize a mask of size {list(mask.shape)} to {[h, w]}")
    out = _resize_axis(_resize_axis(mask, h, 0), w, 1)
    return out if isinstance(x, np.ndarray) else encode(out)


def disc(radius: float) -> np.ndarray:
    """A disc-shaped structuring element (OpenCV's ellipse) of ``radius`` pixels, rounded, at least 1."""
    r = max(1, round(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
