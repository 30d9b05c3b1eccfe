"""Annotation reliability: the annotator's output against the truth, where the truth is known.

A pair's truth is its edit mask (the sample source and ``scripts/simulate.py`` write it to the
manifest's ``edit_mask`` column) and what its manipulation type really does (`TRUE_FACTS`). The
guard (:mod:`.guard`) only checks the text against the annotator's own decisions; these figures
check the decisions and the text against what happened:

- **localised**: share of the pairs that come out with a mask and a text (a rejected pair, or a
  fake kept for det and cls only, is not);
- **mIoU**: IoU of the artifact mask with the edit mask, a pair that is not localised scoring 0;
- **concept P / R**: the atomic concepts flagged against the *truth concepts*, which are
  `decide` applied to the edit mask on the same concept masks (micro averages; a pair that is not
  localised flags nothing, so it lowers recall);
- **fact P**: every fact the text states (`writers.stated_facts`, and the pair's family facts) checked against `TRUE_FACTS`:
  a colour edit displaces nothing, a warp changes no colour, a smoothing adds no detail; the
  family edits' entries also judge their family facts (`family_evidence.FamilyEvidence.facts`);
  ``geometry_on_paint`` counts geometry stated about edits that move nothing;
- **outside**: concepts the text names whose own mask has less than `OUTSIDE_SHARE` of its pixels
  inside the edit; ``loose_named``/``loose_outside`` count the background and body ones;
- **family stated / wrong family**: share of the localised texts of a known family that state it, or
  state another one (`sentences.stated_families`); ``attribute_on_other`` counts the texts that call
  a fake of another family an attribute edit;
- **family guessed**: share of the unnamed fakes (no manipulation given) of a known true family whose
  guessed family (``AnnotatedImage.family_guess``) is right; a fake without a guess counts as wrong.

`score_pair` gives one pair's record (the faithfulness bench keeps them); `Reliability` adds
records up into totals that sum across workers and slices, and `figures` turns totals into the
shares above.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from fifa_data.annotate.decide import CONTEXT, DecisionConfig, decide
from fifa_data.annotate.evidence import EvidenceConfig, Fact
from fifa_data.annotate.pipeline import AnnotatedImage
from fifa_data.annotate.sentences import stated_families
from fifa_data.annotate.writers import stated_facts
from fifa_data.core import masks as masklib
from fifa_data.core.families import family_of
from fifa_data.core.fict import FICT, finder_for
from fifa_data.faces.concepts import ConceptMasks

OUTSIDE_SHARE = 0.05  # a named concept with less of its area inside the edit lies outside it

# What each known manipulation type really does, as the `Fact` kinds that can be true of it, each
# with the directions that are false for it (the rest are true). Warps move pixels and change no
# colour, leave no blending seam and add no texture; the painted edits displace nothing.
_ANY: frozenset[str] = frozenset()
TRUE_FACTS: dict[str, dict[str, frozenset[str]]] = {
    "lip_color": {"colour": _ANY, "lightness": _ANY, "seam": _ANY},  # lipstick keeps the lip texture
    "hair_color": {"colour": _ANY, "lightness": _ANY, "texture": _ANY, "seam": _ANY},  # dye rescales strand contrast
    "eyebrow": {"colour": _ANY, "lightness": frozenset({"lighter"}), "texture": _ANY, "seam": _ANY},
    "beard": {"colour": _ANY, "lightness": _ANY, "texture": _ANY, "seam": _ANY},
    "glasses": {"colour": _ANY, "lightness": _ANY, "texture": _ANY, "seam": _ANY},
    "ageing": {"colour": _ANY, "lightness": _ANY, "texture": _ANY, "seam": _ANY},
    "skin_smooth": {"lightness": frozenset({"darker"}), "texture": frozenset({"sharper"}), "seam": _ANY},
    "smile": {"geometry": frozenset({"lowered"})},
    "eye_enlarge": {"geometry": frozenset({"shrunk"})},
    "face_slim": {"geometry": frozenset({"enlarged", "pushed outward"})},
    # The family edits (`fifa_data.pairs.simulate.FAMILY_EDITS`) and their family facts
    # (`family_evidence.FamilyEvidence.facts`). A swap brings another face's pixels, resampled onto
    # the photo's mesh: its landmarks stay (no geometry), the blur is resampling (no removed
    # structure). A self-blend recolours, blurs or sharpens, scales and shifts the face's own copy a
    # little: its texture is its own. A reenactment only warps. An inpainting fills a patch from its
    # surroundings: it matches the colour around it, and its fill (OpenCV's) smooths or leaves streaks.
    "face_swap": {"colour": _ANY, "lightness": _ANY, "texture": _ANY, "seam": _ANY, "blend": _ANY, "replaced": _ANY},
    "part_swap": {"colour": _ANY, "lightness": _ANY, "texture": _ANY, "seam": _ANY, "blend": _ANY, "replaced": _ANY},
    "self_blend": {"colour": _ANY, "lightness": _ANY, "texture": _ANY, "seam": _ANY, "blend": _ANY, "geometry": _ANY},
    "reenact": {"geometry": _ANY, "motion": _ANY},
    "inpaint": {"colour": _ANY, "lightness": _ANY, "texture": _ANY, "seam": _ANY,
                "blend": frozenset({"colour mismatch", "lighting mismatch"}), "removed": _ANY},
}


def fact_is_true(manipulation: str | None, fact: Fact) -> bool | None:
    """Whether a stated fact agrees with what the edit does; None for an unknown manipulation type."""
    truth = TRUE_FACTS.get(manipulation or "")
    if truth is None:
        return None
    false_directions = truth.get(fact.kind)
    return false_directions is not None and fact.direction not in false_directions


def moves_nothing(manipulation: str | None) -> bool:
    """Whether a known manipulation type displaces no pixel (no geometry fact can be true of it)."""
    truth = TRUE_FACTS.get(manipulation or "")
    return truth is not None and "geometry" not in truth


def loose_region(fict: FICT, concept_id: str) -> str | None:
    """``background`` or ``body`` when the concept is that region or inside it."""
    ids = {concept_id, *(a.id for a in fict.ancestors(concept_id))}
    return next((r for r in CONTEXT if r in ids), None)


def truth_concepts(edit: np.ndarray, concepts: ConceptMasks, config: DecisionConfig = DecisionConfig(), family: str | None = None) -> set[str]:
    """The atomic concepts the decision rule flags when given the true edit mask, at ``family``'s scale
    (an inpainting's patch concept holds its parts, as the annotator decides it)."""
    return set(decide(edit, concepts, config, family=family).manipulated_atomic)


def score_pair(
    img: AnnotatedImage | None,
    edit: np.ndarray,
    manipulation: str | None,
    concepts: ConceptMasks | None,
    decision: DecisionConfig = DecisionConfig(),
    evidence: EvidenceConfig = EvidenceConfig(),
) -> dict:
    """One pair's record against its edit mask. ``img`` is the annotated fake (None when rejected);
    ``manipulation`` the true one, also when the source did not name it (``img.manipulation`` None);
    ``concepts`` the concept masks of the edited face (None when unknown: no truth concepts)."""
    family = family_of(manipulation)
    record: dict = {"manipulation": manipulation, "family": family, "truth_share": float(edit.mean())}
    truth = truth_concepts(edit, concepts, decision, family) if concepts is not None else set()
    record["truth_concepts"] = sorted(truth)
    record["unnamed"] = img is not None and img.manipulation is None
    guess = img.family_guess if record["unnamed"] else None
    record["family_guess"] = guess.family if guess is not None else None
    if img is None or img.unlocalised is not None:
        return {**record, "localised": False, "iou": 0.0, "artifact_share": 0.0, "predicted_concepts": [], "facts": [], "named": [],
                "stated_families": []}
    record["stated_families"] = sorted(stated_families(img.explanation.plain()))
    decisions = img.decisions
    record.update(localised=True, iou=masklib.iou(decisions.artifact, edit), artifact_share=float(decisions.artifact.mean()),
                  predicted_concepts=sorted(decisions.manipulated_atomic))
    record["facts"] = [
        {"concept": c, "kind": f.kind, "direction": f.direction, "true": fact_is_true(manipulation, f)}
        for c in img.explanation.concepts
        for f in stated_facts(img.evidence.get(c), evidence, img.decided_family)
    ] + [{"concept": None, "kind": f.kind, "direction": f.direction, "true": fact_is_true(manipulation, f)} for f in img.family_facts]
    own = img.concept_masks  # what the text names lies on the annotator's subject
    fict = own.fict
    named = dict.fromkeys([*img.explanation.concepts, *finder_for(fict).find(img.explanation.plain())])
    record["named"] = []
    in_edit = own.pixels_within(edit)
    for concept_id in named:
        area, inside = own.count(concept_id), own.count(concept_id, in_edit)
        record["named"].append({"concept": concept_id, "inside_share": inside / area if area else 0.0,
                                "outside": inside < OUTSIDE_SHARE * area, "region": loose_region(fict, concept_id)})
    return record


@dataclass
class Reliability:
    """Totals of `score_pair` records; they add up across workers and slices."""

    pairs: int = 0
    localised: int = 0
    iou_sum: float = 0.0
    concepts_true: int = 0  # flagged and in the truth concepts
    concepts_flagged: int = 0
    concepts_truth: int = 0
    facts: int = 0
    facts_true: int = 0
    facts_unknown: int = 0  # facts about a manipulation type whose truth is not known
    geometry_on_paint: int = 0
    named: int = 0
    named_outside: int = 0
    loose_named: int = 0
    loose_outside: int = 0
    family_texts: int = 0  # localised texts of a fake whose true family is known
    family_stated: int = 0  # ... that state it
    wrong_family: int = 0  # ... that state another family
    attribute_on_other: int = 0  # ... of another family than attribute that state "attribute"
    unnamed: int = 0  # fakes of a known family the source did not name
    family_guessed: int = 0  # ... whose guessed family is the true one

    def add(self, record: dict) -> None:
        self.pairs += 1
        self.localised += record["localised"]
        self.iou_sum += record["iou"]
        flagged, truth = set(record["predicted_concepts"]), set(record["truth_concepts"])
        self.concepts_true += len(flagged & truth)
        self.concepts_flagged += len(flagged)
        self.concepts_truth += len(truth)  # a pair that is not localised flags nothing: its truth counts as missed
        for fact in record["facts"]:
            if fact["true"] is None:
                self.facts_unknown += 1
                continue
            self.facts += 1
            self.facts_true += fact["true"]
            self.geometry_on_paint += fact["kind"] == "geometry" and moves_nothing(record["manipulation"])
        for named in record["named"]:
            self.named += 1
            self.named_outside += named["outside"]
            self.loose_named += named["region"] is not None
            self.loose_outside += named["region"] is not None and named["outside"]
        family = record.get("family", "unknown")
        if family == "unknown":
            return
        if record["localised"]:
            stated = set(record.get("stated_families", ()))
            self.family_texts += 1
            self.family_stated += family in stated
            self.wrong_family += bool(stated - {family})
            self.attribute_on_other += family != "attribute" and "attribute" in stated
        if record.get("unnamed"):
            self.unnamed += 1
            self.family_guessed += record.get("family_guess") == family

    def merge(self, other: Reliability | dict) -> None:
        for key, value in (other if isinstance(other, dict) else asdict(other)).items():
            setattr(self, key, getattr(self, key) + value)

    def to_dict(self) -> dict:
        return asdict(self)

    def figures(self) -> dict:
        """The shares of the module docstring (None where there is nothing to divide by)."""

        def share(a: float, b: float) -> float | None:
            return a / b if b else None

        return {
            "pairs": self.pairs,
            "localised": share(self.localised, self.pairs),
            "miou": share(self.iou_sum, self.pairs),
            "concept_precision": share(self.concepts_true, self.concepts_flagged),
            "concept_recall": share(self.concepts_true, self.concepts_truth),
            "fact_precision": share(self.facts_true, self.facts),
            "geometry_on_paint": self.geometry_on_paint,
            "named_outside": share(self.named_outside, self.named),
            "background_body_named": self.loose_named,
            "background_body_outside": self.loose_outside,
            "family_stated": share(self.family_stated, self.family_texts),
            "wrong_family": share(self.wrong_family, self.family_texts),
            "attribute_on_other": self.attribute_on_other,
            "family_guessed": share(self.family_guessed, self.unnamed),
        }


def summary_line(figures: dict) -> str:
    """The reliability figures (`Reliability.figures`) as the one line the build and annotate.py print."""
    cell = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    guessed = f", family guessed {cell(figures['family_guessed'])}" if figures["family_guessed"] is not None else ""
    return (f"reliability against the true edit masks ({figures['pairs']:,} pairs): mIoU {cell(figures['miou'])}, "
            f"concept P/R {cell(figures['concept_precision'])}/{cell(figures['concept_recall'])}, fact P {cell(figures['fact_precision'])}, "
            f"geometry on colour/texture edits {figures['geometry_on_paint']}, family stated {cell(figures['family_stated'])}, "
            f"another family stated {cell(figures['wrong_family'])}, 'attribute' about another family {figures['attribute_on_other']}"
            f"{guessed}")
