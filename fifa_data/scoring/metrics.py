"""FiFa-Bench metrics (docs/evaluation.md); the caption metrics (BLEU-4 / ROUGE-L / METEOR / CIDEr) are in :mod:`fifa_data.scoring.captions`.

=================  ==========================================================================
task               metric
=================  ==========================================================================
det cls rdet bdet  :func:`accuracy`, :func:`f1_binary` (det / rdet / bdet), :func:`f1_macro` (cls),
                   :func:`roc_auc` (det / rdet / bdet)
loc rseg age       :func:`mask_iou`, :func:`miou`, :func:`ciou`
age                :func:`age_matching` (GLaMM-style mask matching), :func:`text_mask_consistency`
breg               :func:`box_iou`, :func:`box_matching`, :func:`box_ap50`, :func:`box_recall50`,
                   :func:`mean_box_iou`
=================  ==========================================================================

Conventions shared by every function:

- **Unparseable predictions are passed in as None and are never dropped.** A None label is wrong
  whatever the truth; a None mask is an empty mask; a None box overlaps nothing; a None list of
  masks or boxes (an answer that could not be parsed at all) is an answer with no masks or boxes.
  Ground truth is never None.
- **Masks** are numpy arrays (nonzero = foreground) or COCO RLE dicts (``fifa_data.core.masks``), in
  any mix; a prediction and its truth must have the same size (else ValueError).
- **Boxes** are ``[x0, y0, x1, y1]`` in pixels with x1, y1 exclusive, as in the dataset.
- **Nothing to score gives NaN**: an empty list of pairs, or no ground-truth masks / boxes at all
  for a recall, makes the metric undefined; it is returned as ``nan``, never as a fake 0 or 1.
- Predictions and truths are paired by position; lists of different lengths raise ValueError.

Labels are compared with ``==`` as given: normalising the model's text ("Fake." -> "fake") is
the parser's job.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence

import numpy as np
from pycocotools import mask as coco_mask
from scipy.optimize import linear_sum_assignment

from fifa_data.core import masks as masklib

__all__ = [
    "accuracy",
    "age_matching",
    "box_ap50",
    "box_iou",
    "box_matching",
    "box_recall50",
    "ciou",
    "f1_binary",
    "f1_macro",
    "mask_iou",
    "match_boxes",
    "match_iou_matrix",
    "match_masks",
    "mean_box_iou",
    "miou",
    "roc_auc",
    "text_mask_consistency",
    "text_mask_consistency_dataset",
]

Mask = np.ndarray | dict
Box = Sequence[float]
NAN = float("nan")


def _paired(predictions: Sequence, truths: Sequence, what: str = "predictions", other: str = "truths") -> None:
    if len(predictions) != len(truths):
        raise ValueError(f"got {len(predictions)} {what} but {len(truths)} {other}")


# --------------------------------------------------------------------------- classification


def accuracy(predictions: Sequence[Hashable | None], truths: Sequence[Hashable]) -> float:
    """Share of predictions equal to their truth: #(prediction == truth) / #pairs.

    A None (unparseable) prediction is wrong. An empty list gives nan.
    """
    _paired(predictions, truths)
    if not len(truths):
        return NAN
    return sum(p is not None and p == t for p, t in zip(predictions, truths)) / len(truths)


def _f1(tp: int, fp: int, fn: int) -> float:
    # F1 = 2 TP / (2 TP + FP + FN); 0 when the class is neither predicted nor true (scikit-learn's default).
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def f1_binary(predictions: Sequence[Hashable | None], truths: Sequence[Hashable], positive: Hashable) -> float:
    """F1 of the ``positive`` class (e.g. "fake", "yes"): 2·TP / (2·TP + FP + FN).

    TP: truth and prediction are ``positive``; FP: prediction ``positive``, truth not; FN: truth
    ``positive``, prediction not. A None prediction is always wrong, i.e. it counts as the opposite
    of its truth: FN when the truth is positive, FP when it is not (otherwise an unparseable answer on
    a negative item would go unpunished). F1 is 0 when ``positive`` is neither true nor predicted
    anywhere (as scikit-learn's ``zero_division`` default); an empty list gives nan.
    """
    _paired(predictions, truths)
    if not len(truths):
        return NAN
    tp = fp = fn = 0
    for p, t in zip(predictions, truths):
        predicted_positive = (t != positive) if p is None else (p == positive)
        if t == positive:
            tp += predicted_positive
            fn += not predicted_positive
        else:
            fp += predicted_positive
    return _f1(tp, fp, fn)


def f1_macro(predictions: Sequence[Hashable | None], truths: Sequence[Hashable], labels: Sequence[Hashable] | None = None) -> float:
    """Macro F1: the unweighted mean over ``labels`` of each label's one-vs-rest F1, 2·TP / (2·TP + FP + FN).

    ``labels`` defaults to the labels present in ``truths`` (a label only ever predicted does not
    get its own F1 term, but its predictions are still FNs of their true class). A None prediction
    is an FN of its true class and an FP of no class. A label of ``labels`` that is neither true nor
    predicted scores 0 (scikit-learn's ``zero_division`` default). An empty list gives nan.
    """
    _paired(predictions, truths)
    if not len(truths):
        return NAN
    labels = list(dict.fromkeys(truths)) if labels is None else list(labels)
    if not labels:
        return NAN
    scores = []
    for label in labels:
        tp = sum(p == label and t == label for p, t in zip(predictions, truths))
        fp = sum(p is not None and p == label and t != label for p, t in zip(predictions, truths))
        fn = sum(t == label for t in truths) - tp
        scores.append(_f1(tp, fp, fn))
    return float(np.mean(scores))


def roc_auc(scores: Sequence[float], positives: Sequence[bool]) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random negative (ties count half).

    Computed from the ranks (the Mann-Whitney U statistic), tied scores sharing their mean rank.
    nan when there is no positive or no negative.
    """
    _paired(scores, positives, "scores", "labels")
    values, is_positive = np.asarray(scores, float), np.asarray(positives, bool)
    n_pos, n_neg = int(is_positive.sum()), int((~is_positive).sum())
    if not n_pos or not n_neg:
        return NAN
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ranks = (np.bincount(inverse, ranks) / counts)[inverse]  # ties share their mean rank
    return float((ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# --------------------------------------------------------------------------- masks


def _intersection_union(pred: Mask | None, truth: Mask) -> tuple[int, int]:
    """Pixel counts |pred ∩ truth| and |pred ∪ truth|; None is an empty mask."""
    if pred is None:
        return 0, masklib.area(truth)
    if isinstance(pred, np.ndarray) and isinstance(truth, np.ndarray):
        a, b = masklib.to_mask(pred), masklib.to_mask(truth)
        if a.shape != b.shape:
            raise ValueError(f"mask sizes differ: {list(a.shape)} vs {list(b.shape)}")
        inter = int(np.count_nonzero(a & b))
        return inter, int(np.count_nonzero(a)) + int(np.count_nonzero(b)) - inter
    inter = masklib.area(masklib.intersection(pred, truth))  # checks the sizes
    return inter, masklib.area(pred) + masklib.area(truth) - inter


def mask_iou(pred: Mask | None, truth: Mask) -> float:
    """Intersection over union |pred ∩ truth| / |pred ∪ truth| of two masks of the same size.

    Both empty gives 1.0 (predicting nothing where there is nothing is right, as gRefCOCO's gIoU
    and ``fifa_data.core.masks.iou``). A None prediction is an empty mask: 0.0 against a non-empty truth.
    """
    inter, union = _intersection_union(pred, truth)
    return inter / union if union else 1.0


def miou(preds: Sequence[Mask | None], truths: Sequence[Mask]) -> float:
    """Mean IoU: the average of :func:`mask_iou` over the (prediction, truth) pairs.

    Every pair weighs the same whatever its size. A None prediction is an empty mask (IoU 0 unless
    its truth is empty too, then 1). An empty list gives nan.
    """
    _paired(preds, truths)
    if not len(truths):
        return NAN
    return float(np.mean([mask_iou(p, t) for p, t in zip(preds, truths)]))


def ciou(preds: Sequence[Mask | None], truths: Sequence[Mask]) -> float:
    """Cumulative IoU: Σ|pred_i ∩ truth_i| / Σ|pred_i ∪ truth_i| over all pairs (LISA, GLaMM, refer-seg).

    Large masks weigh more than small ones, unlike :func:`miou`. A None prediction is an empty mask
    (adds nothing to the intersections and its truth's area to the unions). All pairs both empty
    gives 1.0 (as :func:`mask_iou`); an empty list gives nan.
    """
    _paired(preds, truths)
    if not len(truths):
        return NAN
    inter = union = 0
    for p, t in zip(preds, truths):
        i, u = _intersection_union(p, t)
        inter, union = inter + i, union + u
    return inter / union if union else 1.0


# --------------------------------------------------------------------------- matching


def match_iou_matrix(iou: np.ndarray, min_iou: float = 0.0) -> list[tuple[int, int, float]]:
    """Optimal one-to-one matching of the rows (predictions) and columns (truths) of an IoU matrix.

    Returns ``(row, column, iou)`` for the matching that maximises the total IoU among pairs with
    IoU ≥ ``min_iou`` and IoU > 0 (pairs that do not overlap are never matched), sorted by row.
    Solved exactly with the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``), not
    greedily: a greedy pick of the largest IoU first can lose a second match (see the tests).
    """
    iou = np.asarray(iou, dtype=float)
    if iou.ndim != 2:
        raise ValueError(f"expected a 2-D (predictions x truths) IoU matrix, got shape {iou.shape}")
    if iou.size == 0:
        return []
    allowed = (iou >= min_iou) & (iou > 0)
    rows, cols = linear_sum_assignment(np.where(allowed, iou, 0.0), maximize=True)
    return [(int(r), int(c), float(iou[r, c])) for r, c in zip(rows, cols) if allowed[r, c]]


def _mask_iou_matrix(preds: Sequence[Mask | None], truths: Sequence[Mask]) -> np.ndarray:
    """(len(preds), len(truths)) IoUs, with :func:`mask_iou`'s conventions (None = empty, both empty = 1)."""
    iou = np.zeros((len(preds), len(truths)))
    if not len(preds) or not len(truths):
        return iou
    gts = [masklib.to_rle(t) for t in truths]
    sizes = {tuple(g["size"]) for g in gts}
    if len(sizes) > 1:
        raise ValueError(f"ground-truth mask sizes differ: {sorted(sizes)}")
    (size,) = sizes
    empty = masklib.encode(np.zeros(size, bool))
    dts = [empty if p is None else masklib.to_rle(p) for p in preds]
    for d in dts:
        if tuple(d["size"]) != size:  # pycocotools would silently score such a pair 0
            raise ValueError(f"mask sizes differ: {d['size']} vs {list(size)}")
    iou[:] = coco_mask.iou(dts, gts, [0] * len(gts))
    # pycocotools scores two empty masks 0; here they score 1 as in mask_iou.
    pred_empty = np.array([masklib.area(d) == 0 for d in dts])
    truth_empty = np.array([masklib.area(g) == 0 for g in gts])
    iou[np.outer(pred_empty, truth_empty)] = 1.0
    return iou


def match_masks(preds: Sequence[Mask | None], truths: Sequence[Mask], min_iou: float = 0.0) -> list[tuple[int, int, float]]:
    """Match one image's predicted masks to its ground-truth masks one-to-one, maximising the total IoU.

    Returns ``(pred_index, truth_index, iou)`` sorted by prediction; pairs with IoU < ``min_iou`` or
    no overlap are not matched (see :func:`match_iou_matrix`). A None mask is an empty mask.
    """
    return match_iou_matrix(_mask_iou_matrix(preds, truths), min_iou)


def _coco_ap(ious: Sequence[np.ndarray], threshold: float) -> float:
    """AP as pycocotools' COCOeval computes it when every prediction has the same score.

    Predictions are ranked by image, then by their order in the answer (COCOeval's stable sort
    of tied scores); each in turn takes the unmatched truth of its image with the highest IoU
    ≥ ``threshold`` (greedy, as COCOeval); the precision envelope is read at the 101 recall points
    0, 0.01, ..., 1 and averaged (a recall point beyond the last recall reached reads 0).
    Differences from COCOeval, none of which arises with well-formed answers: no cap of 100
    predictions per image; two empty masks have IoU 1 (COCOeval: 0); a box with x1 < x0 counts as a
    wrong prediction (COCOeval ignores a box of negative area).
    """
    hits: list[bool] = []
    n_truths = 0
    for iou in ious:
        n_truths += iou.shape[1]
        taken = np.zeros(iou.shape[1], bool)
        for row in iou:
            best, match = min(threshold, 1 - 1e-10), -1
            for g, value in enumerate(row):  # COCOeval's loop: ties go to the later truth
                if taken[g] or value < best:
                    continue
                best, match = value, g
            if match >= 0:
                taken[match] = True
            hits.append(match >= 0)
    if not n_truths:
        return NAN
    if not hits:
        return 0.0
    tp = np.cumsum(hits)
    recall = tp / n_truths
    precision = np.maximum.accumulate((tp / np.arange(1, len(hits) + 1))[::-1])[::-1]
    at = np.searchsorted(recall, np.linspace(0.0, 1.0, 101), side="left")
    return float(np.where(at < len(hits), precision[np.minimum(at, len(hits) - 1)], 0.0).mean())


def _grounding_scores(ious: Sequence[np.ndarray], threshold: float) -> dict[str, float | int]:
    """Recall, precision, AP and mean IoU from per-image (n_pred, n_truth) IoU matrices."""
    n_preds = sum(iou.shape[0] for iou in ious)
    n_truths = sum(iou.shape[1] for iou in ious)
    hits = sum(len(match_iou_matrix(iou, threshold)) for iou in ious)
    matched_iou = sum(m[2] for iou in ious for m in match_iou_matrix(iou, 0.0))
    recall = hits / n_truths if n_truths else NAN
    precision = hits / n_preds if n_preds else 0.0
    return {
        "recall": recall,
        "precision": precision,
        "ap50": recall * precision,
        "ap50_coco": _coco_ap(ious, threshold),
        "mean_iou": matched_iou / n_truths if n_truths else NAN,
        "n_preds": n_preds,
        "n_truths": n_truths,
        "n_matched": hits,
    }


def _per_image(preds_per_image: Sequence, truths_per_image: Sequence) -> list[tuple[Sequence, Sequence]]:
    _paired(preds_per_image, truths_per_image, "images of predictions", "images of truths")
    return [([] if p is None else p, t) for p, t in zip(preds_per_image, truths_per_image)]


def age_matching(
    pred_masks_per_image: Sequence[Sequence[Mask | None] | None],
    truth_masks_per_image: Sequence[Sequence[Mask]],
    iou_threshold: float = 0.5,
) -> dict[str, float | int]:
    """GLaMM-style mask matching for AGE (grounded conversation generation), over a whole benchmark.

    For every image the masks of the generated ``[SEG]`` tokens are matched one-to-one to the
    ground-truth ``[SEG]`` masks with :func:`match_masks`. Returns:

    - ``mask_recall``: matches with IoU ≥ ``iou_threshold`` / all ground-truth masks (pooled over
      images; the matching maximises the total IoU of such pairs, which also maximises their
      number when the truths of an image are disjoint and the threshold is above 0.5, since a mask
      then reaches the threshold with at most one truth).
    - ``precision``: the same matches / all predicted masks (0 when nothing was predicted).
    - ``ap50``: average precision at ``iou_threshold`` (0.5 by default, hence the name). Predicted
      masks carry no confidence, so every one has the same score and the precision-recall curve has
      a single operating point; its step-wise area Σ (R_n − R_{n−1}) P_n is then precision × recall.
      This does not depend on the order of images or answers.
    - ``ap50_coco``: the number GLaMM reports. GLaMM's GCG evaluation (``eval/gcg/evaluate.py`` in
      mbzuai-oryx/groundingLMM) gives every predicted mask score 1.0 and runs pycocotools' COCOeval
      ("segm", one category); reproduced here without COCO files (see the tests for the check
      against COCOeval). With tied scores COCOeval ranks the predictions in input order (image by
      image, then answer order), matches them greedily and interpolates precision at 101 recall
      points, so this number depends on the order of the images and of the phrases in an answer.
      Prefer ``ap50``; use this one to compare with numbers published for GLaMM.
    - ``miou``: Σ IoU of the matched pairs / all ground-truth masks, with the matching that maximises
      the total IoU (no threshold); an unmatched ground truth counts 0, an extra prediction costs
      nothing here (it lowers precision and AP). GLaMM instead averages only the matched pairs per
      image (greedily matched), which ignores missed masks.
    - ``n_preds``, ``n_truths``, ``n_matched``: the counts behind them.

    GLaMM's recall also asks the phrases of a matched pair to agree (BERT similarity ≥ 0.5); in FiFa
    the i-th truth is paired with a FICT concept, and phrase agreement is measured separately by
    :func:`text_mask_consistency`. A None answer (unparseable) has no masks: all its truths are
    missed; a None mask in an answer is an empty predicted mask. No ground truth at all gives nan
    for recall, AP and mIoU.
    """
    pairs = _per_image(pred_masks_per_image, truth_masks_per_image)
    scores = _grounding_scores([_mask_iou_matrix(p, t) for p, t in pairs], iou_threshold)
    renamed = {"recall": "mask_recall", "mean_iou": "miou"}
    return {renamed.get(key, key): value for key, value in scores.items()}


# --------------------------------------------------------------------------- boxes


def _box(box: Box) -> np.ndarray:
    b = np.asarray(box, dtype=float)
    if b.shape != (4,):
        raise ValueError(f"a box is [x0, y0, x1, y1], got {box!r}")
    return b


def _box_iou_matrix(preds: Sequence[Box | None], truths: Sequence[Box]) -> np.ndarray:
    """(len(preds), len(truths)) IoUs by pycocotools on ``[x, y, w, h]`` boxes; a None box or one
    without area has IoU 0 with everything."""
    iou = np.zeros((len(preds), len(truths)))
    given = [i for i, p in enumerate(preds) if p is not None]
    if not len(truths) or not given:
        return iou
    iou[given] = coco_mask.iou(_xywh([preds[i] for i in given]), _xywh(truths), [0] * len(truths))
    return iou


def _xywh(boxes: Sequence[Box]) -> np.ndarray:
    corners = np.stack([_box(b) for b in boxes])
    return np.column_stack([corners[:, :2], np.clip(corners[:, 2:] - corners[:, :2], 0, None)])


def box_iou(a: Box | None, b: Box) -> float:
    """IoU of two boxes ``[x0, y0, x1, y1]`` (pixels, x1 and y1 exclusive, so area = (x1−x0)·(y1−y0)).

    intersection = max(0, min(x1) − max(x0)) · max(0, min(y1) − max(y0)); IoU = intersection /
    (area_a + area_b − intersection). Boxes with x1 ≤ x0 or y1 ≤ y0 have no area; a zero union (two
    such boxes) gives 0.0, since an empty box is never a right answer. A None box gives 0.0.
    Computed by pycocotools on ``[x, y, w, h]`` boxes.
    """
    return float(_box_iou_matrix([a], [b])[0, 0])


def match_boxes(preds: Sequence[Box | None], truths: Sequence[Box], min_iou: float = 0.0) -> list[tuple[int, int, float]]:
    """Match one image's predicted boxes to its ground-truth boxes one-to-one, maximising the total IoU.

    Same matching as :func:`match_masks`: ``(pred_index, truth_index, iou)`` sorted by prediction,
    pairs below ``min_iou`` or without overlap unmatched. A None box matches nothing.
    """
    return match_iou_matrix(_box_iou_matrix(preds, truths), min_iou)


def box_matching(
    pred_boxes_per_image: Sequence[Sequence[Box | None] | None],
    truth_boxes_per_image: Sequence[Sequence[Box]],
    iou_threshold: float = 0.5,
) -> dict[str, float | int]:
    """Box grounding scores for breg, over a whole benchmark, defined exactly as :func:`age_matching`'s.

    Keys: ``recall`` (truth boxes matched with IoU ≥ ``iou_threshold`` / all truth boxes),
    ``precision``, ``ap50`` (precision × recall: the boxes are read from text and have no scores),
    ``ap50_coco`` (COCOeval with every box scored 1.0, order dependent), ``mean_iou`` (Σ IoU of the
    max-total-IoU matching / all truth boxes), ``n_preds``, ``n_truths``, ``n_matched``. A None
    answer has no boxes; a None box matches nothing but counts as a prediction.
    """
    pairs = _per_image(pred_boxes_per_image, truth_boxes_per_image)
    return _grounding_scores([_box_iou_matrix(p, t) for p, t in pairs], iou_threshold)


def box_ap50(pred_boxes_per_image: Sequence[Sequence[Box | None] | None], truth_boxes_per_image: Sequence[Sequence[Box]]) -> float:
    """AP at IoU 0.5 of breg boxes: precision × recall of the IoU ≥ 0.5 matches (see :func:`box_matching`)."""
    return box_matching(pred_boxes_per_image, truth_boxes_per_image, 0.5)["ap50"]


def box_recall50(pred_boxes_per_image: Sequence[Sequence[Box | None] | None], truth_boxes_per_image: Sequence[Sequence[Box]]) -> float:
    """Share of ground-truth boxes matched one-to-one by a predicted box with IoU ≥ 0.5 (see :func:`box_matching`)."""
    return box_matching(pred_boxes_per_image, truth_boxes_per_image, 0.5)["recall"]


def mean_box_iou(pred_boxes_per_image: Sequence[Sequence[Box | None] | None], truth_boxes_per_image: Sequence[Sequence[Box]]) -> float:
    """Σ IoU of the max-total-IoU one-to-one matching / number of ground-truth boxes (missed boxes count 0)."""
    return box_matching(pred_boxes_per_image, truth_boxes_per_image)["mean_iou"]


# --------------------------------------------------------------------------- text-mask consistency

ConceptLookup = Callable[[str], Mask] | Mapping[str, Mask]


def _consistency_counts(
    pred_masks: Sequence[Mask | None], named_concepts: Sequence[str | None], concept_mask_of: ConceptLookup, inside: float
) -> tuple[int, int]:
    _paired(pred_masks, named_concepts, "predicted masks", "named concepts")
    # A concept missing from a mapping is not visible.
    lookup = concept_mask_of.get if isinstance(concept_mask_of, Mapping) else concept_mask_of
    cache: dict[str, Mask | None] = {}
    consistent = 0
    for pred, concept in zip(pred_masks, named_concepts):
        if pred is None or concept is None:
            continue
        pred_area = masklib.area(pred)
        if not pred_area:
            continue
        if concept not in cache:
            cache[concept] = lookup(concept)
        region = cache[concept]
        if region is None:
            continue
        inter, _ = _intersection_union(pred, region)
        consistent += inter / pred_area >= inside
    return consistent, len(pred_masks)


def text_mask_consistency(
    pred_masks: Sequence[Mask | None],
    named_concepts: Sequence[str | None],
    concept_mask_of: ConceptLookup,
    inside: float = 0.5,
) -> float:
    """Share of one answer's ``<p>phrase</p> [SEG]`` pairs whose mask lies mostly inside the concept the phrase names.

    Pair i (the i-th predicted mask and the FICT concept id its phrase resolves to) is consistent
    when |pred_i ∩ concept_mask(named_concepts[i])| / |pred_i| ≥ ``inside``. Inconsistent: a None or
    empty predicted mask, a None concept (phrase not resolved to FICT), a concept that is not visible
    (empty mask, or missing from a mapping). ``concept_mask_of`` is ``concept_id -> mask`` (e.g.
    ``ConceptMasks.mask``) or a mapping (e.g. ``ConceptMasks.to_rle()``, which lists only the visible
    concepts). Returns consistent pairs / pairs; an answer without pairs gives nan.
    """
    consistent, total = _consistency_counts(pred_masks, named_concepts, concept_mask_of, inside)
    return consistent / total if total else NAN


def text_mask_consistency_dataset(
    pred_masks_per_image: Sequence[Sequence[Mask | None] | None],
    named_concepts_per_image: Sequence[Sequence[str | None] | None],
    concept_mask_of_per_image: Sequence[ConceptLookup],
    inside: float = 0.5,
) -> dict[str, float | int]:
    """:func:`text_mask_consistency` pooled over a benchmark: all consistent pairs / all pairs.

    Every pair weighs the same, wherever it comes from. An unparseable answer (None masks or
    concepts) has no pairs to judge: it adds nothing to the pooled share (the grounding metrics
    punish it) and is counted under ``unparsed`` so that it is not lost. Returns ``consistency``
    (nan without any pair), ``consistent``, ``pairs`` and ``unparsed``.
    """
    _paired(pred_masks_per_image, named_concepts_per_image, "images of predicted masks", "images of named concepts")
    _paired(pred_masks_per_image, concept_mask_of_per_image, "images of predicted masks", "concept lookups")
    consistent = pairs = unparsed = 0
    for masks, concepts, lookup in zip(pred_masks_per_image, named_concepts_per_image, concept_mask_of_per_image):
        if masks is None or concepts is None:
            unparsed += 1
            continue
        c, n = _consistency_counts(masks, concepts, lookup, inside)
        consistent, pairs = consistent + c, pairs + n
    return {"consistency": consistent / pairs if pairs else NAN, "consistent": consistent, "pairs": pairs, "unparsed": unparsed}
