"""An inpainting is a hole a brush of some width filled: the simulator never makes one narrower than
`BRUSH_RADIUS_PX`; and the guess tells a part swap by its part replaced in the face's colour, a
thin part by its clone region, and a wide reenactment from a self-blend by the blend it lacks."""

from dataclasses import replace

import numpy as np
from PIL import Image

from fifa_data.annotate.family_evidence import FamilyEvidence
from fifa_data.annotate.family_guess import FamilyGuessConfig, guess_family, part_swapped
from fifa_data.core.families import BRUSH_RADIUS_PX
from fifa_data.pairs.simulate import EditNotApplicable, simulate_edit


def test_a_small_face_keeps_the_brush_width(grace_hopper):
    small = np.asarray(Image.fromarray(grace_hopper).resize((240, 281), Image.Resampling.LANCZOS))
    edits = []
    for seed in range(8):
        try:
            edits.append(simulate_edit(small, "inpaint", np.random.default_rng(seed)))
        except EditNotApplicable:
            continue
    assert len(edits) >= 3
    for edit in edits:
        assert min(edit.params["axes_px"]) >= BRUSH_RADIUS_PX - 1e-4
        assert edit.mask.sum() >= np.pi * BRUSH_RADIUS_PX**2 * 0.8  # the hole, not a speck
    assert any(edit.params["patch"] == "mole" for edit in edits)  # 0.03-0.06 eye distances: 1.5-3 px here without the rule


def _evidence(**readings) -> FamilyEvidence:
    base = dict(cover=0.05, features_cover=0.1, area=0.3, part="mouth", part_share=0.8, seam=0.6,
                colour_mismatch=1.0, lighting_mismatch=None, sharpness_mismatch=0.1, detail_kept=0.55, removed=0.0, part_cover=0.9)
    return FamilyEvidence(**(base | readings))


def test_a_part_swap_is_a_part_replaced_in_the_faces_colour():
    config = FamilyGuessConfig()
    assert part_swapped(_evidence(), config)  # a clone's seam does not speak against it
    assert not part_swapped(_evidence(colour_mismatch=12.0), config)  # a lipstick: the part's colour changed
    assert not part_swapped(_evidence(detail_kept=0.9), config)  # its own detail kept: a retouch
    assert not part_swapped(_evidence(part_cover=0.2), config)  # a frame across the eyes covers little of them


def test_a_brow_swapped_with_a_margin_is_read_by_its_clone_region():
    config = FamilyGuessConfig()
    brow = _evidence(part="eye", part_share=0.32, part_cover=0.19,  # by share alone its main part is the eye below it
                     clone_part="eyebrow", clone_share=0.95, clone_cover=0.9, colour_mismatch=0.5)
    assert part_swapped(brow, config)
    frame = replace(brow, clone_part="eye", clone_share=0.9, clone_cover=0.2)  # a frame near the eyes covers little of them
    assert not part_swapped(frame, config)


def test_a_similar_donors_part_is_told_from_a_dyed_brow_by_its_lightness():
    # a brow swap at 256 px (tune half) keeps 0.66 of the detail: a similar donor's brow, cloned in the face's light
    brow = _evidence(part="eyebrow", part_share=0.41, part_cover=0.89, clone_part="eyebrow", clone_share=1.0, clone_cover=0.89,
                     detail_kept=0.66, colour_mismatch=2.0, lighting_mismatch=0.9)
    config = FamilyGuessConfig()
    assert config.part_replaced <= brow.detail_kept < config.part_replaced_lit
    assert part_swapped(brow, config) == "eyebrow"
    assert not part_swapped(replace(brow, lighting_mismatch=8.8), config)  # darkened against the face: a brow pencil
    assert not part_swapped(replace(brow, lighting_mismatch=None), config)  # no surround to read it against
    assert not part_swapped(replace(brow, warped=True, moved_parts=1), config)  # a warp resamples the detail as much


def test_a_mouth_replaced_outright_may_differ_in_colour_but_an_eye_may_not():
    # a mouth swap at 256 px (tune half): the donor's mouth, 8 units off in colour, keeps none of the lips' detail
    mouth = _evidence(part="mouth", part_share=1.0, part_cover=0.6, detail_kept=0.16, colour_mismatch=7.9, lighting_mismatch=-3.0)
    config = FamilyGuessConfig()
    assert mouth.colour_mismatch >= config.part_colour
    assert part_swapped(mouth, config) == "mouth"
    assert not part_swapped(replace(mouth, colour_mismatch=12.1), config)  # a lipstick that hides the detail recolours more
    assert not part_swapped(replace(mouth, detail_kept=0.4), config)  # a lipstick over the lips' own detail
    assert not part_swapped(replace(mouth, part="eye"), config)  # tinted glasses over an eye


def test_a_swapped_part_whose_new_outline_reads_as_a_warp_is_still_a_part_swap():
    # an eyebrow swap at 512 px (tune half): the donor's brows have another outline, the flow adds a warp around them
    brow = _evidence(part="eye", part_share=0.31, part_cover=0.3, clone_part="eyebrow", clone_share=0.7, clone_cover=1.0,
                     detail_kept=0.37, colour_mismatch=0.75, warped=True, moved_parts=2, cover=0.1, features_cover=0.3)
    assert guess_family(brow).family == "part_swap"
    assert not part_swapped(replace(brow, warped=False), FamilyGuessConfig())  # no warp: too little of the artifact on the brows
    assert not part_swapped(replace(brow, detail_kept=0.6), FamilyGuessConfig())  # the brows' own texture: a retouch
    assert not part_swapped(replace(brow, clone_cover=0.8), FamilyGuessConfig())  # a warp that leaves some of them


def test_a_wide_warp_without_a_blend_is_a_reenactment_not_a_self_blend():
    # a jaw drop and raised brows that reach the nose and forehead: the hull is covered and the layout moved
    warp = FamilyEvidence(cover=0.81, features_cover=0.97, area=4.9, part="eye", part_share=0.12, seam=0.05, colour_mismatch=-0.2,
                          lighting_mismatch=1.3, sharpness_mismatch=0.01, detail_kept=0.76, removed=0.0, warped=True, moved_parts=4,
                          layout_moved=0.64, part_cover=0.96)
    assert guess_family(warp).family == "reenactment"
    copy = replace(warp, colour_mismatch=4.6, detail_kept=0.95)  # a self-blend's shifted copy: jittered, its own detail kept
    assert guess_family(copy).family == "self_blend"
    assert guess_family(replace(warp, sharpness_mismatch=0.5)).family == "self_blend"  # blurred or sharpened before the blend
