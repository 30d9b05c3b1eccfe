"""Artifact masks in both modes, on real photos with edits of known extent and JPEG re-encoding."""

from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from fifa_data.annotate.artifacts import ADAPTIVE_DEFAULTS, MODES, RESAVED_PARAMS, artifact_mask, empty_mask
from fifa_data.core import masks as masklib
from fifa_data.core.images import encode_image, load_rgb, resaved_like, resaved_reference


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _recolour(image: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
    """A feathered LAB colour shift over a centred disc covering `share` of the image; its mask."""
    h, w = image.shape[:2]
    radius = np.sqrt(share * h * w / np.pi)
    yy, xx = np.mgrid[:h, :w]
    inside = ((yy - h * 0.45) ** 2 + (xx - w * 0.5) ** 2 <= radius**2).astype(np.float32)
    alpha = cv2.GaussianBlur(inside, (0, 0), 1.5)[..., None]
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 1:] += (18, -12)
    edited = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
    fake = (image * (1 - alpha) + edited * alpha).round().astype(np.uint8)
    return fake, alpha[..., 0] >= 0.5


def test_paper_mode_is_the_top_five_percent(astronaut):
    fake, _ = _recolour(astronaut, 0.01)
    result = artifact_mask(astronaut, _jpeg(fake, 85), mode="paper")
    assert result.mode == "paper"
    assert result.share == pytest.approx(0.05, abs=0.005)
    assert result.params["top_share"] == 0.05 and result.params["threshold"] > 0
    assert artifact_mask(astronaut, fake, mode="paper", top_share=0.2).share <= 0.2


def test_paper_mode_never_marks_unchanged_pixels(astronaut):
    fake = astronaut.copy()
    fake[:10, :10] = 0  # under 5 % of the pixels differ at all
    result = artifact_mask(astronaut, fake, mode="paper")
    assert result.mask.sum() <= 100 and not result.mask[20:].any()


@pytest.mark.parametrize("share", [0.01, 0.30])
@pytest.mark.parametrize("quality", [None, 95, 85, 80])
def test_adaptive_mask_has_the_size_of_the_edit(astronaut, share, quality):
    fake, truth = _recolour(astronaut, share)
    if quality is not None:
        fake = _jpeg(fake, quality)
    adaptive = artifact_mask(astronaut, fake)
    assert adaptive.mode == "adaptive"
    assert adaptive.share == pytest.approx(share, rel=0.4)
    assert masklib.iou(adaptive.mask, truth) > 0.7
    paper = artifact_mask(astronaut, fake, mode="paper")
    assert masklib.iou(adaptive.mask, truth) > masklib.iou(paper.mask, truth)


def test_adaptive_mask_mostly_ignores_a_plain_re_encode(astronaut, grace_hopper):
    """A fake that is only re-encoded: paper mode still marks 5 %; adaptive marks little or nothing."""
    for image in (astronaut, grace_hopper):
        shares = {q: artifact_mask(image, _jpeg(image, q)).share for q in (95, 85, 75, 65)}
        assert shares[95] < 0.005 and shares[85] < 0.005, shares
        assert max(shares.values()) < 0.02, shares


@pytest.mark.parametrize("quality", [75, 85])
def test_resaved_reference_finds_a_tint_below_the_re_encode_noise(astronaut, quality):
    """A faint tint (3 levels of a*) over the face, saved as JPEG: against the real photo it hides
    in the re-encode's noise; against the real saved the same way only the edited blocks differ."""
    h, w = astronaut.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    truth = ((yy - 180) / 45) ** 2 + ((xx - 250) / 40) ** 2 <= 1
    alpha = cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 2)[..., None]
    lab = cv2.cvtColor(astronaut, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 1] += 3
    tinted = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
    data = encode_image((astronaut * (1 - alpha) + tinted * alpha).round().astype(np.uint8), "JPEG", quality=quality)
    fake = load_rgb(data)
    reference, how = resaved_reference(astronaut, fake, data)
    assert how["reference"] == "resaved" and how["resaved_same_share"] > 0.9
    assert masklib.iou(artifact_mask(astronaut, fake).mask, truth) < 0.2
    assert masklib.iou(artifact_mask(reference, fake).mask, truth) > 0.7


