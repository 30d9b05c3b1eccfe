"""Which layout a dataset folder has, from its tree alone; ``--layout NAME`` skips the guess.

Checked in this order, the first that matches wins:

==========  ===============================================================
``manifest``  a file, or a folder holding ``pairs.parquet`` / ``pairs.csv``
``ffpp``      ``original_sequences/`` and ``manipulated_sequences/``
``celebdf``   ``Celeb-real/`` and ``Celeb-synthesis/``
``dffd``      ``<split>/Real/`` and ``<split>/Fake/``
``folder``    ``real/`` and ``fake/``
``mask_only`` ``fake/`` + ``mask/``, or ``<name>_mask.png`` beside ``<name>.png``, no ``real/`` (fakes without reals)
==========  ===============================================================
"""

from __future__ import annotations

import os
from pathlib import Path

from fifa_data.pairs.layouts.celebdf import CelebDFPairs, is_celebdf
from fifa_data.pairs.layouts.dffd import DFFDPairs, is_dffd
from fifa_data.pairs.layouts.ffpp import FaceForensicsPairs, is_ffpp
from fifa_data.pairs.layouts.frames import LayoutOptions
from fifa_data.pairs.layouts.maskonly import MaskOnlyPairs, is_mask_only
from fifa_data.pairs.sources import MANIFEST_NAMES, FolderPairs, ManifestPairs, PairSource, SourceError

DATASET_LAYOUTS = {"ffpp": (is_ffpp, FaceForensicsPairs), "celebdf": (is_celebdf, CelebDFPairs), "dffd": (is_dffd, DFFDPairs)}
LAYOUTS: tuple[str, ...] = ("manifest", *DATASET_LAYOUTS, "folder", "mask_only")


def detect_layout(path: str | os.PathLike) -> str:
    """The name of the layout at ``path`` (module docstring); `SourceError` when none matches."""
    path = Path(path)
    if path.is_file() or any((path / name).is_file() for name in MANIFEST_NAMES):
        return "manifest"
    if not path.is_dir():
        raise SourceError(f"{path}: no such file or folder")
    for name, (matches, _) in DATASET_LAYOUTS.items():
        if matches(path):
            return name
    if (path / "real").is_dir() and (path / "fake").is_dir():
        return "folder"
    if is_mask_only(path):
        return "mask_only"
    raise SourceError(
        f"{path}: neither a manifest ({' or '.join(MANIFEST_NAMES)}) nor real/ + fake/ sub-folders, "
        "nor a FaceForensics++, Celeb-DF v2, DFFD or mask-only tree (see docs/datasets.md)"
    )


def open_layout(path: str | os.PathLike, options: LayoutOptions = LayoutOptions()) -> PairSource:
    """The source at ``path`` read through ``options.layout``, or through the layout `detect_layout` finds."""
    path = Path(path)
    name = options.layout or detect_layout(path)
    if name not in LAYOUTS:
        raise SourceError(f"--layout {name}: unknown; known: {', '.join(LAYOUTS)}")
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if name == "manifest":
        if path.is_file():
            return ManifestPairs(path)
        found = next((path / n for n in MANIFEST_NAMES if (path / n).is_file()), None)
        if found is None:
            raise SourceError(f"{path}: --layout manifest needs a manifest file or a folder holding {' or '.join(MANIFEST_NAMES)}")
        return ManifestPairs(found)
    if name == "folder":
        return FolderPairs(path)
    if not path.is_dir():
        raise SourceError(f"{path}: the {name} layout reads a folder")
    if name == "mask_only":
        return MaskOnlyPairs(path, options)
    matches, layout = DATASET_LAYOUTS[name]
    if not matches(path):
        raise SourceError(f"{path}: not a {name} tree (--layout {name}; docs/datasets.md shows the tree it reads)")
    return layout(path, options)
