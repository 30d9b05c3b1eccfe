"""FaceForensics++ read as it ships: a miniature tree of mp4 videos (originals, four methods at c23
and c40, mask videos of three meanings, official splits, and broken inputs) written from the bundled
photos, then detected, scanned and built with ``scripts/build.py --pairs DIR``."""

import json
from pathlib import Path

import numpy as np
import pytest
from build_cli import build_pairs
from layout_videos import FRAMES, base, box_of, clip, edit, iou, moved, write_video

from fifa_data.core import masks as masklib
from fifa_data.core.families import family_of
from fifa_data.core.images import load_image_file, load_mask_file
from fifa_data.pairs.layouts.detect import detect_layout
from fifa_data.pairs.layouts.frames import LayoutOptions
from fifa_data.pairs.layouts.video import sample_indices
from fifa_data.pairs.sources import open_source

PER_VIDEO = 2
SWAP = ("astronaut", "face_swap", "grace_hopper")  # target 000 = astronaut, source 003
REENACT = ("astronaut", "reenact", "grace_hopper")
SHIFTER = ("grace_hopper", "face_swap", "astronaut")  # target 002 = grace_hopper, source 001
TRUTH = {"Deepfakes": SWAP, "FaceSwap": SWAP, "Face2Face": REENACT, "FaceShifter": SHIFTER}


