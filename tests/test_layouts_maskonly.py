"""Mask-only sets (a fake and its mask, no real image) are recognised in both trees and read as
fakes that stand alone; a fake whose mask does not fit it, or that shows no face, is a reject
naming the file, not a stopped build (tests/test_maskonly_build.py builds one end to end)."""

from pathlib import Path

import numpy as np
from layout_videos import edit

from fifa_data.core.images import encode_image
from fifa_data.pairs.layouts.detect import detect_layout
from fifa_data.pairs.loading import LoadedPair, load_pairs
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sources import open_source


def write_sid_set(root: Path) -> Path:
    e = edit("astronaut", "lip_color")
    (root / "images").mkdir(parents=True)
    (root / "images/0001.png").write_bytes(encode_image(e.fake))
    (root / "images/0001_mask.png").write_bytes(encode_image(e.mask.astype("uint8") * 255))
    return root


def test_mask_only_trees_are_recognised(tmp_path):
    assert detect_layout(write_sid_set(tmp_path / "sid")) == "mask_only"
    folders = tmp_path / "mmtt"
    (folders / "fake").mkdir(parents=True)
    (folders / "mask").mkdir()
    (folders / "fake/a.png").write_bytes((tmp_path / "sid/images/0001.png").read_bytes())
    (folders / "mask/a.png").write_bytes((tmp_path / "sid/images/0001_mask.png").read_bytes())
    (folders / "fake/b.jpg").write_bytes(b"")  # its mask cannot be read: a reject
    (folders / "mask/b.png").write_bytes(b"")
    assert detect_layout(folders) == "mask_only"
    (ref,), (reject,) = open_source(folders).scan()
    assert ref.real_path == ref.fake_path == "fake/a.png" and ref.extra["layout"] == "mask_only"
    assert reject.reason == "missing_mask" and reject.fake == "fake/b.jpg"


def test_a_fake_stands_alone_and_bad_inputs_are_rejects(tmp_path):
    root = write_sid_set(tmp_path / "sid")
    (root / "images/0002.png").write_bytes(encode_image(edit("astronaut", "lip_color").fake))
    (root / "images/0002_mask.png").write_bytes(encode_image(np.zeros((64, 64), np.uint8)))  # not the fake's size
    (root / "images/0003.png").write_bytes(encode_image(np.full((128, 128, 3), 200, np.uint8)))  # no face
    (root / "images/0003_mask.png").write_bytes(encode_image(np.full((128, 128), 255, np.uint8)))
    refs, rejects = open_source(root).scan()
    assert rejects == [] and len(refs) == 3
    loaded = {item.fake if isinstance(item, Reject) else item.ref.fake_path: item for item in load_pairs(refs)}
    good = loaded["images/0001.png"]
    assert isinstance(good, LoadedPair) and good.fake_only and good.real is good.fake
    assert np.array_equal(good.given_mask, edit("astronaut", "lip_color").mask)
    assert loaded["images/0002.png"].reason == "bad_mask" and "images/0002" in loaded["images/0002.png"].detail
    assert loaded["images/0003.png"].reason == "no_face" and "images/0003.png" in loaded["images/0003.png"].detail
