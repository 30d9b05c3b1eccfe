"""The one row schema that every FiFa-11 task config shares (DESIGN §4), and the names it uses.

A leaf of the import graph: the task rows, the builders, the trainer, inference and evaluation all
read their task names, columns, mixes and manipulation labels here, and nothing here imports FiFa.

Columns:

``id``             ``<task>-<image id>-<k>``, unique in a build
``task``           one of :data:`TASKS`
``image``          ``{"bytes", "path"}``: the stored file's bytes, unchanged, and its source path
``messages``       TRL conversational format: a user turn ``[{"type": "image"}, {"type": "text"}]``
                   and an assistant turn ``[{"type": "text"}]``
``masks``          COCO RLE ``{size: [h, w], counts}``, the i-th for the i-th ``[SEG]``
``concepts``       FICT ids the answer names: in ``[SEG]`` order for loc / age / rseg, in box
                   order for breg, the explained concepts for rexp / bexp
``boxes``          query boxes ``[x0, y0, x1, y1]`` in pixels (bdet, bexp), else empty
``label``          ``real`` or ``fake``: the truth about the image
``answer``         the canonical short answer of closed tasks (det: real/fake, cls: the
                   manipulation or real, rdet / bdet: yes/no), else null
``query_concept``  the FICT id asked about (rdet, rexp, rseg), else null
``query_mask``     that concept's mask (COCO RLE), the region input of rdet / rexp / rseg, else null
``target_boxes``   breg's answer boxes, in ``concepts`` order, else empty
``manipulation``   the source's manipulation label (null for real images)
``pair_id``        the pair (null for real images)
``source_id``      the source photo: splits are made on it
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

TASKS: tuple[str, ...] = ("det", "cls", "toe", "loc", "age", "rdet", "rexp", "rseg", "bdet", "bexp", "breg")
SEG_TASKS = ("loc", "age", "rseg")
BOX_QUERY_TASKS = ("bdet", "bexp")
REGION_TASKS = ("rdet", "rexp", "rseg")
CLOSED_TASKS = ("det", "cls", "rdet", "bdet")
IMAGE_LEVEL_TASKS = ("det", "cls")  # the tasks a fake whose edit could not be localised still serves
MANIPULATIONS: tuple[str, ...] = (  # the manipulation labels known in advance: the simulator's edits, cls's classes
    "lip_color",
    "hair_color",
    "smile",
    "eye_enlarge",
    "face_slim",
    "skin_smooth",
    "eyebrow",
    "beard",
    "glasses",
    "ageing",
)
MIXES: dict[str, tuple[str, ...]] = {"instruct": ("train", "validation"), "bench": ("test",)}  # every task's rows of these splits
# What to do about a split left empty: splits go by source photo, so a few photos can miss one (the build, its card and evaluate.py say it).
EMPTY_SPLIT_ADVICE = (
    "splits go by source photo, and a few photos can leave a split with none; to fill it, give the manifest a 'split' column "
    "(train, validation or test for each pair), or build from more source photos or with other --split-ratios TRAIN VAL TEST"
)

COLUMNS: tuple[str, ...] = (
    "id",
    "task",
    "image",
    "messages",
    "masks",
    "concepts",
    "boxes",
    "label",
    "answer",
    "query_concept",
    "query_mask",
    "target_boxes",
    "manipulation",
    "pair_id",
    "source_id",
)


class RowImage(Protocol):
    """What a row says about its image: an annotated image (`AnnotatedImage`) or a `PlainImage`."""

    image: bytes
    image_path: str
    label: str | None
    manipulation: str | None
    pair_id: str | None
    source_id: str | None

    @property
    def image_id(self) -> str: ...


@dataclass(frozen=True)
class PlainImage:
    """An image known only by its bytes and name, such as a photo a user asks the model about."""

    image: bytes
    image_path: str
    image_id: str
    label: str | None = None  # unknown: the truth is what the model is asked
    manipulation: str | None = None
    pair_id: str | None = None
    source_id: str | None = None


def make_row(
    img: RowImage,
    task: str,
    question: str,
    answer_text: str | None,
    *,
    masks: list[dict] | None = None,
    concepts: list[str] | None = None,
    boxes: list[list[float]] | None = None,
    answer: str | None = None,
    query_concept: str | None = None,
    query_mask: dict | None = None,
    target_boxes: list[list[float]] | None = None,
    index: int = 0,
) -> dict:
    """One row of ``task`` about ``img`` with a single question / answer turn (the question alone
    when ``answer_text`` is None: a row to generate an answer for)."""
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    if answer_text is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer_text}]})
    return {
        "id": f"{task}-{img.image_id}-{index}",
        "task": task,
        "image": {"bytes": img.image, "path": img.image_path},
        "messages": messages,
        "masks": [{"size": list(m["size"]), "counts": m["counts"]} for m in masks or []],
        "concepts": list(concepts or []),
        "boxes": [list(map(float, b)) for b in boxes or []],
        "label": img.label,
        "answer": answer,
        "query_concept": query_concept,
        "query_mask": None if query_mask is None else {"size": list(query_mask["size"]), "counts": query_mask["counts"]},
        "target_boxes": [list(map(float, b)) for b in target_boxes or []],
        "manipulation": img.manipulation,
        "pair_id": img.pair_id,
        "source_id": img.source_id,
    }


def question_of(row: dict) -> str:
    """The user's question text of a row."""
    return next(part["text"] for part in row["messages"][0]["content"] if part["type"] == "text")


def box_text(box: list[float]) -> str:
    """A box as the questions and answers write it: ``[x0, y0, x1, y1]`` in whole pixels."""
    return "[" + ", ".join(str(int(round(v))) for v in box) + "]"


def answer_of(row: dict) -> str:
    """The assistant's answer text of a row."""
    return row["messages"][1]["content"][0]["text"]
