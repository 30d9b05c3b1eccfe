"""One row generator per FiFa-11 task (docs/tasks.md), from an annotated fake or real image.

Every generator takes an :class:`~fifa_data.annotate.pipeline.AnnotatedImage` and a seeded
``numpy`` generator and returns rows in the shared schema of :mod:`fifa_data.core.schema`.

Sampling (:class:`TaskConfig`) and the real:fake balance:

* image-level tasks (det, cls, toe, loc, age, breg): one row per fake; one row per real image,
  except det and cls, where a real image gets as many rows as it has fakes (at most
  ``max_real_repeats``), each with another question phrasing, so det is balanced 1:1 at the row
  level for sources with up to that many fakes per real;
* region tasks (rdet, rexp, rseg): per fake, up to ``region_positives`` grounded concepts and
  ``region_negatives`` untouched ones; negatives are *hard*: siblings and cousins in FICT of the
  edited concepts first (the upper lip next to an edited lower lip), then other visible concepts.
  A real image gets ``region_negatives`` negatives;
* box tasks (bdet, bexp): per fake, the boxes of up to ``box_positives`` grounded concepts'
  artifact masks and ``box_negatives`` boxes of untouched concepts that contain no artifact
  pixel at all, nearest to the edit first. A real image gets ``box_negatives`` boxes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from fifa_data.annotate.pipeline import AnnotatedImage
from fifa_data.annotate.writers import concept_words
from fifa_data.core.families import FAMILY_PHRASES, family_of
from fifa_data.core.fict import FICT
from fifa_data.core.schema import TASKS, box_text, make_row
from fifa_data.tasks.questions import ANSWERS, QUESTIONS, phrase

MIN_NEGATIVE_AREA = 0.0005  # share of the image a negative concept must cover to be asked about


@dataclass(frozen=True)
class TaskConfig:
    """How many rows of each kind an image yields (see the module docstring)."""

    region_positives: int = 2
    region_negatives: int = 2
    box_positives: int = 1
    box_negatives: int = 1
    max_real_repeats: int = 8

    def to_dict(self) -> dict:
        return asdict(self)


Generator = Callable[[AnnotatedImage, np.random.Generator, TaskConfig], list[dict]]


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _name(img: AnnotatedImage, concept_id: str, rng: np.random.Generator) -> str:
    return concept_words(img.concept_masks.fict[concept_id], rng)


def family_words(manipulation: str) -> dict[str, str]:
    """The placeholders a cls answer names a manipulation's family with: ``{family}``, ``{Family}``, ``{family_id}``."""
    family = family_of(manipulation)
    phrase = FAMILY_PHRASES[family]
    return {"family": phrase, "Family": _capital(phrase), "family_id": family.replace("_", " ")}


def _kind(manipulation: str) -> str:
    return manipulation.replace("_", " ").replace("color", "colour")


# --- image level ----------------------------------------------------------------------------


def det(img: AnnotatedImage, rng: np.random.Generator, config: TaskConfig, repeats: int = 1) -> list[dict]:
    questions = rng.permutation(len(QUESTIONS["det"]))
    return [
        make_row(img, "det", QUESTIONS["det"][int(q)], _pick(rng, ANSWERS[f"det_{img.label}"]), answer=img.label, index=k)
        for k, q in enumerate(questions[: max(1, repeats)])
    ]


def cls(img: AnnotatedImage, rng: np.random.Generator, config: TaskConfig, repeats: int = 1) -> list[dict]:
    if img.label == "fake" and not img.manipulation:
        return []  # a source without manipulation labels cannot teach classification
    questions = rng.permutation(len(QUESTIONS["cls"]))
    rows = []
    for k, q in enumerate(questions[: max(1, repeats)]):
        if img.label == "fake":
            text = _pick(rng, ANSWERS["cls_fake"]).format(kind=_kind(img.manipulation), **family_words(img.manipulation))
            rows.append(make_row(img, "cls", QUESTIONS["cls"][int(q)], text, answer=img.manipulation, index=k))
        else:
            rows.append(make_row(img, "cls", QUESTIONS["cls"][int(q)], _pick(rng, ANSWERS["cls_real"]), answer="real", index=k))
    return rows


def toe(img: AnnotatedImage, rng: np.random.Generator, config: TaskConfig) -> list[dict]:
    text = img.explanation.plain() if img.label == "fake" else _pick(rng, ANSWERS["real_text"])
    return [make_row(img, "toe", _pick(rng, QUESTIONS["toe"]), text)]


def loc(img: AnnotatedImage, rng: np.random.Generator, config: TaskConfig) -> list[dict]:
    question = _pick(rng, QUESTIONS["loc"])
    if img.label == "real":
        return [make_row(img, "loc", question, _pick(rng, ANSWERS["loc_real"]))]
    return [make_row(img, "loc", question, _pick(rng, ANSWERS["loc_fake"]), masks=[img.masks["image"]], concepts=["image"])]


