"""Concept decisions: which FICT concepts a pair's artifact mask says were manipulated.

The inputs are the pair's artifact mask and the real face's concept label map; the output says,
for every visible concept, how many artifact pixels fall inside it and whether it counts as
manipulated. The conditions (thresholds in :class:`DecisionConfig`, recorded with the output):

* an **atomic** concept is manipulated when the artifact covers at least ``min_pixels`` of its
  pixels *and* either at least ``min_share`` of its area or at least ``large_pixels`` (a share of
  the whole image) in absolute terms. The share condition keeps a few stray pixels on a big
  region (background, body) from counting; the absolute condition keeps a clear edit that is a
  small part of a big region (a beard on a wide jawline, a dyed tip of long hair) from being lost.
* a **small edit**: when no concept but the root and the face passes, the rule is applied again
  with ``small_edit_pixels`` in place of ``min_pixels``. A lipstick or a brow pencil on a face
  60 px tall covers fewer than 40 pixels of each lip or brow part; it is still an edit of them,
  and the share condition still applies.
* in a **context** region (:data:`CONTEXT`: the background and the body), only artifact pixels
  farther than ``context_margin`` face heights (at least ``context_min_px``) from the head
  (`concepts.HEAD`) count. A JPEG re-encode spreads a sharp edit of the hair or the jaw line over
  its 8x8 blocks and chroma samples into the background and the collar beside it, and the
  head's outline in the concept masks is itself a few pixels off; neither means that the wall
  or the shirt was edited, while a real edit of them reaches beyond that band.
* a **parent** concept is manipulated when the artifact covers at least ``min_pixels`` of it
  and either more than ``parent_child_share`` of its visible children are manipulated or the
  artifact covers at least ``parent_min_share`` of its own area. So "lips" is flagged when the
  upper and lower lip are, "eyebrows" is not when only the left one was darkened, "face" is not
  because its lips were recoloured, and a small, fully edited eyebrow is flagged even when each
  of its parts is below ``min_pixels`` on its own.

Every flagged concept's *concept-artifact mask* is the artifact mask inside the concept
(artifact ∩ concept), which is what a grounded phrase's ``[SEG]`` mask is. The *cover* is the
set of flagged concepts that a grounded explanation names: flagged concepts without a flagged
ancestor, where the root and the whole face (:data:`~fifa_data.core.fict.TOO_BROAD`) count as too broad to name, so
a retouch of the whole face is grounded part by part.

Family scale
------------
An attribute edit is grounded at the scale of what it edited (the rules above). The other forgery
families (`fifa_data.core.families`) replace or move whole regions, and ``decide(..., family=...)``
grounds them at that scale; the verdicts (``manipulated``) stay those of the rules above but for
the concepts the cover names, which are flagged (an inpainting's patch concept), and the cover and
the seam change:

* a **region** family (:data:`REGION_FAMILIES`: identity swap, self-blend, part swap, reenactment)
  is grounded by its **natural parts**: the children of the face (eyebrows, eyes, nose, cheeks,
  lips, mouth, chin, jaw, forehead, temples) and the head's other regions (hair, ears, neck). A
  part is named when the artifact covers at least ``parent_min_share`` of it (it is replaced or
  moved as a whole); otherwise one side of it (``eye.left``) when that side is covered as a whole
  and the other is not. A part covered less is not named: where a blended region's border crosses
  it, it is a seam concept. When no natural part qualifies (a part swap of a sliver), the cover
  is the attribute-scale one. A family-scale cover has at most one entry per natural part, so it
  is grounded whole, never cut to ``AnnotatorConfig.max_grounded``.
* a **blend** family (:data:`BLEND_FAMILIES`) also has its **seam**: the band within
  ``seam_width`` face heights (at least ``seam_min_px``) of the artifact mask's border, on both
  sides. ``Decisions.seam_concepts`` are the natural parts that hold at least ``seam_min_share``
  of the band's head pixels (hair, face, ears, neck), in FICT order: "the seam runs along the
  jaw and the forehead". The background and the body (:data:`CONTEXT`) are never seam concepts.
* an **inpainting** is grounded by the patch's own concept: the deepest concept, not too broad to
  name, that holds at least ``patch_share`` of the artifact's pixels (and ``small_edit_pixels``);
  a mole filled on the left cheek's apple is "the left cheek's apple" even where the patch is too
  small a share of it to pass the rules above. The patch concept's atomic parts that hold at least
  ``patch_part_share`` of the patch (and ``small_edit_pixels``) are flagged with it (a wrinkled band across the forehead flags
  the forehead's parts it crosses). When no such concept holds it, the cover stays; where that
  cover is empty (a mole beside the nose whose patch spreads onto an eye's corner), the deepest
  concept holding ``patch_majority`` of the patch grounds it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from fifa_data.annotate.artifacts import JPEG_SPREAD_PX
from fifa_data.core import masks as masklib
from fifa_data.core.fict import FICT, TOO_BROAD
from fifa_data.faces.concepts import HEAD, ConceptMasks

CONTEXT = ("background", "body")  # the regions around the head (`concepts.HEAD`): annotated only beyond its rim
REGION_FAMILIES = ("identity_swap", "self_blend", "part_swap", "reenactment")  # grounded by natural parts
BLEND_FAMILIES = ("identity_swap", "self_blend", "part_swap")  # a region blended in: it has a seam
PATCH_FAMILIES = ("inpainting",)  # grounded by the patch's own concept


@dataclass(frozen=True)
class DecisionConfig:
    """Thresholds of the manipulation conditions (see the module docstring)."""

    min_pixels: int = 40
    small_edit_pixels: int = 10  # min_pixels when nothing passes at min_pixels (0: off)
    min_share: float = 0.15
    large_pixels: float = 0.002
    parent_child_share: float = 0.5
    parent_min_share: float = 0.6
    context_margin: float = 0.04
    context_min_px: float = JPEG_SPREAD_PX
    seam_width: float = 0.02  # face heights either side of a blend's border (family scale)
    seam_min_px: float = 2.0
    seam_min_share: float = 0.1  # share of the seam band's head pixels a seam concept holds
    patch_share: float = 0.8  # share of an inpainting's pixels its own concept holds
    patch_part_share: float = 0.1  # share of them an atomic part of that concept holds to be flagged with it (not a rim it grazes)
    patch_majority: float = 0.5  # where no concept holds patch_share and nothing else is flagged: the deepest holding this share

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ConceptDecision:
    """The overlap of one concept with the artifact mask and the verdict on it."""

    concept_id: str
    manipulated: bool
    artifact_pixels: int
    concept_pixels: int

    @property
    def share(self) -> float:
        """Share of the concept's pixels that the artifact mask covers."""
        return self.artifact_pixels / self.concept_pixels if self.concept_pixels else 0.0


