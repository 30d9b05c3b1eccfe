"""``scripts/annotate.py`` and ``scripts/age_gallery.py``: pairs in, rows, annotations and pictures out."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
from PIL import Image

from fifa_data.core import masks as masklib
from fifa_data.core.fict import load_fict
from fifa_data.core.images import upright_size
from fifa_data.core.schema import TASKS
from fifa_data.pairs.sample_source import write_sample_pairs
from fifa_data.tasks.check import check_row

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    write_sample_pairs(root, 4, seed=1, photos=("grace_hopper",), views=("face",), manipulations=("lip_color", "hair_color", "eyebrow", "beard"))
    return root


def test_annotate_writes_rows_annotations_and_pictures(pairs, tmp_path):
    main = runpy.run_path(str(SCRIPTS / "annotate.py"))["main"]
    out = tmp_path / "out"
    assert main([str(pairs), "--out", str(out), "--render", "2"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["accepted"] + sum(summary["image_level_only"].values()) + sum(summary["rejected"].values()) == 4
    assert summary["guard"]["inconsistent"] == 0
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    assert {r["task"] for r in rows} == set(TASKS)
    assert all("bytes" not in r["image"] for r in rows)
    fict = load_fict()
    real_bytes = {p.relative_to(pairs).as_posix(): p.read_bytes() for p in pairs.rglob("*.*") if p.suffix != ".csv"}
    for row in rows:  # the JSONL rows are the library's rows: they validate once the bytes are back
        check_row(dict(row, image={"bytes": real_bytes[row["image"]["path"]], "path": row["image"]["path"]}), fict)
    annotations = [json.loads(line) for line in (out / "annotations.jsonl").read_text().splitlines()]
    assert len(annotations) == summary["accepted"]
    first = annotations[0]
    assert first["decisions"]["config"]["min_share"] == 0.15
    assert set(first["concept_masks"]) == set(first["explanation"]["concepts"])
    height, width = upright_size(real_bytes[first["fake_path"]])
    assert masklib.decode(first["artifact_mask"]).shape == (height, width)
    pictures = sorted((out / "age").glob("*.png"))
    assert len(pictures) == min(2, summary["accepted"])
    assert Image.open(pictures[0]).width > width


def test_annotate_one_pair_and_bad_ids(pairs, tmp_path, capsys):
    main = runpy.run_path(str(SCRIPTS / "annotate.py"))["main"]
    out = tmp_path / "first"
    main([str(pairs), "--out", str(out), "--render", "0", "--tasks", "age"])
    pair_id = json.loads((out / "annotations.jsonl").read_text().splitlines()[0])["pair_id"]
    main([str(pairs), "--out", str(tmp_path / "one"), "--pair-id", pair_id, "--tasks", "age", "det"])
    rows = [json.loads(line) for line in (tmp_path / "one" / "rows.jsonl").read_text().splitlines()]
    assert {r["pair_id"] for r in rows if r["label"] == "fake"} == {pair_id}
    assert main([str(pairs), "--out", str(tmp_path / "none"), "--pair-id", "0000000000000000"]) == 2
    assert "no pair with id" in capsys.readouterr().err
    assert main([str(pairs), "--out", str(tmp_path / "llm"), "--writer", "llm"]) == 2
    assert "--llm-base-url" in capsys.readouterr().err


@pytest.mark.slow
def test_age_gallery_draws_every_manipulation(tmp_path):
    main = runpy.run_path(str(SCRIPTS / "age_gallery.py"))["main"]
    assert main(["--out", str(tmp_path)]) == 0
    examples = [json.loads(line) for line in (tmp_path / "age_examples.jsonl").read_text().splitlines()]
    assert len(examples) >= 9
    for example in examples:
        assert (tmp_path / f"age_{example['manipulation']}.png").exists()
        assert example["age"].count("[SEG]") >= 1
