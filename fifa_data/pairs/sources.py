"""Where real/fake pairs come from: a folder layout, a manifest, or a `PairSource` of your own.

Every source yields `PairRef` records (paths only; nothing is decoded here) and `Reject` records
for what it cannot pair. Two layouts are built in:

**Folder** (`FolderPairs`): ``DIR/real/**`` and ``DIR/fake/**``. A fake matches the real image in
the same relative sub-folder whose stem is the fake's stem, or the longest prefix of it that ends
just before a ``_``, ``-`` or ``.``. The rest of the stem names the manipulation, with a trailing
counter (``_2``, ``-07``) removed::

    real/0001.png   +  fake/0001.jpg            manipulation None
    real/0001.png   +  fake/0001_smile.jpg      manipulation "smile"
    real/a/0001.png +  fake/a/0001_smile_2.jpg  manipulation "smile"

**Manifest** (`ManifestPairs`): a CSV or parquet file with columns ``real`` and ``fake`` (paths
relative to the manifest's folder) and optional ``manipulation``, ``source_id`` and ``split``
(`SPLIT_COLUMN`: train, validation or test); any other column travels along in `PairRef.extra` as
text. An unknown column one edit (a letter added, dropped or changed, case aside) from a known
column that the manifest lacks is taken for a typo and refused (`check_column_names`), so a
misspelt ``manipulaton`` cannot leave the labels null. Two columns give the pair's truth:

- ``mask`` (`MASK_COLUMN`): the path of a mask image that the dataset ships with the fake (DFFD's
  FaceApp masks, SID-Set's ``*_mask.png``), checked like the image paths. The build uses it as
  the artifact mask (mode ``given``) and scores its annotations against it;
- ``edit_mask`` (`EDIT_MASK_COLUMN`, a JSON COCO RLE): the true edit mask as the simulator writes
  it; builds score their annotations against it.

A folder holding ``pairs.parquet`` or ``pairs.csv`` is read as that manifest (`open_source`).

Paths must stay inside the source folder: absolute paths, ``..`` and symlinks that resolve
outside it are rejected (``path_escape``). Each pair gets a stable ``pair_id`` (a hash of its two
relative paths) and a ``source_id`` (the real image's identity: the manifest's column, else the
real path without its suffix), which later keeps a real image and all its fakes in one split.

A new layout (DFFD's FaceApp subset, DF40 edits, ...) is one small subclass of `PairSource` whose
`candidates` yields `Candidate` records; the base class checks paths and assigns the ids.
"""

from __future__ import annotations

import abc
import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from fifa_data.core import masks as masklib
from fifa_data.core.errors import UsageError
from fifa_data.pairs.rejects import Reject

if TYPE_CHECKING:
    from fifa_data.pairs.layouts.frames import LayoutOptions


class SourceError(UsageError):
    """A pair source that cannot be read at all (missing, wrong layout, a bad manifest); names the path."""


IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})
MANIFEST_NAMES = ("pairs.parquet", "pairs.csv")
MANIFEST_COLUMNS = ("real", "fake", "manipulation", "source_id", "mask")
MASK_COLUMN = "mask"  # the path of the mask image a dataset ships with a fake
EDIT_MASK_COLUMN = "edit_mask"  # the true edit mask of a pair (JSON COCO RLE), where the manifest knows it
SPLIT_COLUMN = "split"  # the pair's declared split (builders.splits reads it)
KNOWN_COLUMNS = (*MANIFEST_COLUMNS, EDIT_MASK_COLUMN, SPLIT_COLUMN)

_SEPARATORS = "_-."
_COUNTER = re.compile(r"[_-]\d+$")


@dataclass(frozen=True)
class Candidate:
    """A pair as a layout states it: paths relative to the source root, POSIX separators."""

    real: str
    fake: str
    manipulation: str | None = None
    source_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    mask: str | None = None  # the given artifact mask's path, when the layout has one


@dataclass(frozen=True)
class PairRef:
    """A checked pair: both files exist inside `root`; nothing has been decoded yet."""

    pair_id: str
    source_id: str
    real_path: str
    fake_path: str
    root: Path
    manipulation: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    mask_path: str | None = None  # the given artifact mask (`MASK_COLUMN`), relative to `root`

    @property
    def real_file(self) -> Path:
        return self.root / self.real_path

    @property
    def fake_file(self) -> Path:
        return self.root / self.fake_path

    @property
    def mask_file(self) -> Path | None:
        return self.root / self.mask_path if self.mask_path else None

    @property
    def edit_mask(self) -> np.ndarray | None:
        """The pair's true edit mask from the manifest's `EDIT_MASK_COLUMN`; None when not given."""
        rle = self.extra.get(EDIT_MASK_COLUMN)
        return masklib.decode(json.loads(rle)) if rle else None


def make_pair_id(real_path: str, fake_path: str) -> str:
    """Stable 16-hex-digit id of a pair from its two relative paths."""
    return hashlib.sha1(f"{real_path}\0{fake_path}".encode()).hexdigest()[:16]


