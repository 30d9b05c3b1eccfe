"""The shared half of every dataset layout: turn the pairs a layout states into files a `PairRef` can point at.

A layout yields `Stated` pairs (paths in the dataset folder, videos or images, with an optional
mask and what it means). `MaterialisedSource` writes what the build reads into its work folder:
for a video pair, the sampled frames of the real, the fake and the mask video, paired by frame
number (`video.read_frames`), stored as lossless PNG; for an image pair, the two images as they are
(hard-linked where possible) and the binarised mask. ``--crop-face SCALE`` crops all three
identically around the subject. Every file it cannot use becomes a `Reject`, never an exception.
"""

from __future__ import annotations

import abc
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from fifa_data.core import masks as masklib
from fifa_data.core.images import ImageLoadError, encode_image, load_image_file
from fifa_data.faces.detect import NoFaceError, analyze_face, square_around
from fifa_data.pairs.layouts.video import DEFAULT_FRAMES_PER_VIDEO, VIDEO_SUFFIXES, VideoError, count_frames, read_frames, sample_indices
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sources import SPLIT_COLUMN, Candidate, PairSource

MASK_MEANINGS = ("changed_pixels", "region", "render", "box")  # what a given mask marks
GIVEN_AS_ARTIFACT = ("changed_pixels", "region")  # meanings the build takes as the artifact mask; the others are recorded only


@dataclass(frozen=True)
class LayoutOptions:
    """How a layout reads its dataset: forced layout name, frames sampled per video, face crop, where frames go."""

    layout: str | None = None  # None: detected (`layouts.detect.detect_layout`)
    frames_per_video: int = DEFAULT_FRAMES_PER_VIDEO
    crop_face: float | None = None  # side of the square crop as a multiple of the face box's longer side
    work: Path | None = None  # where decoded frames and binarised masks are written; None: a temporary folder

    def parameters(self) -> dict:
        """What decides the output (recorded in ``build.json``)."""
        return {"layout": self.layout, "frames_per_video": self.frames_per_video, "crop_face": self.crop_face}


@dataclass(frozen=True)
class Stated:
    """A pair as a dataset's tree states it: paths relative to the dataset folder (POSIX)."""

    real: str
    fake: str
    manipulation: str
    source_id: str
    mask: str | None = None
    mask_meaning: str | None = None  # one of `MASK_MEANINGS`
    mask_level: int = 128  # a mask pixel whose brightest channel reaches this level is in the mask
    compression: str | None = None  # FF++'s raw / c23 / c40
    split: str | None = None  # the official split, where the dataset has one
    mask_required: bool = False  # a missing mask is a reject (`missing_mask`), not an unmasked pair


