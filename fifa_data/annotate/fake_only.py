"""Annotating a fake without its real image (a mask-only source: `pairs.layouts.maskonly`).

The source's mask is the artifact mask and the concepts are read from the fake, so the decisions
are made as for any pair. The evidence keeps only what the fake and its mask show by themselves:
where the edit lies and how much of each concept it covers. Colour, lightness, texture, seam and
shape readings compare the fake with its real, and the family's traces too: they are left out. A
sharpness reading of the fake inside the mask against the pixels around it is no substitute: a
concept's own detail differs from its surroundings' (lips from skin), so an untouched texture
would read as edited. `fake_only_text` writes the text from the locations alone, `NO_REAL` saying why.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from fifa_data.annotate.decide import Decisions, decide
from fifa_data.annotate.evidence import Evidence, measure_evidence
from fifa_data.annotate.explanation import Explanation, WriterInput
from fifa_data.core.families import family_of
from fifa_data.faces.concepts import ConceptMasks
from fifa_data.pairs.loading import LoadedPair
from fifa_data.pairs.rejects import Reject

if TYPE_CHECKING:
    from fifa_data.annotate.pipeline import AnnotatorConfig

NO_REAL = "The real image was not available, so only where the edit lies is described: its colour, texture and shape changes are not stated."
SUMMARY = "This image was edited in the region its mask marks."
EXTENT = ((0.9, "all of"), (0.6, "most of"), (0.3, "much of"), (0.0, "part of"))  # share of the concept covered → words
WRITER = "fake_only"


def measure_fake_only(
    pair: LoadedPair, concepts: ConceptMasks, config: AnnotatorConfig
) -> tuple[dict, Decisions, dict[str, Evidence], WriterInput] | Reject:
    """The mask parameters, decisions, location-only evidence and writer input of a mask-only fake (module
    docstring; `pipeline.measure` makes them its `Measured`), or the reject of a mask that marks nothing nameable."""
    ref, artifact = pair.ref, pair.given_mask
    if artifact is None or not artifact.any():
        return Reject("empty_artifact_mask", f"{ref.mask_path}: the mask marks no pixel", ref.pair_id, None, ref.fake_path)
    family = family_of(ref.manipulation)
    decisions = decide(artifact, concepts, config.decision, family=family)
    if not decisions.cover:
        detail = f"{ref.fake_path}: {int(artifact.sum())} mask pixels, none of the concepts passes the decision thresholds"
        return Reject("no_concept_manipulated", detail, ref.pair_id, None, ref.fake_path)
    # measured against itself, the fake gives every concept its pixels, share and centre and no change at all
    located = measure_evidence(pair.fake, pair.fake, decisions, pair.face.landmarks, config=config.evidence)
    evidence = {c: dataclasses.replace(e, texture=0.0, seam=None) for c, e in located.items()}
    limit = config.max_grounded if decisions.family_cover is None else max(config.max_grounded, len(decisions.cover))
    salient = sorted(decisions.cover, key=lambda c: -decisions.concepts[c].artifact_pixels)[:limit]
    order = tuple(sorted(salient, key=lambda c: (round(evidence[c].centroid[1]), evidence[c].centroid[0])))
    item = WriterInput(ref.pair_id, concepts.fict, order, evidence, pair.fake_bytes, None, ref.manipulation, family=family)
    params = {"mode": "given", "path": ref.mask_path, "reference": "none"}
    return params, decisions, evidence, item


def fake_only_text(item: WriterInput) -> Explanation:
    """The text of a mask-only fake: `SUMMARY` and `NO_REAL`, then how much of each requested concept the edit covers."""
    sentences = []
    for concept_id in item.requested:
        share = item.evidence[concept_id].share if concept_id in item.evidence else 0.0
        words = next(w for limit, w in EXTENT if share >= limit)
        sentences.append(f"The edit covers {words} <p>the {item.fict[concept_id].name}</p>.")
    return Explanation(f"{SUMMARY} {NO_REAL}", tuple(sentences), tuple(item.requested), writer=WRITER)
