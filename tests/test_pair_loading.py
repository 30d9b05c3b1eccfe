"""Loading and checking pairs: one real broken or mismatched file per reject reason."""

from __future__ import annotations

import io
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from fifa_data.pairs.loading import (
    LoadedPair,
    PairChecks,
    alignment,
    is_grayscale,
    load_pair,
    load_pairs,
)
from fifa_data.pairs.rejects import Reject, count_reasons
from fifa_data.pairs.sources import FolderPairs, ManifestPairs


def _edit(image: np.ndarray) -> np.ndarray:
    """A local edit: the lower-middle of the face brightened and reddened."""
    fake = image.astype(np.int16)
    fake[170:200, 200:260] += (40, 10, 10)
    return np.clip(fake, 0, 255).astype(np.uint8)


def _save(path, image, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, **kwargs)


def _jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def layout(tmp_path_factory, astronaut, grace_hopper):
    """A folder source with one good pair and one pair per reject reason, all real files."""
    root = tmp_path_factory.mktemp("pairs")
    fake = _edit(astronaut)
    # good: PNG real, JPEG fake re-encoded over the whole image
    _save(root / "real/good.png", astronaut)
    (root / "fake").mkdir()
    (root / "fake/good_lips.jpg").write_bytes(_jpeg(fake))
    # unreadable: a truncated JPEG, an empty file, text named .png
    for name in ("truncated", "empty", "text"):
        _save(root / f"real/{name}.png", astronaut)
    (root / "fake/truncated_x.jpg").write_bytes(_jpeg(fake)[:5000])
    (root / "fake/empty_x.jpg").write_bytes(b"")
    (root / "fake/text_x.png").write_text("hello, I am not a picture")
    # size_mismatch
    _save(root / "real/small.png", astronaut)
    _save(root / "fake/small_x.png", cv2.resize(fake, (256, 256), interpolation=cv2.INTER_AREA))
    # a greyscale real whose fake got colour is an edit; a colour real turned grey whole is a color_mismatch
    _save(root / "real/gray.png", np.asarray(Image.fromarray(astronaut).convert("L")))
    _save(root / "fake/gray_lips.png", fake)
    _save(root / "real/desaturated.png", astronaut)
    _save(root / "fake/desaturated_x.png", np.asarray(Image.fromarray(fake).convert("L")))
    # an ordinary tall photo (704x1600) with an unshifted colour edit, saved as JPEG: not misaligned
    tall = cv2.resize(grace_hopper, (704, 1600), interpolation=cv2.INTER_CUBIC)
    _save(root / "real/tall.png", tall)
    tall_fake = tall.astype(np.int16)
    tall_fake[700:800, 250:450] += (30, -10, -10)
    (root / "fake/tall_lips.jpg").write_bytes(_jpeg(np.clip(tall_fake, 0, 255).astype(np.uint8), 85))
    # identical bytes and identical pixels in different bytes
    _save(root / "real/same.png", astronaut)
    (root / "fake/same_copy.png").write_bytes((root / "real/same.png").read_bytes())
    _save(root / "fake/same_recompressed.png", astronaut, compress_level=1)
    # not_same_photo and misaligned
    _save(root / "real/other.png", astronaut)
    _save(root / "fake/other_x.png", grace_hopper[44:556])
    _save(root / "real/shift.png", astronaut)
    _save(root / "fake/shift_x.png", np.roll(fake, 3, axis=1))
    # no_face (a cup of coffee) and multiple_faces (two portraits side by side)
    coffee = np.ascontiguousarray(data.coffee())
    _save(root / "real/coffee.png", coffee)
    _save(root / "fake/coffee_x.png", _edit(coffee))
    two = np.concatenate([astronaut, grace_hopper[:512]], axis=1)
    _save(root / "real/two.png", two)
    _save(root / "fake/two_x.png", _edit(two))
    return root


@pytest.fixture(scope="module")
def results(layout):
    pairs, source_rejects = FolderPairs(layout).scan()
    assert source_rejects == []
    return {p.fake_path: load_pair(p) for p in pairs}


def test_a_good_pair_loads_with_bytes_unchanged(layout, results):
    good = results["fake/good_lips.jpg"]
    assert isinstance(good, LoadedPair)
    assert good.fake_bytes == (layout / "fake/good_lips.jpg").read_bytes()
    assert good.real_bytes == (layout / "real/good.png").read_bytes()
    assert good.real.shape == good.fake.shape == (512, 512, 3)
    assert not good.grayscale and good.fake_resized_from is None
    assert good.face.num_faces == 1


