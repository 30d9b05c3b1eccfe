"""Mask-only sets: a fake and its mask, no real image (SID-Set's ``*_mask.png``, MMTT-style fake + mask + text).

The trees recognised::

    fake/<name>.png + mask/<name>.png        (or masks/)
    <any folder>/<name>.png + <name>_mask.png

FiFa's annotator compares every fake with its real image (the pair checks, the artifact mask's
noise floor, the colour and texture evidence), so these sets are recognised and counted but not
built yet: `MaskOnlyPairs` raises a `SourceError` that says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from fifa_data.pairs.layouts.frames import MaterialisedSource, Stated
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sources import IMAGE_SUFFIXES, SourceError

MASK_FOLDERS = ("mask", "masks")
MASK_SUFFIX = "_mask"


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
    """A mask-only set: recognised, refused with the reason (module docstring)."""

    name = "mask_only"

    def stated(self) -> Iterator[Stated | Reject]:
        count = len(mask_only_fakes(self.dataset))
        raise SourceError(
            f"{self.dataset}: a mask-only set ({count} fake{'s' if count != 1 else ''} with a mask, no real images); FiFa's annotator compares each fake "
            "with its real image, so such sets cannot be built yet (docs/datasets.md)"
        )


def is_mask_only(folder: Path) -> bool:
    """Whether ``folder`` holds fakes with masks and no real images."""
    return bool(mask_only_fakes(folder))
