"""Round 2 of the family quality (issue 32): an inpainting removes a visible structure."""

from __future__ import annotations

import numpy as np

from fifa_data.pairs.simulate import EditNotApplicable, simulate_edit
from fifa_data.pairs.simulate.blends import _detail


def test_an_inpainting_removes_a_visible_structure(grace_hopper):
    """The photo's grey-level detail inside the truth mask (a mole, a mark, wrinkles) is clearly above the fake's:
    the fill took something a viewer sees away, not 3 grey levels of plain skin."""
    gray = lambda rgb: rgb.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])  # noqa: E731
    removed = []
    for seed in range(8):
        try:
            edit = simulate_edit(grace_hopper, "inpaint", np.random.default_rng(seed))
        except EditNotApplicable:
            continue
        before, after = _detail(gray(grace_hopper), edit.mask), _detail(gray(edit.fake), edit.mask)
        assert edit.params["removed_detail_levels"] > 0
        removed.append((before, after))
    assert len(removed) >= 4
    for before, after in removed:
        assert before >= 1.3 * after and before - after >= 4, removed