def age(img: AnnotatedImage, rng: np.random.Generator, config: TaskConfig) -> list[dict]:
    question = _pick(rng, QUESTIONS["age"])
    if img.label == "real":
        return [make_row(img, "age", question, _pick(rng, ANSWERS["real_text"]))]
    concepts = list(img.explanation.concepts)
    masks = [img.masks[c] for c in concepts]
    return [make_row(img, "age", question, img.explanation.grounded(), masks=masks, concepts=concepts)]


def breg(img: AnnotatedImage, rng: np.random.Generator, config: TaskConfig) -> list[dict]:
    question = _pick(rng, QUESTIONS["breg"])
    if img.label == "real":
        return [make_row(img, "breg", question, _pick(rng, ANSWERS["breg_real"]))]
    concepts = list(img.explanation.concepts)
    boxes = [img.boxes[c] for c in concepts]
    items = "; ".join(f"{_name(img, c, rng)} {box_text(b)}" for c, b in zip(concepts, boxes))
    text = _capital(_pick(rng, ANSWERS["breg_intro"]).format(list=items))
    return [make_row(img, "breg", question, text, concepts=concepts, target_boxes=[_int_box(b) for b in boxes])]


def _int_box(box: list[float]) -> list[float]:
    return [float(int(round(v))) for v in box]


# --- region level ---------------------------------------------------------------------------


def _visible_areas(img: AnnotatedImage) -> dict[str, int]:
    if img.decisions is not None:
        return {c: d.concept_pixels for c, d in img.decisions.concepts.items()}
    fict = img.concept_masks.fict
    atomic = img.concept_masks.areas()
    out: dict[str, int] = {}
    for concept in fict:
        total = sum(atomic[a] for a in fict.atomic_descendants(concept.id))
        if total:
            out[concept.id] = total
    return out


def negatives(img: AnnotatedImage, rng: np.random.Generator, k: int) -> list[str]:
    """Up to ``k`` clearly untouched concepts, hard ones (FICT neighbours of the edit) first."""
    if k <= 0:
        return []
    hard, rest = _negative_pool(img)
    chosen = [hard[int(i)] for i in rng.permutation(len(hard))[:k]]
    if len(chosen) < k and rest:
        chosen += [rest[int(i)] for i in rng.permutation(len(rest))[: k - len(chosen)]]
    return chosen


@functools.lru_cache(maxsize=4)
def _negative_pool(img: AnnotatedImage) -> tuple[list[str], list[str]]:
    """The image's askable untouched concepts: FICT siblings and cousins of the edit, and the rest."""
    fict: FICT = img.concept_masks.fict
    areas = _visible_areas(img)
    minimum = MIN_NEGATIVE_AREA * img.size[0] * img.size[1]

    def usable(c: str) -> bool:
        ok = fict[c].level >= 2 and areas.get(c, 0) >= minimum
        return ok and (img.decisions is None or img.decisions.is_untouched(c))

    family: list[str] = []
    for concept_id in img.grounded:
        parent = fict.parent(concept_id)
        for node in (parent, fict.parent(parent.id) if parent else None):
            if node is not None:
                family += [c.id for c in fict.descendants(node.id)]
    hard = [c for c in dict.fromkeys(family) if usable(c)]
    rest = [c for c in areas if c not in set(hard) and usable(c)]
    return hard, rest


def positives(img: AnnotatedImage, rng: np.random.Generator, k: int) -> list[str]:
    grounded = list(img.grounded)
    return [str(c) for c in rng.permutation(grounded)[:k]] if grounded else []


def _region_queries(img: AnnotatedImage, rng: np.random.Generator, config: TaskConfig) -> list[tuple[str, bool, str]]:
    """(concept, manipulated, name) of the region questions about one image."""
    queries = [(c, True) for c in positives(img, rng, config.region_positives)]
    queries += [(c, False) for c in negatives(img, rng, config.region_negatives)]
    return [(c, manipulated, _name(img, c, rng)) for c, manipulated in queries]


def _concept_rle(img: AnnotatedImage, concept_id: str) -> dict:
    """The queried concept's own mask, which a model's region encoder pools over."""
    return img.concept_masks.to_rle([concept_id])[concept_id]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def rdet(img: AnnotatedImage, rng: np.random.Generator, config: TaskConfig) -> list[dict]:
    rows = []
    for k, (concept_id, manipulated, name) in enumerate(_region_queries(img, rng, config)):
        answer = "yes" if manipulated else "no"
        question = phrase(_pick(rng, QUESTIONS["rdet"]), name)
        text = phrase(_pick(rng, ANSWERS[f"rdet_{answer}"]), name)
        rows.append(make_row(img, "rdet", question, text, answer=answer, query_concept=concept_id, query_mask=_concept_rle(img, concept_id), index=k))
    return rows


