"""A FiFa-MLLM trained from scratch learns non-empty ``[SEG]`` masks that follow each image's edit (issue 34)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.collator import FiFaCollator, grid_mask
from model.data import load_split
from model.heads import mask_losses
from model.modeling import FiFaModel
from model.sft import parse_args, train


def _loc_fakes(build, limit: int | None = None) -> list[dict]:
    rows = load_split(str(build), ["loc"], "train", limit=limit)
    return [rows[i] for i in range(len(rows)) if rows[i]["label"] == "fake"]


def _iou(pred: np.ndarray, truth: np.ndarray) -> float:
    return float((pred & truth).sum() / max((pred | truth).sum(), 1))


def test_balanced_bce_rates_the_empty_mask_below_a_blank_guess(small_build):
    targets = torch.from_numpy(np.stack([grid_mask(row["masks"][0], 32) for row in _loc_fakes(small_build)[:8]]))
    assert 0 < float(targets.mean()) < 0.2  # sparse edits: most of each image is untouched
    empty, blank, exact = torch.full_like(targets, -4.0), torch.zeros_like(targets), (targets * 2 - 1) * 4.0
    for balanced in (False, True):
        assert mask_losses(exact, targets, balanced=balanced)[0] < mask_losses(empty, targets, balanced=balanced)[0]
    # the pixel mean rewards predicting nothing over not knowing yet; the balanced BCE does not
    assert mask_losses(empty, targets)[0] < mask_losses(blank, targets)[0]
    assert mask_losses(empty, targets, balanced=True)[0] > mask_losses(blank, targets, balanced=True)[0]
    # an empty target (a real image's mask) is scored on its untouched pixels alone
    none = torch.zeros(1, 32, 32)
    assert mask_losses(torch.full_like(none, -4.0), none, balanced=True)[0] < 0.02


@pytest.mark.slow
def test_a_tiny_model_from_scratch_learns_masks_that_follow_the_edit(small_build, tmp_path):
    """sft.py's defaults for a tiny model: 150 steps on 16 rows give masks closer to each row's edit than the
    best location prior of those rows (the mean edit, at its best threshold); they came out empty before."""
    out = tmp_path / "model"
    train(*parse_args([
        "--model", "tiny", "--dataset", str(small_build), "--configs", "loc", "--output-dir", str(out), "--eval-split", "none",
        "--image-size", "64", "--mask-size", "32", "--max-steps", "150", "--limit", "16", "--learning-rate", "1e-3", "--save-steps", "1000",
        "--per-device-train-batch-size", "4", "--logging-steps", "50", "--disable-tqdm", "true",
    ]))
    model = FiFaModel.from_pretrained(out).eval()
    rows = _loc_fakes(small_build, limit=16)
    collator = FiFaCollator(model.processor, model.fifa_config.family, mask_size=32, tasks=model.fifa_config.tasks)
    with torch.no_grad():
        batches = [collator(rows[i : i + 8]) for i in range(0, len(rows), 8)]
        predicted = torch.cat([model(**b).mask_logits for b in batches]).numpy() > 0
    truth = torch.cat([b["seg_masks"] for b in batches]).numpy() > 0.5
    mean = truth.mean(0)
    prior = max(np.mean([_iou(mean > t, m) for m in truth]) for t in np.arange(0.05, 1.0, 0.05))
    model_iou = np.mean([_iou(p, m) for p, m in zip(predicted, truth)])
    assert predicted.mean() > 0.01  # not the empty mask
    assert model_iou > prior, (model_iou, prior)
