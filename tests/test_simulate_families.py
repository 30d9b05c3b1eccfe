"""The forgery-family edits of the simulator (face swap, self-blend, reenactment, part swap, inpainting) on
real photos of two identities, and `scripts/simulate.py --photos DIR` end to end through the build."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import polars as pl
import pytest
from PIL import Image

from fifa_data.core.masks import decode
from fifa_data.faces.concepts import concept_masks
from fifa_data.faces.detect import analyze_face
from fifa_data.pairs.simulate import CHANGE_LEVELS, DONOR_EDITS, FAMILY_EDITS, EditNotApplicable, simulate_edit
from fifa_data.pairs.simulate.blends import warp_to_mesh
from fifa_data.pairs.simulate.swaps import SWAP_PARTS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def people(astronaut, grace_hopper):
    """Both photos with their analyses: two identities, each the other's donor."""
    out = {}
    for name, image in (("astronaut", astronaut), ("grace_hopper", grace_hopper)):
        face = analyze_face(image)
        out[name] = (image, face, concept_masks(image, face))
    return out


def _edit(people, target: str, manipulation: str, seed: int):
    image, face, concepts = people[target]
    donor = "grace_hopper" if target == "astronaut" else "astronaut"
    d_image, d_face, _ = people[donor]
    return simulate_edit(image, manipulation, seed, face=face, concepts=concepts, donor=d_image, donor_face=d_face)


def _first(people, target: str, manipulation: str, seeds=range(8), **want):
    for seed in seeds:
        try:
            edit = _edit(people, target, manipulation, seed)
        except EditNotApplicable:
            continue
        if all(edit.params.get(k) == v or edit.params.get("blend", {}).get(k) == v for k, v in want.items()):
            return edit
    raise AssertionError(f"no seed made {manipulation} {want} on {target}")


@pytest.mark.parametrize("target", ["astronaut", "grace_hopper"])
@pytest.mark.parametrize("manipulation", FAMILY_EDITS)
def test_family_edit_changes_only_inside_its_truth_mask(people, target, manipulation):
    edit = _first(people, target, manipulation)
    image, face, _ = people[target]
    changed = np.abs(edit.fake.astype(np.int16) - image.astype(np.int16)).max(axis=2)
    assert edit.fake.shape == image.shape and edit.fake.dtype == np.uint8
    assert edit.mask.any() and changed[~edit.mask].max() <= CHANGE_LEVELS
    assert (changed[edit.mask] > CHANGE_LEVELS).any()
    x0, y0, x1, y1 = face.box  # the edit stays on the face: inside its box grown by half its size
    w, h = x1 - x0, y1 - y0
    ys, xs = np.nonzero(edit.mask)
    assert xs.min() >= x0 - 0.5 * w and xs.max() <= x1 + 0.5 * w and ys.min() >= y0 - 0.5 * h and ys.max() <= y1 + 0.5 * h
    json.dumps(edit.params)


@pytest.mark.parametrize("manipulation", FAMILY_EDITS)
def test_family_edit_same_seed_same_bytes(people, manipulation):
    a, b = _first(people, "astronaut", manipulation, seeds=[3, 4, 5]), None
    seed = next(s for s in (3, 4, 5) if np.array_equal(_safe(people, manipulation, s), a.fake))
    b = _edit(people, "astronaut", manipulation, seed)
    assert a.fake.tobytes() == b.fake.tobytes() and np.array_equal(a.mask, b.mask) and a.params == b.params


def _safe(people, manipulation, seed):
    try:
        return _edit(people, "astronaut", manipulation, seed).fake
    except EditNotApplicable:
        return None


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.astype(np.float64).ravel(), b.astype(np.float64).ravel())[0, 1])


@pytest.mark.parametrize("manipulation", ["face_swap", "part_swap"])
def test_swaps_bring_the_donors_pixels(people, manipulation):
    image, face, _ = people["astronaut"]
    donor, donor_face, _ = people["grace_hopper"]
    edit = _first(people, "astronaut", manipulation)
    aligned = warp_to_mesh(donor, donor_face.landmarks, face.landmarks, image.shape[:2])
    inner = cv2.erode(edit.mask.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    gray = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[inner] for x in (edit.fake, image, aligned)]
    assert _corr(gray[0], gray[2]) > _corr(gray[0], gray[1])


