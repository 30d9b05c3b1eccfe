"""Trivial FiFa-Bench baselines, scored by the same :func:`fifa_data.scoring.score.score` as any system.

Each baseline answers only the tasks it applies to (:func:`baseline_tasks`); score it with
``score(rows, baseline_predictions(name, rows), tasks=baseline_tasks(name))``.

``always-fake``
    Claims manipulation everywhere: det "Fake.", rdet and bdet "Yes.".
``majority``
    Closed tasks (det, cls, rdet, bdet): the most frequent truth label of the task, written as
    the label itself ("fake", "lip_color", "yes"), which the parser reads back as that verdict.
    Text tasks (toe, rexp, bexp): the most frequent reference answer of the task. The majority is
    taken over the rows given, i.e. the rows being scored, so this baseline knows the test set's
    label distribution: it is an optimistic (upper) bound of a constant answer. Ties go to the
    label or text seen first.
``empty-mask``
    loc and rseg: "[SEG]" with an all-empty mask; age: "<p>face</p> [SEG]" with an empty mask.
    It scores the no-target rows (real images, untouched regions) and nothing else.
``whole-face``
    The same answers with the FICT "face" mask of the image (all empty when no face is found).
    The phrase "face" names no single FICT concept for the parser (the face itself is not one of
    the concepts a phrase may name), so its AGE consistency is 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from fifa_data.core import masks as masklib
from fifa_data.core.schema import CLOSED_TASKS, answer_of
from fifa_data.scoring.concept_cache import ConceptCache, image_size
from fifa_data.scoring.predictions import Prediction

__all__ = ["BASELINES", "baseline_predictions", "baseline_tasks"]

BASELINES: tuple[str, ...] = ("always-fake", "majority", "empty-mask", "whole-face")
_TASKS: dict[str, tuple[str, ...]] = {
    "always-fake": ("det", "rdet", "bdet"),
    "majority": ("det", "cls", "rdet", "bdet", "toe", "rexp", "bexp"),
    "empty-mask": ("loc", "rseg", "age"),
    "whole-face": ("loc", "rseg", "age"),
}
_ALWAYS_FAKE = {"det": "Fake.", "rdet": "Yes.", "bdet": "Yes."}
_MASK_ANSWERS = {"loc": "[SEG]", "rseg": "[SEG]", "age": "<p>face</p> [SEG]"}


def baseline_tasks(name: str) -> tuple[str, ...]:
    """The tasks baseline ``name`` answers (score it on these only)."""
    _check(name)
    return _TASKS[name]


def baseline_predictions(name: str, rows: Iterable[dict], concepts: ConceptCache | None = None) -> dict[str, Prediction]:
    """Baseline ``name``'s predictions for the rows of its tasks, by row id.

    ``concepts`` (the whole-face baseline's face masks) is a new cache if None.
    """
    _check(name)
    rows = [row for row in rows if row["task"] in _TASKS[name]]
    if name == "always-fake":
        return {row["id"]: Prediction(row["id"], _ALWAYS_FAKE[row["task"]]) for row in rows}
    if name == "majority":
        return _majority(rows)
    cache = concepts if concepts is not None else ConceptCache()
    return {row["id"]: _mask_prediction(row, name, cache) for row in rows}


def _check(name: str) -> None:
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")


def _majority(rows: list[dict]) -> dict[str, Prediction]:
    """The most frequent truth label (closed tasks) or reference text (text tasks) of each task, for all its rows."""
    most: dict[str, str] = {}
    for task in dict.fromkeys(row["task"] for row in rows):
        values = [row["answer"] if task in CLOSED_TASKS else answer_of(row) for row in rows if row["task"] == task]
        most[task] = Counter(values).most_common(1)[0][0]
    return {row["id"]: Prediction(row["id"], most[row["task"]]) for row in rows}


def _mask_prediction(row: dict, name: str, cache: ConceptCache) -> Prediction:
    mask = cache.face_mask(row) if name == "whole-face" else np.zeros(image_size(row), bool)
    return Prediction(row["id"], _MASK_ANSWERS[row["task"]], [masklib.encode(mask)])
