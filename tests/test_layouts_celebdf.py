"""Celeb-DF v2 read as it ships: ``Celeb-real/``, ``Celeb-synthesis/``, ``YouTube-real/`` and the test
list, as mp4 videos written from the bundled photos, then detected, scanned and built with
``scripts/build.py --pairs DIR``."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from build_cli import build_pairs
from layout_videos import FRAMES, base, clip, edit, moved, write_video

from fifa_data.core.images import load_image_file
from fifa_data.pairs.layouts.detect import detect_layout
from fifa_data.pairs.layouts.frames import LayoutOptions
from fifa_data.pairs.layouts.video import sample_indices
from fifa_data.pairs.sources import open_source

ROOT = Path(__file__).resolve().parents[1]
SWAPS = {"id0_id1_0000": ("astronaut", "face_swap", "grace_hopper"), "id1_id0_0001": ("grace_hopper", "face_swap", "astronaut")}


@pytest.fixture(scope="module")
def celebdf(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("celebdf") / "Celeb-DF-v2"
    write_video(root / "Celeb-real/id0_0000.mp4", clip(base("astronaut")))
    write_video(root / "Celeb-real/id1_0001.mp4", clip(base("grace_hopper")))
    for name, truth in SWAPS.items():
        write_video(root / f"Celeb-synthesis/{name}.mp4", clip(edit(*truth).fake))
    write_video(root / "Celeb-synthesis/id0_id1_0003.mp4", clip(edit(*SWAPS["id0_id1_0000"]).fake))  # no id0_0003: a reject
    write_video(root / "YouTube-real/00000.mp4", clip(base("astronaut")))  # unpaired reals: not read
    (root / "List_of_testing_videos.txt").write_text("1 Celeb-real/id1_0001.mp4\n0 Celeb-synthesis/id1_id0_0001.mp4\n")
    return root


def test_celebdf_pairs_by_target_clip_and_splits_by_the_test_list(celebdf, tmp_path):
    assert detect_layout(celebdf) == "celebdf"
    pairs, rejects = open_source(celebdf, LayoutOptions(frames_per_video=3, work=tmp_path)).scan()
    assert [(r.reason, r.fake) for r in rejects] == [("unpaired_fake", "Celeb-synthesis/id0_id1_0003.mp4")]
    assert len(pairs) == 2 * 3
    for p in pairs:
        name = Path(p.extra["video"]).stem
        photo, *_ = SWAPS[name]
        assert p.source_id == {"id0_id1_0000": "id0_0000", "id1_id0_0001": "id1_0001"}[name]
        assert p.extra["split"] == {"id0_0000": "train", "id1_0001": "test"}[p.source_id]
        assert p.manipulation == "celeb_synthesis" and p.mask_path is None and "mask_meaning" not in p.extra
        k = int(p.extra["frame_index"])
        assert k in sample_indices(FRAMES, 3)
        real, fake = load_image_file(p.real_file)[1], load_image_file(p.fake_file)[1]
        errors = [np.abs(real.astype(int) - moved(base(photo), j)).mean() for j in range(FRAMES)]
        assert int(np.argmin(errors)) == k  # frame k of the original, paired with frame k of the fake
        errors = [np.abs(fake.astype(int) - moved(edit(*SWAPS[name]).fake, j)).mean() for j in range(FRAMES)]
        assert int(np.argmin(errors)) == k


@pytest.mark.slow
def test_build_reads_celebdf_end_to_end(celebdf, tmp_path):
    out = tmp_path / "fifa"
    stats = build_pairs(celebdf, out, "--frames-per-video", "1", "--configs", "pairs")
    assert stats["rejected"].get("unpaired_fake") == 1

    import datasets

    rows = datasets.load_dataset(str(out), "pairs")
    assert {split: [r["source_id"] for r in rows[split]] for split in rows} == {"train": ["id0_0000"], "test": ["id1_0001"]}
    for split in rows.values():
        for row in split:
            assert row["family"] == "identity_swap" and json.loads(row["mask_params"])["mode"] != "given"
            assert row["video"].startswith("Celeb-synthesis/") and row["real_video"].startswith("Celeb-real/")


@pytest.mark.slow
def test_annotate_reads_celebdf_videos(celebdf, tmp_path):
    out = tmp_path / "annotated"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "scripts/annotate.py", str(celebdf), "--out", str(out), "--layout", "celebdf", "--frames-per-video", "1", "--render", "0"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    annotations = [json.loads(line) for line in (out / "annotations.jsonl").read_text().splitlines()]
    assert sorted(a["source_id"] for a in annotations) == ["id0_0000", "id1_0001"]
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert [r["reason"] for r in rejects] == ["unpaired_fake"]
