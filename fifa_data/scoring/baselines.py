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
``location-prior``
    loc and age: where edits usually are. The training pairs' mean artifact mask in face-aligned
    coordinates (:class:`LocationPrior`: each pair's subject face box, from the ``pairs`` config,
    stretched to a square frame three boxes wide centred on it), mapped onto each scored face by its
    own box and cut at the level whose mean IoU is best on the validation pairs (on the training
    pairs when the build has no validation split). A row whose photo has no face box gets an
    empty mask. A system that only learned this prior scores about as well, and marks real images
    as much as fakes.
``query-region``
    rseg: the queried concept's own mask (``query_mask``), i.e. "the whole region you asked about".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from fifa_data.core import masks as masklib
from fifa_data.core.schema import CLOSED_TASKS, answer_of
from fifa_data.scoring.concept_cache import ConceptCache, image_size
from fifa_data.scoring.predictions import Prediction

__all__ = ["BASELINES", "LocationPrior", "baseline_predictions", "baseline_tasks"]

BASELINES: tuple[str, ...] = ("always-fake", "majority", "empty-mask", "whole-face", "location-prior", "query-region")
_TASKS: dict[str, tuple[str, ...]] = {
    "always-fake": ("det", "rdet", "bdet"),
    "majority": ("det", "cls", "rdet", "bdet", "toe", "rexp", "bexp"),
    "empty-mask": ("loc", "rseg", "age"),
    "whole-face": ("loc", "rseg", "age"),
    "location-prior": ("loc", "age"),
    "query-region": ("rseg",),
}
PRIOR_GRID = 96  # cells a side of the face-aligned frame
PRIOR_SPAN = 3.0  # the frame is this many face boxes wide and high, centred on the box (hair, beard, neck)
PRIOR_LEVELS = 64  # candidate cut levels tried on the tuning pairs
_ALWAYS_FAKE = {"det": "Fake.", "rdet": "Yes.", "bdet": "Yes."}
_MASK_ANSWERS = {"loc": "[SEG]", "rseg": "[SEG]", "age": "<p>face</p> [SEG]"}


def baseline_tasks(name: str) -> tuple[str, ...]:
    """The tasks baseline ``name`` answers (score it on these only)."""
    _check(name)
    return _TASKS[name]


@dataclass
class LocationPrior:
    """Where edits usually are: the mean artifact mask of training fakes in face-aligned coordinates, and its cut level.

    The frame is a ``PRIOR_GRID`` square spanning ``PRIOR_SPAN`` face boxes each way around the
    subject's face box; ``boxes`` gives the face box of every photo of the build, by pair id and
    by source id (a real image has no pair id).
    """

    mean: np.ndarray  # (PRIOR_GRID, PRIOR_GRID), the share of training fakes edited at each cell
    level: float  # cells at or above it are marked
    boxes: dict[str, list[float]]
    fitted_on: int  # training pairs averaged
    tuned_on: str  # "validation" or "train"
    tuning_miou: float  # mean IoU at ``level`` on the tuning pairs

    @classmethod
    def fit(cls, train: Sequence[dict], validation: Sequence[dict] | None, others: Sequence[dict] = ()) -> LocationPrior:
        """Average ``train``'s artifact masks, cut at the IoU-best level on ``validation`` (on ``train`` when None or empty).

        Each is a ``pairs`` config row (``face_boxes``, ``subject``, ``artifact_mask``, ``pair_id``,
        ``source_id``); ``others`` (e.g. the test pairs) only add face boxes.
        """
        boxes: dict[str, list[float]] = {}
        for pair in [*train, *(validation or []), *others]:
            box = _subject_box(pair)
            if box is not None:
                boxes.setdefault(pair["pair_id"], box)
                boxes.setdefault(pair["source_id"], box)
        fitted = [p for p in train if _subject_box(p) is not None]
        if not fitted:
            raise ValueError("no training pair has a face box: the location prior cannot be fitted")
        mean = np.mean([_to_frame(masklib.decode(p["artifact_mask"]), _subject_box(p)) for p in fitted], axis=0)
        tuned_on = "validation" if validation else "train"
        tuning = [p for p in (validation or train) if _subject_box(p) is not None and masklib.area(p["artifact_mask"])]
        levels = np.unique(np.quantile(mean[mean > 0], np.linspace(0, 1, PRIOR_LEVELS))) if (mean > 0).any() else np.array([1.0])
        truths = [(masklib.decode(p["artifact_mask"]), _subject_box(p)) for p in tuning]
        best_level, best_miou = float(levels[0]), -1.0
        for level in levels:
            ious = [masklib.iou(_from_frame(mean >= level, box, truth.shape), truth) for truth, box in truths]
            miou = float(np.mean(ious)) if ious else 0.0
            if miou > best_miou:
                best_level, best_miou = float(level), miou
        return cls(mean, best_level, boxes, len(fitted), tuned_on, best_miou)

    def box_of(self, row: dict) -> list[float] | None:
        """The face box of a task row's photo (by its pair, else its source photo), None if unknown."""
        return self.boxes.get(row.get("pair_id") or "") or self.boxes.get(row.get("source_id") or "")

    def mask(self, row: dict, size: tuple[int, int]) -> np.ndarray:
        """The prior cut at its level, mapped onto the row's face; empty when the photo has no known face box."""
        box = self.box_of(row)
        return np.zeros(size, bool) if box is None else _from_frame(self.mean >= self.level, box, size)


