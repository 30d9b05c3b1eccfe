"""A mask-only set (SID-Set's ``<name>.png`` + ``<name>_mask.png``, no real image) builds end to end:
the given masks are the artifact masks, every task is written, no real image appears, and the
texts say that the real was not available instead of stating colour or shape changes."""

import json
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
from build_cli import build_pairs
from layout_videos import edit

from fifa_data.annotate.fake_only import NO_REAL
from fifa_data.core import masks as masklib
from fifa_data.core.images import encode_image
from fifa_data.core.schema import TASKS

WRITTEN = {"images/0000": ("astronaut", "lip_color"), "images/0001": ("grace_hopper", "hair_color"),
           "images/lip_color/0002": ("astronaut", "lip_color")}


def write_sid_set(root: Path) -> Path:
    """A miniature SID-Set-like tree: fakes with ``*_mask.png`` beside them, one in a folder naming its manipulation."""
    for stem, (photo, manipulation) in WRITTEN.items():
        e = edit(photo, manipulation)
        (root / stem).parent.mkdir(parents=True, exist_ok=True)
        (root / f"{stem}.png").write_bytes(encode_image(e.fake))
        (root / f"{stem}_mask.png").write_bytes(encode_image(e.mask.astype(np.uint8) * 255))
    (root / "images/0001.txt").write_text("The hair was recoloured.\n")  # MMTT-style text beside a fake
    return root


@pytest.mark.slow
def test_a_mask_only_set_builds_every_task_from_its_masks(tmp_path):
    source, out = write_sid_set(tmp_path / "sid"), tmp_path / "fifa"
    assert build_pairs(source, out)["rejected"] == {}

    pairs = [row for split in datasets.load_dataset(str(out), "pairs").values() for row in split]
    assert sorted(row["source_id"] for row in pairs) == sorted(WRITTEN)
    for row in pairs:
        photo, manipulation = WRITTEN[row["source_id"]]
        assert row["real"] is None and row["real_path"] is None and row["fake_path"] == f"{row['source_id']}.png"
        assert row["layout"] == "mask_only" and row["mask_meaning"] == "region"
        assert row["manipulation"] == ("lip_color" if "lip_color/" in row["fake_path"] else "tampered")
        assert json.loads(row["mask_params"]) == {"mode": "given", "path": f"masks/{row['source_id']}_mask.png", "reference": "none"}
        assert np.array_equal(masklib.decode(row["artifact_mask"]), edit(photo, manipulation).mask)
        assert row["grounded"] and row["writer"] == "fake_only" and NO_REAL in row["explanation_plain"]
        assert "ΔE" not in row["explanation_plain"]
        assert all(not e["facts"] for e in row["evidence"]), "no colour, texture or shape fact without the real"
        if row["source_id"] == "images/0001":
            assert json.loads(row["source_fields"])["text"] == "The hair was recoloured."
    lips = next(row for row in pairs if row["source_id"] == "images/0000")
    assert "lips" in lips["grounded"]

    for task in TASKS:
        rows = [row for f in sorted((out / "tasks" / task).rglob("*.parquet")) for row in pq.read_table(f).to_pylist()]
        assert rows, f"{task}: no rows"
        assert {row["source_id"] for row in rows} <= set(WRITTEN)
        if task in ("det", "cls", "loc", "age", "toe", "breg"):
            assert {row["label"] for row in rows} == {"fake"}, task  # no real image to show
    age = [row for f in sorted((out / "tasks" / "age").rglob("*.parquet")) for row in pq.read_table(f).to_pylist()]
    assert all(NO_REAL in row["messages"][1]["content"][0]["text"] for row in age)
