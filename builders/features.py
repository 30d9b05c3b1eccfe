"""The `datasets.Features` of every FiFa table, derived from its declaration in `fifa_data.core.schema`.

Each column's storage kind maps to one feature here (`KINDS`), so every parquet file, the card's
column tables and the schema agree. Masks are COCO RLE structs; images embed the source file's bytes.
"""

from __future__ import annotations

from datasets import Features, Image, List, Value

from fifa_data.core.schema import FICT_TABLE, PAIRS_TABLE, REJECTS_TABLE, TASK_TABLE, Column

RLE = {"size": List(Value("int32")), "counts": Value("string")}
BOX = List(Value("float32"))

MESSAGES = List(
    {
        "role": Value("string"),
        "content": List({"type": Value("string"), "text": Value("string")}),
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

KINDS = {  # a column's storage kind -> its `datasets` feature
    "string": Value("string"),
    "json": Value("string"),
    "int32": Value("int32"),
    "float64": Value("float64"),
    "bool": Value("bool"),
    "strings": List(Value("string")),
    "image": Image(),
    "messages": MESSAGES,
    "rle": RLE,
    "rles": List(RLE),
    "box": BOX,
    "boxes": List(BOX),
    "overlap": List(OVERLAP),
    "evidence": List(EVIDENCE),
}


def features_of(table: tuple[Column, ...]) -> Features:
    """The `datasets.Features` of a declared table, in its column order."""
    return Features({column.name: KINDS[column.kind] for column in table})


TASK_FEATURES = features_of(TASK_TABLE)
PAIRS_FEATURES = features_of(PAIRS_TABLE)
FICT_FEATURES = features_of(FICT_TABLE)
REJECT_FEATURES = features_of(REJECTS_TABLE)
