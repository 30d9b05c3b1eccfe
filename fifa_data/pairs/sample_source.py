"""The bundled sample source: simulated FaceApp-like pairs written to disk, FiFa's default data.

`write_sample_pairs` takes the face photos that install with the dependencies (`photos`), in two
views each (``full``: the installed file, bytes unchanged; ``face``: a square crop around the face
resized to 512 px), applies `simulate.simulate_edit` edits and writes::

    OUT/real/<view>/<photo>.<png|jpg>
    OUT/fake/<view>/<photo>_<manipulation>_<k>.<jpg|png>
    OUT/pairs.csv     real, fake, manipulation, source_id, split, params (JSON), edit_mask (JSON COCO RLE)

so the data half meets the pair sources at a real file boundary: `pairs.open_source(OUT)` reads
the manifest (with ground truth), and `pairs.FolderPairs(OUT)` reads the same files by name.
Like an app's output, most fakes are re-encoded as JPEG (quality drawn per fake), a few as PNG.
Greyscale photos get greyscale fakes. Pair ``k`` draws its randomness from ``(seed, k)`` alone,
so the same seed writes the same bytes.

``photos_dir`` takes the real photos from any folder instead (its image files, by name); a photo without
a usable face is skipped and listed in the summary. The family edits that need a donor
(`simulate.DONOR_EDITS`) draw it from the other photos of the collection, never the photo itself, and
record it in ``params["donor"]``; a blend records its seam band in ``params["seam"]`` (a COCO RLE).

The default build simulates `SAMPLE_MIX`: the ten attribute edits and the five family edits
(`simulate.FAMILY_EDITS`), a family edit after every two attribute edits, so the pairs of every photo
view hold every forgery family, two attribute pairs for each family pair.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from PIL import Image

from fifa_data.core.images import ImageLoadError, encode_image, load_rgb
from fifa_data.core.masks import encode
from fifa_data.core.schema import MANIPULATIONS
from fifa_data.faces.concepts import concept_masks
from fifa_data.faces.detect import NoFaceError, analyze_face
from fifa_data.pairs import photos as bundled_photos
from fifa_data.pairs.loading import is_grayscale
from fifa_data.pairs.simulate import DONOR_EDITS, FAMILY_EDITS, simulate_edit
from fifa_data.pairs.sources import EDIT_MASK_COLUMN

VIEWS = ("full", "face")
FACE_VIEW_SIDE = 512
FACE_VIEW_MARGIN = 0.45  # the crop is the face box grown by this share of its size on each side
JPEG_QUALITY = (75, 95)
PNG_SHARE = 0.2
# Three photos are three identities: one per split, so each split holds a photo the others never see.
SPLITS = {"astronaut": "train", "camera": "validation", "grace_hopper": "test"}
SAMPLE_MIX: tuple[str, ...] = tuple(  # the default build's edits, in order: two attribute edits, then one family edit
    edit for i, family in enumerate(FAMILY_EDITS) for edit in (*MANIPULATIONS[2 * i : 2 * i + 2], family)
)
assert sorted(SAMPLE_MIX) == sorted(MANIPULATIONS + FAMILY_EDITS)
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")  # the files of a photos_dir that are photos


@dataclass(frozen=True)
class SampleSummary:
    """What `write_sample_pairs` wrote, and which requested edits could not be made."""

    root: Path
    pairs: int
    reals: list[str]
    skipped: list[dict] = field(default_factory=list)  # {real, manipulation, reason}


@dataclass(frozen=True)
class _Real:
    path: str
    source_id: str
    image: np.ndarray
    grayscale: bool


def write_sample_pairs(
    out: str | os.PathLike,
    n: int = 100,
    seed: int = 0,
    *,
    photos: tuple[str, ...] = tuple(bundled_photos.PHOTOS),
    views: tuple[str, ...] = VIEWS,
    manipulations: tuple[str, ...] = MANIPULATIONS,
    long_side: int | None = None,
    photos_dir: str | os.PathLike | None = None,
) -> SampleSummary:
    """Write `n` simulated pairs (cycling photo x view x manipulation, past the edits that do not apply) under `out`.

    ``long_side`` resizes every real view to that long side (Lanczos, saved as PNG) before the edits:
    the same photos at another resolution, as the build bench measures at 512 and 1024 px. ``photos_dir``
    replaces the bundled ``photos`` with the photos of that folder.
    """
    unknown = set(views) - set(VIEWS)
    if unknown:
        raise ValueError(f"unknown view(s) {', '.join(sorted(unknown))}; known: {', '.join(VIEWS)}")
    out = Path(out)
    if photos_dir is not None:
        sources = {path.stem: path for path in sorted(Path(photos_dir).iterdir()) if path.suffix.lower() in PHOTO_SUFFIXES}
        if not sources:
            raise ValueError(f"{photos_dir}: no photos ({', '.join(PHOTO_SUFFIXES)}) in this folder")
    else:
        sources = {photo: bundled_photos.photo_file(photo) for photo in photos}
    reals, analysed, skipped = [], {}, []
    for view in views:
        for photo, source in sources.items():
            try:
                real, data = _real_view(photo, view, long_side, source)
            except (NoFaceError, ImageLoadError) as exc:  # a folder's photo that does not load, or has no face to crop
                skipped.append({"real": f"real/{view}/{source.name}", "manipulation": None, "reason": str(exc)})
                continue
            try:
                face = analyze_face(real.image)
            except NoFaceError as exc:  # e.g. a small profile face, blurred by the face view's upscale
                skipped.append({"real": real.path, "manipulation": None, "reason": str(exc)})
                continue
            analysed[real.path] = (face, concept_masks(real.image, face))
            _write_bytes(out / real.path, data)
            reals.append(real)

    combos = [(real, manipulation) for real in reals for manipulation in manipulations]
    rows = []
    for k in range(n + len(combos) if combos else 0):  # an edit that does not apply to a photo makes room for the next one
        if len(rows) == n:
            break
        real, manipulation = combos[k % len(combos)]
        rng = np.random.default_rng([seed, k])
        face, concepts = analysed[real.path]
        donor = _donor(real, reals, rng) if manipulation in DONOR_EDITS else None
        try:
            if manipulation in DONOR_EDITS and donor is None:
                raise ValueError(f"{manipulation} needs a donor: the collection has no other photo")
            edit = simulate_edit(
                real.image,
                manipulation,
                rng,
                face=face,
                concepts=concepts,
                **({"donor": donor.image, "donor_face": analysed[donor.path][0]} if donor is not None else {}),
            )
        except ValueError as exc:  # the edit does not apply to this photo
            skipped.append({"real": real.path, "manipulation": manipulation, "reason": str(exc)})
            continue
        fake = edit.fake
        if real.grayscale:
            fake = np.asarray(Image.fromarray(fake).convert("L"))
        data, suffix, encoding = _encode_fake(fake, rng)
        stem = Path(real.path).stem
        fake_path = f"fake/{Path(real.path).parent.name}/{stem}_{manipulation}_{k:04d}{suffix}"
        _write_bytes(out / fake_path, data)
        params = {**edit.params, "encoding": encoding}
        if donor is not None:
            params["donor"] = donor.path
        if edit.seam is not None:
            params["seam"] = encode(edit.seam)
        rows.append(
            {
                "real": real.path,
                "fake": fake_path,
                "manipulation": manipulation,
                "source_id": real.source_id,
                "split": SPLITS.get(real.source_id, "") if photos_dir is None else "",
                "params": json.dumps(params, sort_keys=True),
                EDIT_MASK_COLUMN: json.dumps(encode(edit.mask)),
            }
        )
    schema = dict.fromkeys(("real", "fake", "manipulation", "source_id", "split", "params", EDIT_MASK_COLUMN), pl.String)
    pl.DataFrame(rows, schema=schema).write_csv(out / "pairs.csv")
    return SampleSummary(out, len(rows), [r.path for r in reals], skipped)


def _donor(real: _Real, reals: list[_Real], rng: np.random.Generator) -> _Real | None:
    """Another photo of the collection (of the same view where one exists) to lend its face; None if there is none."""
    others = [r for r in reals if r.source_id != real.source_id]
    same_view = [r for r in others if Path(r.path).parent == Path(real.path).parent]
    pool = same_view or others
    return pool[int(rng.integers(len(pool)))] if pool else None


def _real_view(photo: str, view: str, long_side: int | None = None, source: Path | None = None) -> tuple[_Real, bytes]:
    source = source if source is not None else bundled_photos.photo_file(photo)
    data = source.read_bytes()
    image = load_rgb(data, name=str(source))
    grayscale = is_grayscale(image)
    suffix = source.suffix.lower()
    resized = image if view == "full" else _face_crop(image)
    if long_side is not None and max(resized.shape[:2]) != long_side:
        scale = long_side / max(resized.shape[:2])
        size = (round(resized.shape[1] * scale), round(resized.shape[0] * scale))
        resized = np.asarray(Image.fromarray(resized).resize(size, Image.Resampling.LANCZOS))
    if resized is not image:
        mode = "L" if grayscale else "RGB"
        data, suffix = encode_image(Image.fromarray(resized).convert(mode)), ".png"
        image = load_rgb(data)
    return _Real(f"real/{view}/{photo}{suffix}", photo, image, grayscale), data


def _face_crop(image: np.ndarray) -> np.ndarray:
    """A square crop around the face, grown by `FACE_VIEW_MARGIN` and resized to `FACE_VIEW_SIDE`."""
    x0, y0, x1, y1 = analyze_face(image).box
    side = max(x1 - x0, y1 - y0) * (1 + 2 * FACE_VIEW_MARGIN)
    side = min(side, *image.shape[:2])
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(round(np.clip(cx - side / 2, 0, image.shape[1] - side)))
    top = int(round(np.clip(cy - side / 2, 0, image.shape[0] - side)))
    side = int(round(side))
    crop = Image.fromarray(image[top : top + side, left : left + side])
    return np.asarray(crop.resize((FACE_VIEW_SIDE, FACE_VIEW_SIDE), Image.Resampling.LANCZOS))


def _encode_fake(fake: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str, dict]:
    if rng.random() < PNG_SHARE:
        return encode_image(fake), ".png", {"format": "png"}
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    return encode_image(fake, "JPEG", quality=quality), ".jpg", {"format": "jpeg", "quality": quality}


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