@dataclass(frozen=True, eq=False)
class Decisions:
    """The verdict on every visible concept of one pair, and the means to cut its masks."""

    config: DecisionConfig
    concepts: dict[str, ConceptDecision]
    artifact: np.ndarray = field(repr=False)
    concept_masks: ConceptMasks = field(repr=False)
    family: str | None = None  # the forgery family decided for (None: the attribute scale)
    family_cover: tuple[str, ...] | None = None  # the cover at the family's scale, when it has one
    seam_concepts: tuple[str, ...] = ()  # natural parts a blend's border band runs through, in FICT order

    @property
    def fict(self) -> FICT:
        return self.concept_masks.fict

    @property
    def manipulated(self) -> tuple[str, ...]:
        """Every manipulated concept, atomic and parent, in FICT order."""
        return tuple(c for c, d in self.concepts.items() if d.manipulated)

    @property
    def manipulated_atomic(self) -> tuple[str, ...]:
        return tuple(c for c in self.manipulated if self.fict[c].is_atomic)

    @property
    def cover(self) -> tuple[str, ...]:
        """The manipulated concepts a grounded explanation names (no flagged ancestor but the
        root or the face), in FICT order; their masks never overlap. At a family's scale, its
        natural parts or its patch's concept (see the module docstring)."""
        if self.family_cover is not None:
            return self.family_cover
        flagged = set(self.manipulated)
        return tuple(
            c
            for c in self.manipulated
            if c not in TOO_BROAD and not any(a.id in flagged and a.id not in TOO_BROAD for a in self.fict.ancestors(c))
        )

    def is_untouched(self, concept_id: str, max_share: float = 0.01) -> bool:
        """Whether a visible concept is clearly not edited: not flagged, no flagged concept
        inside it, and at most ``max_share`` of it covered. (The upper lip is untouched when
        only the lower lip was edited, even though "lips" is flagged.)"""
        decision = self.concepts.get(concept_id)
        if decision is None or decision.manipulated or decision.share > max_share:
            return False
        return not any(self.concepts[d.id].manipulated for d in self.fict.descendants(concept_id) if d.id in self.concepts)

    def mask(self, concept_id: str) -> np.ndarray:
        """The concept-artifact mask: artifact pixels inside the concept (bool HxW, Fortran
        order, which is what COCO RLE encoding wants)."""
        return self.mask_and_box(concept_id)[0]

    def mask_and_box(self, concept_id: str) -> tuple[np.ndarray, list[float] | None]:
        """The concept-artifact mask and its box ``[x0, y0, x1, y1]`` (None when empty), cut
        from the overlap of the artifact's and the concept's boxes only."""
        out = np.zeros(self.artifact.shape, dtype=bool, order="F")
        concept_box = self.concept_masks.box(concept_id)
        if self.artifact_box is None or concept_box is None:
            return out, None
        rows, cols = self.artifact_box
        x0, y0, x1, y1 = (int(v) for v in concept_box)
        top, left = max(rows.start, y0), max(cols.start, x0)
        rows, cols = slice(top, max(min(rows.stop, y1), top)), slice(left, max(min(cols.stop, x1), left))
        member = np.zeros(len(self.fict.atomic_ids) + 1, dtype=bool)
        member[[self._atomic_index[c] for c in self.fict.atomic_descendants(concept_id)]] = True
        crop = self.artifact[rows, cols] & member[self.concept_masks.labels[rows, cols]]
        out[rows, cols] = crop
        return out, _box_of(crop, top, left)

    @functools.cached_property
    def artifact_box(self) -> tuple[slice, slice] | None:
        """(rows, cols) slices of the artifact mask's bounding box; None when it is empty."""
        rows, cols = np.flatnonzero(self.artifact.any(axis=1)), np.flatnonzero(self.artifact.any(axis=0))
        if len(rows) == 0:
            return None
        return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)

    @functools.cached_property
    def _atomic_index(self) -> dict[str, int]:
        return {c: i + 1 for i, c in enumerate(self.fict.atomic_ids)}

    def to_dict(self) -> dict:
        """Thresholds, flagged concepts and per-concept overlap counts as plain values."""
        extra = {"family": self.family, "seam_concepts": list(self.seam_concepts)} if self.family_cover is not None else {}
        return {
            "config": self.config.to_dict(),
            "manipulated": list(self.manipulated),
            "cover": list(self.cover),
            **extra,
            "overlap": {
                c: {"artifact_pixels": d.artifact_pixels, "concept_pixels": d.concept_pixels}
                for c, d in self.concepts.items()
                if d.artifact_pixels
            },
        }


