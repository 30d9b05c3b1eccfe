"""Train / validation / test by source image identity: a real photo and all its fakes share a split.

A source may declare each pair's split (a ``split`` column in its manifest, e.g. an official
protocol); otherwise the split is a hash of ``source_id`` alone, so any slice of a build, on any
machine, assigns the same split to the same photo.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from fifa_data.core.schema import EMPTY_SPLIT_ADVICE, SPLITS
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sources import SPLIT_COLUMN, PairRef

DEFAULT_RATIOS: tuple[float, float, float] = (0.8, 0.1, 0.1)


def hash_split(source_id: str, ratios: tuple[float, float, float] = DEFAULT_RATIOS) -> str:
    """The split of ``source_id`` by a uniform hash cut at the cumulative ``ratios``."""
    if len(ratios) != len(SPLITS) or min(ratios) < 0 or sum(ratios) <= 0:
        raise ValueError(f"split ratios must be three non-negative numbers, got {ratios}")
    position = unit_hash(source_id) * sum(ratios)
    edge = 0.0
    for split, ratio in zip(SPLITS, ratios):
        edge += ratio
        if position < edge:
            return split
    return next(s for s, r in zip(reversed(SPLITS), reversed(ratios)) if r > 0)


def unit_hash(text: str) -> float:
    """A stable number in [0, 1) for ``text`` (sha256; the same on every machine and run)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def assign_splits(
    refs: Iterable[PairRef], ratios: tuple[float, float, float] = DEFAULT_RATIOS
) -> tuple[dict[str, str], list[PairRef], list[Reject]]:
    """The split of every source id, the pairs kept, and rejects for pairs whose declared split is bad.

    A declared ``split`` must be one of `SPLITS` and the same for every pair of a source; the
    first pair of a source fixes it, a later pair that disagrees is rejected as ``split_conflict``.
    """
    splits: dict[str, str] = {}
    kept: list[PairRef] = []
    rejects: list[Reject] = []
    for ref in refs:
        declared = (ref.extra.get(SPLIT_COLUMN) or "").strip() or None
        if declared is not None and declared not in SPLITS:
            rejects.append(
                Reject("split_conflict", f"{ref.fake_path}: split {declared!r} is not one of {', '.join(SPLITS)}", ref.pair_id, ref.real_path, ref.fake_path)
            )
            continue
        split = splits.setdefault(ref.source_id, declared or hash_split(ref.source_id, ratios))
        if declared is not None and declared != split:
            detail = f"{ref.fake_path}: declared split {declared!r}, but source {ref.source_id!r} is already in {split!r}"
            rejects.append(Reject("split_conflict", detail, ref.pair_id, ref.real_path, ref.fake_path))
            continue
        kept.append(ref)
    return splits, kept, rejects


def empty_splits_warning(rows: dict[str, dict[str, int]]) -> str | None:
    """Which splits have no row in any config and what to do, as one sentence; None when every split has rows.

    ``rows`` is ``build.json``'s config -> split -> count. The build's summary and its card both say it.
    """
    empty = [split for split in SPLITS if not any(by_split.get(split) for by_split in rows.values())]
    if not empty:
        return None
    return f"the {' and '.join(empty)} split{'s are' if len(empty) > 1 else ' is'} empty: {EMPTY_SPLIT_ADVICE}"


def slice_of(key: str, num_slices: int) -> int:
    """Which of ``num_slices`` build slices owns ``key`` (a source id): disjoint, and stable everywhere."""
    return int(unit_hash(f"slice\0{key}") * num_slices)
