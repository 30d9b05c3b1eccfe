"""FiFa-Bench scoring: every FiFa-11 metric of a system's predictions on benchmark rows.

:func:`score` takes the benchmark rows (the ``bench`` config, or any task config) and the
predictions by row id (:mod:`fifa_data.scoring.predictions`), parses every answer
(:func:`fifa_data.scoring.parse.parse_rows`) and computes, per task (:mod:`fifa_data.scoring.metrics` has the
definitions; nan = nothing to score):

=================  =====================================================================================
task               metric keys
=================  =====================================================================================
det                ``accuracy``, ``f1`` (positive class "fake"), ``auc`` (ROC AUC of the predictions'
                   ``score``; a row without one ranks by its verdict: 1 positive, 0 negative, 0.5 none)
rdet, bdet         ``accuracy``, ``f1``, ``auc`` (positive class "yes")
cls                ``accuracy``, ``f1_macro`` (over every label that is true or predicted in the scored
                   rows, as scikit-learn's default: predicting a label that never occurs costs F1)
toe, rexp, bexp    ``bleu4``, ``rouge_l``, ``meteor``, ``cider`` against the row's reference answer
loc, rseg          ``miou`` (mean IoU over rows with a truth mask), ``giou`` (mean IoU over all rows, a row
                   without truth having an empty one, as gRefCOCO), ``ciou`` (cumulative IoU, all rows),
                   ``n_acc`` (share of rows without truth where nothing was segmented), ``marked_real`` and
                   ``marked_fake`` (mean share of the image the answer marks on real and on fake images: a
                   system that marks reals as much as fakes has learned where edits usually are, not seen one)
age                ``miou``, ``mask_recall``, ``ap50``, ``ap50_coco`` (:func:`~fifa_data.scoring.metrics.age_matching`),
                   ``ciou`` (union of an answer's masks vs union of its truths, pooled), ``marked_real``,
                   ``marked_fake`` (of the union of the answer's masks), ``consistency``
                   (:func:`~fifa_data.scoring.metrics.text_mask_consistency_dataset`), and the four caption scores
breg               ``miou`` (mean IoU of the matching), ``ap50``, ``recall50`` (:func:`~fifa_data.scoring.metrics.box_matching`)
every task         ``unparsed``: share of the task's answers with a parse problem (missing answers included)
=================  =====================================================================================

Nothing is dropped: a row without a prediction is counted in ``missing`` and scored as an
answer None (wrong, no masks; in loc and rseg wrong even on a row with nothing to segment). The i-th predicted mask belongs to the i-th ``[SEG]`` the parser
finds in the answer; a ``[SEG]`` without a mask, an invalid mask or a mask of another size than
the image is an empty mask, and masks beyond the last ``[SEG]`` are ignored; each is counted in
``problems`` (answers having it). In loc and rseg the first ``[SEG]``'s mask is the answer.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from fifa_data.core import masks as masklib
from fifa_data.core.schema import CLOSED_TASKS, SEG_TASKS, TASKS, answer_of
from fifa_data.scoring import metrics as M
from fifa_data.scoring.captions import caption_scores_many
from fifa_data.scoring.concept_cache import ConceptCache, image_size
from fifa_data.scoring.parse import ParseCounts, ParsedAnswer, parse_rows
from fifa_data.scoring.predictions import Prediction

__all__ = ["CAPTION_TASKS", "ConceptCache", "Scores", "by_group", "json_safe", "score"]

NAN = float("nan")
POSITIVE = {"det": "fake", "rdet": "yes", "bdet": "yes"}
CAPTION_TASKS = ("toe", "age", "rexp", "bexp")  # scored with BLEU-4 / ROUGE-L / METEOR / CIDEr

# problems counted per answer
EXTRA_MASKS = "masks without [SEG]"
MISSING_MASK = "[SEG] without mask"
INVALID_MASK = "invalid mask"
WRONG_SIZE = "mask size differs from image"
NO_ROW = "prediction for no benchmark row"


@dataclass
class Scores:
    """The result of :func:`score`: metrics per task and what was counted along the way."""

    metrics: dict[str, dict[str, float]]  # task -> metric -> value (nan: undefined)
    counts: dict[str, int]  # rows scored per task
    missing: int  # scored rows without a prediction
    parse: ParseCounts
    problems: dict[str, int] = field(default_factory=dict)  # mask problems: answers having each
    per_row: dict[str, dict] = field(default_factory=dict)  # row id -> task, parsed and its own scores

    def to_dict(self) -> dict:
        """Everything as JSON-safe plain types (nan becomes None)."""
        return json_safe(
            {
                "metrics": self.metrics,
                "counts": self.counts,
                "missing": self.missing,
                "parse": self.parse.as_dict(),
                "problems": self.problems,
                "per_row": self.per_row,
            }
        )


@dataclass
class _Item:
    """One scored row with its prediction, parsed answer and the masks of its ``[SEG]`` tokens."""

    row: dict
    prediction: Prediction
    parsed: ParsedAnswer
    masks: list[dict | None]  # one per [SEG] of the answer, None = empty
    size: tuple[int, int] | None  # (h, w) of the image, for grounded tasks


def score(
    rows: Iterable[dict],
    predictions: Mapping[str, Prediction],
    *,
    tasks: Sequence[str] | None = None,
    captions: bool = True,
    concepts: ConceptCache | None = None,
) -> Scores:
    """Score ``predictions`` (by row id) on the ``rows`` of ``tasks`` (default: every task present).

    ``captions=False`` skips the caption metrics (they start Java programs). ``concepts`` caches the
    images' concept masks for AGE's consistency (a new cache if None). Tasks without rows are
    left out of ``metrics``.
    """
    all_rows = list(rows)
    wanted = _check_tasks(tasks)
    scored = [row for row in all_rows if row["task"] in wanted]
    answers = [predictions.get(row["id"]) for row in scored]
    missing = sum(p is None for p in answers)
    answers = [p if p is not None else Prediction(row["id"], None, []) for row, p in zip(scored, answers)]
    parsed = parse_rows(scored, [p.answer for p in answers])
    counts = ParseCounts()
    counts.update(parsed)
    problems: Counter[str] = Counter()
    known = {row["id"] for row in all_rows}
    problems[NO_ROW] = sum(pid not in known for pid in predictions)
    by_task: dict[str, list[_Item]] = {}
    for row, prediction, answer in zip(scored, answers, parsed):
        by_task.setdefault(row["task"], []).append(_item(row, prediction, answer, problems))
    per_row: dict[str, dict] = {}
    cache = concepts if concepts is not None else ConceptCache()
    metrics = {task: _task_metrics(task, items, per_row, cache) for task, items in by_task.items()}
    if captions:
        for task, values in _caption_metrics(by_task).items():
            metrics[task].update(values)
    for task, values in metrics.items():
        values["unparsed"] = counts.failed[task] / counts.total[task]
    return Scores(
        metrics=metrics,
        counts={task: len(items) for task, items in by_task.items()},
        missing=missing,
        parse=counts,
        problems={k: v for k, v in problems.items() if v},
        per_row=per_row,
    )


def _check_tasks(tasks: Sequence[str] | None) -> set[str]:
    if tasks is None:
        return set(TASKS)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown tasks {unknown}; known: {', '.join(TASKS)}")
    return set(tasks)


# --------------------------------------------------------------------------- predicted masks


def _item(row: dict, prediction: Prediction, parsed: ParsedAnswer, problems: Counter) -> _Item:
    size = image_size(row) if row["task"] in SEG_TASKS else None
    return _Item(row, prediction, parsed, _seg_masks(prediction.masks or [], parsed.segs, size, problems), size)


def _seg_masks(given: Sequence, segs: int, size: tuple[int, int] | None, problems: Counter) -> list[dict | None]:
    """The mask of each of the ``segs`` ``[SEG]`` tokens: given[i], or None if missing, invalid or of another size."""
    found: set[str] = set()
    if len(given) > segs:
        found.add(EXTRA_MASKS)
    out: list[dict | None] = []
    for i in range(segs):
        mask = given[i] if i < len(given) else None
        if mask is None:
            found.add(MISSING_MASK)
            out.append(None)
            continue
        try:
            rle = masklib.to_rle(mask)
        except ValueError:
            found.add(INVALID_MASK)
            out.append(None)
            continue
        if tuple(rle["size"]) != size:
            found.add(WRONG_SIZE)
            rle = None
        out.append(rle)
    problems.update(found)
    return out


def _empty(size: tuple[int, int]) -> dict:
    return masklib.encode(np.zeros(size, bool))


def _union(masks: Sequence[dict | None]) -> dict | None:
    """The union of the masks that are not None; None if there is none."""
    present = [m for m in masks if m is not None]
    return masklib.merge(present) if present else None


# --------------------------------------------------------------------------- per task

Scorer = Callable[[list[_Item], dict[str, dict], ConceptCache], dict[str, float]]


def _task_metrics(task: str, items: list[_Item], per_row: dict[str, dict], cache: ConceptCache) -> dict[str, float]:
    for it in items:
        per_row[it.row["id"]] = {"task": task, "parsed": it.parsed.ok}
    if task in CLOSED_TASKS:
        return _closed(task, items, per_row)
    scorer: Scorer | None = {"loc": _segmentation, "rseg": _segmentation, "age": _age, "breg": _breg}.get(task)
    return scorer(items, per_row, cache) if scorer else {}


def _closed(task: str, items: list[_Item], per_row: dict[str, dict]) -> dict[str, float]:
    """Accuracy and F1 of the parsed verdicts against the rows' canonical ``answer``."""
    truths = [it.row["answer"] for it in items]
    verdicts = [it.parsed.verdict for it in items]
    for it, truth, verdict in zip(items, truths, verdicts):
        per_row[it.row["id"]].update(truth=truth, verdict=verdict, correct=verdict is not None and verdict == truth)
    out = {"accuracy": M.accuracy(verdicts, truths)}
    if task == "cls":
        labels = list(dict.fromkeys([*truths, *(v for v in verdicts if v is not None)]))
        out["f1_macro"] = M.f1_macro(verdicts, truths, labels)
        return out
    positive = POSITIVE[task]
    ranked = [_rank_score(it.prediction.score, verdict, positive) for it, verdict in zip(items, verdicts)]
    for it, value in zip(items, ranked):
        per_row[it.row["id"]]["score"] = value
    out["f1"] = M.f1_binary(verdicts, truths, positive)
    out["auc"] = M.roc_auc(ranked, [truth == positive for truth in truths])
    return out


