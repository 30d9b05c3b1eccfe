"""A self-blend's shifted copy of a close-up's face pulls the whole photo's phase correlation past
the misalignment limit; the photo's border says it did not move, so the pair is kept. A photo that
moved whole is still refused."""

from __future__ import annotations

import numpy as np
import pytest

from fifa_data.core.images import encode_image
from fifa_data.pairs.loading import alignment, border_shift, load_pairs
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sample_source import _face_crop
from fifa_data.pairs.simulate import simulate_edit
from fifa_data.pairs.sources import FolderPairs


@pytest.fixture(scope="module")
def close_up(grace_hopper):
    return _face_crop(grace_hopper)


@pytest.mark.parametrize("seed", [4, 28])
def test_a_self_blend_of_a_close_up_is_kept(close_up, tmp_path, seed):
    fake = simulate_edit(close_up, "self_blend", seed).fake
    (dx, dy), _ = alignment(close_up, fake)
    assert max(abs(dx), abs(dy)) > 0.5  # the whole photo's peak moved with the face
    assert max(map(abs, border_shift(close_up, fake))) < 0.1  # the border did not
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    (tmp_path / "real" / "hopper.png").write_bytes(encode_image(close_up, "PNG"))
    (tmp_path / "fake" / "hopper_self_blend.png").write_bytes(encode_image(fake, "PNG"))
    (pair,) = load_pairs(FolderPairs(tmp_path))
    assert not isinstance(pair, Reject), pair


def test_a_photo_moved_whole_is_still_misaligned(close_up, tmp_path):
    fake = np.roll(close_up, 2, axis=1)
    assert abs(border_shift(close_up, fake)[0]) > 1.5
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    (tmp_path / "real" / "hopper.png").write_bytes(encode_image(close_up, "PNG"))
    (tmp_path / "fake" / "hopper_moved.png").write_bytes(encode_image(fake, "PNG"))
    (pair,) = load_pairs(FolderPairs(tmp_path))
    assert isinstance(pair, Reject) and pair.reason == "misaligned", pair
