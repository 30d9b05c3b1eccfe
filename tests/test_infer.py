"""``model/infer.py``: one question about a real face photo in, answer text, mask PNGs, overlay and JSON out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fifa_data.core import masks as masklib
from fifa_data.faces.concepts import concept_masks
from fifa_data.scoring.parse import parse_answer
from fifa_data.tasks.questions import QUESTIONS
from model.generation import Answer
from model.infer import (
    grounded_text,
    main,
    mask_records,
    parse_args,
    prepare,
)
from model.modeling import SEG, FiFaModel

SCRIPT = Path(__file__).resolve().parents[1] / "model" / "infer.py"
FACE_BOX = "180,60,320,230"  # around the astronaut's face


def _run(checkpoint: Path, photo: Path, out: Path, *extra: str) -> int:
    return main(["--model", str(checkpoint), "--image", str(photo), "--out", str(out), "--max-new-tokens", "6", *extra])


def _check_masks(out: Path, record: dict, size: tuple[int, int]) -> None:
    assert sorted(p.name for p in out.glob("mask_*.png")) == sorted(m["file"] for m in record["masks"])
    for i, entry in enumerate(record["masks"], start=1):
        assert entry["file"] == f"mask_{i}.png"
        with Image.open(out / entry["file"]) as png:
            assert png.mode == "L" and png.size == size[::-1]
            pixels = np.asarray(png)
        assert set(np.unique(pixels)) <= {0, 255}
        mask = pixels == 255
        assert np.array_equal(masklib.decode(entry["rle"]), mask)
        assert entry["area"] == int(mask.sum()) and entry["bbox"] == masklib.bbox(mask)


def test_age_writes_a_mask_per_seg_an_overlay_and_the_json(checkpoint, photo, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(checkpoint, photo, out) == 0
    record = json.loads((out / "answer.json").read_text())
    assert record["task"] == "age" and record["image"] == str(photo)
    assert record["question"] == QUESTIONS["age"][0]
    assert record["parsed"]["task"] == "age" and record["parsed"]["text"] == record["answer"]
    segs = record["answer"].count(SEG)
    assert segs >= 1, "the test needs a generated [SEG]"
    assert len(list(out.glob("mask_*.png"))) == segs == len(record["masks"]) == record["parsed"]["segs"]
    assert [m["phrase"] for m in record["masks"]] == record["parsed"]["seg_phrases"]
    _check_masks(out, record, (512, 512))
    with Image.open(out / "overlay.png") as overlay:
        assert overlay.width > 512 and overlay.height >= 512
    said = capsys.readouterr().out.splitlines()[0]  # a random model: the answer is usually malformed, and says so
    assert said.endswith(" ".join(record["answer"].split()) or "(empty)")
    assert said.startswith(("answer: ", "answer (no words")) if record["parsed"]["ok"] else said.startswith("answer (not a well-formed age answer: ")


def test_bdet_asks_about_the_box(checkpoint, photo, tmp_path):
    out = tmp_path / "out"
    assert _run(checkpoint, photo, out, "--task", "bdet", "--box", FACE_BOX) == 0
    record = json.loads((out / "answer.json").read_text())
    assert record["task"] == "bdet" and record["question"] == "Is anything inside the box [180, 60, 320, 230] manipulated?"
    assert "verdict" in record["parsed"] and (out / "overlay.png").is_file()
    _check_masks(out, record, (512, 512))


def test_rseg_asks_about_the_concept_with_its_mask(checkpoint, photo, tmp_path):
    out = tmp_path / "out"
    assert _run(checkpoint, photo, out, "--task", "rseg", "--concept", "nose") == 0
    record = json.loads((out / "answer.json").read_text())
    assert record["task"] == "rseg" and record["question"] == "Segment the manipulated part of the nose."
    _check_masks(out, record, (512, 512))


def test_rows_carry_the_region_input(checkpoint, photo, tmp_path):
    common = ["--model", str(checkpoint), "--image", str(photo), "--out", str(tmp_path / "out")]
    row, rgb = prepare(parse_args([*common, "--task", "rexp", "--concept", "tip of the nose", "--question", "What about the {concept}?"]))
    assert row["query_concept"] == "nose.tip" and row["messages"][0]["content"][1]["text"] == "What about the nose tip?"
    assert np.array_equal(masklib.decode(row["query_mask"]), concept_masks(rgb).mask("nose.tip"))
    assert row["image"] == {"bytes": photo.read_bytes(), "path": "astronaut.jpg"} and row["boxes"] == []
    row, _ = prepare(parse_args([*common, "--task", "bexp", "--box", "10.5, 20, 30, 40"]))
    assert row["boxes"] == [[10.5, 20.0, 30.0, 40.0]] and row["query_mask"] is None


def test_spelled_out_seg_without_a_mask_is_not_grounded(checkpoint):
    model = FiFaModel.from_pretrained(checkpoint)
    tokenizer = model.processor.tokenizer
    ids = [*tokenizer.encode("<p>the nose</p>", add_special_tokens=False), model.seg_token_id, *tokenizer.encode(" and [seg]", add_special_tokens=False)]
    answer = Answer(text=tokenizer.decode(ids, skip_special_tokens=False), masks=[np.ones((4, 4), bool)], token_ids=ids)
    assert grounded_text(answer, model) == "<p>the nose</p>[SEG] and SEG"


def test_each_mask_gets_the_phrase_and_concept_of_its_seg():
    masks = [np.zeros((8, 8), bool), np.zeros((8, 8), bool)]
    masks[0][2:4, 1:5] = True
    records = mask_records(masks, parse_answer("age", "The <p>upper lip</p> [SEG] is dark; see also [SEG]."))
    assert [(r["file"], r["phrase"], r["concept"]) for r in records] == [("mask_1.png", "upper lip", "lips.upper"), ("mask_2.png", None, None)]
    assert records[0]["bbox"] == [1.0, 2.0, 5.0, 4.0] and records[0]["area"] == 8 and records[1]["bbox"] is None


# --- bad inputs: one "error:" line, exit status 2, nothing written ------------------------------


def _grey(path: Path) -> Path:
    Image.fromarray(np.full((300, 400, 3), 128, np.uint8)).save(path)
    return path


def _text(path: Path) -> Path:
    path.write_text("not a picture")
    return path


def _folder(path: Path, config: str | None = None) -> Path:
    path.mkdir()
    if config is not None:
        (path / "fifa_config.json").write_text(config)
    return path


BAD_INPUTS = {
    "model folder missing": (lambda c, p, t: ["--model", str(t / "nowhere")], "--model {t}/nowhere: no such folder"),
    "model not a checkpoint": (lambda c, p, t: ["--model", str(_folder(t / "empty"))], "not a FiFa-MLLM checkpoint (no fifa_config.json)"),
    "model broken": (lambda c, p, t: ["--model", str(_folder(t / "broken", "{}"))], "broken: cannot load the checkpoint"),
    "image missing": (lambda c, p, t: ["--image", str(t / "gone.jpg")], "{t}/gone.jpg: file not found"),
    "not an image": (lambda c, p, t: ["--image", str(_text(t / "notes.jpg"))], "notes.jpg: not an image Pillow can read"),
    "no face": (lambda c, p, t: ["--image", str(_grey(t / "grey.png"))], "grey.png: no face found in the 400x300 image"),
    "box malformed": (lambda c, p, t: ["--task", "bdet", "--box", "1,2,3"], "--box '1,2,3': expected four numbers"),
    "box not numbers": (lambda c, p, t: ["--task", "bexp", "--box", "a,b,c,d"], "--box 'a,b,c,d': expected four numbers"),
    "box empty": (lambda c, p, t: ["--task", "bdet", "--box", "50,50,40,80"], "--box '50,50,40,80': empty box"),
    "box outside": (lambda c, p, t: ["--task", "bdet", "--box", "0,0,600,100"], "--box '0,0,600,100': outside the 512x512 image"),
    "box negative": (lambda c, p, t: ["--task", "bdet", "--box=-1,0,60,100"], "outside the 512x512 image"),
    "box for age": (lambda c, p, t: ["--box", FACE_BOX], "--box is only for the box tasks bdet, bexp (got --task age)"),
    "box missing": (lambda c, p, t: ["--task", "bexp"], "--task bexp needs --box"),
    "concept unknown": (
        lambda c, p, t: ["--task", "rseg", "--concept", "nosee"],
        "--concept 'nosee': not a FICT concept id, name or synonym; did you mean nose",
    ),
    "concept not visible": (lambda c, p, t: ["--task", "rdet", "--concept", "hair.left.length"], "--concept 'hair.left.length': not visible in the face of"),
    "concept for age": (lambda c, p, t: ["--concept", "nose"], "--concept is only for the region tasks rdet, rexp, rseg (got --task age)"),
    "concept missing": (lambda c, p, t: ["--task", "rexp"], "--task rexp needs --concept"),
    "no new tokens": (lambda c, p, t: ["--max-new-tokens", "0"], "--max-new-tokens 0: must be at least 1"),
    "seg in question": (lambda c, p, t: ["--question", "Where is the [SEG]?"], "must not contain [SEG]"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gives_one_error_line_and_exit_2(case, checkpoint, photo, tmp_path, capsys):
    make_args, message = BAD_INPUTS[case]
    argv = ["--model", str(checkpoint), "--image", str(photo), "--out", str(tmp_path / "out"), *make_args(checkpoint, photo, tmp_path)]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message.format(t=tmp_path) in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_unknown_task_is_refused_by_argparse(checkpoint, photo, tmp_path, capsys):
    assert main(["--model", str(checkpoint), "--image", str(photo), "--out", str(tmp_path / "out"), "--task", "dance"]) == 2
    assert "--task: invalid choice: 'dance'" in capsys.readouterr().err


@pytest.mark.slow  # a fresh interpreter
def test_the_script_exits_2_without_a_traceback(photo, tmp_path):
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--model", str(tmp_path / "nowhere"), "--image", str(photo), "--out", str(tmp_path / "out")],
        check=False, capture_output=True, text=True, timeout=120,
    )
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert run.returncode == 2 and len(errors) == 1 and "nowhere: no such folder" in errors[0], run.stderr
    assert "Traceback" not in run.stderr