def default_source_id(real_path: str) -> str:
    """A real image's identity when the source gives none: its relative path without the suffix."""
    return str(PurePosixPath(real_path).with_suffix(""))


class PairSource(abc.ABC):
    """A layout of real/fake pairs under `root`; iterate it for `PairRef` and `Reject` records."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    @abc.abstractmethod
    def candidates(self) -> Iterator[Candidate | Reject]:
        """Every pair the layout states (and every file it cannot pair, as a `Reject`)."""

    def __iter__(self) -> Iterator[PairRef | Reject]:
        seen: set[str] = set()
        for candidate in self.candidates():
            if isinstance(candidate, Reject):
                yield candidate
                continue
            yield self._check(candidate, seen)

    def scan(self) -> tuple[list[PairRef], list[Reject]]:
        """All pairs and all rejects of the source."""
        pairs, rejects = [], []
        for item in self:
            (rejects if isinstance(item, Reject) else pairs).append(item)
        return pairs, rejects

    def _check(self, c: Candidate, seen: set[str]) -> PairRef | Reject:
        pair_id = make_pair_id(c.real, c.fake)

        def reject(reason: str, detail: str) -> Reject:
            return Reject(reason, detail, pair_id=pair_id, real=c.real, fake=c.fake)

        for path in (c.real, c.fake, *([c.mask] if c.mask else [])):
            problem = path_problem(self.root, path)
            if problem is not None:
                return reject(*problem)
        if pair_id in seen:
            return reject("duplicate_pair", f"{c.real} + {c.fake} is listed more than once")
        seen.add(pair_id)
        return PairRef(
            pair_id=pair_id,
            source_id=c.source_id or default_source_id(c.real),
            real_path=c.real,
            fake_path=c.fake,
            root=self.root,
            manipulation=c.manipulation or None,
            extra=dict(c.extra),
            mask_path=c.mask,
        )


def path_problem(root: Path, relative: str) -> tuple[str, str] | None:
    """Why `relative` may not be read under `root` (a reject reason and detail), or None if it may."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", relative) or relative.startswith("\\"):
        return "path_escape", f"{relative}: absolute paths are not allowed; give it relative to {root}"
    if ".." in pure.parts or ".." in relative.split("\\"):
        return "path_escape", f"{relative}: '..' is not allowed in a path"
    path = root / pure
    try:
        resolved = path.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        return "missing_file", f"{relative}: no such file under {root}"
    except (OSError, RuntimeError) as exc:  # symlink loops, permissions
        return "missing_file", f"{relative}: cannot be resolved ({exc})"
    if not resolved.is_relative_to(root.resolve()):
        return "path_escape", f"{relative}: resolves to {resolved}, outside {root}"
    if not resolved.is_file():
        return "missing_file", f"{relative}: not a regular file"
    return None


class FolderPairs(PairSource):
    """``root/real/**`` + ``root/fake/**``, matched by relative folder and stem (module docstring)."""

    def candidates(self) -> Iterator[Candidate | Reject]:
        for sub in ("real", "fake"):
            if not (self.root / sub).is_dir():
                raise SourceError(f"{self.root}: the folder layout needs a {sub}/ sub-folder")
        reals, real_rejects = _image_files(self.root, "real")
        fakes, fake_rejects = _image_files(self.root, "fake")
        yield from real_rejects
        yield from fake_rejects

        by_key: dict[tuple[str, str], list[str]] = defaultdict(list)
        for path in reals:
            rel = PurePosixPath(path).relative_to("real")
            by_key[(str(rel.parent), rel.stem)].append(path)
        matched: set[str] = set()
        for fake in fakes:
            rel = PurePosixPath(fake).relative_to("fake")
            stem = _matching_stem(rel.stem, str(rel.parent), by_key)
            if stem is None:
                yield Reject("unpaired_fake", f"{fake}: no real/{rel.parent}/{rel.stem}.* nor a prefix of it", fake=fake)
                continue
            options = by_key[(str(rel.parent), stem)]
            if len(options) > 1:
                yield Reject("ambiguous_real", f"{fake} matches {', '.join(sorted(options))}", fake=fake)
                continue
            matched.add(options[0])
            yield Candidate(real=options[0], fake=fake, manipulation=manipulation_of(rel.stem, stem))
        for real in reals:
            if real not in matched:
                yield Reject("unpaired_real", f"{real}: no fake matches it", real=real)


def _image_files(root: Path, sub: str) -> tuple[list[str], list[Reject]]:
    """Image files under ``root/sub`` (relative POSIX paths, sorted) and the other entries as rejects."""
    files, rejects = [], []
    for folder, dirnames, filenames in os.walk(root / sub):  # does not follow symlinked folders
        dirnames.sort()
        rel_folder = PurePosixPath(Path(folder).relative_to(root).as_posix())
        for name in dirnames:
            if (Path(folder) / name).is_symlink():
                detail = f"{rel_folder / name}: symlinked folders are not followed"
                rejects.append(Reject("unsupported_file", detail, **{sub: str(rel_folder / name)}))
        for name in sorted(filenames):
            if name.startswith("."):
                continue  # .DS_Store and friends
            rel = str(rel_folder / name)
            if PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES:
                files.append(rel)
            else:
                detail = f"{rel}: suffix not in {', '.join(sorted(IMAGE_SUFFIXES))}"
                rejects.append(Reject("unsupported_file", detail, **{sub: rel}))
    return files, rejects


