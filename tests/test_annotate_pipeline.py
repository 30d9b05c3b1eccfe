"""The annotator end to end on pairs written to disk: the mask stays near the subject, and a fake
whose edit cannot be localised is still a fake for det and cls."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data

from fifa_data.annotate.artifacts import ADAPTIVE_DEFAULTS, LOSSLESS_PARAMS, RESAVED_PARAMS
from fifa_data.annotate.pipeline import RESAVED_EXACT, AnnotatorConfig, annotate, measure
from fifa_data.core import masks as masklib
from fifa_data.core.images import encode_image, load_rgb
from fifa_data.core.schema import IMAGE_LEVEL_TASKS, TASKS
from fifa_data.pairs.loading import load_pairs
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.simulate import simulate_edit
from fifa_data.pairs.sources import FolderPairs
from fifa_data.tasks import task_rows


@pytest.fixture(scope="module")
def scene(astronaut):
    """The astronaut beside a busy still life (coffee), 1024 x 512: a face, and a lot of background."""
    coffee = np.ascontiguousarray(np.asarray(Image.fromarray(data.coffee()).resize((512, 512))))
    return np.concatenate([astronaut, coffee], axis=1)


def _noisy_patch(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Strong added grain on a 90 x 90 patch of the still life, far from the face: noise a
    re-encode or a retouch elsewhere in the photo leaves, which FiFa does not annotate."""
    out = image.astype(np.int16)
    out[380:470, 850:940] += rng.normal(0, 25, (90, 90, 3)).astype(np.int16)
    return np.clip(out, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def annotated(tmp_path_factory, scene):
    root = tmp_path_factory.mktemp("scene")
    (root / "real").mkdir()
    (root / "fake").mkdir()
    Image.fromarray(scene).save(root / "real/scene.png")
    rng = np.random.default_rng(0)
    lips = simulate_edit(scene, "lip_color", rng).fake
    Image.fromarray(_noisy_patch(lips, rng)).save(root / "fake/scene_lips.jpg", quality=90)
    Image.fromarray(_noisy_patch(scene, rng)).save(root / "fake/scene_patch.png")
    out = {}
    for item in annotate(load_pairs(FolderPairs(root))):
        assert not isinstance(item, Reject), item
        out[item.image_path] = item
    return root, out


def test_noise_far_from_the_face_is_not_in_the_mask(annotated):
    root, images = annotated
    fake = images["fake/scene_lips.jpg"]
    assert fake.unlocalised is None and "lips" in " ".join(fake.decisions.manipulated)
    artifact = fake.decisions.artifact
    assert not artifact[:, 512:].any()  # nothing on the still life
    assert artifact[:, :512].any()
    assert fake.mask_params["outside_pixels"] > 1000  # the grain was found, and left out as a figure
    # with the neighbourhood off, the same grain becomes a blob of the mask
    pair = next(p for p in load_pairs(FolderPairs(root)) if p.ref.fake_path == "fake/scene_lips.jpg")
    everywhere = measure(pair, fake.concept_masks, AnnotatorConfig(subject_reach=None))
    assert everywhere.decisions.artifact[380:470, 850:940].mean() > 0.5


def test_a_fake_without_a_localisable_edit_is_kept_for_det_and_cls(annotated):
    fake = annotated[1]["fake/scene_patch.png"]
    assert fake.label == "fake" and fake.unlocalised is not None
    assert fake.unlocalised.reason == "empty_artifact_mask" and "scene_patch.png" in fake.unlocalised.detail
    assert fake.explanation is None and fake.masks == {}
    rows = task_rows(fake)
    assert {t for t, r in rows.items() if r} == set(IMAGE_LEVEL_TASKS)
    assert all(not rows[t] for t in TASKS if t not in IMAGE_LEVEL_TASKS)
    assert rows["det"] and all(r["label"] == "fake" for r in rows["det"] + rows["cls"])


def test_keep_unlocalised_off_rejects_them_as_before(tmp_path, scene):
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    Image.fromarray(scene).save(tmp_path / "real/scene.png")
    Image.fromarray(_noisy_patch(scene, np.random.default_rng(0))).save(tmp_path / "fake/scene_patch.png")
    out = list(annotate(load_pairs(FolderPairs(tmp_path)), config=AnnotatorConfig(keep_unlocalised=False)))
    assert [r.reason for r in out if isinstance(r, Reject)] == ["empty_artifact_mask"]


def test_the_exact_resave_settings_need_a_fake_its_real_reproduces(tmp_path, scene):
    """A lipstick saved once as JPEG differs from its resaved real only near the subject, and the
    mask uses the settings of an exact resave. Saved a second time at the same quality (an
    upload), its real saved once differs all over the still life, but saved twice (first at the
    quality found for it) it does not: the exact-resave settings hold for both."""
    lips = simulate_edit(scene, "lip_color", 0).fake
    params = {}
    for saves in (1, 2):
        root = tmp_path / f"saved{saves}"
        (root / "real").mkdir(parents=True)
        (root / "fake").mkdir()
        Image.fromarray(scene).save(root / "real/scene.png")
        fake = root / "fake/scene_lips.jpg"
        Image.fromarray(lips).save(fake, quality=85)
        if saves == 2:
            Image.open(fake).convert("RGB").save(fake, quality=85)
        (item,) = [i for i in annotate(load_pairs(FolderPairs(root))) if i.label == "fake"]
        params[saves] = item.mask_params
    once, twice = params[1], params[2]
    assert once["reference"] == twice["reference"] == "resaved"
    assert "first_quality" not in once and twice["first_quality"] == 85
    for saved in (once, twice):
        assert saved["differs_away"] <= RESAVED_EXACT and saved["faint_delta_e"] == RESAVED_PARAMS["faint_delta_e"]


def test_a_lossless_fake_is_read_without_blur_against_its_real(tmp_path, scene):
    """A lipstick saved as PNG equals its real on every other pixel: the mask uses the lossless
    settings (no blur, low floors) and comes closer to the edit than the JPEG-noise settings do;
    the same fake with its untouched pixels re-encoded everywhere keeps the default settings."""
    edit = simulate_edit(scene, "lip_color", 0)
    params, iou = {}, {}
    noisy = load_rgb(encode_image(edit.fake, "JPEG", quality=90))
    jpeg_settings = {k: ADAPTIVE_DEFAULTS[k] for k in LOSSLESS_PARAMS}
    for name, fake, settings in (("exact", edit.fake, {}), ("default", edit.fake, jpeg_settings), ("noisy", noisy, {})):
        root = tmp_path / name
        (root / "real").mkdir(parents=True)
        (root / "fake").mkdir()
        Image.fromarray(scene).save(root / "real/scene.png")
        Image.fromarray(fake).save(root / "fake/scene_lips.png")
        (item,) = [i for i in annotate(load_pairs(FolderPairs(root)), config=AnnotatorConfig(mask_params=settings)) if i.label == "fake"]
        params[name], iou[name] = item.mask_params, masklib.iou(item.decisions.artifact, edit.mask)
    exact, noisy = params["exact"], params["noisy"]
    assert exact["reference"] == noisy["reference"] == "real"
    assert exact["real_same_share"] > 0.9 > noisy["real_same_share"]
    assert exact["blur_sigma"] == LOSSLESS_PARAMS["blur_sigma"] and exact["min_delta_e"] == LOSSLESS_PARAMS["min_delta_e"]
    assert noisy["blur_sigma"] == ADAPTIVE_DEFAULTS["blur_sigma"] and "differs_away" not in noisy
    assert iou["exact"] > 0.9 > iou["default"] + 0.2
