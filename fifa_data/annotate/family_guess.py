"""The family guess: which forgery family a fake whose source names none most likely belongs to.

Read off the pair's family evidence (:mod:`fifa_data.annotate.family_evidence`), first rule that
holds: an artifact that covers most of the inner-face hull and its features, with the features'
texture replaced, is an *identity swap*; a warp that moves several expression parts but leaves the face's layout (nose, forehead)
in place, or moves it with no trace of a blend (no colour or sharpness jitter, detail resampled), is a
*reenactment*, whatever share of the face it reaches; an artifact that covers most of
the hull and its features with the face's own texture kept is a *self-blend* (its copy, shifted or
scaled, moves the layout too); another warp of several expression parts is a *reenactment*; an
artifact mostly on one facial part (or within its clone region, the part grown by a margin), covering
much of that part, whose texture came from elsewhere
and whose colour matches the face around it, is a *part swap* (a frame drawn across the eyes covers little of them;
where the flow saw a warp around it, a part covered whole with half the artifact suffices); an unwarped
artifact spread over several parts whose texture came from elsewhere is an *identity swap* that
covers less of the hull; a small
patch off the facial parts (`FamilyEvidence.patch_area`, or a few hundred pixels on a small face)
where nothing was drawn on and no part moved is an *inpainting* (a fill across an edge can leave
streaks that add fine texture, as drawn-on hair does, but on a tiny patch it does not set the
region's lightness apart from the face around it, as hair does); another
warp is an attribute warp (a smile, bigger eyes, a slimmer face); anything else is an *attribute*
edit. The reasons are short phrases a text or a reviewer can read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fifa_data.annotate.family_evidence import FamilyEvidence, FamilyEvidenceConfig

OUTRIGHT_PARTS = ("mouth", "nose")  # a donor's may replace them outright in another colour (glasses or a pencil on an eye or brow do too)


@dataclass(frozen=True)
class FamilyGuessConfig:
    """Where each rule of the guess draws its line; recorded in the dataset card."""

    reenact_parts: int = 3  # a warp that moves at least this many expression parts is a reenactment
    hull_cover: float = 0.5  # share of the inner-face hull an identity swap or self-blend covers
    features_cover: float = 0.5  # ... and share of the eyes, brows and lips (a skin retouch leaves them out)
    patch_area: float = 0.2  # squared eye distances: an inpainted patch is at most this large ...
    patch_pixels: int = 200  # ... or this many pixels, on a face so small that a brush a few pixels wide is large on it
    added: float = 2.5  # log2 band-pass energy ratio from which structure was drawn on (glasses), not swapped in
    part_share: float = 0.35  # share of the artifact on one facial part for a part swap
    swap_cover: float = 0.2  # an unwarped identity swap covers at least this much of the hull
    swap_features: float = 0.4  # ... and this much of the eyes, brows and lips
    off_part: float = 0.15  # an inpainted patch has less than this share on any facial part
    filled: float = 0.5  # ... and its band-pass energy grew by less than this log2 ratio (nothing drawn on) ...
    fill_area: float = 0.1  # ... or, on a patch at most this large (squared eye distances), where a fill across an edge leaves streaks ...
    fill_light: float = 2.0  # ... its lightness set apart from the face around it by less than this more than the real's (drawn-on hair darkens)
    layout_still: float = 0.4  # a reenactment's warp moves less than this share of the nose and forehead ...
    still_colour: float = 1.0  # ... or, reaching them, shows no blend: a colour mismatch under this (a self-blend's copy is jittered) ...
    still_sharpness: float = 0.2  # ... a sharpness mismatch under this ...
    warp_detail: float = 0.85  # ... and less detail kept than this (a warp resamples; a self-blend's shifted copy keeps 0.9 and more)
    part_cover: float = 0.35  # a part swap's artifact covers at least this share of its part
    clone_share: float = 0.8  # or: this share of the artifact within a part's clone region (the part grown by a margin) ...
    clone_cover: float = 0.7  # ... covering this much of the part (a brow swapped with a margin lies mostly beside the brow)
    moved_clone_share: float = 0.5  # or, where the flow saw a warp: half the artifact within the clone region ...
    moved_clone_cover: float = 0.95  # ... covering the part whole, its texture replaced (`FamilyEvidenceConfig.replaced`)
    part_replaced: float = 0.65  # a part swap keeps less of the part's detail than this (its donor's detail is another) ...
    part_replaced_lit: float = 0.75  # ... or, unwarped, less than this where its lightness against the face is kept ...
    part_light: float = 2.0  # ... to within this (a dyed brow or a lipstick moves it; a clone matched at its border does not)
    part_colour: float = 5.0  # ... and is colour-matched to the face: a colour mismatch of less than this (a lipstick has more) ...
    outright: float = 0.25  # ... or, for a mouth or a nose whose detail is replaced outright (less than this kept) ...
    outright_colour: float = 10.0  # ... less than this (a lipstick that hides the lips' detail recolours them by more)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FamilyGuess:
    """A guessed family (one of `fifa_data.core.families.FAMILIES`) and the reasons for it."""

    family: str
    reasons: tuple[str, ...]


def part_swapped(e: FamilyEvidence, config: FamilyGuessConfig, thresholds: FamilyEvidenceConfig = FamilyEvidenceConfig()) -> str | None:
    """The facial part swapped in, or None: most of the artifact on one part (or within its clone region),
    covering much of it, its detail another's and its colour matched to the face around it.

    A Poisson clone can leave a step along its border, so a seam does not speak against it. The colour
    match tells it from a lipstick or a dyed brow (a mouth or a nose whose detail is replaced outright
    may differ more: a lipstick that hides the lips' detail recolours them by more still), and so does
    its lightness: a clone matched at its border keeps the part as light against the face as it was,
    so a part whose lightness is kept may keep a little more of its detail (a similar donor's).
    Another person's part has another outline, which the flow can read as a warp around it and add to
    the artifact: then a part covered whole, its texture replaced, with half the artifact within its
    clone region, is enough."""
    if e.detail_kept is None:
        return None
    lit = not e.warped and e.lighting_mismatch is not None and abs(e.lighting_mismatch) < config.part_light
    if e.detail_kept >= (config.part_replaced_lit if lit else config.part_replaced):
        return None
    colour = e.colour_mismatch if e.colour_mismatch is not None else 0.0
    outright = not e.warped and e.detail_kept < config.outright and colour < config.outright_colour

    def matched(part: str) -> str | None:
        return part if colour < config.part_colour or (outright and part in OUTRIGHT_PARTS) else None

    if e.part is not None and e.part_share >= config.part_share and e.part_cover >= config.part_cover:
        return matched(e.part)
    if e.clone_part is not None and e.clone_share >= config.clone_share and e.clone_cover >= config.clone_cover:
        return matched(e.clone_part)
    moved = e.warped and e.detail_kept < thresholds.replaced
    if moved and e.clone_part is not None and e.clone_share >= config.moved_clone_share and e.clone_cover >= config.moved_clone_cover:
        return e.clone_part if colour < config.part_colour else None
    return None


def unjittered(e: FamilyEvidence, config: FamilyGuessConfig) -> bool:
    """The face's own pixels, moved and resampled: no colour or sharpness jitter against the face around
    them (a self-blend's copy carries both) and less of their detail kept than a shifted copy keeps."""
    if e.detail_kept is None or e.colour_mismatch is None or e.sharpness_mismatch is None:
        return False
    return abs(e.colour_mismatch) < config.still_colour and e.sharpness_mismatch < config.still_sharpness and e.detail_kept < config.warp_detail


def guess_family(
    evidence: FamilyEvidence,
    config: FamilyGuessConfig = FamilyGuessConfig(),
    thresholds: FamilyEvidenceConfig = FamilyEvidenceConfig(),
) -> FamilyGuess:
    """The family the readings point to, with why (module docstring)."""
    e = evidence
    replaced = e.detail_kept is not None and e.detail_kept < thresholds.replaced
    covered = f"{e.cover:.0%} of the inner face covered"
    hull = e.cover >= config.hull_cover and e.features_cover >= config.features_cover
    if hull and replaced:
        return FamilyGuess("identity_swap", (covered, "the features' texture replaced"))
    expression = e.warped and e.moved_parts >= config.reenact_parts
    if expression and e.layout_moved < config.layout_still:
        return FamilyGuess("reenactment", ("a coherent warp", f"{e.moved_parts} expression parts moved", "the face's layout kept"))
    if expression and unjittered(e, config):
        return FamilyGuess("reenactment", ("a coherent warp", f"{e.moved_parts} expression parts moved", "no blending trace"))
    if hull:
        return FamilyGuess("self_blend", (covered, "the face's own texture kept"))
    if expression:
        return FamilyGuess("reenactment", ("a coherent warp", f"{e.moved_parts} expression parts moved"))
    added = e.removed is not None and e.removed >= config.added
    seam = e.seam is not None and e.seam >= thresholds.seam
    if swapped := part_swapped(e, config, thresholds):
        return FamilyGuess("part_swap", (f"one facial part ({swapped})", "its texture replaced", "its colour matched"))
    if replaced and not e.warped and e.cover >= config.swap_cover and e.features_cover >= config.swap_features:
        return FamilyGuess("identity_swap", (covered, "the features' texture replaced"))
    area = e.area if e.patch_area is None else e.patch_area
    small = area <= config.patch_area or (e.patch_pixels is not None and e.patch_pixels <= config.patch_pixels)
    off_parts = (e.part_share if e.patch_part_share is None else e.patch_part_share) < config.off_part
    streaked = area <= config.fill_area and e.lighting_mismatch is not None and e.lighting_mismatch < config.fill_light
    patch = off_parts and small and (e.removed is None or e.removed < config.filled or streaked)
    if patch and e.moved_parts == 0:
        removed = e.removed is not None and e.removed <= thresholds.removed
        return FamilyGuess("inpainting", ("a small patch off the facial parts", "structure removed" if removed else "filled in"))
    if e.warped:
        return FamilyGuess("attribute", ("a coherent warp", "one feature reshaped"))
    if added or seam:
        return FamilyGuess("attribute", ("a local change", "structure drawn on the face"))
    return FamilyGuess("attribute", ("a local change", "the texture kept" if not replaced else "the texture changed"))
