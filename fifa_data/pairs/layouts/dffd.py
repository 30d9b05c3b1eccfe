"""DFFD's FaceApp subset: real, fake and graded mask images of the same name, per split.

The tree, as DFFD's official loader reads it::

    <split>/Real/<name>.png      split: train, validation (or val), test
    <split>/Fake/<name>.png
    <split>/Mask/<name>.png      graded: how much each pixel changed

A graded mask is binarised at `GRADED_LEVEL` (a pixel whose brightest channel reaches it is
changed) and taken as the artifact mask (meaning ``changed_pixels``). The ``source_id`` is the
image's name, the split the folder's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fifa_data.pairs.layouts.frames import MaterialisedSource, Stated
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sources import IMAGE_SUFFIXES

GRADED_LEVEL = 26  # a tenth of full scale: below it, a graded DFFD mask pixel counts as unchanged
SPLIT_FOLDERS = {"train": "train", "validation": "validation", "val": "validation", "test": "test"}


class DFFDPairs(MaterialisedSource):
    """``<split>/{Real,Fake,Mask}/<name>`` of DFFD (module docstring)."""

    name = "dffd"

    def stated(self) -> Iterator[Stated | Reject]:
        for folder, split in SPLIT_FOLDERS.items():
            fakes = self.dataset / folder / "Fake"
            if not fakes.is_dir():
                continue
            for fake in sorted(p for p in fakes.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
                rel = fake.relative_to(self.dataset).as_posix()
                real = _same_name(self.dataset / folder / "Real", fake.stem)
                if real is None:
                    yield Reject("unpaired_fake", f"{rel}: no {folder}/Real/{fake.stem}.*", fake=rel)
                    continue
                mask = _same_name(self.dataset / folder / "Mask", fake.stem)
                yield Stated(
                    real=real.relative_to(self.dataset).as_posix(),
                    fake=rel,
                    manipulation="faceapp",
                    source_id=f"{folder}/{fake.stem}",
                    mask=mask.relative_to(self.dataset).as_posix() if mask else None,
                    mask_meaning="changed_pixels" if mask else None,
                    mask_level=GRADED_LEVEL,
                    split=split,
                )


def _same_name(folder: Path, stem: str) -> Path | None:
    return next((folder / f"{stem}{s}" for s in sorted(IMAGE_SUFFIXES) if (folder / f"{stem}{s}").is_file()), None)


def is_dffd(folder: Path) -> bool:
    """Whether ``folder`` holds a split folder with ``Real/`` and ``Fake/``."""
    return any((folder / s / "Real").is_dir() and (folder / s / "Fake").is_dir() for s in SPLIT_FOLDERS)
