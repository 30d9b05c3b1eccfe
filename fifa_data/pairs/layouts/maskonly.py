"""Mask-only sets: a fake and its mask, no real image (SID-Set's ``*_mask.png``, MMTT-style fake + mask + text).

The trees recognised::

    fake/<name>.png + mask/<name>.png        (or masks/); an optional <name>.txt beside the fake
    <any folder>/<name>.png + <name>_mask.png

Each fake becomes a pair whose real is the fake itself (``real_path == fake_path``, see
`pairs.loading.LoadedPair.fake_only`): the mask, binarised at `MASK_LEVEL`, is the artifact mask
(meaning ``region``), the concepts are read from the fake, and the annotator leaves out what only a
real image could show (`annotate.fake_only`). The manipulation is the fake's folder when the alias
table knows it (``lip_color/0001.png``), else `UNNAMED` (SID-Set's word for a locally edited image);
the ``source_id`` is the fake's path without suffix. A ``<name>.txt`` beside the fake travels in
``source_fields`` as ``text``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from fifa_data.core.families import family_of
from fifa_data.pairs.layouts.frames import MaterialisedSource, Stated
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sources import IMAGE_SUFFIXES

MASK_FOLDERS = ("mask", "masks")
MASK_SUFFIX = "_mask"
MASK_LEVEL = 128  # a mask pixel whose brightest channel reaches this is in the edited region
UNNAMED = "tampered"  # the manipulation of a fake whose folder names none


def mask_only_fakes(folder: Path) -> list[tuple[Path, Path]]:
    """Every (fake, mask) file pair of a mask-only tree (module docstring), sorted."""
    found = []
    mask_dir = next((folder / m for m in MASK_FOLDERS if (folder / m).is_dir()), None)
    if (folder / "fake").is_dir() and mask_dir is not None and not (folder / "real").is_dir():
        masks = {p.stem: p for p in mask_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES}
        found = [(p, masks[p.stem]) for p in sorted((folder / "fake").rglob("*")) if p.stem in masks]
    if not found and not (folder / "real").is_dir():
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            names = {Path(n).stem: Path(dirpath) / n for n in filenames if Path(n).suffix.lower() in IMAGE_SUFFIXES}
            found += [(path, names[f"{stem}{MASK_SUFFIX}"]) for stem, path in sorted(names.items()) if f"{stem}{MASK_SUFFIX}" in names]
    return found


class MaskOnlyPairs(MaterialisedSource):
    """A mask-only set: each fake paired with itself, its mask the artifact mask (module docstring)."""

    name = "mask_only"

    def stated(self) -> Iterator[Stated | Reject]:
        for fake, mask in mask_only_fakes(self.dataset):
            rel = fake.relative_to(self.dataset).as_posix()
            folder = fake.parent.name
            yield Stated(
                real=rel,
                fake=rel,
                manipulation=folder if family_of(folder) != "unknown" else UNNAMED,
                source_id=str(Path(rel).with_suffix("").as_posix()),
                mask=mask.relative_to(self.dataset).as_posix(),
                mask_meaning="region",
                mask_level=MASK_LEVEL,
                mask_required=True,
            )

    def _extra(self, s: Stated) -> dict[str, str]:
        extra = super()._extra(s)
        text = (self.dataset / s.fake).with_suffix(".txt")
        if text.is_file():
            extra["text"] = text.read_text(errors="replace").strip()
        return extra


def is_mask_only(folder: Path) -> bool:
    """Whether ``folder`` holds fakes with masks and no real images."""
    return bool(mask_only_fakes(folder))
