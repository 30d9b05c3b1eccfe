"""Concept decisions on hand-built label maps and artifact masks."""

from __future__ import annotations

import numpy as np
import pytest

from fifa_data.annotate.decide import DecisionConfig, decide
from fifa_data.core.fict import load_fict
from fifa_data.faces.concepts import ConceptMasks

FICT = load_fict()
INDEX = {c: i + 1 for i, c in enumerate(FICT.atomic_ids)}
LIPS = ("lips.upper.center", "lips.upper.left", "lips.upper.right", "lips.lower.center", "lips.lower.left", "lips.lower.right")


def label_map(blocks: dict[str, tuple[slice, slice]], shape=(200, 200), fill="background.left") -> ConceptMasks:
    """A label map painted with rectangles of atomic concepts on a background."""
    labels = np.full(shape, INDEX[fill], dtype=np.int32)
    for concept, (rows, cols) in blocks.items():
        labels[rows, cols] = INDEX[concept]
    return ConceptMasks(labels, FICT, 1, (0.0, 0.0, float(shape[1]), float(shape[0])), 0.0)


OTHER_FACE = {
    "forehead.center": (slice(5, 45), slice(20, 180)),
    "nose.tip": (slice(50, 80), slice(80, 100)),
    "cheek.left.apple": (slice(50, 90), slice(130, 170)),
    "chin.center": (slice(140, 170), slice(70, 110)),
}