def _thin_frame(image: np.ndarray, colour: tuple[int, int, int] = (20, 20, 25), centre: tuple[int, int] = (230, 190),
                axes: tuple[int, int] = (30, 20), thickness: int = 3, quality: int = 75) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A thin ring (a glasses frame, dark by default) drawn on `image` and saved as JPEG (q75 by
    default): its true mask, the real resaved as the fake was, and the fake."""
    ring = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(ring, centre, axes, 0, 0, 360, 1, thickness)
    truth = ring > 0
    edited = image.copy()
    edited[truth] = colour
    data = encode_image(edited, "JPEG", quality=quality)
    fake = load_rgb(data)
    return truth, resaved_reference(image, fake, data)[0], fake


def test_extent_cleans_a_small_face_at_its_own_scale(astronaut):
    """A small lens frame (a ring 20 px across) in a 2048 px photo: closed at a share of the
    whole photo, the ring fills in; at a share of the extent given (three heights of a small
    face), its open middle stays open."""
    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_LINEAR)
    ring = np.zeros(big.shape[:2], np.uint8)
    cv2.ellipse(ring, (900, 760), (10, 7), 0, 0, 360, 1, 2)
    truth = ring > 0
    fake = big.copy()
    fake[truth] = (20, 20, 25)
    whole = artifact_mask(big, fake).mask
    scaled = artifact_mask(big, fake, extent=300.0)
    assert whole[760, 900] and not scaled.mask[760, 900]
    assert masklib.iou(scaled.mask, truth) > masklib.iou(whole, truth) + 0.15
    assert scaled.params["extent"] == 300.0


def test_relative_floor_trims_the_requantised_blocks_around_a_thin_frame(astronaut):
    """A thin dark ring (a glasses frame) saved as JPEG q75: against the resaved real, its blocks'
    re-quantisation is a halo; the relative floor trims it and keeps most of the frame."""
    truth, reference, fake = _thin_frame(astronaut)
    halo = artifact_mask(reference, fake).mask
    trimmed = artifact_mask(reference, fake, relative_floor=0.2).mask
    assert trimmed.sum() < 0.9 * halo.sum()
    assert (trimmed & truth).sum() >= 0.75 * (halo & truth).sum()  # a dark frame over dark hair changed little
    assert masklib.iou(trimmed, truth) > masklib.iou(halo, truth) + 0.03


def test_faint_floor_finds_a_brightening_of_a_whole_cheek_against_the_resaved_real(astronaut):
    """A brightening of 1.5 L* over a large patch, saved as JPEG q85: against the resaved real it
    is the only difference, yet it stays under one just-noticeable difference; the faint floors,
    applied away from strong changes, find it."""
    h, w = astronaut.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    truth = ((yy - 190) / 60) ** 2 + ((xx - 250) / 50) ** 2 <= 1
    lab = cv2.cvtColor(astronaut.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    lab[..., 0] += 1.5 * cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 2)
    edited = np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB) * 255, 0, 255).round().astype(np.uint8)
    data = encode_image(edited, "JPEG", quality=85)
    fake = load_rgb(data)
    reference, how = resaved_reference(astronaut, fake, data)
    assert how["reference"] == "resaved"
    without = {**RESAVED_PARAMS, "faint_delta_e": 0.0, "faint_log_energy": 0.0}
    assert masklib.iou(artifact_mask(reference, fake, **without).mask, truth) < 0.3
    assert masklib.iou(artifact_mask(reference, fake, **RESAVED_PARAMS).mask, truth) > 0.6


def test_colour_alone_draws_a_thin_frame(astronaut):
    """A 2 px gold frame saved as JPEG q90, against the resaved real: beside a clear colour change
    the texture ratio (an energy averaged over a few pixels) would widen the frame by a pixel on
    each side, so there the colour alone draws it."""
    truth, reference, fake = _thin_frame(astronaut, (196, 160, 88), centre=(250, 260), axes=(40, 26), thickness=2, quality=90)
    found = artifact_mask(reference, fake, **RESAVED_PARAMS).mask
    assert found.sum() < 1.25 * truth.sum()
    assert masklib.iou(found, truth) > 0.8


def test_chroma_floor_keeps_a_thin_frame_to_its_lightness(astronaut):
    """A thin burgundy ring saved as JPEG q75 with 4:2:0 chroma: against the resaved real, its
    re-quantised chroma spreads as a band around it, which the chroma floor removes while the
    frame stays."""
    truth, reference, fake = _thin_frame(astronaut, (110, 26, 40))
    banded = artifact_mask(reference, fake, **{**RESAVED_PARAMS, "chroma_floor": 0.0}).mask
    kept = artifact_mask(reference, fake, **RESAVED_PARAMS).mask
    assert kept.sum() < 0.95 * banded.sum()
    assert (kept & truth).sum() >= 0.95 * (banded & truth).sum()
    assert masklib.iou(kept, truth) > masklib.iou(banded, truth) + 0.05


def test_resaved_reference_is_the_real_unless_it_reproduces_the_fake(astronaut):
    """A PNG fake, or a JPEG whose first save had tables of no standard quality, keeps the real photo as
    its reference; of a PNG fake, the share of pixels equal to the real's is recorded (a local edit
    leaves most)."""
    fake, _ = _recolour(astronaut, 0.02)
    png = encode_image(fake)
    reference, how = resaved_reference(astronaut, load_rgb(png), png)
    assert reference is astronaut and how["reference"] == "real" and 0.96 < how["real_same_share"] < 0.99
    odd = Image.open(io.BytesIO(encode_image(fake, "JPEG", qtables=[[23] * 64, [31] * 64]))).convert("RGB")  # a camera's own tables
    twice = encode_image(odd, "JPEG", quality=90)
    reference, how = resaved_reference(astronaut, load_rgb(twice), twice)
    assert reference is astronaut and how["reference"] == "real" and how["resaved_same_share"] < 0.5


@pytest.mark.parametrize("first", [70, 90])
def test_a_fake_saved_twice_is_compared_with_its_real_saved_twice(astronaut, first):
    """A fake saved at one quality and again at 90 (an upload): its real saved first at the quality found
    for it, then as the fake was, equals the fake on every block the edit left alone."""
    fake, _ = _recolour(astronaut, 0.02)
    twice = encode_image(_jpeg(fake, first), "JPEG", quality=90)
    reference, how = resaved_reference(astronaut, load_rgb(twice), twice)
    assert how["reference"] == "resaved" and how["first_quality"] == first and how["resaved_same_share"] > 0.95
    changed = (fake != astronaut).any(axis=2)
    away = cv2.dilate(changed.astype(np.uint8), np.ones((65, 65), np.uint8)) == 0  # beyond the edit's 16 px blocks, twice
    assert not (reference != load_rgb(twice)).any(axis=2)[away].any()
    once = resaved_like(astronaut, twice)  # the real saved once as the fake was differs all over the photo
    assert (once != load_rgb(twice)).any(axis=2)[away].mean() > 0.2


def test_identical_images_give_empty_masks(astronaut):
    assert not artifact_mask(astronaut, astronaut.copy()).mask.any()
    assert not artifact_mask(astronaut, astronaut.copy(), mode="paper").mask.any()
    real = empty_mask(astronaut.shape)
    assert real.mask.shape == (512, 512) and not real.mask.any() and real.mode == "real"


def test_parameters_are_recorded_and_serialisable(astronaut):
    fake, _ = _recolour(astronaut, 0.05)
    for mode in MODES:
        result = artifact_mask(astronaut, fake, mode=mode)
        json.dumps(result.params)
        rle = result.to_rle()
        assert rle["size"] == [512, 512] and np.array_equal(masklib.decode(rle), result.mask)
    custom = artifact_mask(astronaut, fake, noise_factor=6.0)
    assert custom.params["noise_factor"] == 6.0
    assert set(ADAPTIVE_DEFAULTS) <= set(custom.params)


def test_bad_arguments(astronaut):
    with pytest.raises(ValueError, match="unknown artifact-mask mode 'magic'"):
        artifact_mask(astronaut, astronaut, mode="magic")
    with pytest.raises(ValueError, match="unknown parameter"):
        artifact_mask(astronaut, astronaut, mode="paper", noise_factor=3)
    with pytest.raises(ValueError, match="one size"):
        artifact_mask(astronaut, astronaut[:100])


def test_texture_bins_put_values_below_the_first_threshold_in_the_first_bin():
    """The bins are read from a subsample, so some pixels lie below its lowest edge (and a bin's
    centre): they belong to the first bin, as `searchsorted` places them, never to the last."""
    from fifa_data.annotate.artifacts import _bin_of

    thresholds = np.array([0.1, 0.2, 0.4, 0.8])
    values = np.array([-1.0, 0.05, 0.1, 0.15, 0.2, 0.5, 0.8, 3.0], np.float32)
    expected = np.clip(np.searchsorted(thresholds, values, side="right") - 1, 0, 2)
    assert _bin_of(values, thresholds, 2).tolist() == expected.tolist() == [0, 0, 0, 0, 1, 2, 2, 2]


@pytest.mark.parametrize("side", [512, 1024])
def test_region_score_on_a_coarse_grid_seeds_as_the_full_grid_does(astronaut, side):
    """The region-scale score read on every 2nd (512 px) or 4th (1024 px) pixel and interpolated
    back marks the same pixels as strong as on the full grid, for an edit and a JPEG re-encode."""
    from fifa_data.annotate.artifacts import _noise_bins, _region_excess, _region_step, _scored

    real = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_CUBIC)
    fake, truth = _recolour(_jpeg(real, 85), 0.04)
    diff = np.abs(cv2.cvtColor(real.astype(np.float32) / 255, cv2.COLOR_RGB2LAB) - cv2.cvtColor(fake.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)).sum(axis=2)
    sigma = ADAPTIVE_DEFAULTS["region_sigma"] * side
    step = _region_step(sigma)
    assert step == side // 256
    full, coarse = _noise_bins(real, 1.0, 8, step)
    strong = [_scored(_region_excess(diff, sigma, s, b, 6.0), 1.0) > ADAPTIVE_DEFAULTS["strong_factor"] for s, b in ((1, full), (step, coarse))]
    far = ~cv2.dilate(truth.view(np.uint8), np.ones((31, 31), np.uint8)).astype(bool)
    for marked in strong:  # it sees the edit and next to nothing of the re-encode
        assert marked[truth].mean() > 0.5 and marked[far].mean() < 0.001
    assert (strong[0] != strong[1]).mean() < 0.002
