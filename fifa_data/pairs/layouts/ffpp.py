"""FaceForensics++: original and manipulated videos, per-method mask videos, official splits.

The tree, as the official download script writes it (any of ``raw``, ``c23``, ``c40``)::

    original_sequences/youtube/<c>/videos/<t>.mp4
    manipulated_sequences/<method>/<c>/videos/<t>_<s>.mp4        target t, source s
    manipulated_sequences/<method>/masks/videos/<t>_<s>.mp4      some methods only
    original_sequences/actors/<c>/videos/<a>__<scene>.mp4        DeepFakeDetection's originals
    manipulated_sequences/DeepFakeDetection/<c>/videos/<a>_<b>__<scene>__<id>.mp4
    splits/{train,val,test}.json                                 optional: lists of [a, b] id pairs

A fake ``<t>_<s>`` pairs with the original ``<t>`` of the same compression; its ``source_id`` is
``t``, so an original and all its fakes share a split, the official one where ``splits/`` is
present. A DeepFakeDetection fake pairs with actor ``a``'s original of the same scene; its
``source_id`` is ``actors/<a>__<scene>`` (no official split lists it). The masks mean different things per method (`MASK_MEANINGS`): Deepfakes' is the swapped
box, FaceSwap's the rendered face region, Face2Face's and NeuralTextures' a shaded render of the
tracked face; FaceShifter and DeepFakeDetection ship none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from fifa_data.core.families import family_of
from fifa_data.pairs.layouts.frames import MaterialisedSource, Stated
from fifa_data.pairs.layouts.video import VIDEO_SUFFIXES
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sources import SourceError

COMPRESSIONS = ("raw", "c23", "c40")
MASK_MEANINGS: dict[str, str] = {  # method folder (lower case) → what its mask video marks
    "deepfakes": "box",
    "faceswap": "region",
    "face2face": "render",
    "neuraltextures": "render",
}
MASK_LEVEL = 32  # mask videos are lossy: a pixel is in the mask when its brightest channel reaches this (render shading included)
DFD_NAME = re.compile(r"^(\d+)_(\d+)__(.+)__([A-Za-z0-9]+)$")  # DeepFakeDetection: <target>_<source>__<scene>__<id>
SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}


class FaceForensicsPairs(MaterialisedSource):
    """``original_sequences/`` + ``manipulated_sequences/`` of FaceForensics++ (module docstring)."""

    name = "ffpp"

    def stated(self) -> Iterator[Stated | Reject]:
        splits = official_splits(self.dataset / "splits")
        for method_dir in sorted(p for p in (self.dataset / "manipulated_sequences").iterdir() if p.is_dir()):
            method = method_dir.name
            if family_of(method) == "unknown":
                yield Reject("unknown_method", f"manipulated_sequences/{method}: not a known FaceForensics++ method; its videos are skipped")
                continue
            meaning = MASK_MEANINGS.get(method.lower())
            for compression in COMPRESSIONS:
                folder = method_dir / compression / "videos"
                if not folder.is_dir():
                    continue
                for video in sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES):
                    fake = video.relative_to(self.dataset).as_posix()
                    target, real = self._original(method, video, compression)
                    if real is None or not real.is_file():
                        why = f"no original {real.relative_to(self.dataset).as_posix()}" if real else "not named <a>_<b>__<scene>__<id>"
                        yield Reject("unpaired_fake", f"{fake}: {why}", fake=fake)
                        continue
                    mask = f"manipulated_sequences/{method}/masks/videos/{video.name}" if meaning else None
                    yield Stated(
                        real=real.relative_to(self.dataset).as_posix(),
                        fake=fake,
                        manipulation=method,
                        source_id=target,
                        mask=mask,
                        mask_meaning=meaning,
                        mask_level=MASK_LEVEL,
                        compression=compression,
                        split=splits.get(target),
                        mask_required=meaning is not None,
                    )


    def _original(self, method: str, video: Path, compression: str) -> tuple[str, Path | None]:
        """The target's id and original video of a fake (`DFD_NAME` for DeepFakeDetection); no path when the name has no target."""
        if method.lower() != "deepfakedetection":
            target = video.stem.split("_")[0]
            return target, self.dataset / "original_sequences/youtube" / compression / "videos" / f"{target}{video.suffix}"
        match = DFD_NAME.match(video.stem)
        if match is None:
            return video.stem, None
        target = f"{match[1]}__{match[3]}"
        return f"actors/{target}", self.dataset / "original_sequences/actors" / compression / "videos" / f"{target}{video.suffix}"


def official_splits(folder: Path) -> dict[str, str]:
    """Video id → split from FF++'s ``train.json``, ``val.json`` and ``test.json`` (lists of id pairs); empty when absent."""
    splits: dict[str, str] = {}
    for file_name, split in SPLIT_NAMES.items():
        path = folder / f"{file_name}.json"
        if path.is_file():
            try:
                pairs = json.loads(path.read_text())
                ids = [str(video_id) for pair in pairs for video_id in pair]
            except (OSError, ValueError, TypeError) as exc:
                raise SourceError(f"{path}: not an FF++ split list, a JSON list of [target, source] id pairs ({exc})") from exc
            splits.update(dict.fromkeys(ids, split))
    return splits


def is_ffpp(folder: Path) -> bool:
    """Whether ``folder`` holds FF++'s two top folders."""
    return (folder / "original_sequences").is_dir() and (folder / "manipulated_sequences").is_dir()
