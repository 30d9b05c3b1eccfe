"""`python model/evaluate.py` on a real build: scoring another system's JSONL, a model's own answers, and the report."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from fifa_data.core.schema import answer_of
from fifa_data.scoring.predictions import Prediction, write_predictions
from model.evaluate import load_rows, main, model_predictions
from model.modeling import FiFaModel
from model.tiny import tiny_llava

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 3


@pytest.fixture(scope="module")
def bench_rows(small_build) -> list[dict]:
    return load_rows(str(small_build), "bench", "test", None, LIMIT)


def _truth_file(rows: list[dict], path: Path, extra_lines: str = "") -> Path:
    """The references themselves as a prediction file: a perfect system."""
    write_predictions(path, [Prediction(r["id"], answer_of(r), list(r["masks"])) for r in rows])
    with open(path, "a") as f:
        f.write(extra_lines)
    return path


def test_the_references_as_predictions_score_perfectly_beside_the_baselines(small_build, bench_rows, tmp_path):
    predictions = _truth_file(bench_rows, tmp_path / "truth.jsonl", 'not json\n{"id": "nowhere", "answer": "Fake."}\n')
    out = tmp_path / "results"
    assert main(["--predictions", str(predictions), "--dataset", str(small_build), "--limit", str(LIMIT), "--no-captions", "--out", str(out)]) == 0
    report = json.loads((out / "results.json").read_text())
    metrics = report["scores"]["metrics"]
    assert report["rows"] == len(bench_rows) and report["scores"]["missing"] == 0
    for task, key in [("det", "accuracy"), ("cls", "accuracy"), ("rdet", "accuracy"), ("bdet", "accuracy"), ("loc", "giou"), ("rseg", "giou")]:
        assert metrics[task][key] == 1.0, (task, key, metrics[task])
    if metrics["age"]["miou"] is not None:
        assert metrics["age"]["miou"] == 1.0
    assert set(report["baselines"]) == {"always-fake", "majority", "empty-mask", "whole-face", "location-prior", "query-region"}
    assert report["baselines"]["always-fake"]["metrics"]["det"]["accuracy"] < 1.0
    assert report["baselines"]["empty-mask"]["metrics"]["loc"]["giou"] < 1.0
    assert report["prediction_file_problems"] == [f"{predictions}:{len(bench_rows) + 1}: not JSON (Expecting value)"]
    assert report["predictions_for_other_rows"] == 1
    table = (out / "results.md").read_text()
    assert "| det | accuracy |" in table and "always-fake" in table and "whole-face" in table
    if report["gallery"]:
        assert (out / "age_gallery.png").stat().st_size > 0


def test_unanswered_rows_are_scored_as_wrong_not_dropped(small_build, bench_rows, tmp_path):
    answered = [r for r in bench_rows if r["task"] != "det"]
    predictions = _truth_file(answered, tmp_path / "partial.jsonl")
    out = tmp_path / "results"
    main(["--predictions", str(predictions), "--dataset", str(small_build), "--tasks", "det,cls", "--limit", str(LIMIT), "--no-captions", "--out", str(out)])
    report = json.loads((out / "results.json").read_text())
    det_rows = sum(r["task"] == "det" for r in bench_rows)
    assert report["scores"]["missing"] == det_rows
    assert report["scores"]["metrics"]["det"]["accuracy"] == 0.0
    assert report["scores"]["metrics"]["cls"]["accuracy"] == 1.0
    assert set(report["scores"]["metrics"]) == {"det", "cls"}


@pytest.mark.slow
def test_a_checkpoint_answers_every_row_and_its_answers_can_be_scored_again(small_build, bench_rows, tmp_path):
    texts = [answer_of(r) for r in bench_rows] * 2
    base, processor = tiny_llava(texts)
    checkpoint = FiFaModel.create(base, processor, base_model="tiny-llava", mask_size=32, decoder_dim=32, decoder_heads=4).save_pretrained(tmp_path / "tiny")
    out = tmp_path / "results"
    argv = ["--dataset", str(small_build), "--limit", "1", "--max-new-tokens", "6", "--no-captions"]
    main(["--model", str(checkpoint), *argv, "--out", str(out)])
    report = json.loads((out / "results.json").read_text())
    lines = (out / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == report["rows"] == len({r["task"] for r in bench_rows})
    assert report["generation"]["rows_per_second"] > 0
    again = tmp_path / "again"
    main(["--predictions", str(out / "predictions.jsonl"), *argv, "--out", str(again)])
    rescored = json.loads((again / "results.json").read_text())

    def same(a, b) -> bool:
        return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b))

    for task, metrics in report["scores"]["metrics"].items():
        assert all(same(v, rescored["scores"]["metrics"][task][k]) for k, v in metrics.items()), task

    broken = dict(bench_rows[0], id="broken", image={"bytes": b"not an image", "path": "broken.png"})
    predictions, speed = model_predictions(str(checkpoint), [bench_rows[0], broken, bench_rows[1]], batch_size=3, max_new_tokens=2)
    assert set(predictions) == {bench_rows[0]["id"], bench_rows[1]["id"]}  # one unreadable row never stops the run
    assert len(speed["not_answered"]) == 1 and speed["not_answered"][0].startswith("broken: ")


@pytest.mark.slow  # a fresh interpreter
def test_bad_arguments_end_with_a_clear_error(small_build, tmp_path, capsys):
    missing = subprocess.run(
        [
            sys.executable,
            str(ROOT / "model" / "evaluate.py"),
            "--predictions",
            str(tmp_path / "none.jsonl"),
            "--dataset",
            str(small_build),
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        check=False,
        text=True,
    )
    assert missing.returncode != 0 and "none.jsonl" in missing.stderr and "Traceback" not in missing.stderr
    assert (
        main(["--predictions", str(_truth_file([], tmp_path / "empty.jsonl")), "--dataset", str(small_build), "--tasks", "nope", "--out", str(tmp_path / "r")])
        == 2
    )
    assert "--tasks: unknown tasks" in capsys.readouterr().err and not (tmp_path / "r").exists()
