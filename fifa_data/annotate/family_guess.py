"""The family guess: which forgery family a fake whose source names none most likely belongs to.

Read off the pair's family evidence (:mod:`fifa_data.annotate.family_evidence`), first rule that
holds: an artifact that covers most of the inner-face hull and its features is an *identity swap*
when the features' texture was replaced and a *self-blend* when it was kept (an unwarped one that
covers less of the hull, but replaces the features' texture, is still a swap); a warp that moves
several expression parts is a *reenactment*; an artifact mostly on one facial part whose texture
came from elsewhere, without a seam or drawn-on structure (glasses), is a *part swap*; another warp
is an attribute warp (a smile, bigger eyes, a slimmer face); a small patch off the facial parts
where nothing was drawn on is an *inpainting*; anything else is an *attribute* edit. The reasons are short phrases a text or a reviewer can read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fifa_data.annotate.family_evidence import FamilyEvidence, FamilyEvidenceConfig


@dataclass(frozen=True)
class FamilyGuessConfig:
    """Where each rule of the guess draws its line; recorded in the dataset card."""

    reenact_parts: int = 3  # a warp that moves at least this many expression parts is a reenactment
    hull_cover: float = 0.6  # share of the inner-face hull an identity swap or self-blend covers
    features_cover: float = 0.5  # ... and share of the eyes, brows and lips (a skin retouch leaves them out)
    patch_area: float = 1.0  # squared eye distances: an inpainted patch is at most this large
    added: float = 2.5  # log2 band-pass energy ratio from which structure was drawn on (glasses), not swapped in
    part_share: float = 0.35  # share of the artifact on one facial part for a part swap
    swap_cover: float = 0.45  # an unwarped identity swap covers at least this much of the hull
    off_part: float = 0.15  # an inpainted patch has less than this share on any facial part
    filled: float = 0.5  # ... and its band-pass energy grew by less than this log2 ratio (nothing drawn on)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FamilyGuess:
    """A guessed family (one of `fifa_data.core.families.FAMILIES`) and the reasons for it."""

    family: str
    reasons: tuple[str, ...]


def guess_family(
    evidence: FamilyEvidence,
    config: FamilyGuessConfig = FamilyGuessConfig(),
    thresholds: FamilyEvidenceConfig = FamilyEvidenceConfig(),
) -> FamilyGuess:
    """The family the readings point to, with why (module docstring)."""
    e = evidence
    replaced = e.detail_kept is not None and e.detail_kept < thresholds.replaced
    covered = f"{e.cover:.0%} of the inner face covered"
    if e.cover >= config.hull_cover and e.features_cover >= config.features_cover:
        if replaced:
            return FamilyGuess("identity_swap", (covered, "the features' texture replaced"))
        return FamilyGuess("self_blend", (covered, "the face's own texture kept"))
    if replaced and not e.warped and e.cover >= config.swap_cover and e.features_cover >= config.features_cover:
        return FamilyGuess("identity_swap", (covered, "the features' texture replaced"))
    if e.warped and e.moved_parts >= config.reenact_parts:
        return FamilyGuess("reenactment", ("a coherent warp", f"{e.moved_parts} expression parts moved"))
    added = e.removed is not None and e.removed >= config.added
    seam = e.seam is not None and e.seam >= thresholds.seam
    if replaced and e.part is not None and e.part_share >= config.part_share and not added and not seam:
        return FamilyGuess("part_swap", (f"one facial part ({e.part})", "its texture replaced", "no seam"))
    if e.warped:
        return FamilyGuess("attribute", ("a coherent warp", "one feature reshaped"))
    if e.part_share < config.off_part and e.area <= config.patch_area and (e.removed is None or e.removed < config.filled):
        removed = e.removed is not None and e.removed <= thresholds.removed
        return FamilyGuess("inpainting", ("a small patch off the facial parts", "structure removed" if removed else "filled in"))
    if added or seam:
        return FamilyGuess("attribute", ("a local change", "structure drawn on the face"))
    return FamilyGuess("attribute", ("a local change", "the texture kept" if not replaced else "the texture changed"))