def _matching_stem(stem: str, folder: str, reals: dict[tuple[str, str], list[str]]) -> str | None:
    """The real stem a fake stem matches: itself, else its longest prefix that ends at a separator."""
    if (folder, stem) in reals:
        return stem
    for end in range(len(stem) - 1, 0, -1):
        if stem[end] in _SEPARATORS and (folder, stem[:end]) in reals:
            return stem[:end]
    return None


def manipulation_of(fake_stem: str, real_stem: str) -> str | None:
    """The manipulation a fake's name states after its real's stem (``0001_smile_2`` of ``0001``: ``smile``), or None."""
    if not (fake_stem.startswith(real_stem) and fake_stem[len(real_stem) : len(real_stem) + 1] in tuple(_SEPARATORS)):
        return None
    suffix = _COUNTER.sub("", fake_stem[len(real_stem) + 1 :])
    return suffix or None


class ManifestPairs(PairSource):
    """A CSV or parquet manifest with ``real``, ``fake`` [, ``manipulation``, ``source_id``, ``mask``, ...]."""

    def __init__(self, manifest: str | os.PathLike) -> None:
        self.manifest = Path(manifest)
        super().__init__(self.manifest.parent)

    def candidates(self) -> Iterator[Candidate | Reject]:
        table = _read_manifest(self.manifest)
        extra_columns = [c for c in table.columns if c not in MANIFEST_COLUMNS]
        for number, row in enumerate(table.iter_rows(named=True), start=2 if self._is_csv else 1):
            real, fake = _clean_path(row["real"]), _clean_path(row["fake"])
            if not real or not fake:
                where = f"{self.manifest.name} row {number}"
                yield Reject("bad_manifest_row", f"{where}: empty 'real' or 'fake'", real=real, fake=fake)
                continue
            extra = {c: str(row[c]) for c in extra_columns if row[c] is not None}
            yield Candidate(real, fake, row.get("manipulation"), row.get("source_id"), extra, _clean_path(row[MASK_COLUMN]))

    @property
    def _is_csv(self) -> bool:
        return self.manifest.suffix.lower() == ".csv"


def _read_manifest(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            table = pl.read_csv(path, infer_schema=False)  # every column as text
        elif suffix == ".parquet":
            table = pl.read_parquet(path)
        else:
            raise SourceError(f"{path}: a manifest must be .csv or .parquet")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceError(f"{path}: cannot read the manifest ({exc})") from exc
    check_column_names(path, table.columns)
    missing = [c for c in ("real", "fake") if c not in table.columns]
    if missing:
        raise SourceError(f"{path}: the manifest lacks column(s) {', '.join(missing)}; it has {', '.join(table.columns)}")
    for column in MANIFEST_COLUMNS:
        if column not in table.columns:
            table = table.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    return table.with_columns(pl.col(MANIFEST_COLUMNS).cast(pl.String))


def check_column_names(path: Path, columns: list[str]) -> None:
    """Refuse a column that looks like a misspelt known column: one edit from a known column the manifest lacks.

    Columns one edit from a column the manifest has (``face`` beside ``fake``) are the user's own and travel along.
    """
    absent = [known for known in KNOWN_COLUMNS if known not in columns]
    for column in columns:
        if column in KNOWN_COLUMNS:
            continue
        for known in absent:
            if _at_most_one_edit(column.strip().lower(), known):
                keep = f"add an empty {known!r} column to keep {column!r} as a column of your own"
                raise SourceError(f"{path.name}: column {column!r} looks like {known!r} (rename it, or {keep})")


def _at_most_one_edit(a: str, b: str) -> bool:
    """Whether ``a`` becomes ``b`` by at most one inserted, deleted or replaced character (Levenshtein distance <= 1)."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), len(a))
    return a[i + (len(a) == len(b)) :] == b[i + 1 :]


def _clean_path(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    while value.startswith("./"):
        value = value[2:]
    return value


def open_source(path: str | os.PathLike, options: LayoutOptions | None = None) -> PairSource:
    """The source at `path`: a manifest file, a folder holding ``pairs.parquet``/``pairs.csv``, a folder layout, or a
    dataset layout (FaceForensics++, Celeb-DF v2, DFFD; `fifa_data.pairs.layouts`), detected unless ``options.layout`` names one."""
    from fifa_data.pairs.layouts.detect import open_layout
    from fifa_data.pairs.layouts.frames import LayoutOptions

    return open_layout(path, options or LayoutOptions())