def write_ffpp(root: Path) -> Path:
    """The miniature FF++ tree (module docstring); returns ``root``."""
    originals = root / "original_sequences/youtube"
    write_video(originals / "c23/videos/000.mp4", clip(base("astronaut")))
    write_video(originals / "c40/videos/000.mp4", clip(base("astronaut")))
    write_video(originals / "c23/videos/002.mp4", clip(base("grace_hopper")))
    fakes = root / "manipulated_sequences"
    for method, compressions in (("Deepfakes", ("c23",)), ("FaceSwap", ("c23", "c40")), ("Face2Face", ("c23",))):
        for c in compressions:
            write_video(fakes / method / c / "videos/000_003.mp4", clip(edit(*TRUTH[method]).fake))
    swap, reenact = edit(*SWAP).mask, edit(*REENACT).mask
    write_video(fakes / "Deepfakes/masks/videos/000_003.mp4", clip(box_of(swap)))  # a box
    write_video(fakes / "FaceSwap/masks/videos/000_003.mp4", clip(swap.astype(np.uint8) * 255))  # the region
    write_video(fakes / "Face2Face/masks/videos/000_003.mp4", clip(reenact.astype(np.uint8) * 90))  # a shaded render
    write_video(fakes / "FaceShifter/c23/videos/002_001.mp4", clip(edit(*SHIFTER).fake))  # no masks
    # broken inputs: each must become one reject, never stop the build
    write_video(fakes / "NeuralTextures/c23/videos/002_001.mp4", clip(edit(*SHIFTER).fake))  # its mask video is missing
    write_video(fakes / "Morphing/c23/videos/000_003.mp4", clip(edit(*SWAP).fake))  # unknown method
    write_video(fakes / "FaceShifter/c40/videos/000_003.mp4", clip(edit(*SWAP).fake, n=FRAMES - 2))  # fewer frames than 000
    truncated = write_video(fakes / "Deepfakes/c40/videos/000_003.mp4", clip(edit(*SWAP).fake)).read_bytes()
    (fakes / "Deepfakes/c40/videos/000_003.mp4").write_bytes(truncated[: len(truncated) // 5])
    (root / "splits").mkdir()
    (root / "splits/train.json").write_text(json.dumps([["000", "003"]]))
    (root / "splits/test.json").write_text(json.dumps([["002", "001"]]))
    return root


@pytest.fixture(scope="module")
def ffpp(tmp_path_factory) -> Path:
    return write_ffpp(tmp_path_factory.mktemp("ffpp") / "FaceForensics++")


def which_moment(frame: np.ndarray, image: np.ndarray) -> int:
    """The frame number of ``image``'s clip that ``frame`` is closest to."""
    errors = [np.abs(frame.astype(int) - moved(image, k).astype(int)).mean() for k in range(FRAMES)]
    return int(np.argmin(errors))


def test_ffpp_is_detected_and_every_video_pair_is_sampled_by_index(ffpp, tmp_path):
    assert detect_layout(ffpp) == "ffpp"
    pairs, rejects = open_source(ffpp, LayoutOptions(frames_per_video=PER_VIDEO, work=tmp_path)).scan()

    reasons = sorted((r.reason, r.fake or r.detail.split(":")[0]) for r in rejects)
    assert reasons == [
        ("missing_mask", "manipulated_sequences/NeuralTextures/c23/videos/002_001.mp4"),
        ("short_video", "manipulated_sequences/FaceShifter/c40/videos/000_003.mp4"),
        ("unknown_method", "manipulated_sequences/Morphing"),
        ("unreadable_video", "manipulated_sequences/Deepfakes/c40/videos/000_003.mp4"),
    ]
    videos = sorted({(p.extra["video"], p.extra["compression"]) for p in pairs})
    assert [v.split("/")[1] + "/" + c for v, c in videos] == ["Deepfakes/c23", "Face2Face/c23", "FaceShifter/c23", "FaceSwap/c23", "FaceSwap/c40"]
    assert len(pairs) == len(videos) * PER_VIDEO
    indices = sample_indices(FRAMES, PER_VIDEO)
    for p in pairs:
        method = p.manipulation
        assert p.extra["video"].startswith(f"manipulated_sequences/{method}/{p.extra['compression']}/")
        assert family_of(method) in ("identity_swap", "reenactment")
        assert p.source_id == p.extra["video"].rsplit("/", 1)[1].split("_")[0]  # the target video
        assert p.extra["split"] == {"000": "train", "002": "test"}[p.source_id]  # the official lists
        k = int(p.extra["frame_index"])
        assert k in indices
        photo, *_ = TRUTH[method]
        real, fake = load_image_file(p.real_file)[1], load_image_file(p.fake_file)[1]
        assert which_moment(real, base(photo)) == k  # the real frame is frame k of the original ...
        assert which_moment(fake, edit(*TRUTH[method]).fake) == k  # ... and the fake frame the same moment
        assert p.real_path.endswith(".png") and p.fake_path.endswith(".png")  # stored losslessly


def test_ffpp_masks_are_binarised_and_tagged_with_their_meaning(ffpp, tmp_path):
    pairs, _ = open_source(ffpp, LayoutOptions(frames_per_video=PER_VIDEO, work=tmp_path)).scan()
    by_method = {}
    for p in pairs:
        by_method.setdefault(p.manipulation, []).append(p)
    for p in by_method["FaceSwap"]:  # a region: the artifact mask itself
        assert p.extra["mask_meaning"] == "region" and p.mask_path is not None
        truth = moved(edit(*SWAP).mask.astype(np.uint8), int(p.extra["frame_index"])).astype(bool)
        assert iou(load_mask_file(p.mask_file), truth) >= 0.7
    for method, meaning in (("Deepfakes", "box"), ("Face2Face", "render")):  # recorded; the build computes its own
        for p in by_method[method]:
            assert p.extra["mask_meaning"] == meaning and p.mask_path is None
            given = masklib.decode(json.loads(p.extra["given_mask"]))
            truth = moved(edit(*TRUTH[method]).mask.astype(np.uint8), int(p.extra["frame_index"])).astype(bool)
            assert (given & truth).sum() >= 0.9 * truth.sum()  # the render's shading and the box hold the change
    assert all("mask_meaning" not in p.extra and p.mask_path is None for p in by_method["FaceShifter"])


def test_crop_face_crops_real_fake_and_mask_identically(ffpp, tmp_path):
    pairs, _ = open_source(ffpp, LayoutOptions(layout="ffpp", frames_per_video=1, crop_face=1.3, work=tmp_path)).scan()
    swap = [p for p in pairs if p.manipulation == "FaceSwap"]
    assert swap
    for p in swap:
        left, top, right, bottom = json.loads(p.extra["crop_box"])
        real, fake, mask = load_image_file(p.real_file)[1], load_image_file(p.fake_file)[1], load_mask_file(p.mask_file)
        assert real.shape == fake.shape and mask.shape == real.shape[:2] == (bottom - top, right - left)
        assert 0 <= left < right <= 256 and 0 <= top < bottom <= 256 and right - left < 256
        k = int(p.extra["frame_index"])
        truth = moved(edit(*SWAP).mask.astype(np.uint8), k).astype(bool)
        assert truth[top:bottom, left:right].sum() == truth.sum()  # the crop holds the whole change
        assert iou(mask, truth[top:bottom, left:right]) >= 0.7
        assert np.abs(real.astype(int) - moved(base("astronaut"), k)[top:bottom, left:right]).mean() < 6


@pytest.mark.slow
def test_build_reads_ffpp_end_to_end(ffpp, tmp_path):
    out = tmp_path / "fifa"
    stats = build_pairs(ffpp, out, "--frames-per-video", "1", "--configs", "pairs")
    assert stats["parameters"]["layout"] == {"layout": None, "frames_per_video": 1, "crop_face": None}
    assert {"unknown_method", "missing_mask", "short_video", "unreadable_video"} <= set(stats["rejected"])

    import datasets

    rows = datasets.load_dataset(str(out), "pairs")
    assert set(rows) == {"train", "test"}  # the official lists: 000 trains, 002 tests
    assert {r["source_id"] for r in rows["test"]} == {"002"}
    (middle,) = sample_indices(FRAMES, 1)
    seen = set()
    for split in rows.values():
        for row in split:
            seen.add(row["manipulation"])
            assert row["family"] == family_of(row["manipulation"])
            assert row["layout"] == "ffpp" and row["frame_index"] == middle and row["compression"] in ("c23", "c40")
            if row["manipulation"] == "FaceSwap":
                truth = moved(edit(*SWAP).mask.astype(np.uint8), middle).astype(bool)
                assert json.loads(row["mask_params"])["mode"] == "given"
                assert iou(masklib.decode(row["artifact_mask"]), truth) >= 0.7
            if row["manipulation"] in ("Deepfakes", "Face2Face"):  # both masks travel: the computed one and the given box or render
                truth = moved(edit(*TRUTH[row["manipulation"]]).mask.astype(np.uint8), middle).astype(bool)
                given = masklib.decode(row["given_mask"])
                assert row["mask_meaning"] in ("box", "render") and (given & truth).sum() >= 0.9 * truth.sum()
                assert json.loads(row["mask_params"])["mode"] != "given"
    assert seen == {"Deepfakes", "FaceSwap", "Face2Face", "FaceShifter"}


def test_layout_is_forced_and_a_bad_split_list_is_one_usage_error(ffpp, tmp_path):
    from fifa_data.pairs.sources import SourceError

    with pytest.raises(SourceError, match="the folder layout needs a real/ sub-folder"):
        open_source(ffpp, LayoutOptions(layout="folder")).scan()
    with pytest.raises(SourceError, match="not a celebdf tree"):
        open_source(ffpp, LayoutOptions(layout="celebdf"))
    broken = tmp_path / "broken"
    (broken / "original_sequences").mkdir(parents=True)
    (broken / "manipulated_sequences").mkdir()
    (broken / "splits").mkdir()
    (broken / "splits/train.json").write_text("{not json")
    with pytest.raises(SourceError, match="train.json: not an FF\\+\\+ split list"):
        open_source(broken, LayoutOptions(work=tmp_path / "work")).scan()


def test_the_subject_of_a_two_face_frame_is_the_face_its_mask_covers(tmp_path):
    from fifa_data.pairs.loading import load_pair

    left, right = base("astronaut"), base("grace_hopper")
    swap = edit(*SWAP)  # a swap of the left face (the truth mask) ...
    louder = edit("grace_hopper", "hair_color")  # ... and a larger change on the right face, not in the mask
    real = np.concatenate([left, right], axis=1)
    fake = np.concatenate([swap.fake, louder.fake], axis=1)
    mask = np.concatenate([swap.mask, np.zeros_like(swap.mask)], axis=1).astype(np.uint8) * 255
    root = tmp_path / "ffpp"
    for path, frame in (("original_sequences/youtube/c23/videos/000.mp4", real), ("manipulated_sequences/FaceSwap/c23/videos/000_003.mp4", fake),
                        ("manipulated_sequences/FaceSwap/masks/videos/000_003.mp4", mask)):
        write_video(root / path, [frame] * 3, size=(512, 256))
    (ref,), rejects = open_source(root, LayoutOptions(frames_per_video=1, work=tmp_path / "work")).scan()
    assert rejects == []
    loaded = load_pair(ref)
    assert loaded.face.num_faces == 2
    x0, _, x1, _ = loaded.face.box
    assert (x0 + x1) / 2 < 256  # the masked face, though the unmasked one changed more
