"""Celeb-DF v2: synthesised videos paired with the real clip of their target identity.

The tree, as the dataset ships::

    Celeb-real/id<a>_<clip>.mp4
    Celeb-synthesis/id<a>_id<b>_<clip>.mp4       id<a>'s clip with id<b>'s face
    YouTube-real/<n>.mp4                         unpaired reals: skipped
    List_of_testing_videos.txt                   "<1 real | 0 fake> <folder>/<file>" per line

A synthesis ``id<a>_id<b>_<clip>`` pairs with ``Celeb-real/id<a>_<clip>``; its ``source_id`` is that
real clip. When the list is present, a clip whose real or any fake is listed is ``test`` and every
other clip ``train``. Celeb-DF has no masks: the build computes the artifact mask from the pair.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from fifa_data.pairs.layouts.frames import MaterialisedSource, Stated
from fifa_data.pairs.layouts.video import VIDEO_SUFFIXES
from fifa_data.pairs.rejects import Reject

TEST_LIST = "List_of_testing_videos.txt"
_SYNTHESIS = re.compile(r"^(id\d+)_(id\d+)_(\d+)$")


class CelebDFPairs(MaterialisedSource):
    """``Celeb-real/`` + ``Celeb-synthesis/`` of Celeb-DF v2 (module docstring)."""

    name = "celebdf"

    def stated(self) -> Iterator[Stated | Reject]:
        listed = _listed(self.dataset / TEST_LIST)
        pairs = []
        for fake in sorted(p for p in (self.dataset / "Celeb-synthesis").iterdir() if p.suffix.lower() in VIDEO_SUFFIXES):
            rel = fake.relative_to(self.dataset).as_posix()
            match = _SYNTHESIS.match(fake.stem)
            real = self.dataset / "Celeb-real" / f"{match[1]}_{match[3]}{fake.suffix}" if match else None
            if real is None or not real.is_file():
                yield Reject("unpaired_fake", f"{rel}: no Celeb-real/<target>_<clip> original", fake=rel)
                continue
            pairs.append((real.relative_to(self.dataset).as_posix(), rel, real.stem))
        tested = {source for real, fake, source in pairs if real in listed or fake in listed} if listed is not None else set()
        for real, fake, source in pairs:
            split = None if listed is None else "test" if source in tested else "train"
            yield Stated(real=real, fake=fake, manipulation="celeb_synthesis", source_id=source, split=split)


def _listed(path: Path) -> set[str] | None:
    """The videos named in Celeb-DF's test list, or None without one."""
    if not path.is_file():
        return None
    return {line.split()[-1] for line in path.read_text().splitlines() if line.strip()}


def is_celebdf(folder: Path) -> bool:
    """Whether ``folder`` holds ``Celeb-real/`` and ``Celeb-synthesis/``."""
    return (folder / "Celeb-real").is_dir() and (folder / "Celeb-synthesis").is_dir()