def _rank_score(score: float | None, verdict: str | None, positive: str) -> float:
    """What ranks a row for the AUC: the system's score, else its verdict (1 positive, 0 negative, 0.5 none)."""
    if score is not None:
        return float(score)
    return 0.5 if verdict is None else float(verdict == positive)


def _marked(mask: dict | None, size: tuple[int, int]) -> float:
    """Share of the image a (possibly None = empty) mask covers."""
    return 0.0 if mask is None else masklib.area(mask) / (size[0] * size[1])


def _marked_by_label(items: list[_Item], marked: Sequence[float]) -> dict[str, float]:
    """Mean marked share on the real and on the fake images."""
    return {f"marked_{label}": _mean([m for it, m in zip(items, marked) if it.row["label"] == label]) for label in ("real", "fake")}


def _segmentation(items: list[_Item], per_row: dict[str, dict], cache: ConceptCache) -> dict[str, float]:
    """loc / rseg: the first ``[SEG]``'s mask against the row's mask (an empty one for rows without)."""
    preds = [it.masks[0] if it.masks else None for it in items]
    truths = [_union(it.row["masks"]) or _empty(it.size) for it in items]
    has_truth = [bool(it.row["masks"]) for it in items]
    answered = [it.prediction.answer is not None for it in items]  # no answer is wrong even where there is nothing to find
    ious = [M.mask_iou(p, t) if a else 0.0 for p, t, a in zip(preds, truths, answered)]
    marked = [_marked(p, it.size) for p, it in zip(preds, items)]
    for it, iou, share in zip(items, ious, marked):
        per_row[it.row["id"]].update(iou=iou, n_truth=len(it.row["masks"]), n_pred=it.parsed.segs, marked=share)
    negatives = [a and (p is None or masklib.area(p) == 0) for p, truth, a in zip(preds, has_truth, answered) if not truth]
    return {
        "miou": _mean([iou for iou, truth in zip(ious, has_truth) if truth]),
        "giou": _mean(ious),
        "ciou": M.ciou(preds, truths),
        "n_acc": _mean(negatives),
    } | _marked_by_label(items, marked)


