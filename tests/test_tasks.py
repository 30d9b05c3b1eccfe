"""FiFa-11 rows from simulated pairs: every task, the AGE invariant, the validator, the balance."""

from __future__ import annotations

import copy
import json
from collections import Counter

import numpy as np
import pytest

from fifa_data.annotate.guard import GuardCounts
from fifa_data.annotate.pipeline import AnnotatedImage, annotate
from fifa_data.core import masks as masklib
from fifa_data.core.fict import load_fict
from fifa_data.core.schema import MANIPULATIONS, TASKS, answer_of
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sample_source import write_sample_pairs
from fifa_data.pairs.sources import open_source
from fifa_data.tasks import RowError, check_row, task_rows

FICT = load_fict()


@pytest.fixture(scope="module")
def annotated(tmp_path_factory):
    """One simulated pair per manipulation type from the astronaut's face view, annotated."""
    root = tmp_path_factory.mktemp("pairs")
    write_sample_pairs(root, len(MANIPULATIONS), seed=0, photos=("astronaut",), views=("face",))
    refs, rejects = open_source(root).scan()
    assert not rejects
    from fifa_data.pairs.loading import load_pairs

    counts = GuardCounts()
    out = list(annotate(load_pairs(refs), counts=counts))
    return out, counts


def images(annotated) -> list[AnnotatedImage]:
    """The real image and the localised fakes (a fake kept for det and cls only has its own test)."""
    return [x for x in annotated[0] if isinstance(x, AnnotatedImage) and x.unlocalised is None]


def test_every_pair_is_annotated_or_kept_for_det_and_cls(annotated):
    items, counts = annotated
    fakes = [x for x in items if isinstance(x, AnnotatedImage) and x.label == "fake"]
    localised = [x for x in fakes if x.unlocalised is None]
    reals = [x for x in items if isinstance(x, AnnotatedImage) and x.label == "real"]
    assert not [x for x in items if isinstance(x, Reject)]  # every simulated fake is kept
    assert len(fakes) == len(MANIPULATIONS) and len(localised) >= 7 and len(reals) == 1
    assert all(x.unlocalised.reason in ("empty_artifact_mask", "no_concept_manipulated") for x in fakes if x.unlocalised)
    assert counts.texts == len(localised) and counts.inconsistent == 0


def test_every_task_yields_valid_rows_for_fakes_and_reals(annotated):
    per_task: Counter = Counter()
    for img in images(annotated):
        rows = task_rows(img, real_repeats=len(MANIPULATIONS))
        for task, task_rows_ in rows.items():
            per_task[(task, img.label)] += len(task_rows_)
            for row in task_rows_:
                assert row["label"] == img.label and row["source_id"] == img.source_id
                json.dumps(dict(row, image=None))  # plain JSON values apart from the image bytes
    for task in TASKS:
        assert per_task[(task, "fake")] >= 7, task
        assert per_task[(task, "real")] >= 1, task
    assert per_task[("det", "real")] == min(len(MANIPULATIONS), 8)  # one real row per fake, capped


def test_age_invariant_masks_are_concept_artifact_masks(annotated):
    for img in images(annotated):
        if img.label != "fake":
            continue
        (row,) = task_rows(img, ("age",))["age"]
        answer = answer_of(row)
        assert answer.count("[SEG]") == len(row["masks"]) == len(row["concepts"]) >= 1
        for concept_id, rle in zip(row["concepts"], row["masks"]):
            mask = masklib.decode(rle)
            np.testing.assert_array_equal(mask, img.decisions.artifact & img.concept_masks.mask(concept_id))
        (loc,) = task_rows(img, ("loc",))["loc"]
        np.testing.assert_array_equal(masklib.decode(loc["masks"][0]), img.decisions.artifact)


def test_region_and_box_negatives_are_untouched(annotated):
    for img in images(annotated):
        rows = task_rows(img, ("rdet", "bdet"))
        for row in rows["rdet"]:
            concept = row["query_concept"]
            if row["answer"] == "no" and img.label == "fake":
                assert img.decisions.is_untouched(concept)
            if row["answer"] == "yes":
                assert concept in img.grounded
        for row in rows["bdet"]:
            x0, y0, x1, y1 = (int(v) for v in row["boxes"][0])
            inside = 0 if img.label == "real" else int(img.decisions.artifact[y0:y1, x0:x1].sum())
            assert (inside > 0) == (row["answer"] == "yes")


def test_region_rows_carry_the_query_concepts_own_mask(annotated):
    img = next(x for x in images(annotated) if x.label == "fake")
    rows = task_rows(img, ("rdet", "rexp", "rseg", "det"))
    for row in rows["rdet"] + rows["rexp"] + rows["rseg"]:
        expected = img.concept_masks.mask(row["query_concept"])
        assert np.array_equal(masklib.decode(row["query_mask"]).astype(bool), expected)
    assert all(row["query_mask"] is None for row in rows["det"])
    bad = copy.deepcopy(rows["rdet"][0])
    bad["query_mask"] = None
    with pytest.raises(RowError, match="query concept's mask"):
        check_row(bad, FICT)


def test_rows_are_reproducible(annotated):
    img = next(x for x in images(annotated) if x.label == "fake")
    assert task_rows(img, seed=3) == task_rows(img, seed=3)
    assert task_rows(img, seed=3) != task_rows(img, seed=4)


def break_row(row: dict, how: str) -> dict:
    row = copy.deepcopy(row)
    text = row["messages"][1]["content"][0]
    if how == "extra_seg":
        text["text"] += " [SEG]"
    elif how == "wrong_concept":
        row["concepts"][0] = "nose.tip" if row["concepts"][0] != "nose.tip" else "chin.center"
    elif how == "mask_size":
        row["masks"][0] = masklib.encode(np.ones((7, 9), bool))
    elif how == "tag_without_seg":
        text["text"] = text["text"].replace("</p> [SEG]", "</p>", 1) + " [SEG]"
    elif how == "real_with_mask":
        row["label"] = "real"
    elif how == "loose_spelling":
        text["text"] = text["text"].replace("<p>", "< p >", 1)
    elif how == "unclosed_tag":
        text["text"] = text["text"].replace("</p>", "", 1)
    return row


@pytest.mark.parametrize("how", ["extra_seg", "wrong_concept", "mask_size", "tag_without_seg", "real_with_mask", "loose_spelling", "unclosed_tag"])
def test_validator_catches_broken_age_rows(annotated, how):
    img = next(x for x in images(annotated) if x.label == "fake")
    (row,) = task_rows(img, ("age",))["age"]
    check_row(row, FICT)
    with pytest.raises(RowError):
        check_row(break_row(row, how), FICT)


def test_validator_catches_box_and_answer_errors(annotated):
    img = next(x for x in images(annotated) if x.label == "fake")
    rows = task_rows(img, ("bdet", "det", "breg"))
    bad = copy.deepcopy(rows["bdet"][0])
    bad["boxes"] = [[0, 0, 99999, 10]]
    with pytest.raises(RowError, match="not inside"):
        check_row(bad, FICT)
    bad = copy.deepcopy(rows["det"][0])
    bad["answer"] = "real"
    with pytest.raises(RowError, match="answer"):
        check_row(bad, FICT)
    bad = copy.deepcopy(rows["breg"][0])
    bad["target_boxes"][0] = [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(RowError, match="not in the answer"):
        check_row(bad, FICT)
