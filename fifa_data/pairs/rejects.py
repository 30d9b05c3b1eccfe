"""Reject records: every input that does not become a dataset row, with a reason and a detail.

A build never raises out of a batch because of one bad pair: each problem becomes a `Reject`, the
rejects are written to ``fifa/rejects.parquet`` and counted by reason, so nothing is dropped
silently. ``REASONS`` is the closed list of reasons, each with the sentence the card prints.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from fifa_data.core.schema import REJECTS_TABLE

REASONS: dict[str, str] = {
    # Finding pairs (fifa_data.pairs.sources)
    "path_escape": "a path points outside the source folder (absolute, '..' or a symlink out)",
    "missing_file": "a listed file does not exist",
    "unsupported_file": "a file in real/ or fake/ is not an image type we read, or a symlinked folder",
    "unpaired_real": "a real image that no fake matches",
    "unpaired_fake": "a fake image that matches no real image",
    "ambiguous_real": "several real images match the same fake",
    "duplicate_pair": "the same real/fake pair is listed twice",
    "bad_manifest_row": "a manifest row lacks its real or fake path",
    # Dataset layouts and their videos (fifa_data.pairs.layouts)
    "unreadable_video": "a video cannot be opened or no frame of it decodes (corrupt or truncated)",
    "short_video": "a fake video has fewer frames than its original, so its frames cannot be paired by index",
    "missing_mask": "the layout ships a mask for this fake's method but its mask file is missing or unreadable",
    "unknown_method": "a method folder whose name is not a known manipulation (see docs/families.md)",
    # Loading and checking them (fifa_data.pairs.loading)
    "unreadable": "an image file cannot be decoded",
    "size_mismatch": "the real and fake images differ in size",
    "color_mismatch": "one image is greyscale and the other colour",
    "not_same_photo": "the fake is not an edit of the real photo (too different everywhere)",
    "misaligned": "the fake is shifted against the real photo",
    "identical": "the real and fake pixels are identical",
    "bad_mask": "the mask the source gives with a fake cannot be decoded or differs from the fake in size",
    "no_face": "no face was found in the real image",
    "multiple_faces": "the real image holds several faces",
    # Artifact masks (fifa_data.annotate.artifacts)
    "empty_artifact_mask": "no difference between real and fake rises above the noise floor",
    # Concept decisions (fifa_data.annotate)
    "no_concept_manipulated": "the artifact mask covers no facial concept enough to call it manipulated",
    # Building the dataset (builders)
    "split_conflict": "the source declares a split that is unknown, or differs from the split of the same photo's other pairs",
}


@dataclass(frozen=True)
class Reject:
    """One input that was left out, and why (``reason`` is a key of `REASONS`)."""

    reason: str
    detail: str
    pair_id: str | None = None
    real: str | None = None
    fake: str | None = None

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown reject reason {self.reason!r}; known: {', '.join(REASONS)}")

    def to_row(self) -> dict:
        """The record as a ``rejects.parquet`` row: ``{pair_id, real, fake, reason, detail}``."""
        row = asdict(self)
        return {column.name: row[column.name] for column in REJECTS_TABLE}


def count_reasons(rejects: Iterable[Reject]) -> dict[str, int]:
    """Number of rejects per reason, most frequent first."""
    return dict(Counter(r.reason for r in rejects).most_common())