def _age(items: list[_Item], per_row: dict[str, dict], cache: ConceptCache) -> dict[str, float]:
    """AGE: GLaMM-style matching of the answer's masks to the truths, cIoU of their unions, text-mask consistency."""
    preds = [it.masks for it in items]
    truths = [list(it.row["masks"]) for it in items]
    matched = M.age_matching(preds, truths)
    pred_unions = [_union(p) for p in preds]
    truth_unions = [_union(t) or _empty(it.size) for t, it in zip(truths, items)]
    marked = [_marked(pu, it.size) for pu, it in zip(pred_unions, items)]
    for it, p, t, pu, tu, share in zip(items, preds, truths, pred_unions, truth_unions, marked):
        row_miou = sum(iou for *_, iou in M.match_masks(p, t)) / len(t) if t else NAN
        per_row[it.row["id"]].update(miou=row_miou, iou=M.mask_iou(pu, tu), n_truth=len(t), n_pred=it.parsed.segs, marked=share)
    named = [_seg_concepts(it.parsed) for it in items]
    consistency = M.text_mask_consistency_dataset(preds, named, [_concept_lookup(cache, it.row) for it in items])
    return {
        "miou": matched["miou"],
        "mask_recall": matched["mask_recall"],
        "ap50": matched["ap50"],
        "ap50_coco": matched["ap50_coco"],
        "ciou": M.ciou(pred_unions, truth_unions),
        "consistency": consistency["consistency"],
    } | _marked_by_label(items, marked)