@pytest.mark.parametrize(
    ("fake", "reason", "detail"),
    [
        ("fake/truncated_x.jpg", "unreadable", "fake/truncated_x.jpg: truncated"),
        ("fake/empty_x.jpg", "unreadable", "fake/empty_x.jpg: empty file"),
        ("fake/text_x.png", "unreadable", "fake/text_x.png: not an image"),
        ("fake/small_x.png", "size_mismatch", "real is 512x512, fake is 256x256"),
        ("fake/desaturated_x.png", "color_mismatch", "real is colour, fake is greyscale"),
        ("fake/same_copy.png", "identical", "byte-for-byte copy"),
        ("fake/same_recompressed.png", "identical", "decoded pixels are identical"),
        ("fake/other_x.png", "not_same_photo", "phase-correlation response"),
        ("fake/shift_x.png", "misaligned", "shifted by (+3.00"),
        ("fake/coffee_x.png", "no_face", "real/coffee.png: no face"),
    ],
)
def test_each_problem_becomes_a_reject(results, fake, reason, detail):
    reject = results[fake]
    assert isinstance(reject, Reject), reject
    assert reject.reason == reason
    assert detail in reject.detail
    assert reject.fake == fake and reject.pair_id


def test_colour_added_to_a_greyscale_photo_is_an_edit(results):
    colourised = results["fake/gray_lips.png"]
    assert isinstance(colourised, LoadedPair), colourised
    assert colourised.grayscale and not is_grayscale(colourised.fake)


def test_an_unshifted_edit_of_a_tall_photo_is_not_misaligned(results):
    assert isinstance(results["fake/tall_lips.jpg"], LoadedPair), results["fake/tall_lips.jpg"]
    real, fake = results["fake/tall_lips.jpg"].real, results["fake/tall_lips.jpg"].fake
    (dx, dy), _ = alignment(real, fake)
    assert max(abs(dx), abs(dy)) < 0.1
    assert alignment(real, real)[0] == pytest.approx((0.0, 0.0), abs=1e-6)  # no half-pixel bias of odd DFT sizes
    (dx, dy), _ = alignment(real, np.roll(fake, 1, axis=0))
    assert abs(dx) < 0.1 and abs(dy - 1) < 0.1  # a one-pixel shift of a large photo is still seen


def test_resize_policy_resizes_the_fake_losslessly(layout):
    pairs, _ = FolderPairs(layout).scan()
    ref = next(p for p in pairs if p.fake_path == "fake/small_x.png")
    loaded = load_pair(ref, PairChecks(resize="fake-to-real"))
    assert isinstance(loaded, LoadedPair)
    assert loaded.fake_resized_from == (256, 256)
    stored = np.asarray(Image.open(io.BytesIO(loaded.fake_bytes)))
    assert stored.shape == loaded.real.shape and np.array_equal(stored, loaded.fake)
    with pytest.raises(ValueError, match="resize policy"):
        PairChecks(resize="stretch")


def test_a_given_mask_loads_with_its_pair_and_a_bad_one_is_a_reject(tmp_path, astronaut):
    """A manifest's `mask` column: 0/255 and 0/1 mask images, a wrong size, not an image, a resized fake."""
    edited = np.zeros(astronaut.shape[:2], bool)
    edited[170:200, 200:260] = True
    _save(tmp_path / "real.png", astronaut)
    (tmp_path / "fake.jpg").write_bytes(_jpeg(_edit(astronaut)))
    _save(tmp_path / "small.png", cv2.resize(_edit(astronaut), (256, 256), interpolation=cv2.INTER_AREA))
    _save(tmp_path / "m255.png", edited.astype(np.uint8) * 255)
    _save(tmp_path / "m01.png", edited.astype(np.uint8))
    _save(tmp_path / "m_small.png", edited[::2, ::2].astype(np.uint8) * 255)
    (tmp_path / "m_text.png").write_text("not a mask")
    rows = [("fake.jpg", "m255.png"), ("fake.jpg", "m01.png"), ("fake.jpg", "m_small.png"), ("fake.jpg", "m_text.png"), ("small.png", "m_small.png")]
    lines = ["real,fake,mask"]
    for i, (fake, mask) in enumerate(rows):  # each pair its own copy of the fake: a pair is its two paths
        shutil.copy(tmp_path / fake, tmp_path / f"{i}_{fake}")
        lines.append(f"real.png,{i}_{fake},{mask}")
    (tmp_path / "pairs.csv").write_text("\n".join(lines) + "\n")
    pairs, rejects = ManifestPairs(tmp_path / "pairs.csv").scan()
    assert rejects == []
    loaded = [load_pair(p, PairChecks(resize="fake-to-real")) for p in pairs]
    for good in (loaded[0], loaded[1]):
        assert isinstance(good, LoadedPair), good
        assert np.array_equal(good.given_mask, edited)
    assert isinstance(loaded[2], Reject) and loaded[2].reason == "bad_mask"
    assert "m_small.png: mask is 256x256, the fake 2_fake.jpg is 512x512" in loaded[2].detail
    assert isinstance(loaded[3], Reject) and loaded[3].reason == "bad_mask" and "m_text.png: not an image" in loaded[3].detail
    resized = loaded[4]
    assert isinstance(resized, LoadedPair) and resized.fake_resized_from == (256, 256)
    assert resized.given_mask.shape == (512, 512) and np.array_equal(resized.given_mask[::2, ::2], edited[::2, ::2])
    plain = load_pair(FolderPairs(_folder_of(tmp_path / "plain", astronaut)).scan()[0][0])
    assert isinstance(plain, LoadedPair) and plain.given_mask is None