def decide(
    artifact: np.ndarray, concepts: ConceptMasks, config: DecisionConfig = DecisionConfig(), family: str | None = None
) -> Decisions:
    """Decide which concepts of ``concepts`` the boolean ``artifact`` mask marks as manipulated.

    ``family`` (a `fifa_data.core.families.FAMILIES` name) grounds a region or patch forgery at its
    family's scale (see the module docstring); any other (None, attribute, synthesis, unknown)
    decides at the edit's scale.
    """
    artifact = np.asarray(artifact, dtype=bool)
    if artifact.shape != concepts.labels.shape:
        raise ValueError(f"artifact mask {artifact.shape} and concept labels {concepts.labels.shape} differ in size")
    fict = concepts.fict
    n = len(fict.atomic_ids) + 1
    areas = concepts.label_counts
    hits = np.bincount(concepts.labels[artifact], minlength=n)
    large = config.large_pixels * artifact.size
    if config.context_margin > 0:
        context = concepts.members(*CONTEXT)
        margin = max(config.context_min_px, config.context_margin * (concepts.face_box[3] - concepts.face_box[1]))
        beyond = artifact & (concepts.distance_to_head > margin)
        hits[context] = np.bincount(concepts.labels[beyond], minlength=n)[context]

    decisions: dict[str, ConceptDecision] = {}
    atomic_index = {c: i + 1 for i, c in enumerate(fict.atomic_ids)}
    min_pixels = config.min_pixels

    def visit(concept_id: str) -> ConceptDecision | None:
        node = fict[concept_id]
        if node.is_atomic:
            i = atomic_index[concept_id]
            area, pixels = int(areas[i]), int(hits[i])
            if area == 0:
                return None
            share_ok = pixels >= config.min_share * area or pixels >= large
            decision = ConceptDecision(concept_id, pixels >= min_pixels and share_ok, pixels, area)
        else:
            children = [d for d in (visit(c) for c in node.children) if d is not None]
            if not children:
                return None
            area = sum(d.concept_pixels for d in children)
            pixels = sum(d.artifact_pixels for d in children)
            flagged = sum(d.manipulated for d in children)
            manipulated = pixels >= min_pixels and (
                flagged > config.parent_child_share * len(children) or pixels >= config.parent_min_share * area
            )
            decision = ConceptDecision(concept_id, manipulated, pixels, area)
        decisions[concept_id] = decision
        return decision

    visit(fict.root.id)
    if 0 < config.small_edit_pixels < min_pixels and not any(d.manipulated for c, d in decisions.items() if c not in TOO_BROAD):
        min_pixels = config.small_edit_pixels
        decisions.clear()
        visit(fict.root.id)
    ordered = {c.id: decisions[c.id] for c in fict if c.id in decisions}
    result = Decisions(config, ordered, artifact, concepts)
    if family in REGION_FAMILIES or family in PATCH_FAMILIES:
        result = _at_family_scale(result, family)
    return result


