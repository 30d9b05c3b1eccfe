"""Mask-only sets (a fake and its mask, no real image) are recognised and refused with the reason,
in one line naming the folder, not with a traceback or an empty build."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from layout_videos import edit

from fifa_data.core.images import encode_image
from fifa_data.pairs.layouts.detect import detect_layout
from fifa_data.pairs.sources import SourceError, open_source

ROOT = Path(__file__).resolve().parents[1]


def write_sid_set(root: Path) -> Path:
    e = edit("astronaut", "lip_color")
    (root / "images").mkdir(parents=True)
    (root / "images/0001.png").write_bytes(encode_image(e.fake))
    (root / "images/0001_mask.png").write_bytes(encode_image(e.mask.astype("uint8") * 255))
    return root


def test_mask_only_trees_are_recognised(tmp_path):
    assert detect_layout(write_sid_set(tmp_path / "sid")) == "mask_only"
    folders = tmp_path / "mmtt"
    (folders / "fake").mkdir(parents=True)
    (folders / "mask").mkdir()
    (folders / "fake/a.jpg").write_bytes(b"")
    (folders / "mask/a.png").write_bytes(b"")
    assert detect_layout(folders) == "mask_only"
    with pytest.raises(SourceError, match="a mask-only set \\(1 fake with a mask, no real images\\)"):
        open_source(folders).scan()


def test_build_refuses_a_mask_only_set_in_one_line(tmp_path):
    source = write_sid_set(tmp_path / "sid")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "scripts/build.py", "--pairs", str(source), "--out", str(tmp_path / "fifa"), "--no-progress"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert f"{source}: a mask-only set (1 fake with a mask" in result.stderr
    assert not (tmp_path / "fifa").exists()
