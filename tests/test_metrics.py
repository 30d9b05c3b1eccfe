"""FiFa-Bench metrics: hand-computed values on tiny inputs, edge cases, and pycocotools as a reference."""

from __future__ import annotations

import contextlib
import io
import itertools
import math

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from fifa_data.core import masks
from fifa_data.scoring import metrics as M


def _row(width: int, start: int, stop: int) -> np.ndarray:
    """A 1 x width mask with pixels [start, stop) set."""
    mask = np.zeros((1, width), bool)
    mask[0, start:stop] = True
    return mask


def _matches(found: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Matches with the IoUs rounded, to compare with hand-computed ones."""
    return [(p, t, round(v, 9)) for p, t, v in found]


def _box_mask(shape, x0, y0, x1, y1) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


# --------------------------------------------------------------------------- classification

DET_TRUTHS = ["fake", "fake", "real", "real", "fake"]
DET_PREDS = ["fake", "real", "real", None, None]


def test_accuracy():
    # right: items 0 and 2 -> 2 / 5
    assert M.accuracy(DET_PREDS, DET_TRUTHS) == pytest.approx(0.4)
    assert M.accuracy(DET_TRUTHS, DET_TRUTHS) == 1.0


def test_f1_binary_counts_none_as_the_opposite_of_the_truth():
    # positive "fake": 0 TP, 1 FN, 2 TN, 3 None on real -> FP, 4 None on fake -> FN
    # TP=1 FP=1 FN=2 -> 2*1 / (2 + 1 + 2) = 0.4
    assert M.f1_binary(DET_PREDS, DET_TRUTHS, "fake") == pytest.approx(0.4)
    # positive "real": 0 TN, 1 FP, 2 TP, 3 None on real -> FN, 4 None on fake -> FP
    # TP=1 FP=2 FN=1 -> 2 / 5
    assert M.f1_binary(DET_PREDS, DET_TRUTHS, "real") == pytest.approx(0.4)
    # without the None items: TP=1 FP=0 FN=1 -> 2/3
    assert M.f1_binary(DET_PREDS[:3], DET_TRUTHS[:3], "fake") == pytest.approx(2 / 3)


def test_f1_macro():
    truths = ["age", "age", "smile", "real"]
    preds = ["age", "smile", "smile", "hair"]
    # age: TP1 FP0 FN1 -> 2/3; smile: TP1 FP1 FN0 -> 2/3; real: TP0 FP0 FN1 -> 0; mean 4/9
    assert M.f1_macro(preds, truths) == pytest.approx(4 / 9)
    # "hair" as a label too: TP0 FP1 FN0 -> 0, so (4/3) / 4 = 1/3; a label never seen scores 0
    assert M.f1_macro(preds, truths, labels=["age", "smile", "real", "hair"]) == pytest.approx(1 / 3)
    assert M.f1_macro(preds, truths, labels=["age", "smile", "real", "beard"]) == pytest.approx(1 / 3)
    # None on an "age" item: age TP1 FN1 -> 2/3, smile 1, real 1 -> 8/9 (None is an FP of no class)
    assert M.f1_macro(["age", None, "smile", "real"], truths) == pytest.approx(8 / 9)


def test_classification_edge_cases():
    for metric in (M.accuracy, M.f1_macro, lambda p, t: M.f1_binary(p, t, "fake")):
        assert math.isnan(metric([], []))
        assert metric([None, None], ["fake", "real"]) == 0.0
    # the positive class neither true nor predicted: F1 0, as scikit-learn's default
    assert M.f1_binary(["real"], ["real"], "fake") == 0.0
    with pytest.raises(ValueError, match="2 predictions but 1 truths"):
        M.accuracy(["fake", "real"], ["fake"])


# --------------------------------------------------------------------------- mask IoU

A = _box_mask((4, 4), 0, 0, 2, 2)  # 4 px
B = _box_mask((4, 4), 1, 0, 4, 2)  # 6 px; A ∩ B = column 1 of rows 0-1 = 2 px, union 4 + 6 - 2 = 8
EMPTY = np.zeros((4, 4), bool)


def test_mask_iou_by_hand_and_for_every_input_kind():
    for a, b in itertools.product([A, masks.encode(A), A.astype(np.uint8)], [B, masks.encode(B)]):
        assert M.mask_iou(a, b) == pytest.approx(2 / 8)
    assert M.mask_iou(EMPTY, EMPTY) == 1.0  # convention
    assert M.mask_iou(None, EMPTY) == 1.0
    assert M.mask_iou(None, A) == 0.0
    assert M.mask_iou(EMPTY, masks.encode(A)) == 0.0
    with pytest.raises(ValueError, match="sizes differ"):
        M.mask_iou(A, np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match="sizes differ"):
        M.mask_iou(masks.encode(A), np.zeros((4, 5), bool))


def test_mask_iou_matches_pycocotools():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.random((2, 23, 17)) < rng.random(2)[:, None, None]
        if not a.any() and not b.any():
            continue
        reference = coco_mask.iou([masks.to_rle(a)], [masks.to_rle(b)], [0])[0, 0]
        assert M.mask_iou(a, b) == pytest.approx(reference)
        assert M.mask_iou(masks.encode(a), b) == pytest.approx(reference)


def test_miou_and_ciou_differ():
    small_truth = _box_mask((3, 3), 0, 0, 1, 1)  # 1 px, predicted exactly: I = 1, U = 1
    big_truth = np.ones((3, 3), bool)  # 9 px, 3 px predicted: I = 3, U = 9
    big_pred = _box_mask((3, 3), 0, 0, 3, 1)
    preds, truths = [small_truth, big_pred], [small_truth, big_truth]
    assert M.miou(preds, truths) == pytest.approx((1 + 3 / 9) / 2)  # 2/3
    assert M.ciou(preds, truths) == pytest.approx((1 + 3) / (1 + 9))  # 0.4
    rles = [masks.encode(m) for m in preds]
    assert M.miou(rles, truths) == pytest.approx(2 / 3)
    assert M.ciou(rles, [masks.encode(t) for t in truths]) == pytest.approx(0.4)


def test_miou_and_ciou_edge_cases():
    assert math.isnan(M.miou([], [])) and math.isnan(M.ciou([], []))
    # None = empty mask: IoU 0 against A; cIoU adds A's 4 px to the union only
    assert M.miou([None, None], [A, B]) == 0.0
    assert M.ciou([None, None], [A, B]) == 0.0
    assert M.miou([None, A], [EMPTY, A]) == 1.0
    assert M.ciou([EMPTY], [EMPTY]) == 1.0
    # None next to a hit: mIoU (0 + 1) / 2, cIoU (0 + 4) / (6 + 4)
    assert M.miou([None, A], [B, A]) == pytest.approx(0.5)
    assert M.ciou([None, A], [B, A]) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        M.miou([A], [A, B])


# --------------------------------------------------------------------------- matching

# 1 x 10 masks: t1 = [0, 10), t2 = [0, 6), p1 = [0, 8), p2 = [5, 10)
T1, T2, P1, P2 = _row(10, 0, 10), _row(10, 0, 6), _row(10, 0, 8), _row(10, 5, 10)
# IoU(p1, t1) = 8/10 = 0.8, IoU(p1, t2) = 6/8 = 0.75, IoU(p2, t1) = 5/10 = 0.5, IoU(p2, t2) = 1/10 = 0.1.
# Greedy (largest IoU first, as GLaMM's evaluate.py): p1-t1 then p2-t2, total 0.9, one pair >= 0.5.
# Optimal: p1-t2 + p2-t1 = 1.25, both >= 0.5.


def test_match_masks_is_optimal_where_greedy_is_not():
    expected = [(0, 1, 0.75), (1, 0, 0.5)]
    assert _matches(M.match_masks([P1, P2], [T1, T2])) == expected
    assert _matches(M.match_masks([P1, P2], [T1, T2], min_iou=0.5)) == expected
    assert _matches(M.match_masks([masks.encode(P1), P2], [T1, masks.encode(T2)])) == expected
    # above 0.6 only p1-t1 (0.8) and p1-t2 (0.75) are allowed: the larger wins
    assert _matches(M.match_masks([P1, P2], [T1, T2], min_iou=0.6)) == [(0, 0, 0.8)]


def test_match_masks_edge_cases():
    assert M.match_masks([], [T1]) == [] and M.match_masks([P1], []) == []
    assert _matches(M.match_masks([None, P1], [T1])) == [(1, 0, 0.8)]
    assert M.match_masks([_row(10, 0, 0)], [_row(10, 0, 0)]) == [(0, 0, 1.0)]  # both empty: IoU 1
    assert M.match_masks([_row(10, 0, 2)], [_row(10, 5, 9)]) == []  # no overlap, no match
    with pytest.raises(ValueError, match="sizes differ"):
        M.match_masks([_row(9, 0, 2)], [T1])


def _best_total(iou: np.ndarray) -> float:
    """Largest total of a one-to-one matching, by trying every injective map of the smaller side."""
    if iou.shape[0] > iou.shape[1]:
        iou = iou.T
    return max(sum(iou[r, c] for r, c in enumerate(cols)) for cols in itertools.permutations(range(iou.shape[1]), iou.shape[0]))


def test_match_iou_matrix_against_brute_force():
    rng = np.random.default_rng(1)
    for shape in [(3, 3), (2, 4), (4, 2), (5, 5)]:
        for _ in range(20):
            iou = rng.random(shape) * (rng.random(shape) < 0.7)
            matches = M.match_iou_matrix(iou)
            assert sum(v for *_, v in matches) == pytest.approx(_best_total(iou))
            assert len({r for r, _, _ in matches}) == len({c for _, c, _ in matches}) == len(matches)


def test_age_matching_by_hand():
    scores = M.age_matching([[P1, P2]], [[T1, T2]])
    assert scores["mask_recall"] == 1.0  # both truths matched at >= 0.5 (greedy would find 1)
    assert scores["precision"] == 1.0 and scores["ap50"] == 1.0
    assert scores["miou"] == pytest.approx((0.75 + 0.5) / 2)
    # COCOeval's greedy pass: p1 takes t1 (0.8), p2 is left with t2 (0.1): TP, FP.
    # Recall reaches 0.5 at precision 1: recall points 0, 0.01, ..., 0.5 read 1 -> 51 / 101.
    assert scores["ap50_coco"] == pytest.approx(51 / 101)
    assert (scores["n_preds"], scores["n_truths"], scores["n_matched"]) == (2, 2, 2)


def test_age_matching_unparsed_and_extra_masks():
    # image 1: p1 alone (matches t1 at 0.8; t2 missed); image 2: unparseable answer, its truth missed;
    # image 3: an extra prediction where there is no truth.
    scores = M.age_matching([[P1], None, [P2]], [[T1, T2], [T1], []])
    # recall 1 / 3 truths; precision 1 / 2 predictions; AP = 1/3 * 1/2; mIoU = 0.8 / 3
    assert scores["mask_recall"] == pytest.approx(1 / 3)
    assert scores["precision"] == pytest.approx(1 / 2)
    assert scores["ap50"] == pytest.approx(1 / 6)
    assert scores["miou"] == pytest.approx(0.8 / 3)
    # COCO ranking p1 (TP), p2 (FP): recall 1/3 at precision 1 -> recall points 0 ... 0.33 -> 34 / 101
    assert scores["ap50_coco"] == pytest.approx(34 / 101)
    empty = M.age_matching([], [])
    assert math.isnan(empty["mask_recall"]) and math.isnan(empty["ap50"]) and math.isnan(empty["miou"])
    none = M.age_matching([None, None], [[T1], [T2]])
    assert none["mask_recall"] == 0.0 and none["ap50"] == 0.0 and none["miou"] == 0.0 and none["ap50_coco"] == 0.0
    with pytest.raises(ValueError):
        M.age_matching([[P1]], [[T1], [T2]])


def _coco_eval_ap50(preds_per_image, truths_per_image, kind: str) -> float:
    """AP at IoU 0.5 from pycocotools' COCOeval, every prediction scored 1.0 (GLaMM's GCG evaluation)."""

    def ann(i, image, x, **extra):
        geometry = {"segmentation": masks.to_rle(x)} if kind == "segm" else {"bbox": [x[0], x[1], x[2] - x[0], x[3] - x[1]]}
        area = masks.area(x) if kind == "segm" else geometry["bbox"][2] * geometry["bbox"][3]
        return {"id": i, "image_id": image, "category_id": 1, "area": area, "iscrowd": 0, **geometry, **extra}

    gt = COCO()
    gt.dataset = {
        "images": [{"id": i, "height": 64, "width": 96} for i in range(len(truths_per_image))],
        "categories": [{"id": 1}],
        "annotations": [ann(k + 1, i, t) for k, (i, t) in enumerate((i, t) for i, ts in enumerate(truths_per_image) for t in ts)],
    }
    dets = [ann(0, i, p, score=1.0) for i, ps in enumerate(preds_per_image) for p in ps]
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        evaluation = COCOeval(gt, gt.loadRes(dets), kind)
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"][0, :, 0, 0, -1]  # IoU 0.5, all recalls, area "all", 100 dets
    return float(precision.mean())


def test_ap50_coco_matches_cocoeval_for_masks():
    rng = np.random.default_rng(2)
    shape = (24, 32)
    preds, truths = [], []
    for _ in range(6):
        image_truths, image_preds = [], []
        for _ in range(rng.integers(1, 4)):
            x0, y0 = rng.integers(0, 20), rng.integers(0, 14)
            w, h = rng.integers(3, 12), rng.integers(3, 10)
            image_truths.append(_box_mask(shape, x0, y0, x0 + w, y0 + h))
            if rng.random() < 0.8:  # a jittered prediction, sometimes good enough, sometimes not
                dx, dy = rng.integers(-3, 4, size=2)
                image_preds.append(_box_mask(shape, max(0, x0 + dx), max(0, y0 + dy), x0 + w + dx, y0 + h + dy))
        if rng.random() < 0.5:
            image_preds.append(_box_mask(shape, 0, 0, rng.integers(2, 30), rng.integers(2, 20)))  # extra
        rng.shuffle(image_preds)
        preds.append(image_preds)
        truths.append(image_truths)
    ours = M.age_matching(preds, truths)["ap50_coco"]
    assert ours == pytest.approx(_coco_eval_ap50(preds, truths, "segm"))
    assert 0 < ours < 1


def test_ap50_coco_matches_cocoeval_for_boxes():
    rng = np.random.default_rng(3)
    preds, truths = [], []
    for _ in range(8):
        corners = rng.integers(0, 60, size=(rng.integers(1, 4), 2))
        image_truths = [[float(x), float(y), float(x + rng.integers(4, 30)), float(y + rng.integers(4, 30))] for x, y in corners]
        # each side moves by up to 30 % of the box's size, so a predicted box never turns inside out
        # (COCOeval would ignore a box of negative area instead of counting it wrong)
        jitter = [np.subtract(t[2:], t[:2]).tolist() * 2 * rng.uniform(-0.3, 0.3, 4) for t in image_truths]
        image_preds = [list(np.add(t, j)) for t, j in zip(image_truths, jitter) if rng.random() < 0.8]
        image_preds += [[5.0, 5.0, 25.0, 40.0]] * int(rng.random() < 0.4)
        preds.append(image_preds)
        truths.append(image_truths)
    ours = M.box_matching(preds, truths)["ap50_coco"]
    assert ours == pytest.approx(_coco_eval_ap50(preds, truths, "bbox"))
    assert 0 < ours < 1


# --------------------------------------------------------------------------- boxes


def test_box_iou():
    assert M.box_iou([0, 0, 2, 2], [1, 1, 3, 3]) == pytest.approx(1 / 7)  # I = 1, U = 4 + 4 - 1
    assert M.box_iou([0, 0, 2, 2], [2, 0, 4, 2]) == 0.0  # touching: x1 is exclusive
    assert M.box_iou([0, 0, 10, 10], [0, 0, 10, 5]) == pytest.approx(0.5)
    assert M.box_iou([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0
    assert M.box_iou(None, [1, 2, 3, 4]) == 0.0
    assert M.box_iou([1, 1, 1, 1], [1, 1, 1, 1]) == 0.0  # empty boxes: never right
    with pytest.raises(ValueError, match="x0, y0, x1, y1"):
        M.box_iou([0, 0, 1], [0, 0, 1, 1])


def test_box_iou_matches_pycocotools():
    rng = np.random.default_rng(4)
    for _ in range(50):
        a, b = (np.r_[xy, xy + rng.uniform(0.5, 20, 2)] for xy in rng.uniform(0, 20, (2, 2)))
        xywh = [[*a[:2], *(a[2:] - a[:2])]], [[*b[:2], *(b[2:] - b[:2])]]
        assert M.box_iou(a, b) == pytest.approx(coco_mask.iou(*xywh, [0])[0, 0])


def test_box_matching_by_hand():
    preds = [[[0, 0, 10, 5], [50, 50, 60, 60]], None]
    truths = [[[0, 0, 10, 10], [20, 20, 30, 30]], [[0, 0, 4, 4]]]
    # image 1: p0-t0 IoU 50 / 100 = 0.5 (a hit at >= 0.5), p1 overlaps nothing; image 2: unparsed
    # recall 1/3, precision 1/2, AP 1/6, mean IoU 0.5 / 3
    scores = M.box_matching(preds, truths)
    assert scores["recall"] == pytest.approx(1 / 3) and M.box_recall50(preds, truths) == pytest.approx(1 / 3)
    assert scores["precision"] == pytest.approx(1 / 2)
    assert scores["ap50"] == pytest.approx(1 / 6) and M.box_ap50(preds, truths) == pytest.approx(1 / 6)
    assert M.mean_box_iou(preds, truths) == pytest.approx(0.5 / 3)
    assert scores["ap50_coco"] == pytest.approx(34 / 101)  # TP then FP: recall 1/3 at precision 1
    assert M.match_boxes(preds[0], truths[0]) == [(0, 0, 0.5)]
    assert M.match_boxes([None, [0, 0, 10, 10]], truths[0]) == [(1, 0, 1.0)]
    assert math.isnan(M.box_ap50([], [])) and M.box_ap50([None], [[[0, 0, 1, 1]]]) == 0.0


# --------------------------------------------------------------------------- text-mask consistency

LEFT = _box_mask((4, 4), 0, 0, 2, 4)  # columns 0-1
RIGHT = _box_mask((4, 4), 2, 0, 4, 4)  # columns 2-3
CONCEPTS = {"eye.left": LEFT, "nose": masks.encode(RIGHT), "lips": EMPTY}  # lips: not visible
PAIRS = [
    (_box_mask((4, 4), 0, 0, 1, 4), "eye.left"),  # 4 px all inside: 1.0, consistent
    (_box_mask((4, 4), 1, 0, 3, 1), "eye.left"),  # 2 px, 1 inside: 0.5 >= 0.5, consistent
    (_box_mask((4, 4), 1, 1, 4, 2), "eye.left"),  # 3 px, 1 inside: 1/3, inconsistent
    (EMPTY, "nose"),  # empty prediction
    (RIGHT, None),  # phrase not resolved to a concept
    (RIGHT, "lips"),  # concept not visible
    (None, "nose"),  # unparseable mask
]


def test_text_mask_consistency():
    pred_masks, concepts = zip(*PAIRS)
    assert M.text_mask_consistency(pred_masks, concepts, CONCEPTS.__getitem__) == pytest.approx(2 / 7)
    assert M.text_mask_consistency(pred_masks, concepts, CONCEPTS) == pytest.approx(2 / 7)
    assert M.text_mask_consistency(pred_masks, concepts, CONCEPTS, inside=0.3) == pytest.approx(3 / 7)
    # a mapping that leaves out an invisible concept (as ConceptMasks.to_rle does) gives the same
    visible = {k: v for k, v in CONCEPTS.items() if k != "lips"}
    assert M.text_mask_consistency(pred_masks, concepts, visible) == pytest.approx(2 / 7)
    rle_preds = [None if m is None else masks.encode(m) for m in pred_masks]
    assert M.text_mask_consistency(rle_preds, concepts, CONCEPTS) == pytest.approx(2 / 7)
    assert M.text_mask_consistency([RIGHT], ["nose"], CONCEPTS) == 1.0
    assert math.isnan(M.text_mask_consistency([], [], CONCEPTS))
    with pytest.raises(ValueError):
        M.text_mask_consistency([RIGHT], [], CONCEPTS)


def test_text_mask_consistency_dataset():
    pred_masks, concepts = zip(*PAIRS)
    scores = M.text_mask_consistency_dataset([pred_masks, [RIGHT], None], [concepts, ["nose"], None], [CONCEPTS, CONCEPTS, CONCEPTS])
    # (2 + 1) consistent of (7 + 1) pairs; the unparsed answer is counted, not judged
    assert scores == {"consistency": pytest.approx(3 / 8), "consistent": 3, "pairs": 8, "unparsed": 1}
    empty = M.text_mask_consistency_dataset([], [], [])
    assert math.isnan(empty["consistency"]) and empty["pairs"] == 0
