"""Why a FiFa-MLLM trained from scratch drew empty ``[SEG]`` masks, and the balanced BCE that stops it (issue 34)."""

from __future__ import annotations

import numpy as np
import torch

from model.collator import grid_mask
from model.data import load_split
from model.heads import mask_losses


def _loc_fakes(build) -> list[dict]:
    rows = load_split(str(build), ["loc"], "train")
    return [rows[i] for i in range(len(rows)) if rows[i]["label"] == "fake"]


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
