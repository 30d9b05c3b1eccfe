"""Prediction files (fifa_data.scoring.predictions): round trips, RLE normalisation, and every kind of bad line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from fifa_data.core import masks
from fifa_data.scoring.predictions import (
    Prediction,
    mask_rle,
    normalise_rle,
    read_predictions,
    write_predictions,
)

MASK = np.array([[0, 1, 1], [0, 1, 0]], bool)  # 2 x 3; column-major runs: 2 background, 3 foreground, 1 background
RLE = mask_rle(MASK)


def _write(tmp_path, *lines: str):
    path = tmp_path / "predictions.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_mask_rle_is_pycocotools_compressed_rle_with_str_counts():
    expected = coco_mask.encode(np.asfortranarray(MASK.astype(np.uint8)))
    assert RLE == {"size": [2, 3], "counts": expected["counts"].decode()}
    assert (masks.decode(RLE) == MASK).all()


def test_round_trip(tmp_path):
    predictions = [
        Prediction("age-1-0", "<p>The lips</p> [SEG] look red; <p>the nose</p> [SEG] too.", [RLE, None]),
        Prediction("det-1-0", "Fake."),
        Prediction("toe-1-0", None),
        Prediction("rseg-1-0", "Sure, [SEG]. Café ünïcode", [mask_rle(~MASK)]),
    ]
    path = tmp_path / "out.jsonl"
    write_predictions(path, predictions)
    assert len(path.read_text(encoding="utf-8").splitlines()) == 4
    read, problems = read_predictions(path)
    assert problems == []
    assert read == {p.id: p for p in predictions}


def test_masks_are_optional_and_blank_lines_are_skipped(tmp_path):
    path = _write(tmp_path, '{"id": "det-1-0", "answer": "Real."}', "", "   ", '{"id": "loc-1-0", "answer": "[SEG]", "masks": null}')
    read, problems = read_predictions(path)
    assert problems == []
    assert read == {"det-1-0": Prediction("det-1-0", "Real.", []), "loc-1-0": Prediction("loc-1-0", "[SEG]", [])}


def test_uncompressed_and_bytes_counts_are_normalised_to_the_compressed_string(tmp_path):
    uncompressed = {"size": [2, 3], "counts": [2, 3, 1]}  # COCO's uncompressed RLE of MASK
    path = _write(tmp_path, json.dumps({"id": "loc-1-0", "answer": "[SEG]", "masks": [uncompressed, RLE]}))
    read, problems = read_predictions(path)
    assert problems == []
    assert read["loc-1-0"].masks == [RLE, RLE]
    assert normalise_rle({"size": [2, 3], "counts": RLE["counts"].encode()}) == RLE
    assert normalise_rle(MASK) == RLE


def test_every_bad_line_is_a_problem_with_file_and_line_number(tmp_path):
    path = _write(
        tmp_path,
        '{"id": "det-1-0", "answer": "Fake."}',  # 1 fine
        "not json at all",  # 2
        '["det-1-1", "Fake."]',  # 3 not an object
        '{"answer": "Fake."}',  # 4 no id
        '{"id": 7, "answer": "Fake."}',  # 5 id not a string
        '{"id": "det-1-0", "answer": "Real."}',  # 6 duplicate: the first is kept
        '{"id": "det-1-2", "answer": 3}',  # 7 answer not a string -> None
        '{"id": "det-1-3"}',  # 8 no answer -> None
        json.dumps({"id": "loc-1-0", "answer": "[SEG] [SEG] [SEG]", "masks": [RLE, {"size": [2, 3], "counts": [2, 3]}, "x"]}),  # 9 bad masks
        '{"id": "loc-1-1", "answer": "[SEG]", "masks": {"size": [2, 3]}}',  # 10 masks not a list
        "",  # 11 blank: fine
        '{"id": "det-1-4", "answer": "Fake."',  # 12 truncated JSON
    )
    read, problems = read_predictions(path)
    assert sorted(read) == ["det-1-0", "det-1-2", "det-1-3", "loc-1-0", "loc-1-1"]
    assert read["det-1-0"].answer == "Fake."
    assert read["det-1-2"].answer is None and read["det-1-3"].answer is None
    assert read["loc-1-0"].masks == [RLE, None, None]
    assert read["loc-1-1"].masks == []
    lines = [int(p[len(str(path)) + 1 :].split(":")[0]) for p in problems]
    assert lines == [2, 3, 4, 5, 6, 7, 8, 9, 9, 10, 12]
    assert all(p.startswith(f"{path}:") for p in problems)
    text = "\n".join(problems)
    for reason in (
        ":2: not JSON",
        ":3: not a JSON object (a array)",
        ":4: missing id",
        ":5: id is not a string (a number)",
        ":6: duplicate id 'det-1-0' (the line 1 one is kept)",
        ":7: answer is not a string (a number)",
        ":8: missing answer",
        ":9: mask 1 is not a valid RLE",
        ":9: mask 2 is not a valid RLE",
        ":10: masks is not a list (a object)",
        ":12: not JSON",
    ):
        assert reason in text, reason


def test_a_line_that_is_not_utf8_is_a_problem(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"id": "det-1-0", "answer": "Fake."}\n{"id": "det-1-1", "answer": "\xff"}\n')
    read, problems = read_predictions(path)
    assert list(read) == ["det-1-0"]
    assert problems == [f"{path}:2: not UTF-8 text"]


def test_a_missing_file_raises_with_its_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        read_predictions(tmp_path / "nope.jsonl")


def test_writing_an_invalid_mask_raises(tmp_path):
    with pytest.raises(ValueError):
        write_predictions(tmp_path / "p.jsonl", [Prediction("loc-1-0", "[SEG]", [{"size": [2, 3], "counts": [1]}])])
