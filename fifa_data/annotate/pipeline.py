"""FiFa-Annotator end to end: loaded pairs in, annotated images (fakes and their reals) out.

The stages, each in its own module: artifact mask (:mod:`fifa_data.annotate.artifacts`) → concept
decisions (:mod:`.decide`) → evidence (:mod:`.evidence`) → writer (:mod:`.writers`,
:mod:`.llm`) → consistency guard (:mod:`.guard`). :func:`annotate` streams a source: concept
masks are computed once per real image, the writer gets batches (so an LLM writer runs them
concurrently), and every pair comes out either as an :class:`AnnotatedImage` or as a
:class:`~fifa_data.pairs.rejects.Reject`. Each real image comes out once, as an `AnnotatedImage` with
``label="real"``, before its first fake.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from fifa_data.annotate.artifacts import FAMILY_RESAVED_PARAMS, JPEG_SPREAD_PX, LOSSLESS_PARAMS, RESAVED_PARAMS, artifact_mask, within
from fifa_data.annotate.decide import PATCH_FAMILIES, REGION_FAMILIES, DecisionConfig, Decisions, decide
from fifa_data.annotate.evidence import Evidence, EvidenceConfig, Fact, measure_evidence
from fifa_data.annotate.explanation import Explanation, WriterInput
from fifa_data.annotate.fake_only import fake_only_text, measure_fake_only
from fifa_data.annotate.family_evidence import FamilyEvidence, FamilyEvidenceConfig, measure_family, with_patch
from fifa_data.annotate.family_guess import FamilyGuess, FamilyGuessConfig, guess_family
from fifa_data.annotate.given_region import REGION_MARGIN_FACES, given_region
from fifa_data.annotate.guard import GuardCounts, Writer, guard
from fifa_data.annotate.motion import MotionConfig, pair_motion
from fifa_data.annotate.patches import whole_patch
from fifa_data.annotate.writers import TemplateWriter
from fifa_data.core import masks as masklib
from fifa_data.core.families import family_of
from fifa_data.core.fict import finder_for
from fifa_data.core.images import RESAVED_MIN_SAME, differing, first_save, resaved_reference
from fifa_data.faces.concepts import ConceptMasks, concept_masks
from fifa_data.pairs.loading import LoadedPair
from fifa_data.pairs.rejects import Reject

RESAVED_EXACT = 0.005  # beyond the subject, a fake saved once differs from its resaved real on no more pixels than this
MASK_EXTENT_FACES = 3.0  # the artifact mask's sizes (blur, closing, holes, specks) are shares of at most this many face heights
RESAVED_AWAY_MIN_PX = 1024  # fewer pixels beyond the subject than this cannot tell a second save from a first


@dataclass(frozen=True)
class AnnotatorConfig:
    """Every parameter of the annotation; recorded in the dataset card."""

    mask_mode: str = "adaptive"
    mask_params: dict = field(default_factory=dict)
    decision: DecisionConfig = DecisionConfig()
    evidence: EvidenceConfig = EvidenceConfig()
    motion: MotionConfig = MotionConfig()
    family_evidence: FamilyEvidenceConfig = FamilyEvidenceConfig()
    family_guess: FamilyGuessConfig = FamilyGuessConfig()
    max_grounded: int = 8  # an explanation grounds at most this many concepts, the largest edits (a family-scale cover: all)
    keep_unlocalised: bool = True  # a fake without a usable mask is kept for det and cls instead of rejected
    subject_reach: float | None = 0.25  # the mask is read within this many face heights of the subject (None: everywhere)
    use_given_masks: bool = True  # a mask the source gives (`PairRef.mask_path`) is the artifact mask; False: only its truth
    resaved_reference: bool = True  # a JPEG fake is compared with its real saved the same way (`images.resaved_reference`)
    whole_patches: bool = True  # an inpainting's mask is its filled patches taken whole (`patches.whole_patch`)
    seed: int = 0

    def to_dict(self) -> dict:
        return {
            "mask_mode": self.mask_mode,
            "mask_params": dict(self.mask_params),
            "decision": self.decision.to_dict(),
            "evidence": self.evidence.to_dict(),
            "motion": self.motion.to_dict(),
            "family_evidence": self.family_evidence.to_dict(),
            "family_guess": self.family_guess.to_dict(),
            "max_grounded": self.max_grounded,
            "keep_unlocalised": self.keep_unlocalised,
            "subject_reach": self.subject_reach,
            "use_given_masks": self.use_given_masks,
            "resaved_reference": self.resaved_reference,
            "whole_patches": self.whole_patches,
            "seed": self.seed,
        }


@dataclass(frozen=True, eq=False)
class AnnotatedImage:
    """One image ready to become task rows: a fake with its annotation, or a real image.

    ``masks`` holds the COCO RLE of every grounded concept's concept-artifact mask and, under
    ``"image"``, the whole artifact mask; ``boxes`` their ``[x0, y0, x1, y1]`` boxes.
    """

    label: str  # "fake" | "real"
    image: bytes
    image_path: str
    size: tuple[int, int]  # (height, width) of the upright image
    source_id: str
    pair_id: str | None
    manipulation: str | None
    concept_masks: ConceptMasks
    decisions: Decisions | None = None
    evidence: dict[str, Evidence] = field(default_factory=dict)
    explanation: Explanation | None = None
    masks: dict[str, dict] = field(default_factory=dict)
    boxes: dict[str, list[float]] = field(default_factory=dict)
    mask_params: dict = field(default_factory=dict)
    unlocalised: Reject | None = None  # a fake whose edit could not be localised, and why: det and cls only
    family_evidence: FamilyEvidence | None = None  # the pair's family readings (not measured for attribute edits)
    family_guess: FamilyGuess | None = None  # the guessed family, where the source names none `family_of` knows
    family_facts: tuple[Fact, ...] = ()  # the pair's family facts its writer was given to state (`WriterInput.family_facts`)

    @property
    def image_id(self) -> str:
        """``pair_id`` for a fake, a hash of source and path for a real image."""
        return self.pair_id or hashlib.sha1(f"{self.source_id}\0{self.image_path}".encode()).hexdigest()[:16]

    @property
    def family(self) -> str | None:
        """A fake's forgery family as its source labels it (its manipulation's, by `family_of`:
        ``unknown`` when unnamed), the truth of its task rows; None for a real image."""
        return family_of(self.manipulation) if self.label == "fake" else None

    @property
    def decided_family(self) -> str | None:
        """The family the annotator explained a fake as: its source's, else its guess's."""
        if self.family == "unknown" and self.family_guess is not None:
            return self.family_guess.family
        return self.family

    @property
    def grounded(self) -> tuple[str, ...]:
        """The concepts the explanation grounds, in its order."""
        return self.explanation.concepts if self.explanation else ()


@dataclass(frozen=True, eq=False)
class Measured:
    """A fake after decisions and evidence, waiting for its text."""

    pair: LoadedPair
    concepts: ConceptMasks
    artifact_params: dict
    decisions: Decisions
    evidence: dict[str, Evidence]
    item: WriterInput
    family_evidence: FamilyEvidence | None = None
    family_guess: FamilyGuess | None = None


def measure(pair: LoadedPair, concepts: ConceptMasks, config: AnnotatorConfig = AnnotatorConfig(), artifact: np.ndarray | None = None) -> Measured | Reject:
    """Artifact mask, decisions and evidence of one pair, or why it cannot be used.

    The artifact mask is `artifact` when passed, else the mask the source gives with the pair (see
    `AnnotatorConfig.use_given_masks`), else computed from the pair; the first two are mode ``given``.
    A computed mask lies inside the box or render the source gives, if any (`given_region.given_region`).
    Mask, motion and evidence compare the fake with its reference (`images.resaved_reference`).
    A fake that is not a named attribute edit also gets its family evidence
    (`family_evidence.measure_family`) and, where its manipulation names no family `family_of`
    knows, a family guess (`family_guess.guess_family`), before the decisions.
    """
    ref = pair.ref
    if pair.fake_only:  # a mask-only source: no real to compare with (`fake_only`)
        measured = measure_fake_only(pair, concepts, config)
        return measured if isinstance(measured, Reject) else Measured(pair, concepts, *measured)
    reference, how = (pair.real, {"reference": "real"})
    if config.resaved_reference:
        reference, how = pair.reference or resaved_reference(pair.real, pair.fake, pair.fake_bytes)
        how = dict(how)
    params: dict = {"mode": "given"}
    computed = literal = False
    if artifact is None and pair.given_mask is not None and config.use_given_masks:
        artifact, params = pair.given_mask, {"mode": "given", "path": ref.mask_path}
    if artifact is None:
        literal = config.mask_mode == "paper"  # the paper's rule is a difference with the real itself
        face_height = concepts.face_box[3] - concepts.face_box[1]
        near = None
        if config.subject_reach is not None:
            near = concepts.near_subject(max(JPEG_SPREAD_PX, config.subject_reach * face_height))
        tuned = {}
        lossless = how.get("real_same_share", 0.0) >= RESAVED_MIN_SAME  # a lossless fake that equals its real on most pixels
        if (how["reference"] == "resaved" or lossless) and not literal:
            how["differs_away"] = differs_away(reference, pair.fake, near)
            if how["differs_away"] <= RESAVED_EXACT:
                tuned = LOSSLESS_PARAMS if lossless else RESAVED_PARAMS
                if not lossless and family_of(ref.manipulation) not in ("attribute", "unknown"):
                    tuned = {**RESAVED_PARAMS, **FAMILY_RESAVED_PARAMS}
        region = given_region(ref, pair.fake.shape[:2], face_height)  # a given box or render bounds the mask
        if region is not None:
            near = region if near is None else near & region
        settings = {**tuned, **config.mask_params}
        if config.mask_mode == "adaptive":
            settings.setdefault("extent", MASK_EXTENT_FACES * face_height)
            settings["texture_of"] = pair.real  # the photo's own texture bins the noise, for all its fakes
        result = artifact_mask(pair.real if literal else reference, pair.fake, mode=config.mask_mode, **settings)
        if near is not None:
            result = within(result, near)
        artifact, params, computed = result.mask, {"mode": result.mode, **result.params}, True
        if region is not None:
            params["given_region"] = {"meaning": ref.extra["mask_meaning"], "margin_faces": REGION_MARGIN_FACES}
    if not literal:
        params.update(how)
    motion = pair_motion(reference, pair.fake, artifact, pair.face.landmarks, config.motion)
    if computed and motion.moved is not None:  # a warp: where it moved the head's pixels, the difference may not show
        moved = motion.moved & ~(concepts.mask("background") | concepts.mask("body"))
        artifact = artifact | (moved if near is None else moved & near)
    params["motion"] = motion.to_dict()
    if not artifact.any():
        return Reject("empty_artifact_mask", f"{ref.fake_path}: no difference above the noise floor", ref.pair_id, ref.real_path, ref.fake_path)
    family, family_evidence, guess = family_of(ref.manipulation), None, None
    whole = computed and not literal and config.whole_patches  # the paper's rule is kept as the paper wrote it
    exact = how.get("reference") == "resaved" and how.get("differs_away", 1.0) <= RESAVED_EXACT  # a JPEG of its real (plus the edit)
    base = pair.real  # what the fake's last save encoded, but for the edit: its real, or the real's first save for a fake saved twice
    if whole and family != "attribute" and exact and "first_quality" in how:  # a patch may be read off the coefficients below
        base = first_save(pair.real, pair.fake_bytes, how["first_quality"])
    if whole and family in PATCH_FAMILIES:
        artifact, params["patch"] = whole_patch(artifact, base, pair.fake_bytes, exact, near)
    if family != "attribute":  # an attribute edit's text states its per-concept facts only: nothing to measure
        family_evidence = measure_family(reference, pair.fake, artifact, concepts, pair.face.landmarks, motion, config.family_evidence)
        candidate = None
        if family == "unknown":
            guess = guess_family(family_evidence, config.family_guess, config.family_evidence)
            if whole and guess.family not in REGION_FAMILIES:  # the guess reached its patch rule: read it with the patch a fill would have made
                candidate = whole_patch(artifact, base, pair.fake_bytes, exact, near)
                family_evidence = with_patch(family_evidence, candidate[0], concepts, pair.face.landmarks, config.family_evidence)
                guess = guess_family(family_evidence, config.family_guess, config.family_evidence)
            family = guess.family
            if candidate is not None and family in PATCH_FAMILIES:  # the guessed patch taken whole, with the evidence of that mask
                artifact, params["patch"] = candidate
                family_evidence = measure_family(reference, pair.fake, artifact, concepts, pair.face.landmarks, motion, config.family_evidence)
    decisions = decide(artifact, concepts, config.decision, family=family)
    if not decisions.cover:
        detail = f"{ref.fake_path}: {int(artifact.sum())} artifact pixels, none of the concepts passes the decision thresholds"
        return Reject("no_concept_manipulated", detail, ref.pair_id, ref.real_path, ref.fake_path)
    evidence = measure_evidence(reference, pair.fake, decisions, pair.face.landmarks, config=config.evidence, motion=motion)
    limit = config.max_grounded if decisions.family_cover is None else max(config.max_grounded, len(decisions.cover))
    salient = sorted(decisions.cover, key=lambda c: -decisions.concepts[c].artifact_pixels)[:limit]
    order = tuple(sorted(salient, key=lambda c: (round(evidence[c].centroid[1]), evidence[c].centroid[0])))
    family_facts = tuple(family_evidence.facts(family, config.family_evidence)) if family_evidence is not None else ()
    item = WriterInput(ref.pair_id, concepts.fict, order, evidence, pair.fake_bytes, pair.real_bytes, ref.manipulation,
                       seam=nameable_seam(decisions), family=family, family_facts=family_facts, guessed=guess is not None)
    return Measured(pair, concepts, params, decisions, evidence, item, family_evidence, guess)


def nameable_seam(decisions: Decisions) -> tuple[str, ...]:
    """The seam concepts a text may name (`Decisions.seam_concepts`): those flagged or holding a flagged
    concept, since the guard drops a sentence that names a region the decisions leave untouched."""
    flagged = set(decisions.manipulated)
    return tuple(c for c in decisions.seam_concepts if c in flagged or any(d.id in flagged for d in decisions.fict.descendants(c)))


def differs_away(reference: np.ndarray, fake: np.ndarray, near: np.ndarray | None) -> float:
    """Share of the pixels beyond the subject (`near` is the subject's reach) where the fake
    differs from its resaved reference; 0 when too few pixels lie beyond it to tell.

    A fake saved once after a local edit differs from the resaved real only on the blocks the edit
    touched, so beyond the subject by nothing. A JPEG real edited and saved again at its own
    quality also resaves to the fake on most pixels, but its untouched blocks, re-quantised twice,
    differ everywhere the photo has texture: the reference still helps, the settings that assume
    an exact resave (`RESAVED_PARAMS`) would mark that noise.
    """
    if near is None:
        return 0.0
    away = ~near
    pixels = np.count_nonzero(away)
    if pixels < RESAVED_AWAY_MIN_PX:
        return 0.0
    return float(np.count_nonzero(np.logical_and(differing(reference, fake), away)) / pixels)


def finish(measured: Measured, explanation: Explanation) -> AnnotatedImage:
    """Attach the guarded explanation and encode the masks the tasks need."""
    decisions = measured.decisions
    whole = np.zeros(decisions.artifact.shape, dtype=bool, order="F")  # Fortran order: RLE encodes it without a copy
    rows, cols = decisions.artifact_box
    whole[rows, cols] = decisions.artifact[rows, cols]
    masks = {"image": masklib.encode(whole)}
    boxes = {"image": [float(cols.start), float(rows.start), float(cols.stop), float(rows.stop)]}
    for concept_id in explanation.concepts:
        mask, boxes[concept_id] = decisions.mask_and_box(concept_id)
        masks[concept_id] = masklib.encode(mask)
    ref = measured.pair.ref
    return AnnotatedImage(
        label="fake",
        image=measured.pair.fake_bytes,
        image_path=ref.fake_path,
        size=measured.pair.fake.shape[:2],
        source_id=ref.source_id,
        pair_id=ref.pair_id,
        manipulation=ref.manipulation,
        concept_masks=measured.concepts,
        decisions=decisions,
        evidence=measured.evidence,
        explanation=explanation,
        masks=masks,
        boxes=boxes,
        mask_params=measured.artifact_params,
        family_evidence=measured.family_evidence,
        family_guess=measured.family_guess,
        family_facts=measured.item.family_facts,
    )


UNLOCALISED = ("empty_artifact_mask", "no_concept_manipulated")  # the rejects a fake survives for det and cls


def image_level(pair: LoadedPair, concepts: ConceptMasks, why: Reject) -> AnnotatedImage:
    """A fake whose edit could not be localised: still a fake, for the image-level tasks only."""
    ref = pair.ref
    return AnnotatedImage("fake", pair.fake_bytes, ref.fake_path, pair.fake.shape[:2], ref.source_id, ref.pair_id,
                          ref.manipulation, concepts, unlocalised=why)


def real_image(pair: LoadedPair, concepts: ConceptMasks) -> AnnotatedImage:
    """The real image of a pair as an annotated image of its own (no artifacts)."""
    ref = pair.ref
    return AnnotatedImage("real", pair.real_bytes, ref.real_path, pair.real.shape[:2], ref.source_id, None, None, concepts)


def explain(batch: list[Measured], writer: Writer, counts: GuardCounts, fallback: Writer | None = None) -> list[AnnotatedImage]:
    """Write, guard and finish a batch; an LLM writer's failures fall back to the template writer."""
    if not batch:
        return []
    fallback = fallback or TemplateWriter()
    finder = finder_for(batch[0].concepts.fict)
    items = [m.item for m in batch if not m.pair.fake_only]  # a fake without its real states locations only (`fake_only`)
    written = iter(writer.write_many(items) if hasattr(writer, "write_many") else [writer.write(i) for i in items])
    texts = [fake_only_text(m.item) if m.pair.fake_only else next(written) for m in batch]
    out = []
    for measured, text in zip(batch, texts):
        if isinstance(text, Exception):
            counts.writer_failures += 1
            text = fallback.write(measured.item)
        result = guard(text, measured.item, frozenset(measured.decisions.manipulated), fallback, finder)
        counts.add(result)
        out.append(finish(measured, result.explanation))
    return out


def annotate(
    pairs: Iterable[LoadedPair | Reject],
    writer: Writer | None = None,
    config: AnnotatorConfig = AnnotatorConfig(),
    counts: GuardCounts | None = None,
    batch_size: int = 16,
) -> Iterator[AnnotatedImage | Reject]:
    """Annotate a stream of loaded pairs; rejects pass through, new ones are added."""
    writer = writer or TemplateWriter(seed=config.seed)
    counts = counts if counts is not None else GuardCounts()
    cache: dict[str, dict[int, ConceptMasks]] = {}
    seen_reals: set[str] = set()
    batch: list[Measured] = []
    for pair in pairs:
        if isinstance(pair, Reject):
            yield pair
            continue
        key = f"{pair.ref.root}\0{pair.ref.real_path}"
        if key not in cache:
            cache.clear()  # sources list a real image's fakes together; one entry keeps memory flat
            cache[key] = {}
        by_subject = cache[key]  # in a group photo, each fake's subject is the face it edits
        if pair.face.subject not in by_subject:
            by_subject[pair.face.subject] = concept_masks(pair.real, pair.face)
        concepts = by_subject[pair.face.subject]
        if key not in seen_reals:
            seen_reals.add(key)
            if not pair.fake_only:
                yield real_image(pair, concepts)
        measured = measure(pair, concepts, config)
        if isinstance(measured, Reject):
            keep = config.keep_unlocalised and measured.reason in UNLOCALISED
            yield image_level(pair, concepts, measured) if keep else measured
            continue
        batch.append(measured)
        if len(batch) >= batch_size:
            yield from explain(batch, writer, counts)
            batch = []
    yield from explain(batch, writer, counts)
