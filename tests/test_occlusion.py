"""Only visible regions are named (issue 32, part B): skin-coloured gaps in the hair over an ear are hair,
never ear, on real photos; visible ears stay ears; a hat is no concept, not hair, and real hair stays hair."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fifa_data.annotate.decide import decide
from fifa_data.faces.concepts import concept_masks
from fifa_data.faces.detect import analyze_face
from fifa_data.pairs.simulate import simulate_edit


@pytest.fixture(scope="module")
def astronaut_analysis(astronaut):
    face = analyze_face(astronaut)
    return face, concept_masks(astronaut, face)


@pytest.fixture(scope="module")
def grace_concepts(grace_hopper):
    return concept_masks(grace_hopper)


def _face_height(concepts) -> float:
    return concepts.face_box[3] - concepts.face_box[1]


def test_the_astronauts_ears_under_her_hair_are_hair(astronaut_analysis):
    _, concepts = astronaut_analysis
    # her hair covers both ears: what shows beside her face at ear height is hair (a few pixels at
    # the hair's lower tips may still read as skin, far less than an ear)
    assert concepts.count("ear") < 0.02 * _face_height(concepts) ** 2
    assert concepts.count("hair.left") + concepts.count("hair.right") > 0.2 * _face_height(concepts) ** 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hair_dye_never_flags_an_ear_under_hair(astronaut, astronaut_analysis, seed):
    face, concepts = astronaut_analysis
    edit = simulate_edit(astronaut, "hair_color", seed, face=face, concepts=concepts)
    decisions = decide(edit.mask, concepts)
    assert "hair" in decisions.cover
    assert not [c for c in decisions.manipulated if c.startswith("ear")]


def test_visible_ears_stay_ears(grace_concepts):
    # Grace Hopper's ears show beside her cheeks, below her hat and hair
    area = _face_height(grace_concepts) ** 2
    assert grace_concepts.count("ear.left") > 0.01 * area
    assert grace_concepts.count("ear.right") > 0.01 * area


def test_hair_painted_over_an_ear_is_hair(astronaut, grace_hopper, astronaut_analysis, grace_concepts):
    # Paint a swatch of the astronaut's real hair over Grace Hopper's left ear and its rim.
    _, astronaut_concepts = astronaut_analysis
    ys, xs = np.nonzero(astronaut_concepts.mask("hair.top.crown"))
    y0, x0 = int(np.median(ys)) - 10, int(np.median(xs)) - 20
    swatch = astronaut[y0 : y0 + 20, x0 : x0 + 40]
    height, width = grace_hopper.shape[:2]
    tile = np.tile(swatch, (height // 20 + 1, width // 40 + 1, 1))[:height, :width]
    ear = grace_concepts.mask("ear.left")
    region = cv2.dilate(ear.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~grace_concepts.mask("face")
    painted = grace_hopper.copy()
    painted[region] = tile[region]

    concepts = concept_masks(painted)
    assert concepts.count("ear.left") < 0.1 * ear.sum()
    assert concepts.mask("hair")[region].mean() > 0.9


def _hat_band(grace_hopper, grace_concepts) -> np.ndarray:
    """The black band of Grace Hopper's cap, right above her forehead, across the head."""
    x0, y0, x1, _ = (int(v) for v in grace_concepts.face_box)
    band = np.zeros(grace_hopper.shape[:2], dtype=bool)
    band[max(0, y0 - int(0.2 * (x1 - x0))) : y0, x0 + (x1 - x0) // 4 : x1 - (x1 - x0) // 4] = True
    return band


def test_grace_hoppers_hat_is_not_hair(grace_hopper, grace_concepts):
    band = _hat_band(grace_hopper, grace_concepts)
    assert grace_concepts.mask("hair")[band].mean() < 0.2
    assert (grace_concepts.labels[band] == 0).mean() > 0.8  # a hat is no FICT concept
    # the whole cap, up to its white top, is no hair
    x0, y0, x1, _ = (int(v) for v in grace_concepts.face_box)
    assert grace_concepts.count("hair.top") < 0.02 * (x1 - x0) ** 2


def test_grace_hoppers_grey_hair_below_her_hat_stays_hair(grace_concepts):
    # her white-grey hair shows beside her face, below the cap, over and around the ears
    area = _face_height(grace_concepts) ** 2
    assert grace_concepts.count("hair.left") > 0.01 * area
    assert grace_concepts.count("hair.right") > 0.01 * area


def test_an_edit_of_the_hat_names_no_hair(grace_hopper, grace_concepts):
    decisions = decide(_hat_band(grace_hopper, grace_concepts), grace_concepts)
    assert not [c for c in decisions.manipulated if c.startswith("hair")]


def test_hair_dye_leaves_the_hat_alone(grace_hopper, grace_concepts):
    edit = simulate_edit(grace_hopper, "hair_color", 0, concepts=grace_concepts)
    assert edit.mask[_hat_band(grace_hopper, grace_concepts)].mean() < 0.05


def test_dark_hair_stays_hair(astronaut_analysis):
    # the astronaut's dark brown hair, parted over her forehead, has no brim: none of it is a hat
    _, concepts = astronaut_analysis
    assert (concepts.labels == 0).sum() == 0
    assert concepts.count("hair.top") > 0.1 * _face_height(concepts) ** 2


def test_a_black_fringe_over_black_side_hair_stays_hair(grace_hopper, grace_concepts):
    # Dye Grace Hopper's grey side hair the black of her cap: the cap now reads as a straight black
    # fringe over black hair, which nothing tells from a hat, so it stays hair.
    band = _hat_band(grace_hopper, grace_concepts)
    black = np.median(grace_hopper[band], axis=0).astype(np.uint8)
    side = cv2.dilate(grace_concepts.mask("hair").astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    side &= ~grace_concepts.mask("face")
    painted = grace_hopper.copy()
    painted[side] = black

    concepts = concept_masks(painted)
    assert (concepts.labels == 0).sum() == 0
    assert concepts.mask("hair")[band].mean() > 0.8


def test_no_ear_remnant_is_left_beside_hair(astronaut_analysis, grace_concepts):
    """The tips and gaps of the astronaut's hair over her ears leave no ear label a dye could flag
    (the card's gallery once said "the right outer ear … more purple"); Grace Hopper's visible ears stay."""
    _, concepts = astronaut_analysis
    for side in ("ear.left", "ear.right"):
        assert concepts.count(side) < 20, side
        assert grace_concepts.count(side) > 500, side
