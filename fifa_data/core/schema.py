"""The tables FiFa writes, each declared once (name, storage kind, one-line meaning of every column), and the names they use.

A leaf of the import graph: the task rows, the builders (their `datasets` features and the card's
column tables are derived from these declarations), the trainer, inference and evaluation all read
their task names, columns, mixes and manipulation labels here, and nothing here imports FiFa.
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
SPLITS: tuple[str, ...] = ("train", "validation", "test")
CONFIGS: tuple[str, ...] = ("fict", "pairs", *TASKS, *MIXES)  # the configs of a build: the concept tree, the pairs, each task, each mix
# What to do about a split left empty: splits go by source photo, so a few photos can miss one (the build, its card and evaluate.py say it).
EMPTY_SPLIT_ADVICE = (
    "splits go by source photo, and a few photos can leave a split with none; to fill it, give the manifest a 'split' column "
    "(train, validation or test for each pair), or build from more source photos or with other --split-ratios TRAIN VAL TEST"
)



@dataclass(frozen=True)
class Column:
    """One column of a table: its name, how it is stored (a key of `builders.features.KINDS`) and what it means."""

    name: str
    kind: str
    doc: str


TASK_TABLE: tuple[Column, ...] = (  # every FiFa-11 task config, `instruct` and `bench`
    Column("id", "string", "`<task>-<image id>-<k>`, unique in a build"),
    Column("task", "string", "one of det, cls, toe, loc, age, rdet, rexp, rseg, bdet, bexp, breg"),
    Column("image", "image", "the stored image file, bytes unchanged"),
    Column("messages", "messages", "the conversation in TRL's format: a user turn (image + question), an assistant turn (answer)"),
    Column("masks", "rles", "COCO RLE masks, the i-th for the i-th `[SEG]` of the answer"),
    Column("concepts", "strings", "FICT ids the answer names (in `[SEG]` order for loc, age and rseg; in box order for breg; "
           "the explained concepts for rexp and bexp)"),
    Column("boxes", "boxes", "query boxes `[x0, y0, x1, y1]` in pixels (bdet, bexp), else empty"),
    Column("label", "string", "`real` or `fake`: the truth about the image"),
    Column("answer", "string", "the canonical short answer of closed tasks: real/fake (det), the manipulation or real (cls), "
           "yes/no (rdet, bdet); else null"),
    Column("query_concept", "string", "the FICT id asked about (rdet, rexp, rseg), else null"),
    Column("query_mask", "rle", "that concept's mask (COCO RLE), the region input of rdet / rexp / rseg, else null"),
    Column("target_boxes", "boxes", "breg's answer boxes, in `concepts` order, else empty"),
    Column("manipulation", "string", "the source's manipulation label (null for real images)"),
    Column("family", "string", "the manipulation's forgery family: attribute, identity_swap, self_blend, reenactment, part_swap, "
           "inpainting, synthesis or unknown (null for real images)"),
    Column("pair_id", "string", "the real/fake pair (null for real images)"),
    Column("source_id", "string", "the source photo; splits are made on it"),
)

LAYOUT_TABLE: tuple[Column, ...] = (  # the `pairs` columns a dataset layout (`fifa_data.pairs.layouts`) fills; null for other sources
    Column("layout", "string", "the dataset layout the pair was read through: `ffpp`, `celebdf`, `dffd` or `mask_only` "
           "(null for folder and manifest sources)"),
    Column("video", "string", "the fake video the frame was sampled from, its path in the dataset (null for images)"),
    Column("real_video", "string", "the original video of that frame (null for images)"),
    Column("frame_index", "int32", "the frame's number in both videos, counted from 0 (null for images)"),
    Column("compression", "string", "FaceForensics++'s compression level: `raw`, `c23` or `c40` (null elsewhere)"),
    Column("crop_box", "box", "`[x0, y0, x1, y1]` of the `--crop-face` crop in the original frame (null without a crop)"),
    Column("mask_meaning", "string", "what the dataset's own mask marks: `changed_pixels`, `region`, `render` or `box` "
           "(null without one)"),
    Column("given_mask", "rle", "the dataset's own mask (COCO RLE) where it is a box or a render: the artifact mask is "
           "computed inside it (null elsewhere)"),
)

PAIRS_TABLE: tuple[Column, ...] = (  # the `pairs` config: one row per accepted pair
    Column("pair_id", "string", "stable id of the pair (a hash of its two paths)"),
    Column("source_id", "string", "the source photo; splits are made on it"),
    Column("real", "image", "the real image file, bytes unchanged (null for a mask-only source's fake)"),
    Column("fake", "image", "the fake image file, bytes unchanged"),
    Column("real_path", "string", "the real file's path in the pair source (null for a mask-only source's fake)"),
    Column("fake_path", "string", "the fake file's path in the pair source"),
    Column("manipulation", "string", "the source's manipulation label"),
    Column("family", "string", "the manipulation's forgery family (see the task configs' `family`)"),
    Column("family_guess", "string", "the family the annotator guessed from the pair's traces, where the source names none it knows "
           "(null when the source named the family)"),
    Column("family_reasons", "strings", "the guess's reasons, short phrases (empty when the source named the family)"),
    Column("artifact_mask", "rle", "COCO RLE of every pixel that changed beyond the noise floor (or the mask the source gives)"),
    Column("artifact_share", "float64", "the artifact mask's share of the image"),
    Column("mask_params", "json", "JSON: the mask mode (or `given`) and every parameter it used"),
    Column("num_faces", "int32", "faces found in the real photo"),
    Column("subject", "int32", "which of them (an index into `face_boxes`, largest first) the annotation describes"),
    Column("face_boxes", "boxes", "every face found, `[x0, y0, x1, y1]` in pixels"),
    Column("manipulated", "strings", "every FICT concept the annotator flags (atomic and parent)"),
    Column("grounded", "strings", "the concepts the explanation grounds, in its `[SEG]` order"),
    Column("grounded_masks", "rles", "their concept-artifact masks (artifact ∩ concept), COCO RLE"),
    Column("grounded_boxes", "boxes", "the boxes of those masks"),
    Column("overlap", "overlap", "artifact and concept pixels of every concept the artifact touches, and the verdict"),
    Column("evidence", "evidence", "per flagged concept: colour (ΔE, a*, b*, chroma, colour names), lightness, texture, seam, "
           "geometry, and the facts stated"),
    Column("explanation", "string", "the AGE text, `<p>phrase</p> [SEG]` per grounded concept"),
    Column("explanation_plain", "string", "the same text without tags"),
    Column("writer", "string", "which writer wrote the text"),
    *LAYOUT_TABLE,
    Column("source_fields", "json", "JSON: the source's other columns (for the bundled sample: each edit's parameters and truth mask)"),
)

FICT_TABLE: tuple[Column, ...] = (  # the `fict` config: the Facial Image Concept Tree
    Column("id", "string", "stable dotted concept id, e.g. `eye.left.upper_eyelid`"),
    Column("name", "string", "the concept's name"),
    Column("parent", "string", "the parent's id (null at the root)"),
    Column("level", "int32", "depth below the root `image`"),
    Column("is_atomic", "bool", "a leaf: its mask is painted; a parent's is the union of its children's"),
    Column("description", "string", "one line"),
    Column("synonyms", "strings", "other names text may use"),
    Column("children", "strings", "the children's ids"),
)

REJECTS_TABLE: tuple[Column, ...] = (  # `rejects.parquet`: every input that did not become a row
    Column("pair_id", "string", "the pair, when the source could pair it"),
    Column("real", "string", "the real file's path"),
    Column("fake", "string", "the fake file's path"),
    Column("reason", "string", "why (unreadable, no_face, size_mismatch, misaligned, ...)"),
    Column("detail", "string", "the detail, naming the file"),
)

COLUMNS: tuple[str, ...] = tuple(c.name for c in TASK_TABLE)


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

    @property
    def family(self) -> str | None: ...


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
    family: str | None = None


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
        "family": img.family,
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