def _folder_of(root, real: np.ndarray):
    _save(root / "real/a.png", real)
    (root / "fake").mkdir()
    (root / "fake/a_x.jpg").write_bytes(_jpeg(_edit(real)))
    return root


def test_two_faces_with_one_edited_keep_the_edited_face(layout, results, astronaut, grace_hopper):
    """Two portraits side by side, the edit on the astronaut's (left) face: the pair is kept, with
    the astronaut as the subject, and the count of faces recorded."""
    loaded = results["fake/two_x.png"]
    assert isinstance(loaded, LoadedPair), loaded
    face = loaded.face
    assert face.num_faces == 2 and len(face.boxes) == 2
    x0, y0, x1, y1 = face.box
    assert x1 <= 512 and x0 < 230 < x1  # the astronaut, whose chin the edited patch lies on
    # the same photo with the other portrait edited makes that one the subject
    two = np.concatenate([astronaut, grace_hopper[:512]], axis=1)
    other = two.astype(np.int16)
    other[300:330, 512 + 220 : 512 + 280] += (40, 10, 10)
    _save(layout / "fake/two_y.png", np.clip(other, 0, 255).astype(np.uint8))
    try:
        ref = next(p for p in FolderPairs(layout).scan()[0] if p.fake_path == "fake/two_y.png")
        chosen = load_pair(ref)
    finally:
        (layout / "fake/two_y.png").unlink()
    assert isinstance(chosen, LoadedPair) and chosen.face.box[0] >= 512 and chosen.face.subject != face.subject


def test_several_faces_can_be_refused(layout):
    pairs, _ = FolderPairs(layout).scan()
    ref = next(p for p in pairs if p.fake_path == "fake/two_x.png")
    reject = load_pair(ref, PairChecks(allow_multiple_faces=False))
    assert isinstance(reject, Reject) and reject.reason == "multiple_faces" and "real/two.png: 2 faces" in reject.detail


def test_load_pairs_never_raises_and_passes_source_rejects(layout):
    (layout / "real/orphan.png").write_bytes(b"")
    try:
        out = list(load_pairs(FolderPairs(layout)))
    finally:
        (layout / "real/orphan.png").unlink()
    rejects = [r for r in out if isinstance(r, Reject)]
    assert sum(isinstance(r, LoadedPair) for r in out) == 4  # good, gray_lips, tall_lips, two_x
    assert count_reasons(rejects)["unpaired_real"] == 1
    assert len(out) == 15


def test_fakes_of_one_real_share_its_decoding_and_face(layout, tmp_path):
    """load_pairs decodes and analyses a real image once per run of its fakes, with the same results."""
    root = tmp_path / "pairs"
    shutil.copytree(layout, root)
    (root / "fake/good_again.jpg").write_bytes(_jpeg(_edit(_edit(np.asarray(Image.open(root / "real/good.png"))))))
    refs, _ = FolderPairs(root).scan()
    refs = [r for r in refs if r.real_path in ("real/good.png", "real/two.png")]
    loaded = list(load_pairs(refs))
    good = [p for p in loaded if isinstance(p, LoadedPair)]
    assert [p.ref.fake_path for p in good] == ["fake/good_again.jpg", "fake/good_lips.jpg", "fake/two_x.png"]
    assert good[0].real is good[1].real and good[0].face is good[1].face  # decoded and analysed once
    assert not good[0].real.flags.writeable  # shared, so nobody may edit it in place
    alone = load_pair(refs[1])
    assert np.array_equal(alone.real, good[1].real) and np.array_equal(alone.face.landmarks, good[1].face.landmarks)
    assert good[2].face.num_faces == 2  # the next real is its own


def test_grayscale_and_alignment_measures(astronaut):
    gray = np.repeat(np.asarray(Image.fromarray(astronaut).convert("L"))[..., None], 3, axis=2)
    jpeg_gray = np.asarray(Image.open(io.BytesIO(_jpeg(gray, 70))).convert("RGB"))
    assert is_grayscale(gray) and is_grayscale(jpeg_gray) and not is_grayscale(astronaut)
    (dx, dy), response = alignment(astronaut, np.roll(astronaut, (-2, 5), axis=(0, 1)))
    assert (round(dx), round(dy)) == (5, -2) and response > 0.9
