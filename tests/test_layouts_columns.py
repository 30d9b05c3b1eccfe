"""What a dataset layout knows about a pair (its video, frame, compression, crop, mask meaning and
given box) is a typed column of the ``pairs`` config, declared once in `LAYOUT_TABLE`, and null for
image sources; ``source_fields`` keeps only the rest."""

import json

import pyarrow.parquet as pq
import pytest
from build_cli import build_pairs
from layout_videos import base, box_of, clip, edit, write_video

from fifa_data.core import masks as masklib
from fifa_data.core.schema import LAYOUT_TABLE, PAIRS_TABLE
from fifa_data.pairs.layouts.video import sample_indices

FRAMES = 4
SWAP = ("astronaut", "face_swap", "grace_hopper")


def test_layout_columns_are_declared_once_in_the_pairs_table():
    names = [c.name for c in PAIRS_TABLE]
    assert {"layout", "video", "real_video", "frame_index", "compression", "crop_box", "mask_meaning", "given_mask"} <= set(names)
    assert names[-1] == "source_fields" and names[-1 - len(LAYOUT_TABLE) : -1] == [c.name for c in LAYOUT_TABLE]


def test_image_sources_leave_the_layout_columns_null(small_build):
    table = pq.read_table(sorted((small_build / "pairs").rglob("*.parquet"))[0]).to_pylist()
    assert table
    for row in table:
        assert all(row[c.name] is None for c in LAYOUT_TABLE)
        assert "edit_mask" in json.loads(row["source_fields"])


@pytest.mark.slow
def test_a_video_source_fills_the_layout_columns(tmp_path):
    root = tmp_path / "ffpp"
    swap = edit(*SWAP)
    write_video(root / "original_sequences/youtube/c40/videos/000.mp4", clip(base("astronaut"), FRAMES))
    write_video(root / "manipulated_sequences/Deepfakes/c40/videos/000_003.mp4", clip(swap.fake, FRAMES))
    write_video(root / "manipulated_sequences/Deepfakes/masks/videos/000_003.mp4", clip(box_of(swap.mask), FRAMES))
    out = tmp_path / "fifa"
    build_pairs(root, out, "--frames-per-video", "2", "--crop-face", "1.3", "--configs", "pairs")

    import datasets

    rows = [row for split in datasets.load_dataset(str(out), "pairs").values() for row in split]
    assert sorted(row["frame_index"] for row in rows) == sample_indices(FRAMES, 2)
    for row in rows:
        assert row["layout"] == "ffpp" and row["compression"] == "c40" and row["mask_meaning"] == "box"
        assert row["video"] == "manipulated_sequences/Deepfakes/c40/videos/000_003.mp4"
        assert row["real_video"] == "original_sequences/youtube/c40/videos/000.mp4"
        left, top, right, bottom = row["crop_box"]
        assert 0 <= left < right <= 256 and 0 <= top < bottom <= 256 and right - left == bottom - top
        given = masklib.decode(row["given_mask"])
        assert given.shape == (bottom - top, right - left) == tuple(row["fake"].size[::-1])
        assert given.any()
        fields = json.loads(row["source_fields"])
        assert not {c.name for c in LAYOUT_TABLE} & set(fields)