def natural_parts(fict: FICT) -> tuple[str, ...]:
    """The parts a region forgery is grounded by: the face's children and the head's other regions, in FICT order."""
    return tuple(c.id for c in fict if c.parent == "face" or (c.parent == fict.root.id and c.id not in TOO_BROAD + CONTEXT))


def _at_family_scale(decisions: Decisions, family: str) -> Decisions:
    """The same verdicts with the cover (and a blend's seam concepts) at ``family``'s scale."""
    fict, config, concepts = decisions.fict, decisions.config, decisions.concepts
    seam: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()  # flagged beside the cover: a patch concept's atomic parts that hold the patch
    if family in PATCH_FAMILIES:
        total = int(decisions.artifact.sum())
        def holds(share: float) -> list[str]:
            return [c for c, d in concepts.items() if c not in TOO_BROAD and d.artifact_pixels >= max(share * total, config.small_edit_pixels)]

        holding = holds(config.patch_share)
        if not holding and not decisions.cover:  # nothing else grounds it (a patch spread onto its neighbours)
            holding = holds(config.patch_majority)
        cover = tuple(holding[-1:]) or decisions.cover  # FICT order: a concept's descendants follow it
        if holding:
            least = max(config.patch_part_share * total, config.small_edit_pixels)
            parts = tuple(c for c in fict.atomic_descendants(cover[0]) if c in concepts and concepts[c].artifact_pixels >= least)
    else:
        def whole(d: ConceptDecision) -> bool:
            return d.share >= config.parent_min_share and d.artifact_pixels >= config.min_pixels

        cover = tuple(c for part in natural_parts(fict) for c in _whole(concepts, part, whole)) or decisions.cover
        if family in BLEND_FAMILIES:
            seam = _seam_concepts(decisions)
    named = set(cover) | set(parts)
    flagged = {c: d if d.manipulated else ConceptDecision(c, True, d.artifact_pixels, d.concept_pixels) for c, d in concepts.items() if c in named}
    return Decisions(config, {**concepts, **flagged}, decisions.artifact, decisions.concept_masks, family, cover, seam)


def _whole(concepts: dict[str, ConceptDecision], part: str, holds: Callable[[ConceptDecision], bool]) -> tuple[str, ...]:
    """``part`` when it ``holds`` as a whole, else its one side that does (``eye.left``), else nothing."""
    if part not in concepts:
        return ()
    if holds(concepts[part]):
        return (part,)
    sides = [f"{part}.{side}" for side in ("left", "right") if f"{part}.{side}" in concepts]
    held = [s for s in sides if holds(concepts[s])]
    return tuple(held) if len(held) == 1 else ()


def _seam_concepts(decisions: Decisions) -> tuple[str, ...]:
    """The natural parts holding ``seam_min_share`` of the artifact border band's head pixels."""
    config, masks = decisions.config, decisions.concept_masks
    if decisions.artifact_box is None:
        return ()
    face_height = masks.face_box[3] - masks.face_box[1]
    width = max(config.seam_min_px, config.seam_width * face_height)
    kernel = masklib.disc(width)
    mask = np.ascontiguousarray(decisions.artifact, dtype=np.uint8)
    band = (cv2.dilate(mask, kernel) != cv2.erode(mask, kernel, borderType=cv2.BORDER_REPLICATE)) & masks.members(*HEAD)[masks.labels]
    total = int(band.sum())
    if total == 0:
        return ()
    counts = masks.pixels_within(band)
    return tuple(c for c in natural_parts(decisions.fict) if masks.count(c, counts) >= config.seam_min_share * total)


def _box_of(mask: np.ndarray, top: int = 0, left: int = 0) -> list[float] | None:
    """Box ``[x0, y0, x1, y1]`` of a bool mask placed at (``top``, ``left``); None when empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    return [float(left + cols[0]), float(top + rows[0]), float(left + cols[-1] + 1), float(top + rows[-1] + 1)]
