"""Concept masks of benchmark images, computed once per distinct image, and the row-image helpers of scoring.

FiFa-Bench asks several questions about each image (a dozen rows of different tasks), and the
text-mask consistency of AGE and the whole-face baseline need the image's FICT concept masks
(:func:`fifa_data.faces.concepts.concept_masks`, about half a second an image): :class:`ConceptCache`
computes them once per distinct image, keyed by the SHA-1 of the image's file bytes.
"""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

from fifa_data.core.fict import FICT, load_fict
from fifa_data.core.images import load_rgb, open_row_image, row_image_bytes, upright_size
from fifa_data.faces.concepts import ConceptMasks, concept_masks
from fifa_data.faces.detect import NoFaceError

__all__ = ["ConceptCache", "image_key", "image_size"]


def image_key(image: dict | Image.Image) -> str:
    """SHA-1 of an image: of its file bytes for a ``{"bytes", "path"}`` value, of its pixels for a decoded image."""
    if isinstance(image, Image.Image):
        digest = hashlib.sha1(f"{image.mode} {image.size}".encode())
        digest.update(image.tobytes())
        return "pixels:" + digest.hexdigest()
    return hashlib.sha1(row_image_bytes(image)).hexdigest()


def image_size(row: dict) -> tuple[int, int]:
    """(height, width) of a row's image as ``datasets`` decodes it (EXIF orientation applied).

    Read from the row's masks when it has any (they are made at that size), else from the image
    header; no pixel is decoded.
    """
    for rle in [*(row.get("masks") or []), row.get("query_mask")]:
        if rle:
            h, w = rle["size"]
            return int(h), int(w)
    image = row["image"]
    if isinstance(image, Image.Image):
        width, height = image.size  # datasets has already turned it upright
        return height, width
    return upright_size(row_image_bytes(image))


class ConceptCache:
    """FICT concept masks of the rows' images, each image analysed once (None when it shows no face)."""

    def __init__(self, fict: FICT | None = None):
        self._fict = fict
        self._masks: dict[str, ConceptMasks | None] = {}
        self._sizes: dict[str, tuple[int, int]] = {}

    def __len__(self) -> int:
        """Number of distinct images analysed so far."""
        return len(self._masks)

    def concepts(self, row: dict) -> ConceptMasks | None:
        """The concept masks of ``row``'s image, or None when no face is found in it."""
        key = image_key(row["image"])
        if key not in self._masks:
            rgb = load_rgb(open_row_image(row["image"]))
            self._sizes[key] = rgb.shape[:2]
            self._fict = self._fict or load_fict()
            try:
                self._masks[key] = concept_masks(rgb, fict=self._fict)
            except NoFaceError:
                self._masks[key] = None
        return self._masks[key]

    def face_mask(self, row: dict) -> np.ndarray:
        """Boolean HxW mask of the FICT concept "face" in ``row``'s image; all False when no face is found."""
        found = self.concepts(row)
        if found is None:
            return np.zeros(self._sizes[image_key(row["image"])], bool)
        return found.mask("face")
