"""The grounding markup's one reader, and the modules that read it agreeing on loose spellings."""

from __future__ import annotations

import pytest

from fifa_data.core.markup import SEG, canonical, ground, is_canonical, strip
from fifa_data.scoring.captions import plain_text
from fifa_data.scoring.parse import parse_answer
from fifa_data.viz import age_segments

LOOSE = "The < P >upper lip</ p > [ seg ] and <p>the chin</p>[seg] were edited."


def test_ground_pairs_phrases_with_the_seg_right_after_them():
    g = ground("<p>The lips</p> [SEG] look red, <p>the chin</p> is fine, and here [SEG].")
    assert g.phrases == ["The lips", "the chin"]
    assert g.seg_phrases == ["The lips", None] and g.paired == {0} and not g.problems
    assert ground("<p>open [SEG] then </p>").problems == ["unclosed <p>", "</p> without <p>"]


def test_loose_spellings_read_alike_everywhere():
    assert ground(LOOSE).seg_phrases == ["upper lip", "the chin"]
    assert canonical(LOOSE) == "The <p>upper lip</p> [SEG] and <p>the chin</p>[SEG] were edited."
    assert not is_canonical(LOOSE) and is_canonical(canonical(LOOSE))
    assert [run for run in age_segments(LOOSE) if run[1] is not None] == [("upper lip", 0), ("the chin", 1)]
    parsed = parse_answer("age", LOOSE)
    assert parsed.segs == 2 and parsed.seg_phrases == ("upper lip", "the chin")


def test_strip_leaves_readable_text_without_running_words_together():
    assert strip("<p>The lips</p> [SEG] look red.") == "The lips look red."
    assert strip("(<p>lips</p>)") == "(lips)"
    assert strip("the<p>lips</p>[SEG]and") == "the lips and"
    assert plain_text(LOOSE) == "The upper lip and the chin were edited."
    assert SEG not in strip(LOOSE)


@pytest.mark.parametrize("text", ["<p>lips</p> [SEG]", "Sure, [SEG].", "no markup at all"])
def test_canonical_texts_are_left_as_they_are(text):
    assert is_canonical(text) and canonical(text) == text


def test_seg_spans_cover_each_token_with_its_phrase():
    text = "Edited. <p>The lips</p> [SEG] look red; [SEG] and <p>the nose [SEG] </p>."
    g = ground(text)
    assert [text[a:b] for a, b in g.seg_spans] == ["<p>The lips</p> [SEG]", "[SEG]", "<p>the nose [SEG] </p>"]
    assert g.seg_phrases == ["The lips", None, "the nose"]
