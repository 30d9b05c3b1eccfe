"""The attribute-edit simulator on the real bundled photos: the Edit contract, that the mask is
exactly the edit, that edits stay in their FICT regions, determinism, and the error cases."""

import json

import cv2
import numpy as np
import pytest

from fifa_data.core.fict import load_fict
from fifa_data.core.schema import MANIPULATIONS
from fifa_data.faces import mesh_regions
from fifa_data.faces.concepts import ConceptMasks, concept_masks
from fifa_data.faces.detect import analyze_face
from fifa_data.pairs.simulate import CHANGE_LEVELS, Edit, EditNotApplicable, simulate_edit

WARPS = {"smile", "eye_enlarge", "face_slim"}


@pytest.fixture(scope="module", params=["astronaut", "grace_hopper"])
def photo(request):
    image = request.getfixturevalue(request.param)
    face = analyze_face(image)
    return {"image": image, "face": face, "concepts": concept_masks(image, face), "edits": {}}


def edit(photo, manipulation, seed=0) -> Edit:
    """Edits of a photo, cached per (manipulation, seed) for the module."""
    key = (manipulation, seed)
    if key not in photo["edits"]:
        photo["edits"][key] = simulate_edit(
            photo["image"], manipulation, seed, face=photo["face"], concepts=photo["concepts"]
        )
    return photo["edits"][key]


def unit(photo) -> float:
    return mesh_regions.frame_axes(photo["face"].landmarks)[1]


@pytest.mark.parametrize("manipulation", MANIPULATIONS)
def test_edit_contract(photo, manipulation):
    image = photo["image"]
    result = edit(photo, manipulation)
    assert result.manipulation == manipulation
    assert result.fake.shape == image.shape and result.fake.dtype == np.uint8
    assert result.mask.shape == image.shape[:2] and result.mask.dtype == bool
    share = result.mask.mean()
    assert 0.0005 < share < 0.6, share

    diff = np.abs(result.fake.astype(np.int16) - image.astype(np.int16)).max(axis=2)
    assert diff[~result.mask].max() <= CHANGE_LEVELS  # the mask is the whole edit
    assert diff[result.mask].mean() > 1.5  # and the edit is visible inside it
    assert (diff > CHANGE_LEVELS).sum() >= 10

    params = json.loads(json.dumps(result.params))
    assert params == result.params
    assert 0.0 <= params["strength"] <= 1.0
    fict = load_fict()
    assert params["concepts"] and all(c in fict for c in params["concepts"])


@pytest.mark.parametrize("manipulation", [m for m in MANIPULATIONS if m != "glasses"])
def test_edit_stays_in_its_concepts(photo, manipulation):
    result = edit(photo, manipulation)
    region = np.zeros(result.mask.shape, bool)
    for concept in result.params["concepts"]:
        region |= photo["concepts"].mask(concept)
    r = max(1, round(0.05 * unit(photo)))
    near = cv2.dilate(region.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)) > 0
    inside = (result.mask & near).sum() / result.mask.sum()
    # A slimmed face contour also stretches the background beside it.
    assert inside >= (0.5 if manipulation == "face_slim" else 0.8), inside


def test_glasses_sit_on_the_eyes(photo):
    result = edit(photo, "glasses")
    x0, y0, x1, y1 = photo["face"].box
    ys, xs = np.nonzero(result.mask)
    w, h = x1 - x0, y1 - y0
    assert xs.min() > x0 - 0.3 * w and xs.max() < x1 + 0.3 * w
    assert ys.min() > y0 - 0.1 * h and ys.max() < y0 + 0.7 * h
    eyes = photo["concepts"].mask("eye")
    assert (result.mask & eyes).sum() > 0.2 * result.mask.sum()


@pytest.mark.parametrize("manipulation", sorted(WARPS))
def test_warps_keep_colours(photo, manipulation):
    """A warp moves pixels but adds no new colours: the mean colour inside the mask barely moves."""
    result = edit(photo, manipulation)
    real = photo["image"][result.mask].astype(np.float64).mean(axis=0)
    fake = result.fake[result.mask].astype(np.float64).mean(axis=0)
    assert np.abs(real - fake).max() < 6


def test_same_seed_same_bytes_and_different_seeds_differ(astronaut):
    face = analyze_face(astronaut)
    concepts = concept_masks(astronaut, face)
    for manipulation in MANIPULATIONS:
        a = simulate_edit(astronaut, manipulation, 7, face=face, concepts=concepts)
        b = simulate_edit(astronaut, manipulation, np.random.default_rng(7), face=face, concepts=concepts)
        c = simulate_edit(astronaut, manipulation, 8, face=face, concepts=concepts)
        assert a.fake.tobytes() == b.fake.tobytes(), manipulation
        assert np.array_equal(a.mask, b.mask) and a.params == b.params, manipulation
        assert a.fake.tobytes() != c.fake.tobytes(), manipulation
        assert a.params != c.params, manipulation


def test_face_and_concepts_are_computed_when_omitted(astronaut):
    given = simulate_edit(astronaut, "lip_color", 3, face=analyze_face(astronaut))
    computed = simulate_edit(astronaut, "lip_color", 3)
    assert computed.fake.tobytes() == given.fake.tobytes()
    assert np.array_equal(computed.mask, given.mask)


def test_input_is_not_modified(astronaut):
    before = astronaut.copy()
    simulate_edit(astronaut, "hair_color", 0)
    assert np.array_equal(astronaut, before)


def test_unknown_manipulation_lists_the_known_ones(astronaut):
    with pytest.raises(ValueError, match="known: lip_color, hair_color"):
        simulate_edit(astronaut, "age_swap", 0)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((64, 64), np.uint8),
        np.zeros((64, 64, 4), np.uint8),
        np.zeros((64, 64, 3), np.float32),
        [[[0, 0, 0]]],
    ],
    ids=["gray2d", "rgba", "float", "list"],
)
def test_wrong_input_raises_value_error(bad):
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        simulate_edit(bad, "lip_color", 0)


def test_missing_region_is_not_applicable(astronaut):
    face = analyze_face(astronaut)
    real = concept_masks(astronaut, face)
    background = real.fict.atomic_ids.index("background.upper") + 1
    empty = ConceptMasks(
        labels=np.full_like(real.labels, background),
        fict=real.fict,
        num_faces=1,
        face_box=real.face_box,
        uncovered_face_share=1.0,
    )
    for manipulation in ("lip_color", "hair_color", "skin_smooth", "eyebrow", "beard"):
        with pytest.raises(EditNotApplicable, match="not visible"):
            simulate_edit(astronaut, manipulation, 0, face=face, concepts=empty)
    assert issubclass(EditNotApplicable, ValueError)


def test_small_grayscale_face_stays_grayscale():
    """skimage's cameraman (CC0): a small profile face in a grayscale photo."""
    from skimage import data

    image = np.repeat(data.camera()[..., None], 3, axis=2)
    face = analyze_face(image)
    concepts = concept_masks(image, face)
    made = 0
    for manipulation in MANIPULATIONS:
        try:
            result = simulate_edit(image, manipulation, 0, face=face, concepts=concepts)
        except EditNotApplicable:
            continue
        made += 1
        assert (result.fake[..., 0] == result.fake[..., 1]).all() and (result.fake[..., 1] == result.fake[..., 2]).all()
        diff = np.abs(result.fake.astype(np.int16) - image.astype(np.int16)).max(axis=2)
        assert diff[~result.mask].max() <= CHANGE_LEVELS
    assert made >= 6
