"""The levers that push FiFa-MLLM to see evidence (`model.augment`, sft.py's flags) on real photos and a real build."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndimage
import torch
from PIL import Image

from fifa_data.core.images import open_row_image
from fifa_data.faces.detect import analyze_face
from model.augment import RealsInEveryBatch, View, face_view, mentions_sides, random_view, srm_residuals
from model.collator import FiFaCollator
from model.data import load_split
from model.evaluate import load_rows
from model.generation import generate
from model.modeling import FiFaModel
from model.sft import parse_args, train
from model.tiny import tiny_llava


def _normalised(image: np.ndarray) -> torch.Tensor:
    return (torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255 - 0.45) / 0.27


def test_srm_channels_of_a_real_photo_are_high_pass(astronaut):
    residual = srm_residuals(_normalised(astronaut))
    assert residual.shape == (1, 3, *astronaut.shape[:2]) and float(residual.abs().max()) <= 1
    assert residual.mean((0, 2, 3)).abs().max() < 0.05  # high-pass: no mean left
    grey = astronaut.mean(2)
    flat = (ndimage.maximum_filter(grey, 5) - ndimage.minimum_filter(grey, 5)) == 0  # the photo's flat patches
    assert flat.sum() > 1000
    assert float(residual[0][:, torch.from_numpy(flat)].abs().max()) < 1e-3
    assert float(residual[0][:, torch.from_numpy(~flat)].abs().mean()) > 0.3  # texture and noise remain


def test_a_view_moves_the_mask_with_the_image(astronaut):
    bright = astronaut.mean(2) > 160  # a mask the photo's own content defines
    rng = np.random.default_rng(0)
    views = [random_view(astronaut.shape[:2], rng, min_scale=0.5, flip=True) for _ in range(8)]
    assert any(v.flip for v in views) and any(not v.flip for v in views) and len({v.box for v in views}) == 8
    for view in views:
        seen = np.asarray(view.image(Image.fromarray(astronaut))).mean(2) > 160
        assert np.array_equal(view.mask(bright), seen)
    box = [100.0, 50.0, 200.0, 120.0]
    view = View((50, 20, 250, 220), flip=True)
    moved = np.zeros((200, 200), bool)
    x0, y0, x1, y1 = (round(v) for v in view.box_of(box))
    moved[y0:y1, x0:x1] = True
    original = np.zeros((512, 512), bool)
    original[50:120, 100:200] = True
    assert np.array_equal(view.mask(original), moved)


def test_the_collator_augments_masks_with_the_image(small_build):
    rows = [r for r in load_split(str(small_build), ["loc"], "train") if not mentions_sides(r)]
    row = next(r for r in rows if r["masks"])
    model_free = {"family": "llava", "mask_size": 32}
    processor = FiFaModel.create(*tiny_llava([row["messages"][1]["content"][0]["text"]], image_size=64), base_model="tiny-llava").processor
    plain = FiFaCollator(processor, **model_free)([row])["seg_masks"]
    flipped = 0
    for seed in range(6):
        batch = FiFaCollator(processor, augment=True, min_scale=1.0, seed=seed, **model_free)([row])
        same, mirrored = torch.equal(batch["seg_masks"], plain), torch.equal(batch["seg_masks"], plain.flip(-1))
        assert same or mirrored
        flipped += mirrored and not same
    assert 0 < flipped < 6


def test_a_face_crop_is_centred_on_the_face(astronaut):
    face = analyze_face(astronaut)
    box = face.box
    x0, y0, x1, y1 = face_view(astronaut.shape[:2], list(box), margin=0.3).box
    assert abs((x0 + x1) / 2 - (box[0] + box[2]) / 2) <= 1 and abs((y0 + y1) / 2 - (box[1] + box[3]) / 2) <= 1
    assert abs((x1 - x0) - (y1 - y0)) <= 1 and x0 <= box[0] and x1 >= box[2] and y0 <= box[1] and y1 >= box[3]
    crop = face_view(astronaut.shape[:2], list(box), margin=0.3).image(Image.fromarray(astronaut))
    assert crop.size == (x1 - x0, y1 - y0)


def test_every_batch_holds_a_real_when_asked(small_build):
    labels = load_split(str(small_build), ["det"], "train")["label"]
    assert 0 < labels.count("real") < len(labels) // 2
    sampler = RealsInEveryBatch(labels, batch_size=4, reals=1, seed=0)
    order = list(sampler)
    assert len(order) == len(sampler) and len(order) % 4 == 0
    batches = [order[i : i + 4] for i in range(0, len(order), 4)]
    assert all(sum(labels[i] == "real" for i in b) == 1 for b in batches)
    assert {i for i in order if labels[i] != "real"} == {i for i, label in enumerate(labels) if label != "real"}
    with pytest.raises(ValueError, match="between 1 and"):
        RealsInEveryBatch(labels, batch_size=4, reals=4)


def test_a_source_prefix_scores_one_group_of_a_build(small_build):
    rows = load_rows(str(small_build), "det", "train", None, None)
    first = rows[0]["source_id"]
    kept = load_rows(str(small_build), "det", "train", None, None, source_prefix=first[:3])
    assert [r["id"] for r in kept] == [r["id"] for r in rows if r["source_id"].startswith(first[:3])] and kept
    assert load_rows(str(small_build), "det", "train", None, None, source_prefix="no-such-group/") == []


@pytest.mark.slow
def test_a_trainer_step_with_every_lever_on_saves_a_model_that_answers(small_build, tmp_path):
    out = tmp_path / "levers"
    argv = [
        "--dataset", str(small_build), "--output-dir", str(out), "--disable-tqdm", "true", "--configs", "det,loc,rseg",
        "--max-steps", "2", "--save-strategy", "no", "--eval-split", "none", "--image-size", "64", "--mask-size", "32",
        "--forensic-input", "true", "--augment", "true", "--reals-per-batch", "1", "--bce-weight", "4", "--dice-weight", "1",
    ]
    trainer = train(*parse_args(argv))
    assert trainer.state.global_step == 2
    assert isinstance(trainer._get_train_sampler(), RealsInEveryBatch)
    model = FiFaModel.from_pretrained(out)
    assert model.fifa_config.forensic_input and model.fifa_config.mask_size == 32
    assert model.base.model.vision_tower.config.num_channels == 6
    rows = load_rows(str(small_build), "bench", "test", ["loc"], 1)
    answers = generate(model, rows, max_new_tokens=8)
    image = open_row_image(rows[0]["image"])
    assert len(answers) == 1 and all(m.shape == (image.height, image.width) for m in answers[0].masks)
