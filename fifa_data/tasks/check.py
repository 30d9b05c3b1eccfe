"""The row validator: every row of every task must satisfy the schema and the AGE invariant.

A violation is a bug in the annotator or a generator, never bad input, so :func:`check_row`
raises :class:`RowError` (naming the row and the rule) instead of skipping the row. The rules:

* all columns of :data:`~fifa_data.core.schema.COLUMNS`, a known task, label real/fake, a
  fake row has a ``pair_id``;
* ``messages`` is one user turn (one image part, one text part) and one assistant text turn;
* the markup is spelled as FiFa writes it (`markup.is_canonical`) and reads without problems
  (`markup.ground`); the answer holds exactly as many ``[SEG]`` as ``masks``; every
  ``<p>phrase</p>`` is followed by ``[SEG]``; in loc / age / rseg the i-th ``[SEG]`` ↔ the i-th
  mask ↔ the i-th concept; the phrase before the i-th ``[SEG]`` names the i-th concept (age,
  rseg); a loc mask belongs to the whole ``image``; every mask has the image's upright size and
  is not empty;
* real images never carry masks; only bdet / bexp carry one query box, inside the image;
* closed tasks carry their canonical ``answer`` (det's equals the label; rdet / bdet yes / no);
* breg lists one box per concept, each written in the answer text.
"""

from __future__ import annotations

from fifa_data.core import masks as masklib
from fifa_data.core.families import family_of
from fifa_data.core.fict import FICT, ConceptFinder, finder_for
from fifa_data.core.images import upright_size
from fifa_data.core.markup import ground, is_canonical
from fifa_data.core.schema import (
    BOX_QUERY_TASKS,
    CLOSED_TASKS,
    COLUMNS,
    REGION_TASKS,
    SEG_TASKS,
    TASKS,
    answer_of,
    box_text,
)


class RowError(ValueError):
    """A row breaks the schema or the AGE invariant."""

    def __init__(self, row: dict, rule: str):
        super().__init__(f"row {row.get('id', '?')!r} ({row.get('task', '?')}): {rule}")
        self.row_id = row.get("id")
        self.rule = rule


def check_row(row: dict, fict: FICT, finder: ConceptFinder | None = None, size: tuple[int, int] | None = None) -> None:
    """Raise :class:`RowError` unless ``row`` is a well-formed FiFa-11 row."""

    def check(condition: bool, rule: str) -> None:
        if not condition:
            raise RowError(row, rule)

    check(set(COLUMNS) <= set(row), f"missing columns {sorted(set(COLUMNS) - set(row))}")
    task, label = row["task"], row["label"]
    check(task in TASKS, f"unknown task {task!r}")
    check(label in ("real", "fake"), f"label must be real or fake, got {label!r}")
    check(label == "real" or bool(row["pair_id"]), "a fake row needs a pair_id")
    check(bool(row["source_id"]), "source_id is empty")
    check(isinstance(row["image"], dict) and bool(row["image"].get("bytes")), "image bytes are missing")

    messages = row["messages"]
    check(len(messages) == 2 and [m["role"] for m in messages] == ["user", "assistant"], "messages must be one user and one assistant turn")
    kinds = [part["type"] for part in messages[0]["content"]]
    check(sorted(kinds) == ["image", "text"], f"the user turn must hold one image and one text part, got {kinds}")
    check([p["type"] for p in messages[1]["content"]] == ["text"], "the assistant turn must be one text part")
    answer = answer_of(row)
    check(bool(answer.strip()), "empty answer")

    masks, concepts = row["masks"], row["concepts"]
    check(is_canonical(answer), "the markup is not spelled <p>, </p>, [SEG]")
    grounding = ground(answer)
    check(not grounding.problems, f"malformed markup: {', '.join(grounding.problems)}")
    check(len(grounding.seg_phrases) == len(masks), f"{len(grounding.seg_phrases)} [SEG] tokens but {len(masks)} masks")
    tags = grounding.phrases
    check(len(grounding.paired) == len(tags), "a <p>phrase</p> is not followed by [SEG]")
    check(all(c in fict for c in concepts), f"unknown concepts {[c for c in concepts if c not in fict]}")
    if masks:
        check(label == "fake", "a real image carries masks")
        check(task in SEG_TASKS, f"{task} rows carry no masks")
        check(len(concepts) == len(masks), f"{len(masks)} masks but {len(concepts)} concepts")
        size = size or upright_size(row["image"]["bytes"])
        for i, rle in enumerate(masks):
            check(tuple(rle["size"]) == tuple(size), f"mask {i} has size {rle['size']}, the image is {list(size)}")
            check(masklib.area(rle) > 0, f"mask {i} is empty")
    if task == "loc" and masks:
        check(concepts == ["image"], "a loc mask must belong to the concept 'image'")
    if task in ("age", "rseg") and masks:
        finder = finder or finder_for(fict)
        check(len(tags) == len(masks), f"{len(tags)} <p> phrases but {len(masks)} masks")
        for i, (phrase, concept_id) in enumerate(zip(tags, concepts)):
            check(finder.resolve(phrase) == concept_id, f"phrase {i} {phrase!r} does not name {concept_id!r}")

    check(task in REGION_TASKS or row["query_concept"] is None, f"{task} rows have no query concept")
    check(task in REGION_TASKS or row.get("query_mask") is None, f"{task} rows have no query mask")
    if task in REGION_TASKS:
        check(row["query_concept"] in fict, f"query concept {row['query_concept']!r} is not a FICT concept")
        query_mask = row.get("query_mask")
        check(query_mask is not None, f"{task} needs the query concept's mask")
        size = size or upright_size(row["image"]["bytes"])
        check(tuple(query_mask["size"]) == tuple(size), f"query mask has size {query_mask['size']}, the image is {list(size)}")
        check(masklib.area(query_mask) > 0, "query mask is empty")
    if task == "rseg" and masks:
        check(concepts == [row["query_concept"]], "an rseg mask must belong to the queried concept")

    boxes = row["boxes"]
    if task in BOX_QUERY_TASKS:
        check(len(boxes) == 1, f"{task} needs exactly one query box, got {len(boxes)}")
        size = size or upright_size(row["image"]["bytes"])
        x0, y0, x1, y1 = boxes[0]
        check(0 <= x0 < x1 <= size[1] and 0 <= y0 < y1 <= size[0], f"query box {boxes[0]} is not inside the {size[1]}x{size[0]} image")
    else:
        check(not boxes, f"{task} rows have no query boxes")

    if task == "breg":
        check(len(row["target_boxes"]) == len(concepts), "breg needs one target box per concept")
        for box in row["target_boxes"]:
            check(box_text(box) in answer, f"target box {box} is not in the answer")
    else:
        check(not row["target_boxes"], f"{task} rows have no target boxes")

    want_family = None if label == "real" else family_of(row["manipulation"])
    check(row.get("family") == want_family, f"family {row.get('family')!r} is not {want_family!r}, the family of {row['manipulation']!r}")

    if task in CLOSED_TASKS:
        allowed = {
            "det": {label},
            "cls": {"real"} if label == "real" else {row["manipulation"]},
            "rdet": {"yes", "no"},
            "bdet": {"yes", "no"},
        }[task]
        check(row["answer"] in allowed, f"answer {row['answer']!r} is not one of {sorted(allowed)}")
        if label == "real" and task in ("rdet", "bdet"):
            check(row["answer"] == "no", "nothing in a real image is manipulated")
    else:
        check(row["answer"] is None, f"{task} rows have no canonical answer")