class MaterialisedSource(PairSource):
    """A dataset folder read through its layout; `root` is the work folder the pairs are written into."""

    name: str = ""

    def __init__(self, dataset: str | os.PathLike, options: LayoutOptions = LayoutOptions()) -> None:
        self.dataset = Path(dataset)
        self.options = options
        work = Path(options.work) if options.work is not None else Path(tempfile.mkdtemp(prefix="fifa-layout-"))
        super().__init__(work / self.name)

    @abc.abstractmethod
    def stated(self) -> Iterator[Stated | Reject]:
        """Every pair the dataset's tree states, and every entry it cannot pair, as a `Reject`."""

    def candidates(self) -> Iterator[Candidate | Reject]:
        self.root.mkdir(parents=True, exist_ok=True)
        for item in self.stated():
            if isinstance(item, Reject):
                yield item
            elif PurePosixPath(item.fake).suffix.lower() in VIDEO_SUFFIXES:
                yield from self._video_pairs(item)
            else:
                yield from self._image_pair(item)

    # -- images ------------------------------------------------------------------------------

    def _image_pair(self, s: Stated) -> Iterator[Candidate | Reject]:
        for path in (s.real, s.fake):
            if not (self.dataset / path).is_file():
                yield Reject("missing_file", f"{path}: no such file under {self.dataset}", real=s.real, fake=s.fake)
                return
        for path in (s.real, s.fake):
            _link(self.dataset / path, self.root / path)
        mask, extra = None, self._extra(s)
        if s.mask is not None:
            try:
                _, pixels = load_image_file(self.dataset / s.mask)
            except (ImageLoadError, OSError) as exc:
                if s.mask_required:
                    yield Reject("missing_mask", f"{s.mask}: {exc}", real=s.real, fake=s.fake)
                    return
            else:
                mask = self._write_mask(s, s.mask, _binarise(pixels, s.mask_level), extra)
        yield Candidate(s.real, s.fake, s.manipulation, s.source_id, extra, mask)

    # -- videos ------------------------------------------------------------------------------

    def _video_pairs(self, s: Stated) -> Iterator[Candidate | Reject]:
        def reject(reason: str, detail: str) -> Reject:
            return Reject(reason, detail, real=s.real, fake=s.fake)

        mask_path = s.mask if s.mask and (self.dataset / s.mask).is_file() else None
        if s.mask and mask_path is None and s.mask_required:
            yield reject("missing_mask", f"{s.mask}: no mask video for {s.fake}")
            return
        try:
            real_count = count_frames(self.dataset / s.real)
        except VideoError as exc:
            yield reject("unreadable_video", str(exc))
            return
        try:
            fake_count = count_frames(self.dataset / s.fake)
        except VideoError as exc:
            yield reject("unreadable_video", str(exc))
            return
        if fake_count < real_count:
            yield reject("short_video", f"{s.fake} has {fake_count} frames, its original {s.real} {real_count}")
            return
        indices = sample_indices(real_count, self.options.frames_per_video)
        streams = [read_frames(self.dataset / s.real, indices), read_frames(self.dataset / s.fake, indices)]
        if mask_path is not None:
            streams.append(read_frames(self.dataset / mask_path, indices))
        count = 0
        for frames in zip(*streams):
            index = frames[0][0]
            real, fake = frames[0][1], frames[1][1]
            mask = _binarise(frames[2][1], s.mask_level) if mask_path else None
            if mask is not None and mask.shape != real.shape[:2]:
                yield reject("missing_mask", f"{mask_path}: mask frames are {mask.shape[1]}x{mask.shape[0]}, the video's {real.shape[1]}x{real.shape[0]}")
                return
            yield self._frame_pair(s, mask_path, index, real, fake, mask)
            count += 1
        if count < len(indices):
            detail = f"{s.fake}: only {count} of {len(indices)} sampled frames decode in it or its mask video"
            yield reject("unreadable_video", detail)

    def _frame_pair(self, s: Stated, mask_path: str | None, index: int, real: np.ndarray, fake: np.ndarray, mask: np.ndarray | None) -> Candidate:
        extra = {**self._extra(s), "video": s.fake, "real_video": s.real, "frame_index": str(index)}
        name = f"{index:06d}"
        if self.options.crop_face:
            box = _crop_box(real, mask, self.options.crop_face)
            if box is not None:
                left, top, right, bottom = box
                real, fake = real[top:bottom, left:right], fake[top:bottom, left:right]
                mask = mask[top:bottom, left:right] if mask is not None else None
                extra["crop_box"] = json.dumps(list(box))
                name += f"_{left}_{top}_{right}_{bottom}"
        real_file = f"{_stem(s.real)}/{name}.png"
        fake_file = f"{_stem(s.fake)}/{name}.png"
        if not (self.root / real_file).is_file():  # an original's frames are shared by its fakes
            _write(self.root / real_file, encode_image(real))
        _write(self.root / fake_file, encode_image(fake))
        mask_file = self._write_mask(s, f"{_stem(mask_path)}/{name}.png", mask, extra) if mask is not None else None
        return Candidate(real_file, fake_file, s.manipulation, s.source_id, extra, mask_file)

    # -- shared ------------------------------------------------------------------------------

    def _extra(self, s: Stated) -> dict[str, str]:
        extra = {"layout": self.name}
        if s.compression:
            extra["compression"] = s.compression
        if s.split:
            extra[SPLIT_COLUMN] = s.split
        if s.mask_meaning:
            extra["mask_meaning"] = s.mask_meaning
        return extra

    def _write_mask(self, s: Stated, relative: str, mask: np.ndarray, extra: dict[str, str]) -> str | None:
        """Write the binarised mask under ``masks/``: the artifact mask's path when its meaning allows; else None,
        the mask kept in ``extra["given_mask"]`` (a JSON COCO RLE) beside the artifact mask the build computes."""
        if s.mask_meaning not in GIVEN_AS_ARTIFACT:
            extra["given_mask"] = json.dumps(masklib.encode(mask))
            return None
        relative = f"masks/{PurePosixPath(relative).with_suffix('.png')}"
        _write(self.root / relative, encode_image((mask * 255).astype(np.uint8)))
        return relative


def _binarise(pixels: np.ndarray, level: int) -> np.ndarray:
    return (pixels.max(axis=2) if pixels.ndim == 3 else pixels) >= level


def _crop_box(real: np.ndarray, mask: np.ndarray | None, scale: float) -> tuple[int, int, int, int] | None:
    """The square of ``scale`` times the subject's face box (the face the mask covers most, else the largest), or None without a face."""
    try:
        face = analyze_face(real)
    except NoFaceError:
        return None
    boxes = face.boxes
    box = boxes[0]
    if mask is not None and mask.any():
        box = max(boxes, key=lambda b: mask[int(b[1]) : int(b[3]) + 1, int(b[0]) : int(b[2]) + 1].sum())
    return square_around(box, real.shape, (scale - 1) / 2)


def _stem(path: str) -> str:
    return str(PurePosixPath(path).with_suffix(""))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _link(source: Path, target: Path) -> None:
    """Put ``source`` at ``target`` without copying where the file system allows (a hard link)."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)

