"""Rows of the ``pairs`` config (the task configs' rows come from `fifa_data.tasks`, fict's from `FICT.to_rows`)."""

from __future__ import annotations

import json

from fifa_data.annotate.evidence import EvidenceConfig
from fifa_data.annotate.pipeline import AnnotatedImage
from fifa_data.core import masks as masklib
from fifa_data.core.schema import LAYOUT_TABLE
from fifa_data.pairs.sources import PairRef


def pair_row(fake: AnnotatedImage, real_bytes: bytes | None, ref: PairRef, evidence_config: EvidenceConfig = EvidenceConfig()) -> dict:
    """One ``pairs`` row: both images, the artifact mask, and the annotator's decisions, evidence and text
    (``real_bytes`` None: a mask-only source's fake, whose real and real path are null)."""
    fields = dict(ref.extra)  # a dataset layout's own fields become columns; a manifest's columns stay in source_fields
    from_layout = "layout" in fields
    layout = {column.name: _typed(column.kind, fields.pop(column.name, None) if from_layout else None) for column in LAYOUT_TABLE}
    decisions = fake.decisions
    artifact = fake.masks["image"]
    height, width = fake.size
    evidence = fake.evidence
    return {
        "pair_id": fake.pair_id,
        "source_id": fake.source_id,
        "real": {"bytes": real_bytes, "path": ref.real_path} if real_bytes is not None else None,
        "fake": {"bytes": fake.image, "path": ref.fake_path},
        "real_path": ref.real_path if real_bytes is not None else None,
        "fake_path": ref.fake_path,
        "manipulation": fake.manipulation,
        "family": fake.family,
        "family_guess": fake.family_guess.family if fake.family_guess else None,
        "family_reasons": list(fake.family_guess.reasons) if fake.family_guess else [],
        "artifact_mask": artifact,
        "artifact_share": masklib.area(artifact) / (height * width),
        "mask_params": json.dumps(fake.mask_params, sort_keys=True),
        "num_faces": fake.concept_masks.num_faces,
        "subject": fake.concept_masks.subject,
        "face_boxes": [list(b) for b in fake.concept_masks.face_boxes],
        "manipulated": list(decisions.manipulated),
        "grounded": list(fake.grounded),
        "grounded_masks": [fake.masks[c] for c in fake.grounded],
        "grounded_boxes": [list(map(float, fake.boxes[c])) for c in fake.grounded],
        "overlap": [
            {"concept_id": c, "artifact_pixels": d.artifact_pixels, "concept_pixels": d.concept_pixels, "manipulated": d.manipulated}
            for c, d in decisions.concepts.items()
            if d.artifact_pixels
        ],
        "evidence": [evidence[c].to_dict(evidence_config) for c in decisions.manipulated if c in evidence],
        "explanation": fake.explanation.grounded(),
        "explanation_plain": fake.explanation.plain(),
        "writer": fake.explanation.writer,
        **layout,
        "source_fields": json.dumps(fields, sort_keys=True),
    }


def _typed(kind: str, value: str | None) -> object:
    """A layout's field (a string in `PairRef.extra`) as its column stores it: JSON boxes and masks decoded, numbers parsed."""
    if value is None or kind == "string":
        return value
    return int(value) if kind == "int32" else json.loads(value)