def rexp(img: AnnotatedImage, rng: np.random.Generator, config: TaskConfig) -> list[dict]:
    rows = []
    for k, (concept_id, manipulated, name) in enumerate(_region_queries(img, rng, config)):
        question = phrase(_pick(rng, QUESTIONS["rexp"]), name)
        if manipulated:
            text = " ".join(img.explanation.sentences_about(concept_id))
        else:
            text = _capital(phrase(_pick(rng, ANSWERS["rexp_no"]), name))
        rows.append(make_row(img, "rexp", question, text, concepts=[concept_id], query_concept=concept_id, query_mask=_concept_rle(img, concept_id), index=k))
    return rows


def rseg(img: AnnotatedImage, rng: np.random.Generator, config: TaskConfig) -> list[dict]:
    rows = []
    for k, (concept_id, manipulated, name) in enumerate(_region_queries(img, rng, config)):
        question = phrase(_pick(rng, QUESTIONS["rseg"]), name)
        if manipulated:
            text = phrase(_pick(rng, ANSWERS["rseg_yes"]), name)
            masks, concepts = [img.masks[concept_id]], [concept_id]
        else:
            text, masks, concepts = _capital(phrase(_pick(rng, ANSWERS["rseg_no"]), name)), [], []
        rows.append(
            make_row(img, "rseg", question, text, masks=masks, concepts=concepts, query_concept=concept_id, query_mask=_concept_rle(img, concept_id), index=k)
        )
    return rows


# --- box level ------------------------------------------------------------------------------


def _concept_box(img: AnnotatedImage, concept_id: str) -> list[float] | None:
    return img.concept_masks.box(concept_id)


def _artifact_in(img: AnnotatedImage, box: list[float]) -> int:
    if img.decisions is None:
        return 0
    x0, y0, x1, y1 = (int(math.floor(box[0])), int(math.floor(box[1])), int(math.ceil(box[2])), int(math.ceil(box[3])))
    return int(img.decisions.artifact[y0:y1, x0:x1].sum())


def negative_boxes(img: AnnotatedImage, rng: np.random.Generator, k: int) -> list[tuple[str, list[float]]]:
    """Boxes of untouched concepts that hold no artifact pixel, nearest to the edit first."""
    out = []
    for concept_id in negatives(img, rng, 4 * k):
        box = _concept_box(img, concept_id)
        if box is not None and _artifact_in(img, box) == 0:
            out.append((concept_id, box))
        if len(out) == k:
            break
    return out


def _inside(img: AnnotatedImage, box: list[float]) -> list[str]:
    """Grounded concepts with at least half of their artifact mask's box inside ``box``."""
    out = []
    for concept_id in img.grounded:
        b = img.boxes[concept_id]
        overlap = max(0.0, min(b[2], box[2]) - max(b[0], box[0])) * max(0.0, min(b[3], box[3]) - max(b[1], box[1]))
        if overlap >= 0.5 * (b[2] - b[0]) * (b[3] - b[1]):
            out.append(concept_id)
    return out


def bdet(img: AnnotatedImage, rng: np.random.Generator, config: TaskConfig) -> list[dict]:
    queries = [(img.boxes[c], "yes") for c in positives(img, rng, config.box_positives)]
    queries += [(box, "no") for _, box in negative_boxes(img, rng, config.box_negatives)]
    rows = []
    for k, (box, answer) in enumerate(queries):
        box = _int_box(box)
        question = _pick(rng, QUESTIONS["bdet"]).format(box=box_text(box))
        rows.append(make_row(img, "bdet", question, _pick(rng, ANSWERS[f"bdet_{answer}"]), answer=answer, boxes=[box], index=k))
    return rows


def bexp(img: AnnotatedImage, rng: np.random.Generator, config: TaskConfig) -> list[dict]:
    rows = []
    for k, concept_id in enumerate(positives(img, rng, config.box_positives)):
        box = _int_box(img.boxes[concept_id])
        inside = _inside(img, box) or [concept_id]
        text = " ".join(dict.fromkeys(s for c in inside for s in img.explanation.sentences_about(c)))  # a sentence may name several
        question = _pick(rng, QUESTIONS["bexp"]).format(box=box_text(box))
        rows.append(make_row(img, "bexp", question, text, concepts=inside, boxes=[box], index=k))
    for k, (concept_id, box) in enumerate(negative_boxes(img, rng, config.box_negatives), start=len(rows)):
        box = _int_box(box)
        question = _pick(rng, QUESTIONS["bexp"]).format(box=box_text(box))
        text = phrase(_pick(rng, ANSWERS["bexp_no"]), _name(img, concept_id, rng))
        rows.append(make_row(img, "bexp", question, text, concepts=[concept_id], boxes=[box], index=k))
    return rows


GENERATORS: dict[str, Generator] = {
    "det": det,
    "cls": cls,
    "toe": toe,
    "loc": loc,
    "age": age,
    "rdet": rdet,
    "rexp": rexp,
    "rseg": rseg,
    "bdet": bdet,
    "bexp": bexp,
    "breg": breg,
}
assert tuple(GENERATORS) == TASKS

__all__ = ["GENERATORS", "TaskConfig", "negative_boxes", "negatives", "positives"]
