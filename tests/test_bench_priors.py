"""FiFa-Bench's prior-exposing figures on hand-made predictions whose right answers are known: det AUC, the
location prior, the queried region, the area marked on real images, the per-type tables; and one real evaluate run."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from PIL import Image

from fifa_data.core import masks as masklib
from fifa_data.scoring.baselines import LocationPrior, baseline_predictions
from fifa_data.scoring.metrics import roc_auc
from fifa_data.scoring.predictions import Prediction, read_predictions, write_predictions
from fifa_data.scoring.score import by_group, score

SIZE = 100


def _png(size: int = SIZE) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), "grey").save(buffer, format="PNG")
    return {"bytes": buffer.getvalue(), "path": None}


def _box_mask(x0: int, y0: int, x1: int, y1: int, size: int = SIZE) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _pair(pair_id: str, mask: np.ndarray, box: list[float]) -> dict:
    return {"pair_id": pair_id, "source_id": f"photo-{pair_id}", "face_boxes": [box], "subject": 0, "artifact_mask": masklib.encode(mask)}


def _row(task: str, label: str, masks: list[np.ndarray], pair: str, **more) -> dict:
    fake = label == "fake"
    return {
        "id": f"{task}-{pair}-{label}",
        "task": task,
        "image": _png(),
        "label": label,
        "answer": None,
        "masks": [masklib.encode(m) for m in masks],
        "messages": [{"role": "user", "content": []}, {"role": "assistant", "content": [{"type": "text", "text": "[SEG]"}]}],
        "concepts": [],
        "pair_id": pair if fake else None,
        "source_id": f"photo-{pair}",
        "manipulation": more.pop("manipulation", "lip_color") if fake else None,
        "family": "attribute" if fake else None,
        "query_concept": None,
        "query_mask": None,
        **more,
    }


# A face box 32 px wide makes the prior's frame 96 px (PRIOR_SPAN boxes) of 96 cells: one pixel a cell, from (2, 2).
BOX = [34.0, 34.0, 66.0, 66.0]
A = (40, 40, 50, 50)  # where every training edit is
B = (50, 40, 60, 50)  # where one of the two is


def _prior() -> LocationPrior:
    """Train: one edit on A, one on A and B (mean 1 on A, 0.5 on B); validation: an edit on A, so the best cut keeps A."""
    train = [_pair("t1", _box_mask(*A), BOX), _pair("t2", _box_mask(*A) | _box_mask(*B), BOX)]
    validation = [_pair("v1", _box_mask(*A), BOX)]
    test = [_pair("x1", _box_mask(20, 20, 30, 30), [18.0, 18.0, 82.0, 82.0])]  # a face twice as large, centred
    return LocationPrior.fit(train, validation, test)


def test_the_location_prior_is_the_mean_training_edit_cut_at_the_validation_best_level():
    prior = _prior()
    assert prior.fitted_on == 2 and prior.tuned_on == "validation"
    assert prior.level == 1.0 and prior.tuning_miou == pytest.approx(1.0)
    # on the test face (box twice as large around the same centre) A = [40, 50) maps to [30, 50)
    expected = _box_mask(30, 30, 50, 50)
    assert np.array_equal(prior.mask({"pair_id": "x1"}, (SIZE, SIZE)), expected)
    assert np.array_equal(prior.mask({"pair_id": None, "source_id": "photo-x1"}, (SIZE, SIZE)), expected)  # a real image: its photo's box
    assert not prior.mask({"pair_id": "unknown", "source_id": "unknown"}, (SIZE, SIZE)).any()
    without_validation = LocationPrior.fit(prior_pairs := [_pair("t1", _box_mask(*A), BOX)], None)
    assert without_validation.tuned_on == "train" and without_validation.fitted_on == len(prior_pairs)


def test_a_prior_only_predictor_scores_what_is_computed_by_hand_and_marks_reals_as_much_as_fakes():
    prior = _prior()
    truth = _box_mask(30, 30, 40, 50)  # the left half of where the prior points on this face: IoU 0.5
    rows = [_row("loc", "fake", [truth], "x1"), _row("loc", "real", [], "x1")]
    scores = score(rows, baseline_predictions("location-prior", rows, prior=prior), captions=False)
    loc = scores.metrics["loc"]
    assert loc["miou"] == pytest.approx(0.5)
    assert loc["marked_fake"] == loc["marked_real"] == pytest.approx(400 / SIZE**2)
    assert loc["n_acc"] == 0.0
    # a system that sees the edit: marks it on the fake, nothing on the real
    nothing = masklib.encode(np.zeros((SIZE, SIZE), bool))
    seeing = {rows[0]["id"]: Prediction(rows[0]["id"], "[SEG]", [masklib.encode(truth)]), rows[1]["id"]: Prediction(rows[1]["id"], "[SEG]", [nothing])}
    loc = score(rows, seeing, captions=False).metrics["loc"]
    assert (loc["miou"], loc["marked_fake"], loc["marked_real"]) == (1.0, pytest.approx(200 / SIZE**2), 0.0)


def test_query_region_answers_the_queried_concepts_own_mask():
    region, edited = _box_mask(20, 20, 60, 40), _box_mask(20, 20, 40, 40)  # the edit is half the region
    rows = [_row("rseg", "fake", [edited], "q1", query_mask=masklib.encode(region)), _row("rseg", "real", [], "q1", query_mask=masklib.encode(region))]
    rseg = score(rows, baseline_predictions("query-region", rows), captions=False).metrics["rseg"]
    assert rseg["miou"] == pytest.approx(0.5)
    assert rseg["marked_real"] == rseg["marked_fake"] == pytest.approx(800 / SIZE**2)


def test_auc_ranks_known_scores_ties_count_half_and_one_class_is_undefined():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    assert roc_auc([1, 1, 0, 0], [True, False, True, False]) == pytest.approx(0.5)
    assert roc_auc([0.2, 0.9], [False, True]) == 1.0 and roc_auc([0.9, 0.2], [False, True]) == 0.0
    assert math.isnan(roc_auc([0.3, 0.4], [True, True]))


def test_det_auc_comes_from_the_prediction_files_score_and_else_from_the_verdict(tmp_path):
    rows = [_row("det", label, [], f"d{i}") | {"id": f"det-{i}", "answer": label} for i, label in enumerate(["fake", "fake", "real", "real"])]
    # every verdict is "Fake." (accuracy 0.5) but the scores rank 3 of the 4 fake/real pairs right
    path = tmp_path / "scored.jsonl"
    write_predictions(path, [Prediction(r["id"], "Fake.", [], s) for r, s in zip(rows, [0.9, 0.3, 0.4, 0.1])])
    with open(path, "a") as f:
        f.write(json.dumps({"id": "det-x", "answer": "Fake.", "score": "high"}) + "\n")
    predictions, problems = read_predictions(path)
    assert [predictions[r["id"]].score for r in rows] == [0.9, 0.3, 0.4, 0.1]
    assert len(problems) == 1 and "score is not a finite number" in problems[0]
    det = score(rows, predictions, captions=False).metrics["det"]
    assert det["accuracy"] == 0.5 and det["auc"] == pytest.approx(0.75)
    hard = {r["id"]: Prediction(r["id"], v) for r, v in zip(rows, ["Fake.", "Real.", "Real.", "Real."])}
    assert score(rows, hard, captions=False).metrics["det"]["auc"] == pytest.approx(0.75)  # verdicts alone: balanced accuracy


def test_per_type_tables_split_every_figure_by_edit_type_with_reals_apart():
    rows = [
        _row("det", "fake", [], "p1", manipulation="lip_color") | {"id": "det-1", "answer": "fake"},
        _row("det", "fake", [], "p2", manipulation="hair_color") | {"id": "det-2", "answer": "fake"},
        _row("det", "real", [], "p3") | {"id": "det-3", "answer": "real"},
        _row("loc", "fake", [_box_mask(0, 0, 10, 10)], "p1", manipulation="lip_color"),
        _row("loc", "fake", [_box_mask(0, 0, 50, 50)], "p2", manipulation="hair_color"),
    ]
    answers = {"det-1": "Fake.", "det-2": "Real.", "det-3": "Real."}
    predictions = {i: Prediction(i, a) for i, a in answers.items()}
    whole = masklib.encode(_box_mask(0, 0, 50, 50))
    predictions |= {r["id"]: Prediction(r["id"], "[SEG]", [whole]) for r in rows if r["task"] == "loc"}
    groups = by_group(rows, score(rows, predictions, captions=False), "manipulation")
    assert list(groups) == ["hair_color", "lip_color", "real"]
    assert groups["lip_color"]["det"] == {"n": 1, "accuracy": 1.0}
    assert groups["hair_color"]["det"] == {"n": 1, "accuracy": 0.0}
    assert groups["real"]["det"] == {"n": 1, "accuracy": 1.0}
    assert groups["lip_color"]["loc"] == {"n": 1, "miou": pytest.approx(0.04), "marked": 0.25}
    assert groups["hair_color"]["loc"] == {"n": 1, "miou": 1.0, "marked": 0.25}
    assert by_group(rows, score(rows, predictions, captions=False), "family")["attribute"]["det"]["accuracy"] == 0.5


@pytest.mark.slow
def test_evaluate_scores_a_checkpoint_on_another_build_beside_the_prior_baselines(small_build, checkpoint, tmp_path):
    """The checkpoint was never trained on this build: evaluate scores its test split with the new baselines and tables."""
    from model.evaluate import main

    out = tmp_path / "results"
    argv = ["--model", str(checkpoint), "--dataset", str(small_build), "--config", "bench", "--tasks", "det,loc,rseg"]
    assert main([*argv, "--limit", "2", "--max-new-tokens", "3", "--no-captions", "--out", str(out), "--no-progress"]) == 0
    text = (out / "results.md").read_text()
    for needed in ("location-prior", "query-region", "| loc | marked_real |", "| det | auc |", "## By manipulation", "## By family"):
        assert needed in text, needed
    report = json.loads((out / "results.json").read_text())
    assert report["location_prior"]["tuned_on"] == "validation" and report["location_prior"]["fitted_on"] > 0
    assert set(report["baselines"]["location-prior"]["metrics"]) == {"loc"}
    assert report["by_group"]["family"]["system"] and report["by_group"]["manipulation"]["location-prior"]
    scores = report["scores"]["metrics"]
    assert scores["det"]["auc"] is None or 0.0 <= scores["det"]["auc"] <= 1.0


def test_a_models_det_score_is_its_probability_of_the_positive_verdict_where_it_writes_one(checkpoint):
    """P(fake) / (P(fake) + P(real)) at the first step that writes a verdict word; None when it writes none."""
    import torch

    from model.generation import generate, load_for_inference, verdict_score, verdict_token_ids

    probs = torch.tensor([[0.5, 0.0], [0.3, 0.1], [0.0, 0.9]])  # per step: P(positive token 7), P(negative token 8)
    assert verdict_score([5, 7, 8], probs, [7], [8]) == pytest.approx(0.75)
    assert verdict_score([5, 6, 6], probs, [7], [8]) is None
    model = load_for_inference(str(checkpoint))
    fake, real = verdict_token_ids(model.processor.tokenizer, "det")
    assert fake and real and not set(fake) & set(real)
    row = {"task": "det", "image": {"bytes": _png(64)["bytes"], "path": None}, "query_mask": None, "boxes": []}
    row["messages"] = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Is this face real or fake?"}]}]
    (answer,) = generate(model, [row], max_new_tokens=4)
    assert answer.score is None or 0.0 <= answer.score <= 1.0