@pytest.mark.parametrize("part", list(SWAP_PARTS))
def test_part_swap_stays_on_its_part(people, part):
    edit = _first(people, "grace_hopper", "part_swap", seeds=range(40), part=part)
    _, face, concepts = people["grace_hopper"]
    core = np.zeros_like(edit.mask)
    for concept in SWAP_PARTS[part]:
        core |= concepts.mask(concept)
    unit = float(np.linalg.norm(face.landmarks[263, :2] - face.landmarks[33, :2]))
    r = round(0.2 * unit)  # the clone region is the part grown by at most 0.1 eye distances
    near = cv2.dilate(core.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0
    assert (edit.mask & core).sum() > 0.8 * core.sum()
    assert (edit.mask & ~near).sum() < 0.05 * edit.mask.sum()


SEAMS = [("face_swap", "feather"), ("face_swap", "poisson"), ("self_blend", "feather"), ("part_swap", "poisson"), ("inpaint", None)]


@pytest.mark.parametrize("manipulation,kind", SEAMS)
def test_seam_band_lies_on_the_masks_border(people, manipulation, kind):
    want = {"kind": kind} if kind else {}
    edit = _first(people, "grace_hopper", manipulation, seeds=range(20), **want)
    assert edit.seam is not None and edit.seam.any()
    border = edit.mask & ~(cv2.erode(edit.mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    distance = cv2.distanceTransform((~border).astype(np.uint8), cv2.DIST_L2, 5)
    _, face, _ = people["grace_hopper"]
    unit = float(np.linalg.norm(face.landmarks[263, :2] - face.landmarks[33, :2]))
    assert distance[edit.seam].max() <= 0.2 * unit  # the band hugs the border...
    assert not (edit.seam & ~cv2.dilate(edit.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)).any()
    if kind is not None:  # a blend's band is not the whole region (an inpainted mole may be all border)
        assert edit.seam.sum() < 0.6 * edit.mask.sum()


def test_donor_edits_need_a_donor(people):
    image, face, concepts = people["astronaut"]
    for manipulation in DONOR_EDITS:
        with pytest.raises(ValueError, match="donor"):
            simulate_edit(image, manipulation, 0, face=face, concepts=concepts)


@pytest.mark.slow
def test_simulate_from_a_folder_of_photos_builds_with_the_right_families(tmp_path, astronaut, grace_hopper):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(astronaut).save(photos / "collins.png")
    Image.fromarray(grace_hopper).save(photos / "hopper.jpg", quality=92)
    Image.fromarray(np.full((120, 160, 3), 128, np.uint8)).save(photos / "wall.png")  # no face: skipped
    pairs, out = tmp_path / "pairs", tmp_path / "fifa"
    run = subprocess.run(
        [sys.executable, "scripts/simulate.py", "--out", str(pairs), "--photos", str(photos), "--manipulations", "face_swap,inpaint", "-n", "4"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "without a usable face" in run.stderr
    manifest = pl.read_csv(pairs / "pairs.csv")
    assert len(manifest) == 4 and set(manifest["manipulation"]) <= {"face_swap", "inpaint"}
    for row in manifest.iter_rows(named=True):
        params = json.loads(row["params"])
        assert "seam" in params and decode(params["seam"]).any()
        if row["manipulation"] == "face_swap":
            assert Path(params["donor"]).stem != Path(row["real"]).stem
    command = [sys.executable, "scripts/build.py", "--pairs", str(pairs), "--out", str(out)]
    build = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    rows = pl.read_parquet(out / "pairs" / "*.parquet")
    assert len(rows) == 4
    assert {(m, f) for m, f in rows.select("manipulation", "family").iter_rows()} <= {("face_swap", "identity_swap"), ("inpaint", "inpainting")}
    assert "face_swap" in set(rows["manipulation"])
