"""A dataset's box or render mask as the bound of the artifact mask the build computes.

Some datasets ship a mask that is not the changed pixels: FaceForensics++'s Deepfakes gives the
swapped box, Face2Face and NeuralTextures a shaded render of the tracked face
(`pairs.layouts.ffpp.MASK_MEANINGS`). The layouts keep such a mask in ``PairRef.extra["given_mask"]``
(a JSON COCO RLE) with its meaning in ``extra["mask_meaning"]``; `measure` computes the artifact
mask from the pair as usual but only inside this region, dilated by `REGION_MARGIN_FACES` face
heights (a blend's border runs a little past the region the method reports), and the build records both masks.
"""

from __future__ import annotations

import json

import cv2
import numpy as np

from fifa_data.core import masks as masklib
from fifa_data.pairs.sources import PairRef

BOUNDING_MEANINGS = ("box", "render")  # mask meanings that bound the edit without marking its pixels
REGION_MARGIN_FACES = 0.05  # the region is dilated by this many face heights before it bounds the artifact mask


def given_region(ref: PairRef, shape: tuple[int, int], face_height: float) -> np.ndarray | None:
    """The dilated box or render mask the source gives with ``ref`` (module docstring), or None when it gives none
    (or an empty one, or one of another size than the ``(h, w)`` frame)."""
    if ref.extra.get("mask_meaning") not in BOUNDING_MEANINGS or "given_mask" not in ref.extra:
        return None
    region = masklib.decode(json.loads(ref.extra["given_mask"]))
    if region.shape != tuple(shape) or not region.any():
        return None
    return cv2.dilate(region.view(np.uint8), masklib.disc(REGION_MARGIN_FACES * face_height)).astype(bool)
