"""The `datasets.Features` of every FiFa config: explicit types, so each parquet file and the card agree.

All task configs share `TASK_FEATURES` (DESIGN §4), which is what lets ``instruct`` and ``bench``
be unions of their files. Masks are COCO RLE structs, images embed the source file's bytes.
"""

from __future__ import annotations

from datasets import Features, Image, List, Value

RLE = {"size": List(Value("int32")), "counts": Value("string")}
BOX = List(Value("float32"))

MESSAGES = List(
    {
        "role": Value("string"),
        "content": List({"type": Value("string"), "text": Value("string")}),
    }
)

TASK_FEATURES = Features(
    {
        "id": Value("string"),
        "task": Value("string"),
        "image": Image(),
        "messages": MESSAGES,
        "masks": List(RLE),
        "concepts": List(Value("string")),
        "boxes": List(BOX),
        "label": Value("string"),
        "answer": Value("string"),
        "query_concept": Value("string"),
        "query_mask": RLE,
        "target_boxes": List(BOX),
        "manipulation": Value("string"),
        "pair_id": Value("string"),
        "source_id": Value("string"),
    }
)

FACT = {"kind": Value("string"), "direction": Value("string"), "strength": Value("string"), "value": Value("float64")}

EVIDENCE = {
    "concept_id": Value("string"),
    "pixels": Value("int64"),
    "share": Value("float64"),
    "centroid": List(Value("float64")),
    "delta_e": Value("float64"),
    "delta_lightness": Value("float64"),
    "delta_a": Value("float64"),
    "delta_b": Value("float64"),
    "delta_chroma": Value("float64"),
    "colour_before": Value("string"),
    "colour_after": Value("string"),
    "brightness": Value("float64"),
    "texture": Value("float64"),
    "seam": Value("float64"),
    "landmarks": Value("int64"),
    "displacement": Value("float64"),
    "rise": Value("float64"),
    "inward": Value("float64"),
    "scale": Value("float64"),
    "motion_explained": Value("float64"),
    "flow_noise": Value("float64"),
    "pair_motion_explained": Value("float64"),
    "flow_coherence": Value("float64"),
    "warped": Value("bool"),
    "facts": List(FACT),
}

OVERLAP = {
    "concept_id": Value("string"),
    "artifact_pixels": Value("int64"),
    "concept_pixels": Value("int64"),
    "manipulated": Value("bool"),
}

PAIRS_FEATURES = Features(
    {
        "pair_id": Value("string"),
        "source_id": Value("string"),
        "real": Image(),
        "fake": Image(),
        "real_path": Value("string"),
        "fake_path": Value("string"),
        "manipulation": Value("string"),
        "artifact_mask": RLE,
        "artifact_share": Value("float64"),
        "mask_params": Value("string"),  # JSON: the mask mode (or "given") and every parameter it used
        "num_faces": Value("int32"),  # faces found in the real photo
        "subject": Value("int32"),  # which of them (an index into face_boxes, largest first) the annotation describes
        "face_boxes": List(BOX),
        "manipulated": List(Value("string")),
        "grounded": List(Value("string")),
        "grounded_masks": List(RLE),
        "grounded_boxes": List(BOX),
        "overlap": List(OVERLAP),
        "evidence": List(EVIDENCE),
        "explanation": Value("string"),  # the AGE text, <p>phrase</p> [SEG] per grounded concept
        "explanation_plain": Value("string"),
        "writer": Value("string"),
        "source_fields": Value("string"),  # JSON: the source's extra columns (the simulator's ground truth)
    }
)

FICT_FEATURES = Features(
    {
        "id": Value("string"),
        "name": Value("string"),
        "parent": Value("string"),
        "level": Value("int32"),
        "is_atomic": Value("bool"),
        "description": Value("string"),
        "synonyms": List(Value("string")),
        "children": List(Value("string")),
    }
)

REJECT_FEATURES = Features(
    {
        "pair_id": Value("string"),
        "real": Value("string"),
        "fake": Value("string"),
        "reason": Value("string"),
        "detail": Value("string"),
    }
)

TASK_COLUMNS_DOC: dict[str, str] = {
    "id": "`<task>-<image id>-<k>`, unique in a build",
    "task": "one of det, cls, toe, loc, age, rdet, rexp, rseg, bdet, bexp, breg",
    "image": "the stored image file, bytes unchanged",
    "messages": "the conversation in TRL's format: a user turn (image + question), an assistant turn (answer)",
    "masks": "COCO RLE masks, the i-th for the i-th `[SEG]` of the answer",
    "concepts": "FICT ids the answer names (in `[SEG]` order for loc, age and rseg; in box order for breg)",
    "boxes": "query boxes `[x0, y0, x1, y1]` (bdet, bexp)",
    "label": "`real` or `fake`: the truth about the image",
    "answer": "the canonical short answer of closed tasks: real/fake (det), the manipulation or real (cls), yes/no (rdet, bdet)",
    "query_concept": "the FICT id asked about (rdet, rexp, rseg)",
    "query_mask": "that concept's mask (COCO RLE), the region input of rdet / rexp / rseg",
    "target_boxes": "breg's answer boxes, in `concepts` order",
    "manipulation": "the source's manipulation label (null for real images)",
    "pair_id": "the real/fake pair (null for real images)",
    "source_id": "the source photo; splits are made on it",
}

PAIRS_COLUMNS_DOC: dict[str, str] = {
    "pair_id": "stable id of the pair (a hash of its two paths)",
    "source_id": "the source photo; splits are made on it",
    "real, fake": "the two image files, bytes unchanged",
    "real_path, fake_path": "the files' paths in the pair source",
    "manipulation": "the source's manipulation label",
    "artifact_mask": "COCO RLE of every pixel that changed beyond the noise floor",
    "artifact_share": "the artifact mask's share of the image",
    "mask_params": "JSON: the mask mode and every parameter it used",
    "manipulated": "every FICT concept the annotator flags (atomic and parent)",
    "grounded": "the concepts the explanation grounds, in its `[SEG]` order",
    "grounded_masks, grounded_boxes": "their concept-artifact masks (artifact ∩ concept) and boxes",
    "overlap": "artifact and concept pixels of every concept the artifact touches, and the verdict",
    "evidence": "per flagged concept: colour (ΔE, a*, b*, chroma, colour names), lightness, texture, seam, geometry, and the facts stated",
    "explanation, explanation_plain": "the AGE text (`<p>phrase</p> [SEG]`) and the same text without tags",
    "writer": "which writer wrote the text",
    "source_fields": "JSON: the source's other columns (for the bundled sample: each edit's parameters and ground-truth mask)",
}
