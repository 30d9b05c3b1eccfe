"""The evidence levers of a FiFa-MLLM trained from scratch: the SRM residuals' local energy, grid-preserving shifts,
reals spread over the tasks, empty-mask probes on real faces, the image summary at the task token, the tiny model's
size, and validation rows spread over a split."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from fifa_data.core.errors import UsageError
from fifa_data.core.markup import SEG
from model.augment import RealsInEveryBatch, forensic_channel_count, forensic_channels, random_view, srm_energy, srm_residuals
from model.collator import FiFaCollator
from model.data import load_split
from model.evaluate import load_rows
from model.generation import generate
from model.modeling import FiFaModel
from model.sft import parse_args, train
from model.tiny import tiny_llava


def _normalised(image: np.ndarray) -> torch.Tensor:
    return (torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255 - 0.45) / 0.27


def test_the_energy_of_the_residuals_drops_where_a_patch_was_resampled(astronaut):
    box = (slice(180, 260), slice(200, 300))  # the face: skin, eyes and nose
    edited = astronaut.copy()
    patch = edited[box]
    small = cv2.resize(patch, (patch.shape[1] // 2, patch.shape[0] // 2), interpolation=cv2.INTER_AREA)
    edited[box] = cv2.resize(small, (patch.shape[1], patch.shape[0]), interpolation=cv2.INTER_LINEAR)  # what a warp leaves
    before = srm_energy(srm_residuals(_normalised(astronaut)), 7)[0]
    after = srm_energy(srm_residuals(_normalised(edited)), 7)[0]
    assert before.shape == (3, 512, 512) and float(before.min()) >= 0 and float(before.max()) <= 1
    inner = (slice(190, 250), slice(210, 290))
    assert float(after[:, inner[0], inner[1]].mean()) < 0.6 * float(before[:, inner[0], inner[1]].mean())
    outside = (slice(0, 150), slice(0, 512))
    assert torch.allclose(after[:, outside[0], outside[1]], before[:, outside[0], outside[1]])
    with pytest.raises(ValueError, match="odd"):
        srm_energy(before[None], 4)


def test_forensic_channels_count_what_they_add(astronaut):
    pixels = _normalised(astronaut[:64, :64])
    assert forensic_channels(pixels).shape[1] == forensic_channel_count(True) == 3
    assert forensic_channels(pixels, 5).shape[1] == forensic_channel_count(True, 5) == 6
    assert forensic_channel_count(False, 5) == 0


def test_reals_spread_over_the_tasks_as_the_fakes_are(small_build):
    rows = load_split(str(small_build), ["det", "loc"], "train")
    labels, tasks = rows["label"], rows["task"]
    share = {t: sum(lab == "real" and tk == t for lab, tk in zip(labels, tasks)) / labels.count("real") for t in ("det", "loc")}
    assert share["loc"] < share["det"]  # det asks several questions of one real photo, loc one
    fakes_loc = sum(lab != "real" and tk == "loc" for lab, tk in zip(labels, tasks)) / sum(lab != "real" for lab in labels)
    sampler = RealsInEveryBatch(labels, batch_size=4, reals=1, seed=0, tasks=tasks)
    order = [i for _ in range(20) for i in sampler]
    batches = [order[i : i + 4] for i in range(0, len(order), 4)]
    assert all(sum(labels[i] == "real" for i in b) == 1 for b in batches)
    drawn = [tasks[i] for i in order if labels[i] == "real"]
    assert abs(drawn.count("loc") / len(drawn) - fakes_loc) < 0.05


def test_a_real_loc_row_becomes_an_untrained_seg_with_an_empty_mask(small_build):
    rows = load_split(str(small_build), ["loc"], "train")
    real = next(r for r in rows if r["label"] == "real")
    fake = next(r for r in rows if r["label"] != "real" and r["masks"])
    processor = FiFaModel.create(*tiny_llava([real["messages"][1]["content"][0]["text"]], image_size=64), base_model="tiny-llava").processor
    seg = processor.tokenizer.convert_tokens_to_ids(SEG)
    plain = FiFaCollator(processor, "llava", mask_size=32)([real])
    assert len(plain["seg_masks"]) == 0 and bool((plain["labels"] != -100).any())
    probe = FiFaCollator(processor, "llava", mask_size=32, empty_real_masks=1.0)([real, fake])
    assert probe["seg_masks"].shape == (2, 32, 32)
    assert float(probe["seg_masks"][0].sum()) == 0 and float(probe["seg_masks"][1].sum()) > 0  # the real's mask, then the fake's
    assert int((probe["input_ids"][0] == seg).sum()) == 1 and bool((probe["labels"][0] == -100).all())
    assert bool((probe["labels"][1] != -100).any())  # a fake row is trained as always
    assert torch.equal(FiFaCollator(processor, "llava", mask_size=32, empty_real_masks=1.0, with_answers=False)([real])["input_ids"],
                       FiFaCollator(processor, "llava", mask_size=32, with_answers=False)([real])["input_ids"])  # never at inference


def test_spread_rows_cover_the_whole_split(small_build):
    every = load_rows(str(small_build), "det", "train", None, None)
    first = load_rows(str(small_build), "det", "train", None, 5)
    spread = load_rows(str(small_build), "det", "train", None, 5, spread=True)
    ids = [r["id"] for r in every]
    assert [r["id"] for r in first] == ids[:5]
    assert len(spread) == 5 and spread[0]["id"] == ids[0] and spread[-1]["id"] == ids[-1]
    assert [r["id"] for r in load_rows(str(small_build), "det", "train", None, len(ids) + 3, spread=True)] == ids


def test_a_sized_tiny_model_with_every_evidence_lever_trains_and_answers(small_build, tmp_path):
    out = tmp_path / "evidence"
    argv = [
        "--dataset", str(small_build), "--output-dir", str(out), "--disable-tqdm", "true", "--configs", "det,loc", "--max-steps", "2",
        "--save-strategy", "no", "--eval-split", "none", "--image-size", "64", "--mask-size", "32", "--tiny-hidden", "32",
        "--tiny-layers", "1", "--patch-size", "16", "--forensic-input", "true", "--energy-window", "5", "--reals-per-batch", "1",
        "--reals-by-task", "true", "--empty-real-masks", "0.5", "--image-summary", "true",
    ]
    trainer = train(*parse_args(argv))
    assert trainer.state.global_step == 2 and trainer._get_train_sampler().weights is not None
    model = FiFaModel.from_pretrained(out)
    vision = model.base.model.vision_tower.config
    assert (vision.num_channels, vision.hidden_size, vision.num_hidden_layers, vision.patch_size) == (9, 32, 1, 16)
    assert model.fifa_config.energy_window == 5 and model.fifa_config.image_summary and model.summary_encoder is not None
    assert float(model.summary_encoder.mlp[-1].weight.abs().sum()) > 0  # trained away from its no-op start, and saved
    rows = load_rows(str(small_build), "loc", "test", None, 1)
    assert len(generate(model, rows, max_new_tokens=4)) == 1
    with pytest.raises(UsageError, match="--forensic-input"):  # the energy needs the residuals
        train(*parse_args(["--dataset", str(small_build), "--output-dir", str(tmp_path / "no"), "--energy-window", "5"]))


def test_a_shifted_view_moves_whole_pixels_on_the_grid(astronaut):
    rng = np.random.default_rng(0)
    views = [random_view((512, 512), rng, min_scale=0.75, flip=True, shift=8) for _ in range(12)]
    assert len({v.box for v in views}) > 6 and any(v.flip for v in views)
    bright = astronaut.mean(2) > 160
    for view in views:
        x0, y0, x1, y1 = view.box
        assert (x1 - x0, y1 - y0) == (512, 512) and x0 % 8 == 0 and y0 % 8 == 0 and abs(x0) <= 128 and abs(y0) <= 128
        seen = np.asarray(view.image(Image.fromarray(astronaut)))
        unflipped = seen[:, ::-1] if view.flip else seen
        inside = (slice(max(-y0, 0), 512 - max(y0, 0)), slice(max(-x0, 0), 512 - max(x0, 0)))
        source = (slice(max(y0, 0), 512 + min(y0, 0)), slice(max(x0, 0), 512 + min(x0, 0)))
        assert np.array_equal(unflipped[inside], astronaut[source])  # the same bytes, moved
        assert np.array_equal(view.mask(bright), seen.mean(2) > 160)  # the mask moves with them; the black border is unmarked
