"""FiFa-Bench scoring (fifa_data.scoring.score) and baselines: hand-computed values on tiny rows, and the real build."""

from __future__ import annotations

import io
import json
import math
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from fifa_data.core import masks as masklib
from fifa_data.core.schema import answer_of
from fifa_data.scoring.baselines import BASELINES, baseline_predictions, baseline_tasks
from fifa_data.scoring.concept_cache import ConceptCache, image_key, image_size
from fifa_data.scoring.predictions import Prediction
from fifa_data.scoring.score import Scores, score

H, W = 4, 6  # every synthetic image is 4 x 6 pixels: 24 pixels, 4 per column


def _png(height: int, width: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((height, width, 3), np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


IMAGE = {"bytes": _png(H, W), "path": None}


def cols(*columns: int, size: tuple[int, int] = (H, W)) -> np.ndarray:
    """A mask with whole columns set (each column of a 4 x 6 mask is 4 pixels)."""
    mask = np.zeros(size, bool)
    mask[:, list(columns)] = True
    return mask


def _pixels(*points: tuple[int, int]) -> np.ndarray:
    """A 4 x 6 mask with the (y, x) pixels set."""
    mask = np.zeros((H, W), bool)
    for y, x in points:
        mask[y, x] = True
    return mask


def rle(mask: np.ndarray) -> dict:
    return masklib.encode(mask)


def row(task: str, rid: str, text: str = "Reference.", *, masks=(), answer=None, target_boxes=(), label="fake", manipulation="lip_color") -> dict:
    """A benchmark row in the shared schema, about the 4 x 6 synthetic image."""
    return {
        "id": rid,
        "task": task,
        "image": IMAGE,
        "messages": [
            {"role": "user", "content": [{"type": "image", "text": None}, {"type": "text", "text": "Question?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": text}]},
        ],
        "masks": [rle(m) for m in masks],
        "concepts": [],
        "boxes": [],
        "label": label,
        "answer": answer,
        "query_concept": None,
        "query_mask": None,
        "target_boxes": [list(map(float, b)) for b in target_boxes],
        "manipulation": manipulation if label == "fake" else None,
        "pair_id": None,
        "source_id": "source",
    }


def pred(rid: str, answer: str | None, *masks) -> Prediction:
    return Prediction(rid, answer, [m if m is None or isinstance(m, dict) else rle(m) for m in masks])


def run(rows, predictions, **kwargs) -> Scores:
    return score(rows, {p.id: p for p in predictions}, captions=False, **kwargs)


# --------------------------------------------------------------------------- closed tasks


def test_closed_tasks_accuracy_and_f1_with_a_missing_prediction():
    rows = [
        row("det", "det-0", answer="fake"),
        row("det", "det-1", answer="fake"),
        row("det", "det-2", answer="real", label="real"),
        row("det", "det-3", answer="real", label="real"),
        row("cls", "cls-0", answer="lip_color"),
        row("cls", "cls-1", answer="real", label="real"),
        row("cls", "cls-2", answer="hair_color", manipulation="hair_color"),
        row("rdet", "rdet-0", answer="yes"),
        row("rdet", "rdet-1", answer="no"),
    ]
    predictions = [
        pred("det-0", "Fake."),
        pred("det-1", "It is real."),
        pred("det-2", "Real."),  # det-3 has no prediction: wrong, an FP of "fake" (the opposite of its truth)
        pred("cls-0", "Lip colour."),
        pred("cls-1", "lip_color"),
        pred("cls-2", "Real."),
        pred("rdet-0", "Yes."),
        pred("rdet-1", "Yes, it was."),
    ]
    scores = run(rows, predictions)
    assert scores.missing == 1 and scores.counts == {"det": 4, "cls": 3, "rdet": 2}
    # det: right 0 and 2 -> 2/4; positive fake: TP 1 (det-0), FN 1 (det-1), FP 1 (det-3) -> 2 / (2 + 1 + 1)
    # auc ranks by verdict (fake 1, real 0, none 0.5): fakes {1, 0} vs reals {0, 0.5} -> (1 + 1 + 0.5 + 0) / 4
    assert scores.metrics["det"] == {"accuracy": 0.5, "f1": 0.5, "auc": 0.625, "unparsed": 0.25}
    # cls: labels lip_color, real, hair_color: lip_color TP1 FP1 -> 2/3; real FP1 FN1 -> 0; hair_color FN1 -> 0
    assert scores.metrics["cls"]["accuracy"] == pytest.approx(1 / 3)
    assert scores.metrics["cls"]["f1_macro"] == pytest.approx(2 / 9)
    # rdet: 1 of 2 right; positive yes: TP1 FP1 -> 2/3
    assert scores.metrics["rdet"] == {"accuracy": 0.5, "f1": pytest.approx(2 / 3), "auc": 0.5, "unparsed": 0.0}  # both "yes": a tie
    assert scores.per_row["det-3"] == {"task": "det", "parsed": False, "truth": "real", "verdict": None, "correct": False, "score": 0.5}
    assert scores.per_row["cls-0"]["correct"] and not scores.per_row["cls-1"]["correct"]
    assert scores.parse.problems == {"empty answer": 1}


def test_a_perfect_system_scores_1_everywhere():
    rows = [
        row("det", "det-0", answer="fake"),
        row("cls", "cls-0", answer="lip_color"),
        row("bdet", "bdet-0", answer="no"),
        row("loc", "loc-0", masks=[cols(1, 2)]),
        row("loc", "loc-1", label="real"),
        row("rseg", "rseg-0", masks=[cols(0)]),
        row("age", "age-0", masks=[cols(0), cols(5)]),
        row("breg", "breg-0", target_boxes=[[0, 0, 2, 2]]),
    ]
    predictions = [
        pred("det-0", "Fake."),
        pred("cls-0", "The manipulation is lip colour."),
        pred("bdet-0", "No."),
        pred("loc-0", "[SEG].", cols(1, 2)),
        pred("loc-1", "The photo is real, so there is no artifact mask."),
        pred("rseg-0", "Sure, <p>the lips</p> [SEG].", cols(0)),
        pred("age-0", "<p>The lips</p> [SEG] and <p>the nose</p> [SEG] were edited.", cols(0), cols(5)),
        pred("breg-0", "Edited regions: lips [0, 0, 2, 2]."),
    ]
    m = run(rows, predictions).metrics
    for task in ("det", "cls", "bdet"):
        assert m[task]["accuracy"] == 1.0
    marked = {"marked_real": 0.0, "marked_fake": pytest.approx(2 / 6)}  # the truth: two of six columns on the fake, none on the real
    assert m["loc"] == {"miou": 1.0, "giou": 1.0, "ciou": 1.0, "n_acc": 1.0, "unparsed": 0.0} | marked
    assert m["rseg"]["miou"] == 1.0 and math.isnan(m["rseg"]["n_acc"])  # no row without truth: n_acc undefined
    assert (m["age"]["miou"], m["age"]["ap50"], m["age"]["mask_recall"], m["age"]["ciou"]) == (1.0, 1.0, 1.0, 1.0)
    assert m["breg"] == {"miou": 1.0, "ap50": 1.0, "recall50": 1.0, "unparsed": 0.0}


# --------------------------------------------------------------------------- loc and rseg


@pytest.mark.parametrize("task", ["loc", "rseg"])
def test_segmentation_miou_giou_ciou_and_n_acc(task):
    rows = [
        row(task, "a", masks=[cols(0, 1, 2)]),  # 12 pixels
        row(task, "b", label="real"),  # no truth
        row(task, "c", label="real"),  # no truth
        row(task, "d", masks=[cols(5)]),  # 4 pixels
    ]
    predictions = [
        pred("a", "[SEG]", cols(1, 2, 3)),  # |∩| 8, |∪| 16: IoU 0.5
        pred("b", "[SEG]", np.zeros((H, W), bool)),  # empty mask on an empty truth: IoU 1, a right "no target"
        pred("c", "Sure, [SEG].", _pixels((0, 0), (1, 0))),  # 2 pixels where there is nothing: IoU 0
    ]  # d: missing, an empty mask: IoU 0
    scores = run(rows, predictions)
    m = scores.metrics[task]
    assert m["miou"] == pytest.approx((0.5 + 0.0) / 2)  # rows with truth only
    skipped = run(rows, predictions[:2]).metrics[task]  # c unanswered: wrong although there is nothing to find
    assert skipped["giou"] == pytest.approx((0.5 + 1 + 0 + 0) / 4) and skipped["n_acc"] == 0.5
    assert m["giou"] == pytest.approx((0.5 + 1 + 0 + 0) / 4)
    assert m["ciou"] == pytest.approx((8 + 0 + 0 + 0) / (16 + 0 + 2 + 4))
    assert m["n_acc"] == 0.5  # b right, c wrong
    assert scores.missing == 1
    assert scores.per_row["a"] == {"task": task, "parsed": True, "iou": 0.5, "n_truth": 1, "n_pred": 1, "marked": 0.5}
    assert scores.per_row["d"]["iou"] == 0.0 and scores.per_row["d"]["n_pred"] == 0


def test_mask_problems_are_counted_and_such_masks_scored_empty():
    rows = [
        row("loc", "wrong-size", masks=[cols(0)]),
        row("loc", "extra", masks=[cols(0)]),
        row("loc", "no-mask", masks=[cols(0)]),
        row("loc", "invalid", masks=[cols(0)]),
        row("loc", "no-seg", masks=[cols(0)]),
        row("loc", "real-wrong-size", label="real"),  # no truth mask: the size is the image's
        row("det", "det", answer="fake"),
    ]
    predictions = [
        pred("wrong-size", "[SEG]", cols(0, size=(W, H))),
        pred("extra", "[SEG]", cols(0), cols(1)),  # the second mask has no [SEG]: ignored
        pred("no-mask", "[SEG]"),
        pred("invalid", "[SEG]", {"size": [H, W], "counts": [1, 2]}),
        pred("no-seg", "Here it is.", cols(0)),
        pred("real-wrong-size", "[SEG]", np.zeros((W, H), bool)),
        pred("det", "Fake.", cols(0)),
    ]
    scores = run(rows, predictions)
    assert scores.problems == {"mask size differs from image": 2, "masks without [SEG]": 3, "[SEG] without mask": 1, "invalid mask": 1}
    ious = {rid: scores.per_row[rid]["iou"] for rid in ("wrong-size", "extra", "no-mask", "invalid", "no-seg", "real-wrong-size")}
    assert ious == {"wrong-size": 0.0, "extra": 1.0, "no-mask": 0.0, "invalid": 0.0, "no-seg": 0.0, "real-wrong-size": 1.0}
    assert scores.metrics["det"]["accuracy"] == 1.0


# --------------------------------------------------------------------------- age


class _FakeConceptMasks:
    """Stands in for ConceptMasks: "lips" is columns 4-5, "nose" columns 2-3, nothing else is visible."""

    def mask(self, concept: str) -> np.ndarray:
        return {"lips": cols(4, 5), "nose": cols(2, 3)}.get(concept, np.zeros((H, W), bool))


class _FakeConcepts:
    """Stands in for ConceptCache: the fake image has :class:`_FakeConceptMasks`, the real one no face."""

    def __init__(self):
        self.calls = Counter()

    def concepts(self, r: dict) -> _FakeConceptMasks | None:
        self.calls[r["id"]] += 1
        return None if r["label"] == "real" else _FakeConceptMasks()


AGE_ROWS = [
    row("age", "age-fake", "<p>The lips</p> [SEG] and <p>the mouth</p> [SEG].", masks=[cols(0, 1), cols(4, 5)]),
    row("age", "age-real", "It is real.", label="real"),
]
AGE_PREDICTIONS = [
    pred("age-fake", "<p>The lips</p> [SEG] and <p>the nose</p> [SEG] were edited.", cols(4, 5), cols(0)),
    pred("age-real", "<p>The hair</p> [SEG] is lighter.", _pixels((0, 0), (1, 0))),
]


def test_age_matching_ciou_and_consistency():
    concepts = _FakeConcepts()
    scores = run(AGE_ROWS, AGE_PREDICTIONS, concepts=concepts)
    m = scores.metrics["age"]
    # matching: lips mask = truth 1 (IoU 1), column 0 vs truth 0 (4 / 8 = 0.5); the real image's mask is a false positive
    assert m["miou"] == pytest.approx((1 + 0.5) / 2)
    assert m["mask_recall"] == 1.0
    assert m["ap50"] == pytest.approx(1.0 * 2 / 3)  # recall x precision
    assert m["ap50_coco"] == pytest.approx(1.0)  # both hits rank before the false positive
    # unions: fake 12 of 16 truth pixels, nothing outside; real: 2 pixels where there is nothing
    assert m["ciou"] == pytest.approx((12 + 0) / (16 + 2))
    # "the lips" mask lies in the lips; "the nose" mask (column 0) not in the nose; no face in the real image
    assert m["consistency"] == pytest.approx(1 / 3)
    assert scores.per_row["age-fake"] == {"task": "age", "parsed": True, "miou": 0.75, "iou": 0.75, "n_truth": 2, "n_pred": 2, "marked": 0.5}
    assert math.isnan(scores.per_row["age-real"]["miou"]) and scores.per_row["age-real"]["iou"] == 0.0
    assert set(concepts.calls) == {"age-fake", "age-real"}


def test_age_without_a_face_in_the_image_is_never_consistent():
    cache = ConceptCache()
    scores = run(AGE_ROWS, AGE_PREDICTIONS, concepts=cache)  # a 4 x 6 image holds no face
    assert scores.metrics["age"]["consistency"] == 0.0
    assert len(cache) == 1  # both rows show the same image, analysed once
    assert not cache.face_mask(AGE_ROWS[0]).any() and cache.face_mask(AGE_ROWS[0]).shape == (H, W)


def test_age_with_nothing_predicted():
    scores = run(AGE_ROWS, [])
    m = scores.metrics["age"]
    assert (m["miou"], m["mask_recall"], m["ap50"], m["ciou"]) == (0.0, 0.0, 0.0, 0.0)
    assert math.isnan(m["consistency"])  # no pair to judge
    assert m["unparsed"] == 1.0 and scores.missing == 2


# --------------------------------------------------------------------------- breg


def test_breg_box_matching():
    rows = [
        row("breg", "breg-fake", target_boxes=[[0, 0, 10, 10], [20, 20, 30, 30]]),
        row("breg", "breg-real", "None: this photo is real.", label="real"),
    ]
    predictions = [
        pred("breg-fake", "lips [0, 0, 10, 5]; nose [20, 20, 30, 30]; hair [50, 50, 60, 60]."),  # IoU 0.5, 1, 0
        pred("breg-real", "None: this photo is real."),
    ]
    scores = run(rows, predictions)
    assert scores.metrics["breg"] == {"miou": pytest.approx(0.75), "ap50": pytest.approx(2 / 3), "recall50": 1.0, "unparsed": 0.0}
    assert scores.per_row["breg-fake"] == {"task": "breg", "parsed": True, "miou": 0.75, "n_truth": 2, "n_pred": 3}


# --------------------------------------------------------------------------- the report


def test_tasks_filter_unknown_ids_and_json_output():
    rows = [row("det", "det-0", answer="fake"), row("loc", "loc-0", label="real"), row("toe", "toe-0")]
    predictions = {"det-0": pred("det-0", "Fake."), "nope": pred("nope", "Real.")}
    scores = score(rows, predictions, tasks=["det", "loc"], captions=True)  # no text task scored: Java never starts
    assert set(scores.metrics) == {"det", "loc"} and scores.counts == {"det": 1, "loc": 1}
    assert scores.missing == 1  # loc-0; toe-0 is not scored
    assert scores.problems == {"prediction for no benchmark row": 1}
    out = scores.to_dict()
    json.dumps(out, allow_nan=False)
    assert out["metrics"]["loc"]["miou"] is None  # nan: no row with a truth mask
    assert out["parse"]["answers"] == 2
    with pytest.raises(ValueError, match="unknown tasks"):
        score(rows, predictions, tasks=["nope"])


def test_text_tasks_without_captions_report_only_unparsed():
    rows = [row("toe", "toe-0"), row("rexp", "rexp-0"), row("bexp", "bexp-0")]
    m = run(rows, []).metrics
    assert m == {"toe": {"unparsed": 0.0}, "rexp": {"unparsed": 0.0}, "bexp": {"unparsed": 0.0}}


def test_row_image_helpers():
    assert answer_of(row("toe", "t", "The lips are red.")) == "The lips are red."
    assert image_size(row("loc", "l", label="real")) == (H, W)
    assert image_size(row("loc", "l", masks=[cols(0)])) == (H, W)
    assert image_key(IMAGE) == image_key({"bytes": _png(H, W), "path": None})
    assert image_key(Image.open(io.BytesIO(IMAGE["bytes"]))) != image_key(IMAGE)  # pixels, not file bytes


# --------------------------------------------------------------------------- the real benchmark


@pytest.fixture(scope="module")
def bench(small_build) -> list[dict]:
    import datasets

    rows = datasets.load_dataset(str(small_build), "bench", split="test", cache_dir=str(small_build.parent / "hf-cache"))
    return list(rows)


@pytest.fixture(scope="module")
def bench_concepts() -> ConceptCache:
    return ConceptCache()


def _truth(rows: list[dict]) -> dict[str, Prediction]:
    """The ground truth as a system's predictions: the reference answer and the row's masks."""
    return {r["id"]: Prediction(r["id"], answer_of(r), list(r["masks"])) for r in rows}


def _share(rows: list[dict], task: str, test) -> float:
    selected = [r for r in rows if r["task"] == task]
    return sum(map(test, selected)) / len(selected)


def test_the_ground_truth_scores_perfectly_on_the_real_benchmark(bench, bench_concepts):
    scores = score(bench, _truth(bench), captions=False, concepts=bench_concepts)
    m = scores.metrics
    assert set(m) == {"det", "cls", "toe", "loc", "age", "rdet", "rexp", "rseg", "bdet", "bexp", "breg"}
    assert scores.missing == 0 and scores.problems == {} and scores.parse.unparsed == 0
    for task in ("det", "cls", "rdet", "bdet"):
        assert m[task]["accuracy"] == 1.0, task
    for task in ("loc", "rseg"):
        assert (m[task]["miou"], m[task]["giou"], m[task]["ciou"], m[task]["n_acc"]) == (1.0, 1.0, 1.0, 1.0), task
    assert (m["age"]["miou"], m["age"]["ap50"], m["age"]["mask_recall"], m["age"]["ciou"]) == (1.0, 1.0, 1.0, 1.0)
    assert m["age"]["consistency"] > 0.8  # artifact masks lie mostly inside the concept their phrase names
    assert (m["breg"]["ap50"], m["breg"]["recall50"], m["breg"]["miou"]) == (1.0, 1.0, 1.0)
    age_rows = [r["id"] for r in bench if r["task"] == "age" and r["masks"]]
    assert all(scores.per_row[rid]["miou"] == 1.0 for rid in age_rows)


def test_constant_baselines_on_the_real_benchmark(bench):
    fake_share = {task: _share(bench, task, lambda r: r["answer"] in ("fake", "yes")) for task in ("det", "rdet", "bdet")}
    scores = score(bench, baseline_predictions("always-fake", bench), tasks=baseline_tasks("always-fake"), captions=False)
    assert set(scores.metrics) == {"det", "rdet", "bdet"} and scores.missing == 0
    for task, p in fake_share.items():
        assert scores.metrics[task]["accuracy"] == pytest.approx(p)
        assert scores.metrics[task]["f1"] == pytest.approx(2 * p / (1 + p))  # TP = share p, FP = 1 - p, FN = 0

    predictions = baseline_predictions("majority", bench)
    scores = score(bench, predictions, tasks=baseline_tasks("majority"), captions=False)
    assert scores.missing == 0 and scores.parse.unparsed == 0
    for task in ("det", "cls", "rdet", "bdet"):
        labels = Counter(r["answer"] for r in bench if r["task"] == task)
        assert scores.metrics[task]["accuracy"] == pytest.approx(max(labels.values()) / labels.total()), task
    for task in ("toe", "rexp", "bexp"):
        texts = Counter(answer_of(r) for r in bench if r["task"] == task)
        answers = {p.answer for rid, p in predictions.items() if rid.startswith(task + "-")}
        assert answers == {texts.most_common(1)[0][0]}, task


def test_mask_baselines_on_the_real_benchmark(bench, bench_concepts):
    tasks = baseline_tasks("empty-mask")
    assert tasks == baseline_tasks("whole-face") == ("loc", "rseg", "age")
    empty = score(bench, baseline_predictions("empty-mask", bench), tasks=tasks, captions=False).metrics
    for task in ("loc", "rseg"):
        no_truth = _share(bench, task, lambda r: not r["masks"])
        assert (empty[task]["miou"], empty[task]["ciou"], empty[task]["n_acc"]) == (0.0, 0.0, 1.0), task
        assert empty[task]["giou"] == pytest.approx(no_truth), task
    assert (empty["age"]["miou"], empty["age"]["ap50"], empty["age"]["ciou"]) == (0.0, 0.0, 0.0)

    face = score(bench, baseline_predictions("whole-face", bench, bench_concepts), tasks=tasks, captions=False, concepts=bench_concepts)
    assert face.problems == {}  # the face masks have the images' size
    for task in ("loc", "rseg"):
        assert 0 < face.metrics[task]["miou"] < 1 and face.metrics[task]["n_acc"] == 0.0, task  # every image shows a face
    assert face.metrics["age"]["consistency"] == 0.0  # "face" names no concept a phrase may name
    with pytest.raises(ValueError, match="unknown baseline"):
        baseline_tasks("oracle")
    assert set(BASELINES) == {"always-fake", "majority", "empty-mask", "whole-face", "location-prior", "query-region"}


@pytest.mark.slow
def test_caption_metrics_start_java_twice_for_all_text_tasks(bench, java_starts):
    java = java_starts
    scores = score(bench, _truth(bench), tasks=["toe", "age", "rexp", "bexp", "det"])
    assert len(java) == 2  # one tokeniser run, one METEOR process
    for task in ("toe", "age", "rexp", "bexp"):
        m = scores.metrics[task]
        assert m["bleu4"] > 0.99 and m["rouge_l"] == 1.0 and m["meteor"] > 0.99 and m["cider"] > 9.9, task
    assert "bleu4" not in scores.metrics["det"]