def lips_map() -> ConceptMasks:
    """Six 10 x 20 lip parts below a forehead, nose, cheek and chin."""
    lips = {c: (slice(100 + 10 * (i // 3), 110 + 10 * (i // 3)), slice(60 + 20 * (i % 3), 80 + 20 * (i % 3))) for i, c in enumerate(LIPS)}
    return label_map(lips | OTHER_FACE)


def test_atomic_needs_both_pixels_and_share():
    concepts = lips_map()  # every lip part is 10 x 20 = 200 px
    artifact = np.zeros((200, 200), bool)
    artifact[100:110, 60:70] = True  # 100 px = half of the upper lip's centre
    artifact[110:112, 80:85] = True  # 10 px of the lower lip's left part: a share of 0.05
    decisions = decide(artifact, concepts, DecisionConfig(min_pixels=40, min_share=0.15))
    assert decisions.concepts["lips.upper.center"].manipulated
    assert decisions.concepts["lips.upper.center"].share == pytest.approx(0.5)
    assert not decisions.concepts["lips.lower.left"].manipulated
    tight = decide(artifact, concepts, DecisionConfig(min_pixels=150, min_share=0.15, small_edit_pixels=0))
    assert not tight.concepts["lips.upper.center"].manipulated  # 100 px < 150 px


def test_a_small_edit_is_decided_with_the_small_edit_floor_when_nothing_else_passes():
    """A lipstick of 30 px on a small face passes no concept at 40 px; then the rule is applied
    again at `small_edit_pixels`, and still needs the share. Beside a clear edit it is not."""
    concepts = lips_map()
    artifact = np.zeros((200, 200), bool)
    artifact[100:103, 60:70] = True  # 30 px of the upper lip's centre: a share of 0.15
    artifact[110:111, 80:85] = True  # 5 px of the lower lip's left part
    small = decide(artifact, concepts)
    assert small.manipulated_atomic == ("lips.upper.center",)
    assert not decide(artifact, concepts, DecisionConfig(small_edit_pixels=0)).manipulated
    artifact[5:45, 20:60] = True  # a clear edit of the forehead beside it
    beside = decide(artifact, concepts)
    assert "forehead.center" in beside.manipulated and "lips.upper.center" not in beside.manipulated


def test_large_absolute_overlap_counts_on_a_big_concept():
    concepts = label_map({}, fill="background.left")  # one concept of 40 000 px
    artifact = np.zeros((200, 200), bool)
    artifact[:20, :20] = True  # 400 px: a share of 0.01, but 1 % of the image
    assert decide(artifact, concepts, DecisionConfig(large_pixels=0.005)).concepts["background.left"].manipulated
    assert not decide(artifact, concepts, DecisionConfig(large_pixels=0.05)).concepts["background.left"].manipulated


def test_background_counts_only_beyond_the_heads_rim():
    """A re-encode's spread around a hair edit is no background edit; a blob away from the head is."""
    concepts = label_map({"hair.top.crown": (slice(50, 150), slice(50, 150))})  # face box: the whole 200 px
    artifact = np.zeros((200, 200), bool)
    artifact[45:155, 45:155] = True  # the hair and a 5 px rim of background around it (2 100 px)
    config = DecisionConfig(large_pixels=0.01, context_margin=0.04, context_min_px=0)  # a margin of 8 px
    decisions = decide(artifact, concepts, config)
    assert decisions.concepts["hair.top.crown"].manipulated
    assert not decisions.concepts["background.left"].manipulated
    assert decisions.concepts["background.left"].artifact_pixels == 0
    assert decide(artifact, concepts, DecisionConfig(large_pixels=0.01, context_margin=0)).concepts["background.left"].manipulated
    artifact[170:200, 0:30] = True  # 900 px well away from the head
    assert decide(artifact, concepts, config).concepts["background.left"].manipulated


def test_parent_by_children_and_cover():
    concepts = lips_map()
    artifact = np.zeros((200, 200), bool)
    artifact[100:120, 60:120] = True  # every lip part fully
    decisions = decide(artifact, concepts)
    assert {"lips", "lips.upper", "lips.lower"} <= set(decisions.manipulated)
    assert decisions.cover == ("lips",)  # parts are named through their flagged parent
    assert "face" not in decisions.manipulated  # one of the face's visible children is not half of them
    np.testing.assert_array_equal(decisions.mask("lips"), artifact & concepts.mask("lips"))


def test_parent_not_flagged_by_one_child_of_many():
    concepts = lips_map()
    artifact = np.zeros((200, 200), bool)
    artifact[100:110, 60:70] = True  # half the upper lip's centre: 1 of its parent's 3 children
    decisions = decide(artifact, concepts, DecisionConfig(min_share=0.2))
    assert decisions.manipulated_atomic == ("lips.upper.center",)
    assert "lips.upper" not in decisions.manipulated  # 1 of 3 children, own share 100/600 < 0.6
    assert decisions.cover == ("lips.upper.center",)


def test_parent_by_its_own_share():
    concepts = lips_map()
    artifact = np.zeros((200, 200), bool)
    artifact[100:110, 60:80] = True  # upper centre fully: 200 of lips.upper's 600 px
    decisions = decide(artifact, concepts, DecisionConfig(parent_min_share=0.3))
    assert decisions.concepts["lips.upper"].manipulated  # own share 0.33 >= 0.3
    decisions = decide(artifact, concepts, DecisionConfig(parent_min_share=0.4))
    assert not decisions.concepts["lips.upper"].manipulated


def test_untouched_and_record():
    concepts = lips_map()
    artifact = np.zeros((200, 200), bool)
    artifact[110:120, 60:120] = True  # the lower lip
    decisions = decide(artifact, concepts)
    assert decisions.is_untouched("lips.upper")  # a hard negative next to the edit
    assert decisions.is_untouched("nose")
    assert not decisions.is_untouched("lips")  # holds a flagged concept
    assert not decisions.is_untouched("lips.lower.left")
    record = decisions.to_dict()
    assert record["config"] == DecisionConfig().to_dict()
    assert record["cover"] == ["lips.lower"]  # 1 of 2 visible children is no majority: "lips" is not flagged
    assert record["overlap"]["lips.lower"] == {"artifact_pixels": 600, "concept_pixels": 600}


def test_size_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in size"):
        decide(np.zeros((10, 10), bool), lips_map())
