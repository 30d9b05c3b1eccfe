"""The bundled sample source end to end: simulated pairs on disk, read back, checked and masked."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fifa_data.annotate.artifacts import artifact_mask
from fifa_data.core import masks as masklib
from fifa_data.core.images import load_rgb
from fifa_data.core.schema import MANIPULATIONS
from fifa_data.pairs import photos
from fifa_data.pairs.loading import LoadedPair, load_pairs
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sample_source import write_sample_pairs
from fifa_data.pairs.sources import FolderPairs, ManifestPairs, open_source

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ("astronaut", "grace_hopper")


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    summary = write_sample_pairs(root, n=20, seed=3, photos=PHOTOS, views=("full",))
    assert summary.pairs == 20 and summary.skipped == []
    return root


@pytest.fixture(scope="module")
def loaded(source):
    items = list(load_pairs(open_source(source)))
    rejects = [r for r in items if isinstance(r, Reject)]
    assert rejects == [], rejects
    return items


def test_layout_and_manifest(source):
    assert {p.name for p in source.iterdir()} == {"real", "fake", "pairs.csv"}
    assert (source / "real/full/astronaut.png").read_bytes() == photos.photo_file("astronaut").read_bytes()
    assert (source / "real/full/grace_hopper.jpg").read_bytes() == photos.photo_file("grace_hopper").read_bytes()
    pairs, rejects = open_source(source).scan()
    assert isinstance(open_source(source), ManifestPairs) and rejects == []
    assert sorted({p.manipulation for p in pairs}) == sorted(MANIPULATIONS)
    assert {p.source_id for p in pairs} == set(PHOTOS)
    for pair in pairs:
        params = json.loads(pair.extra["params"])
        assert 0 <= params["strength"] <= 1 and params["encoding"]["format"] in ("jpeg", "png")
        truth = masklib.decode(json.loads(pair.extra["edit_mask"]))
        assert truth.shape == load_rgb(pair.fake_file).shape[:2] and truth.any()


def test_the_folder_rule_reads_the_same_files(source):
    by_manifest = {(p.real_path, p.fake_path, p.manipulation) for p in open_source(source).scan()[0]}
    by_folder, rejects = FolderPairs(source).scan()
    assert rejects == []
    assert {(p.real_path, p.fake_path, p.manipulation) for p in by_folder} == by_manifest


def test_same_seed_same_bytes_other_seed_other_fakes(tmp_path, source):
    again = tmp_path / "again"
    write_sample_pairs(again, n=20, seed=3, photos=PHOTOS, views=("full",))
    assert _digests(again) == _digests(source)
    other = tmp_path / "other"
    write_sample_pairs(other, n=20, seed=4, photos=PHOTOS, views=("full",))
    first, second = _digests(source), _digests(other)
    assert first["real/full/astronaut.png"] == second["real/full/astronaut.png"]
    assert sum(first[k] != second.get(k) for k in first if k.startswith("fake/")) >= 18


def test_adaptive_masks_find_simulated_edits_better_than_paper_masks(loaded):
    """Both modes against the simulator's ground truth, per manipulation type."""
    scores: dict[str, dict[str, list[float]]] = {}
    for pair in loaded:
        assert isinstance(pair, LoadedPair)
        truth = masklib.decode(json.loads(pair.ref.extra["edit_mask"]))
        per_mode = scores.setdefault(pair.ref.manipulation, {"adaptive": [], "paper": []})
        for mode in per_mode:
            per_mode[mode].append(masklib.iou(artifact_mask(pair.real, pair.fake, mode).mask, truth))
    means = {m: {mode: float(np.mean(v)) for mode, v in s.items()} for m, s in scores.items()}
    wins = sum(s["adaptive"] > s["paper"] for s in means.values())
    # 6 of 10: with colour outlines (artifacts.colour_outlines) the two warps of these portraits fall
    # just below the paper rule's 5 %, a trade the held-out faithfulness bench measured as a net gain
    assert wins >= 6, means
    for manipulation in ("lip_color", "hair_color", "eye_enlarge", "eyebrow", "beard", "ageing"):
        assert means[manipulation]["adaptive"] > means[manipulation]["paper"], means
    assert np.mean([s["adaptive"] for s in means.values()]) > np.mean([s["paper"] for s in means.values()]) + 0.1
    for manipulation in ("lip_color", "hair_color", "beard"):
        assert means[manipulation]["adaptive"] > 0.5, means


def test_face_view_and_greyscale_photo(tmp_path):
    summary = write_sample_pairs(tmp_path, n=4, seed=0, photos=("camera", "astronaut"), manipulations=("lip_color", "glasses"))
    # The cameraman's turned face, upscaled in the face view, is found by the short-range detector.
    assert summary.skipped == []
    assert summary.reals == ["real/full/camera.png", "real/full/astronaut.png", "real/face/camera.png", "real/face/astronaut.png"]
    items = list(load_pairs(open_source(tmp_path)))
    assert all(isinstance(i, LoadedPair) for i in items)
    camera = [i for i in items if i.ref.source_id == "camera"]
    assert camera and all(i.grayscale for i in camera)


def test_cli(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/simulate.py"), "--out", str(tmp_path), "-n", "3", "--photos", "astronaut", "--views", "full"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote 3 pairs from 1 real images" in result.stdout
    assert len(list((tmp_path / "fake").rglob("*.*"))) == 3
