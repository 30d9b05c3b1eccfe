"""An inpainting's mask is its patch taken whole: the change a JPEG fake's own coefficients allow (no
spread over the blocks around it), each part of it taken as one patch; a fake whose source names no
manipulation is judged a patch by that change too."""

from dataclasses import replace

import cv2
import numpy as np
import pytest

from fifa_data.annotate.family_evidence import FamilyEvidence
from fifa_data.annotate.family_guess import FamilyGuessConfig, guess_family
from fifa_data.annotate.patches import PATCH_LEVELS, brush_wide, convex_parts, jpeg_luma_change, patch_mask, whole_patch
from fifa_data.annotate.pipeline import annotate
from fifa_data.core import masks as masklib
from fifa_data.core.families import BRUSH_RADIUS_PX
from fifa_data.core.images import encode_image, load_rgb, resaved_reference
from fifa_data.pairs.loading import load_pairs
from fifa_data.pairs.sources import FolderPairs

MOLE = ((300, 330), 6)  # a dark spot on Grace Hopper's face (left of her chin), centre and radius in px
HOLE = ((300, 330), (11, 9))  # the brush that removes it: a little wider than the spot


def _mole_removed(photo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A real with a dark spot painted on the cheek, the fake with the spot filled in (`cv2.inpaint`), the hole."""
    real = photo.copy()
    cv2.circle(real, MOLE[0], MOLE[1], (70, 45, 40), -1, cv2.LINE_AA)
    hole = np.zeros(real.shape[:2], np.uint8)
    cv2.ellipse(hole, HOLE[0], HOLE[1], 0, 0, 360, 1, -1)
    return real, cv2.inpaint(real, hole, 3, cv2.INPAINT_TELEA), hole.astype(bool)


@pytest.mark.parametrize("quality", [75, 90])
def test_the_change_stays_in_the_blocks_the_fill_touched_and_on_its_pixels(grace_hopper, quality):
    real, fake, hole = _mole_removed(grace_hopper)
    data = encode_image(fake, "JPEG", quality=quality)
    change, blocks = jpeg_luma_change(real, data)
    assert 1 <= blocks <= 16  # the hole spans at most 4 x 4 blocks
    changed = np.abs(change) > PATCH_LEVELS
    near = cv2.dilate(hole.astype(np.uint8), masklib.disc(2)) > 0
    assert changed[~near].sum() <= 0.05 * changed.sum()
    # the plain difference with the real saved the same way spreads over the blocks around the hole
    reference, how = resaved_reference(real, load_rgb(data), data)
    assert how["reference"] == "resaved"
    spread = np.abs(load_rgb(data).astype(int) - reference).max(axis=2) > PATCH_LEVELS
    assert spread[~near].sum() > 3 * max(1, changed[~near].sum())
    patch = patch_mask(changed)
    assert masklib.iou(patch, hole) >= 0.6
    assert patch[MOLE[0][1], MOLE[0][0]]


@pytest.mark.parametrize("quality", [75, 90, 95])
def test_a_real_saved_as_it_is_holds_no_patch(astronaut, quality):
    change, blocks = jpeg_luma_change(astronaut, encode_image(astronaut, "JPEG", quality=quality))
    assert np.abs(change).max() < 2 * PATCH_LEVELS  # an encoder's integer DCT misses a bin of step 1 or 2 by a little
    assert not patch_mask(np.abs(change) > PATCH_LEVELS).any()
    if quality <= 90:  # coarser bins: the encoder's luma and bins are read back nearly exactly
        assert blocks <= 16 and np.abs(change).max() < PATCH_LEVELS


def test_only_a_jpeg_of_the_reals_size_is_read(astronaut):
    assert jpeg_luma_change(astronaut, encode_image(astronaut, "PNG")) is None
    assert jpeg_luma_change(astronaut, encode_image(astronaut[:256], "JPEG", quality=90)) is None


def test_a_colour_edit_is_not_outlined_by_its_luma(grace_hopper):
    """A recolouring that keeps the luma: its luma change explains little of its difference, so a patch
    outline falls back to the artifact mask (taken whole), not to a few speckles of luma."""
    region = np.zeros(grace_hopper.shape[:2], bool)
    region[80:200, 150:360] = True  # her cap and hair
    region &= (grace_hopper[..., 1] >= 7) & (grace_hopper[..., [0, 2]] <= 245).all(axis=2)  # no channel clips
    fake = grace_hopper.astype(np.int16)
    fake[region] += np.array([10, -7, 10], np.int16)  # redder and bluer, luma within 0.03 levels
    fake = fake.astype(np.uint8)
    data = encode_image(fake, "JPEG", quality=85)
    patch, how = whole_patch(region, grace_hopper, data, exact=True)
    assert how["outlined_by"] == "artifact" and how["explained"] < 0.5
    assert np.array_equal(patch, patch_mask(region))
    _, mole_fake, hole = _mole_removed(grace_hopper)
    real = _mole_removed(grace_hopper)[0]
    near = cv2.dilate(hole.astype(np.uint8), masklib.disc(12)) > 0  # a fill's JPEG difference, spread
    patch, how = whole_patch(near, real, encode_image(mole_fake, "JPEG", quality=85), exact=True)
    assert how["outlined_by"] == "jpeg_luma_change" and how["explained"] >= 0.9
    assert masklib.iou(patch, hole) >= 0.6


def test_each_part_is_taken_whole_and_parts_stay_apart():
    mask = np.zeros((40, 60), bool)
    mask[5:20, 5:8] = mask[17:20, 5:20] = True  # an L: its hull is the triangle it spans
    mask[25:35, 40:50] = True
    mask[28:32, 43:47] = False  # a ring: its hole is filled
    whole = convex_parts(mask)
    assert whole[10, 10] and whole[30, 45]
    assert not whole[22, 30]  # the two parts are not joined
    assert not patch_mask(np.eye(40, 60, dtype=bool) & (np.arange(60) < 3)).any()  # a speck is no patch


@pytest.mark.slow
def test_an_inpainting_saved_as_jpeg_is_masked_whole_named_or_not(tmp_path, grace_hopper):
    real, fake, hole = _mole_removed(grace_hopper)
    for case, name in (("named", "hopper_inpaint.jpg"), ("unnamed", "hopper.jpg")):
        (tmp_path / "real" / case).mkdir(parents=True)
        (tmp_path / "fake" / case).mkdir(parents=True)
        (tmp_path / "real" / case / "hopper.png").write_bytes(encode_image(real, "PNG"))
        (tmp_path / "fake" / case / name).write_bytes(encode_image(fake, "JPEG", quality=80))
    fakes = {i.image_path.split("/")[1]: i for i in annotate(load_pairs(FolderPairs(tmp_path))) if i.label == "fake"}
    named, unnamed = fakes["named"], fakes["unnamed"]
    assert named.decided_family == "inpainting" and named.unlocalised is None
    assert named.mask_params["patch"]["outlined_by"] == "jpeg_luma_change"
    assert masklib.iou(named.decisions.artifact, hole) >= 0.7
    assert unnamed.family_guess.family == "inpainting"
    assert unnamed.mask_params["patch"]["outlined_by"] == "jpeg_luma_change"
    assert np.array_equal(unnamed.decisions.artifact, named.decisions.artifact)


def test_an_inpainting_saved_twice_is_masked_whole_from_its_first_save(tmp_path, grace_hopper):
    """The same fill saved at quality 80, then again at 90 (an upload): read off the last save's
    coefficients against the real's first save (its quality found), the patch is as whole."""
    real, fake, hole = _mole_removed(grace_hopper)
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    (tmp_path / "real" / "hopper.png").write_bytes(encode_image(real, "PNG"))
    once = load_rgb(encode_image(fake, "JPEG", quality=80))
    (tmp_path / "fake" / "hopper_inpaint.jpg").write_bytes(encode_image(once, "JPEG", quality=90))
    (item,) = [i for i in annotate(load_pairs(FolderPairs(tmp_path))) if i.label == "fake"]
    assert item.mask_params["first_quality"] == 80
    assert item.mask_params["patch"]["outlined_by"] == "jpeg_luma_change"
    assert masklib.iou(item.decisions.artifact, hole) >= 0.65  # 0.71 here


def test_the_guess_reads_a_patch_by_its_whole_patch_not_its_jpeg_spread():
    spread = FamilyEvidence(cover=0.02, features_cover=0.0, area=0.45, part="eye", part_share=0.3, seam=0.1, colour_mismatch=1.0,
                            lighting_mismatch=2.0, sharpness_mismatch=0.3, detail_kept=0.4, removed=-1.5)
    assert guess_family(spread).family == "attribute"  # the artifact alone: too large, and on the eye
    patch = replace(spread, patch_area=0.05, patch_pixels=900, patch_part_share=0.02)
    assert guess_family(patch).family == "inpainting"
    tiny_face = replace(spread, patch_area=0.7, patch_pixels=150, patch_part_share=0.0)  # a brush 8 px wide on a face 15 px between the eyes
    assert guess_family(tiny_face).family == "inpainting"
    assert guess_family(replace(tiny_face, patch_pixels=FamilyGuessConfig().patch_pixels + 1)).family == "attribute"


def test_a_tiny_fill_that_streaks_is_an_inpainting_and_drawn_on_hair_is_not():
    config = FamilyGuessConfig()
    streaked = FamilyEvidence(cover=0.0, features_cover=0.0, area=0.015, part="eye", part_share=0.0, seam=0.0, colour_mismatch=-1.7,
                              lighting_mismatch=-0.6, sharpness_mismatch=0.1, detail_kept=0.2, removed=1.5,
                              patch_area=0.014, patch_pixels=209, patch_part_share=0.0)  # a mole filled across the hairline's shadow
    assert streaked.removed >= config.filled
    assert guess_family(streaked).family == "inpainting"
    assert guess_family(replace(streaked, lighting_mismatch=config.fill_light + 2)).family == "attribute"  # darkened: hair drawn on
    larger = replace(streaked, area=config.fill_area * 1.5, patch_area=config.fill_area * 1.5, patch_pixels=config.patch_pixels + 1)
    assert guess_family(larger).family == "attribute"  # a beard on the chin can be this small and keep its lightness


def test_a_part_narrower_than_a_brush_is_grown_to_one_and_a_wider_one_is_kept():
    speck, stroke, blotch = np.zeros((3, 60, 60), bool)
    speck[20:23, 20:23] = True
    stroke[40, 5:50] = True
    blotch[5:25, 35:55] = True
    grown = brush_wide(speck | stroke | blotch)
    inside = cv2.distanceTransform(np.pad(grown, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    assert inside[21, 21] >= BRUSH_RADIUS_PX - 0.5 and inside[40, 27] >= BRUSH_RADIUS_PX - 0.5  # a brush fits in each
    assert not grown[20:30, 0:4].any()  # grown by a brush's width, no farther
    assert np.array_equal(grown[0:30, 32:60], blotch[0:30, 32:60])  # wide enough already: kept as it is


@pytest.mark.parametrize("method", [cv2.INPAINT_NS, cv2.INPAINT_TELEA])
def test_a_fill_a_brush_wide_saved_as_jpeg_is_masked_whole(grace_hopper, method):
    real = grace_hopper.copy()
    cv2.circle(real, (270, 380), 3, (120, 90, 80), -1, cv2.LINE_AA)  # a spot a brush just covers, on her cheek
    hole = np.zeros(real.shape[:2], np.uint8)
    cv2.circle(hole, (270, 380), int(BRUSH_RADIUS_PX), 1, -1)
    fake = cv2.inpaint(real, hole, 2, method)
    data = encode_image(fake, "JPEG", quality=76)  # its smallest change is a speck of 32 px inside the 49 px hole
    reference, how = resaved_reference(real, load_rgb(data), data)
    assert how["reference"] == "resaved"
    artifact = np.abs(load_rgb(data).astype(int) - reference).max(axis=2) > PATCH_LEVELS  # where the saved fill shows
    patch, how = whole_patch(artifact, real, data, exact=True)
    assert how["outlined_by"] == "jpeg_luma_change"
    assert masklib.iou(patch, hole.astype(bool)) >= 0.8
