"""``scripts/concepts.py``: a user's photo in, overlay PNGs and RLE JSON out; clear errors otherwise."""

import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fifa_data.core import masks as masklib

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "concepts.py"


@pytest.fixture(scope="module")
def cli():
    return runpy.run_path(str(SCRIPT))["main"]


def test_writes_overlays_and_masks(cli, tmp_path, astronaut):
    photo = tmp_path / "me.jpg"
    Image.fromarray(astronaut).save(photo, quality=92)
    assert cli([str(photo), "--out", str(tmp_path / "out")]) == 0
    record = json.loads((tmp_path / "out" / "me_concepts.json").read_text())
    assert record["size"] == [512, 512] and record["num_faces"] == 1
    assert record["uncovered_face_share"] < 0.02 and len(record["masks"]) >= 100
    iris = masklib.decode(record["masks"]["eye.left.iris"])
    assert iris.shape == (512, 512) and 20 < iris.sum() < 400
    for name in ("me_concepts.png", "me_concepts_face.png"):
        with Image.open(tmp_path / "out" / name) as overlay:
            assert overlay.width > 512 and overlay.height >= 512


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "missing.jpg: file not found"),
        (lambda p: p.write_text("not a picture"), "missing.jpg: not an image"),
        (lambda p: Image.fromarray(np.full((300, 400, 3), 90, np.uint8)).save(p, format="JPEG"), "missing.jpg: no face found"),
    ],
)
def test_bad_inputs_exit_with_one_line(tmp_path, make, message):
    photo = tmp_path / "missing.jpg"
    make(photo)
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(photo), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], run.stderr
    assert not (tmp_path / "out").exists()