def _seg_concepts(parsed: ParsedAnswer) -> list[str | None]:
    """The FICT concept named by the phrase of each ``[SEG]`` (None for a bare ``[SEG]`` or an unresolved phrase)."""
    concept_of = dict(zip(parsed.phrases, parsed.phrase_concepts))
    return [None if phrase is None else concept_of.get(phrase) for phrase in parsed.seg_phrases]


def _concept_lookup(cache: ConceptCache, row: dict) -> Callable[[str], np.ndarray | None]:
    """``concept id -> mask`` of the row's image, analysed only if a mask is actually looked up."""

    def lookup(concept: str) -> np.ndarray | None:
        found = cache.concepts(row)
        return None if found is None else found.mask(concept)

    return lookup


def _breg(items: list[_Item], per_row: dict[str, dict], cache: ConceptCache) -> dict[str, float]:
    """breg: the boxes read from the answer matched to the row's ``target_boxes``."""
    preds = [list(it.parsed.boxes) for it in items]
    truths = [[list(b) for b in it.row["target_boxes"]] for it in items]
    for it, p, t in zip(items, preds, truths):
        row_miou = sum(iou for *_, iou in M.match_boxes(p, t)) / len(t) if t else NAN
        per_row[it.row["id"]].update(miou=row_miou, n_truth=len(t), n_pred=len(p))
    matched = M.box_matching(preds, truths)
    return {"miou": matched["mean_iou"], "ap50": matched["ap50"], "recall50": matched["recall"]}


def _caption_metrics(by_task: dict[str, list[_Item]]) -> dict[str, dict[str, float]]:
    """BLEU-4 / ROUGE-L / METEOR / CIDEr of every text task, in one :func:`caption_scores_many` call."""
    groups = {
        task: ([[answer_of(it.row)] for it in items], [it.prediction.answer for it in items])
        for task, items in by_task.items()
        if task in CAPTION_TASKS
    }
    return caption_scores_many(groups) if groups else {}


# --------------------------------------------------------------------------- per edit type


def by_group(rows: Iterable[dict], scores: Scores, key: str) -> dict[str, dict[str, dict[str, float]]]:
    """``scores`` split by the rows' ``key`` (``manipulation`` or ``family``; real images are the group "real").

    Per group and task: ``n`` (rows), ``accuracy`` for the closed tasks, ``miou`` (mean IoU of the rows
    with a truth mask) and ``marked`` (mean share of the image marked) for loc, rseg and age, so a mean
    over a mix of large and small edits hides nothing.
    """
    grouped: dict[str, dict[str, list[dict]]] = {}
    for row in rows:
        found = scores.per_row.get(row["id"])
        if found is not None:
            group = "real" if row["label"] == "real" else row.get(key) or "unknown"
            grouped.setdefault(group, {}).setdefault(row["task"], []).append(found)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for group in sorted(grouped, key=lambda g: (g == "real", g)):
        out[group] = {}
        for task in (t for t in TASKS if t in grouped[group]):
            found = grouped[group][task]
            values: dict[str, float] = {"n": len(found)}
            if task in CLOSED_TASKS:
                values["accuracy"] = _mean([bool(f["correct"]) for f in found])
            elif task in SEG_TASKS:
                iou = "miou" if task == "age" else "iou"
                values["miou"] = _mean([f[iou] for f in found if f["n_truth"]])
                values["marked"] = _mean([f["marked"] for f in found])
            out[group][task] = values
    return out


# --------------------------------------------------------------------------- helpers


def _mean(values: Sequence[float | bool]) -> float:
    return float(np.mean(values)) if len(values) else NAN


def json_safe(value):
    """``value`` with nan / inf floats as None and numpy scalars as Python numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
