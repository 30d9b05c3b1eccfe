"""FaceForensics++'s DeepFakeDetection pairs each fake ``<a>_<b>__<scene>__<id>`` with actor ``a``'s
original of the same scene under ``original_sequences/actors``, frame by frame."""

from pathlib import Path

import numpy as np
from layout_videos import FRAMES, base, clip, edit, moved, write_video

from fifa_data.core.images import load_image_file
from fifa_data.pairs.layouts.frames import LayoutOptions
from fifa_data.pairs.layouts.video import sample_indices
from fifa_data.pairs.sources import open_source

SWAP = ("astronaut", "face_swap", "grace_hopper")


def write_dfd(root: Path) -> Path:
    write_video(root / "original_sequences/actors/c23/videos/01__walking_outside.mp4", clip(base("astronaut")))
    fakes = root / "manipulated_sequences/DeepFakeDetection/c23/videos"
    write_video(fakes / "01_02__walking_outside__YVGY8LOK.mp4", clip(edit(*SWAP).fake))
    write_video(fakes / "03_02__talking__ABC123.mp4", clip(edit(*SWAP).fake))  # actor 03 has no original here
    write_video(fakes / "oddly_named.mp4", clip(edit(*SWAP).fake))
    return root


def test_deepfakedetection_fakes_pair_with_their_actors_original(tmp_path):
    refs, rejects = open_source(write_dfd(tmp_path / "ffpp"), LayoutOptions(frames_per_video=2, work=tmp_path / "work")).scan()
    assert sorted(r.fake for r in rejects) == ["manipulated_sequences/DeepFakeDetection/c23/videos/03_02__talking__ABC123.mp4",
                                               "manipulated_sequences/DeepFakeDetection/c23/videos/oddly_named.mp4"]
    assert {r.reason for r in rejects} == {"unpaired_fake"}
    assert [int(p.extra["frame_index"]) for p in refs] == sample_indices(FRAMES, 2)
    for p in refs:
        assert p.source_id == "actors/01__walking_outside" and p.manipulation == "DeepFakeDetection" and p.mask_path is None
        assert p.extra["real_video"] == "original_sequences/actors/c23/videos/01__walking_outside.mp4"
        k = int(p.extra["frame_index"])
        _, real = load_image_file(p.real_file)
        truth = moved(base("astronaut"), k).astype(np.int16)
        assert np.abs(real.astype(np.int16) - truth).mean() < 6  # the original's own frame k, not another moment