def _subject_box(pair: dict) -> list[float] | None:
    boxes, subject = pair.get("face_boxes") or [], pair.get("subject") or 0
    return list(boxes[subject]) if 0 <= subject < len(boxes) else None


def _frame_axis(start: float, end: float) -> tuple[float, float]:
    """The frame's origin and cell size along one image axis, for the box edges ``start``, ``end``."""
    span = PRIOR_SPAN * max(end - start, 1.0)
    return (start + end) / 2 - span / 2, span / PRIOR_GRID


def _to_frame(mask: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """``mask`` sampled at the centres of the frame's cells around ``box`` (outside the image: 0)."""
    (x0, dx), (y0, dy) = _frame_axis(box[0], box[2]), _frame_axis(box[1], box[3])
    cells = np.arange(PRIOR_GRID) + 0.5
    xs, ys = np.floor(x0 + cells * dx).astype(int), np.floor(y0 + cells * dy).astype(int)
    h, w = mask.shape
    inside = (ys[:, None] >= 0) & (ys[:, None] < h) & (xs[None] >= 0) & (xs[None] < w)
    return np.where(inside, mask[np.clip(ys, 0, h - 1)][:, np.clip(xs, 0, w - 1)], 0).astype(float)


def _from_frame(frame: np.ndarray, box: Sequence[float], size: tuple[int, int]) -> np.ndarray:
    """The frame's cells laid over an image of ``size`` around ``box`` (each pixel takes the cell its centre falls in)."""
    (x0, dx), (y0, dy) = _frame_axis(box[0], box[2]), _frame_axis(box[1], box[3])
    us = np.floor((np.arange(size[1]) + 0.5 - x0) / dx).astype(int)
    vs = np.floor((np.arange(size[0]) + 0.5 - y0) / dy).astype(int)
    inside = (vs[:, None] >= 0) & (vs[:, None] < PRIOR_GRID) & (us[None] >= 0) & (us[None] < PRIOR_GRID)
    picked = frame[np.clip(vs, 0, PRIOR_GRID - 1)][:, np.clip(us, 0, PRIOR_GRID - 1)]
    return inside & picked.astype(bool)


def baseline_predictions(
    name: str, rows: Iterable[dict], concepts: ConceptCache | None = None, prior: LocationPrior | None = None
) -> dict[str, Prediction]:
    """Baseline ``name``'s predictions for the rows of its tasks, by row id.

    ``concepts`` (the whole-face baseline's face masks) is a new cache if None; ``prior`` is
    required by ``location-prior``.
    """
    _check(name)
    rows = [row for row in rows if row["task"] in _TASKS[name]]
    if name == "always-fake":
        return {row["id"]: Prediction(row["id"], _ALWAYS_FAKE[row["task"]]) for row in rows}
    if name == "majority":
        return _majority(rows)
    if name == "location-prior":
        if prior is None:
            raise ValueError("the location-prior baseline needs a fitted LocationPrior (prior=)")
        return {row["id"]: Prediction(row["id"], _MASK_ANSWERS[row["task"]], [masklib.encode(prior.mask(row, image_size(row)))]) for row in rows}
    if name == "query-region":
        return {row["id"]: Prediction(row["id"], _MASK_ANSWERS[row["task"]], [masklib.to_rle(row["query_mask"])]) for row in rows}
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
