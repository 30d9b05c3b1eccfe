"""Binary masks and COCO RLE: round trips, geometry against numpy, resizing, and input errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage.color import rgb2gray

from fifa_data.core import masks


def _uncompressed(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE, computed independently of pycocotools."""
    flat = mask.ravel(order="F").astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.r_[0, edges, flat.size]).tolist()
    if flat.size and flat[0]:
        runs = [0, *runs]
    return {"size": list(mask.shape), "counts": runs}


def _blobs(shape: tuple[int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    for _ in range(4):
        y, x = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        mask[y : y + rng.integers(1, 40), x : x + rng.integers(1, 40)] = True
    return mask


@pytest.fixture(scope="module")
def photo_mask(astronaut) -> np.ndarray:
    return rgb2gray(astronaut) > 0.5


@pytest.mark.parametrize("shape", [(1, 1), (1, 37), (37, 1), (64, 48), (513, 257)])
@pytest.mark.parametrize("density", [0.0, 0.05, 0.5, 1.0])
def test_round_trip_random(shape, density):
    mask = np.random.default_rng(0).random(shape) < density
    rle = masks.encode(mask)
    assert rle["size"] == list(shape) and isinstance(rle["counts"], str)
    assert json.loads(json.dumps(rle)) == rle
    decoded = masks.decode(rle)
    assert decoded.dtype == bool and decoded.shape == shape
    np.testing.assert_array_equal(decoded, mask)


def test_round_trip_photo(photo_mask):
    rle = masks.encode(photo_mask)
    np.testing.assert_array_equal(masks.decode(rle), photo_mask)
    assert masks.area(rle) == np.count_nonzero(photo_mask)
    assert len(rle["counts"]) < photo_mask.size // 10


def test_empty_and_zero_size():
    empty = np.zeros((20, 30), bool)
    rle = masks.encode(empty)
    np.testing.assert_array_equal(masks.decode(rle), empty)
    assert masks.area(rle) == 0 and masks.bbox(rle) is None and masks.bbox(empty) is None
    for shape in [(0, 5), (5, 0)]:
        assert masks.decode(masks.encode(np.zeros(shape, bool))).shape == shape


def test_non_contiguous_and_non_bool(photo_mask):
    for view in [photo_mask[::3, 1::2], photo_mask.T, np.asfortranarray(photo_mask)[10:200, 50:]]:
        assert not view.flags.c_contiguous
        np.testing.assert_array_equal(masks.decode(masks.encode(view)), view)
    as_uint8 = photo_mask.astype(np.uint8) * 255
    assert masks.encode(as_uint8) == masks.encode(photo_mask)


def test_bytes_and_str_counts(photo_mask):
    rle = masks.encode(photo_mask)
    as_bytes = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
    np.testing.assert_array_equal(masks.decode(as_bytes), photo_mask)
    assert masks.to_rle(as_bytes) == rle


@pytest.mark.parametrize("mask", [_blobs((50, 70), 1), np.ones((3, 4), bool), np.zeros((3, 4), bool)])
def test_uncompressed_rle(mask):
    rle = _uncompressed(mask)
    np.testing.assert_array_equal(masks.decode(rle), mask)
    assert masks.to_rle(rle) == masks.encode(mask)


def test_to_rle_and_to_mask_accept_both(photo_mask):
    rle = masks.encode(photo_mask)
    assert masks.to_rle(photo_mask) == masks.to_rle(rle) == rle
    np.testing.assert_array_equal(masks.to_mask(rle), photo_mask)
    assert masks.to_mask(photo_mask.astype(np.uint8)).dtype == bool


@pytest.mark.parametrize("seed", range(5))
def test_geometry_matches_numpy(seed):
    a, b = _blobs((120, 90), seed), _blobs((120, 90), seed + 100)
    ys, xs = np.nonzero(a)
    for x in (a, masks.encode(a)):
        assert masks.area(x) == a.sum()
        assert masks.bbox(x) == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    inter, uni = np.logical_and(a, b), np.logical_or(a, b)
    assert masks.iou(a, masks.encode(b)) == pytest.approx(inter.sum() / uni.sum())
    np.testing.assert_array_equal(masks.intersection(a, b), inter)
    np.testing.assert_array_equal(masks.union(a, b), uni)
    assert masks.intersection(masks.encode(a), b) == masks.encode(inter)
    assert masks.union(masks.encode(a), masks.encode(b)) == masks.encode(uni)


def test_iou_conventions():
    empty, full = np.zeros((8, 8), bool), np.ones((8, 8), bool)
    assert masks.iou(empty, masks.encode(empty)) == 1.0
    assert masks.iou(empty, full) == 0.0
    assert masks.iou(full, full) == 1.0


def test_merge_many():
    many = [_blobs((64, 64), s) for s in range(10)]
    np.testing.assert_array_equal(masks.merge(many), np.logical_or.reduce(many))
    assert masks.merge([masks.encode(m) for m in many]) == masks.encode(np.logical_or.reduce(many))
    with pytest.raises(ValueError, match="at least one"):
        masks.merge([])


def test_resize_keeps_thin_structures():
    mask = np.zeros((301, 299), bool)
    mask[150, :] = True
    mask[:, 7] = True
    mask[290, 290] = True
    small = masks.resize(mask, (37, 50))
    assert small.shape == (37, 50)
    assert small.all(axis=1).sum() == 1 and small.all(axis=0).sum() == 1
    assert small[-2:, -2:].any()
    rle_small = masks.resize(masks.encode(mask), (37, 50))
    assert isinstance(rle_small, dict) and rle_small == masks.encode(small)


def test_resize_up_is_nearest():
    mask = _blobs((40, 30), 3)
    np.testing.assert_array_equal(masks.resize(mask, (120, 60)), mask.repeat(3, 0).repeat(2, 1))
    np.testing.assert_array_equal(masks.resize(mask, (40, 30)), mask)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"size": [5, 7]}, r"missing \['counts'\]"),
        ({"counts": "d0"}, r"missing \['size'\]"),
        ({"size": [5], "counts": "d0"}, "'size' must be"),
        ({"size": [-1, 4], "counts": ""}, "'size' must be"),
        ({"size": [5, 7], "counts": "zz~"}, "not a valid"),
        ({"size": [5, 7], "counts": "é"}, "not ASCII"),
        ({"size": [5, 7], "counts": "61"}, r"cover 7 pixels, but size \[5, 7\] has 35"),
        ({"size": [5, 7], "counts": [1, 2]}, "sum to 3"),
        ({"size": [5, 7], "counts": [30, -1, 6]}, "non-negative ints"),
        ({"size": [5, 7], "counts": 1.5}, "must be str, bytes or a list"),
        ("d0", "2-D mask array or an RLE dict"),
    ],
)
def test_bad_rle(bad, message):
    with pytest.raises(ValueError, match=message):
        masks.decode(bad)


def test_bad_masks():
    with pytest.raises(ValueError, match=r"2-D \(H, W\), got shape \(4, 5, 3\)"):
        masks.encode(np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match=r"sizes differ: \[4, 5\] vs \[5, 4\]"):
        masks.iou(np.zeros((4, 5)), masks.encode(np.zeros((5, 4))))
    with pytest.raises(ValueError, match=r"sizes differ"):
        masks.union(np.zeros((4, 5)), np.zeros((4, 6)))
    with pytest.raises(ValueError, match="cannot resize"):
        masks.resize(np.zeros((4, 5)), (0, 3))
