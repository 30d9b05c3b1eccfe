"""Parsing generated answers (fifa_data.scoring.parse): the trained phrasings, round trips, messy output, counts."""

from __future__ import annotations

import numpy as np
import pytest

from fifa_data.annotate.explanation import WriterInput
from fifa_data.annotate.writers import TemplateWriter, concept_words
from fifa_data.core.fict import finder_for, load_fict
from fifa_data.core.markup import SEG
from fifa_data.core.schema import MANIPULATIONS, TASKS
from fifa_data.scoring.parse import ParseCounts, ParsedAnswer, parse_answer, parse_rows
from fifa_data.tasks.generators import family_words
from fifa_data.tasks.questions import ANSWERS, phrase

FICT = load_fict()
FINDER = finder_for(FICT)
CONCEPTS = ("lips", "eyebrow.left", "hair.left", "eye.right.crows_feet", "lips.upper.center", "mouth.teeth", "nose.tip")
BREG_LIST = "lips [120, 300, 210, 345]; left eyebrow [80, 150, 160, 170]"


def kind(manipulation: str) -> str:
    """A manipulation in words, exactly as fifa_data.tasks.generators writes it."""
    return manipulation.replace("_", " ").replace("color", "colour")


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def fill(template: str, concept: str = "lips", manipulation: str = "smile") -> str:
    return capital(phrase(template, FICT[concept].name, kind=kind(manipulation), list=BREG_LIST, **family_words(manipulation)))


def parse(task: str, text: str | None) -> ParsedAnswer:
    return parse_answer(task, text, finder=FINDER)


# --- every trained phrasing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "task", "verdict"), [("det_fake", "det", "fake"), ("det_real", "det", "real"), ("cls_real", "cls", "real")]
)
def test_closed_answers_without_placeholders(key, task, verdict):
    for template in ANSWERS[key]:
        parsed = parse(task, template)
        assert (parsed.verdict, parsed.problems) == (verdict, ()), template


@pytest.mark.parametrize("manipulation", MANIPULATIONS)
def test_cls_answers_name_every_manipulation(manipulation):
    for template in ANSWERS["cls_fake"]:
        parsed = parse("cls", fill(template, manipulation=manipulation))
        assert (parsed.verdict, parsed.problems) == (manipulation, ()), parsed.text


@pytest.mark.parametrize("concept", CONCEPTS)
@pytest.mark.parametrize(
    ("key", "task", "verdict"),
    [("rdet_yes", "rdet", "yes"), ("rdet_no", "rdet", "no"), ("bdet_yes", "bdet", "yes"), ("bdet_no", "bdet", "no")],
)
def test_yes_no_answers(concept, key, task, verdict):
    for template in ANSWERS[key]:
        parsed = parse(task, fill(template, concept))
        assert (parsed.verdict, parsed.problems) == (verdict, ()), parsed.text


@pytest.mark.parametrize("concept", CONCEPTS)
def test_rseg_answers(concept):
    for template in ANSWERS["rseg_yes"]:
        parsed = parse("rseg", fill(template, concept))
        assert parsed.ok, parsed.problems
        assert parsed.segs == 1 and len(parsed.phrases) == 1
        assert parsed.seg_phrases == parsed.phrases
        assert parsed.phrase_concepts == (concept,)
    for template in ANSWERS["rseg_no"]:
        parsed = parse("rseg", fill(template, concept))
        assert parsed.ok and parsed.segs == 0 and parsed.phrases == ()
        assert concept in parsed.concepts


def test_loc_answers():
    for template in ANSWERS["loc_fake"]:
        parsed = parse("loc", template)
        assert (parsed.segs, parsed.seg_phrases, parsed.problems) == (1, (None,), ())
    for template in ANSWERS["loc_real"]:
        parsed = parse("loc", template)
        assert (parsed.segs, parsed.problems) == (0, ())


def test_real_texts_are_answers_without_masks_or_boxes():
    for template in ANSWERS["real_text"]:
        for task in ("loc", "age", "toe"):
            parsed = parse(task, template)
            assert (parsed.segs, parsed.problems, parsed.concepts) == (0, (), ())
        assert parse("det", template).verdict == "real"


def test_breg_answers():
    for template in ANSWERS["breg_intro"]:
        parsed = parse("breg", fill(template))
        assert parsed.ok, parsed.problems
        assert parsed.boxes == ((120.0, 300.0, 210.0, 345.0), (80.0, 150.0, 160.0, 170.0))
        assert parsed.box_concepts == ("lips", "eyebrow.left")
    for template in ANSWERS["breg_real"]:
        parsed = parse("breg", template)
        assert (parsed.boxes, parsed.problems) == ((), ())


@pytest.mark.parametrize("concept", CONCEPTS)
@pytest.mark.parametrize("key", ["rexp_no", "bexp_no"])
def test_free_text_answers_fill_only_concepts(concept, key):
    for template in ANSWERS[key]:
        parsed = parse(key[:4], fill(template, concept))
        assert parsed.ok and parsed.verdict is None and parsed.segs == 0 and parsed.boxes == ()
        assert parsed.concepts == (concept,)


def test_every_answer_key_is_covered():
    covered = {"det_fake", "det_real", "cls_fake", "cls_real", "real_text", "loc_fake", "loc_real", "rdet_yes", "rdet_no"}
    covered |= {"rexp_no", "rseg_yes", "rseg_no", "bdet_yes", "bdet_no", "bexp_no", "breg_intro", "breg_real"}
    assert covered == set(ANSWERS)


# --- round trips ----------------------------------------------------------------------------


def test_hand_written_age_answer():
    text = "The <p>lips</p> [SEG] look redder and the <p>left eyebrow</p> [SEG] is darker."
    parsed = parse("age", text)
    assert parsed.ok
    assert parsed.phrases == ("lips", "left eyebrow")
    assert parsed.seg_phrases == ("lips", "left eyebrow")
    assert parsed.segs == text.count(SEG) == 2
    assert parsed.phrase_concepts == (FINDER.resolve("lips"), FINDER.resolve("left eyebrow")) == ("lips", "eyebrow.left")
    assert parsed.concepts == ("lips", "eyebrow.left")


def test_age_synonyms_resolve_to_fict_ids():
    text = "<p>The upper lip skin</p> [SEG] is smoother. <p>The left brow tail</p> [SEG] and <p>the hair on the left</p> [SEG] were recoloured."
    parsed = parse("age", text)
    assert parsed.ok
    assert parsed.phrase_concepts == ("perioral.moustache", "eyebrow.left.tail", "hair.left")


@pytest.mark.parametrize("seed", range(12))
def test_template_writer_round_trip(seed):
    """AGE answers as the annotator writes them (names and synonyms) parse back to the grounded concepts."""
    rng = np.random.default_rng(seed)
    atomic = [c.id for c in FICT if c.is_atomic]
    requested = tuple(str(c) for c in rng.choice(atomic, size=3, replace=False))
    explanation = TemplateWriter(seed=seed, synonym_rate=0.8).write(WriterInput(f"pair-{seed}", FICT, requested, {}))
    age = parse("age", explanation.grounded())
    assert age.ok, (age.problems, age.text)
    assert age.phrase_concepts == explanation.concepts
    assert tuple(FINDER.resolve(p) for p in age.seg_phrases) == explanation.concepts
    assert set(parse("toe", explanation.plain()).concepts) >= set(requested)


@pytest.mark.parametrize("seed", range(6))
def test_breg_round_trip(seed):
    """A breg answer written the way the generator writes it gives back its boxes and concepts."""
    rng = np.random.default_rng(seed)
    atomic = [c.id for c in FICT if c.is_atomic and c.level >= 3]
    concepts = [str(c) for c in rng.choice(atomic, size=3, replace=False)]
    boxes = [sorted(rng.integers(0, 500, size=2).tolist()) for _ in concepts]
    boxes = [[float(a), float(a + 7), float(b + 20), float(b + 30)] for a, b in boxes]
    items = "; ".join(f"{concept_words(FICT[c], rng)} [" + ", ".join(str(int(v)) for v in box) + "]" for c, box in zip(concepts, boxes))
    parsed = parse("breg", capital(ANSWERS["breg_intro"][seed % 3].format(list=items)))
    assert parsed.ok
    assert [list(b) for b in parsed.boxes] == boxes
    assert list(parsed.box_concepts) == concepts


# --- messy output ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("  FAKE  ", "fake"),
        ("fake", "fake"),
        ("It is not fake.", "real"),
        ("It is not fake", "real"),
        ("The photo isn't manipulated.", "real"),
        ("There is no manipulation in this photo.", "real"),
        ("I see no signs of being edited; it is genuine.", "real"),
        ("This is not an authentic photo; parts of it were edited.", "fake"),
        ("Fake, although the skin looks real.", "fake"),
        ("**Real**. Nothing was altered.", "real"),
        ("Answer: fake", "fake"),
        ("This is a DeepFake.", "fake"),
        ("The image looks real. However, the lips were edited.", "real"),
        ("Hmm. The lips were clearly tampered with.", "fake"),
        ("The face is non-manipulated.", "real"),
        ("Nothing in this picture suggests any editing.", "real"),
        ("There is no doubt that it is fake.", "fake"),
        ("No, it is fake.", "fake"),
    ],
)
def test_det_messy(text, verdict):
    parsed = parse("det", text)
    assert (parsed.verdict, parsed.problems) == (verdict, ())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty answer"),
        ("   \n ", "empty answer"),
        (None, "empty answer"),
        ("Real or fake?", "both real and fake"),
        ("I cannot tell.", "no real/fake verdict"),
        ("The eyes look nice. It seems real. Or maybe fake.", "both real and fake"),
    ],
)
def test_det_unparseable(text, problem):
    parsed = parse("det", text)
    assert parsed.verdict is None and parsed.problems == (problem,) and not parsed.ok


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Lip-Color", "lip_color"),
        ("LIP_COLOUR.", "lip_color"),
        ("the lip color was changed", "lip_color"),
        ("Hair-colour edit", "hair_color"),
        ("haircolor", "hair_color"),
        ("It is aging.", "ageing"),
        ("eye-enlarge", "eye_enlarge"),
        ("Face_Slim; the jaw was pulled in.", "face_slim"),
        ("  none  ", "real"),
        ("There is no manipulation, the photo is authentic.", "real"),
        ("Smile. The rest of the face looks real.", "smile"),
        ("Eyebrows", "eyebrow"),
    ],
)
def test_cls_messy(text, verdict):
    parsed = parse("cls", text)
    assert (parsed.verdict, parsed.problems) == (verdict, ())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Smile and glasses.", "conflicting manipulation types"),
        ("It is fake.", "no manipulation type"),
        ("Lipstick.", "no manipulation type"),
        ("", "empty answer"),
    ],
)
def test_cls_unparseable(text, problem):
    assert parse("cls", text).problems == (problem,)


def test_cls_knows_extra_labels():
    parsed = parse_answer("cls", "This looks like the Old-Age filter.", finder=FINDER, manipulations=("old_age", "young"))
    assert parsed.verdict == "old_age"


@pytest.mark.parametrize(
    ("task", "text", "verdict"),
    [
        ("rdet", "yes", "yes"),
        ("rdet", "  YES!!", "yes"),
        ("rdet", "'No'", "no"),
        ("rdet", "**No**, it looks authentic.", "no"),
        ("rdet", "The answer is no.", "no"),
        ("rdet", "No manipulation is visible there.", "no"),
        ("rdet", "The lips have been manipulated.", "yes"),
        ("rdet", "The lips were not edited.", "no"),
        ("bdet", "yes; something in the box was altered", "yes"),
        ("bdet", "The box looks untouched.", "no"),
    ],
)
def test_yes_no_messy(task, text, verdict):
    parsed = parse(task, text)
    assert (parsed.verdict, parsed.problems) == (verdict, ())


@pytest.mark.parametrize(("text", "problem"), [("Yes and no", "both yes and no"), ("Maybe.", "no yes/no answer"), ("", "empty answer")])
def test_yes_no_unparseable(text, problem):
    parsed = parse("bdet", text)
    assert parsed.verdict is None and parsed.problems == (problem,)


def test_seg_spellings_and_whitespace():
    parsed = parse("age", "  The <P> Lips </P>[seg]   look red;  the < p >left\n eyebrow</ p >\n [ SEG ] is dark. ")
    assert parsed.ok
    assert parsed.phrases == ("Lips", "left eyebrow")
    assert parsed.seg_phrases == ("Lips", "left eyebrow")
    assert parsed.phrase_concepts == ("lips", "eyebrow.left")


def test_missing_close_tag_is_paired_with_a_problem():
    parsed = parse("age", "The <p>lips [SEG] look red and the <p>nose tip</p> [SEG] is shiny.")
    assert parsed.seg_phrases == ("lips", "nose tip")
    assert parsed.phrase_concepts == ("lips", "nose.tip")
    assert parsed.problems == ("unclosed <p>",)


def test_seg_pairs_only_with_an_adjacent_phrase():
    parsed = parse("age", "The <p>lips</p> look red [SEG] and <p>the chin</p> [SEG] [SEG].")
    assert parsed.segs == 3
    assert parsed.seg_phrases == (None, "the chin", None)
    assert "[SEG] without a phrase" in parsed.problems


def test_bare_seg_is_fine_in_loc_and_rseg_only():
    for task in ("loc", "rseg"):
        assert parse(task, "[seg]").ok
    assert parse("age", "The lips were edited [SEG].").problems == ("[SEG] without a phrase",)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("The <p>lips</p> look red.", "<p> phrase without [SEG]"),
        ("The <p>lips look red.", "unclosed <p>"),
        ("The lips</p> [SEG] look red.", "</p> without <p>"),
        ("The <p></p> [SEG] look red.", "empty <p> phrase"),
        ("", "empty answer"),
    ],
)
def test_broken_grounding(text, problem):
    assert problem in parse("age", text).problems


def test_phrase_naming_no_concept_has_no_id():
    parsed = parse("age", "<p>the thing</p> [SEG] and <p>lips and nose</p> [SEG]")
    assert parsed.ok and parsed.phrase_concepts == (None, None)


@pytest.mark.parametrize(
    ("text", "boxes"),
    [
        ("lips (10,20,30,40)", ((10.0, 20.0, 30.0, 40.0),)),
        ("lips [10,20,30,40]; nose tip[1.5, 2.25, 3, 4.0]", ((10.0, 20.0, 30.0, 40.0), (1.5, 2.25, 3.0, 4.0))),
        ("lips [30, 40, 10, 20]", ((10.0, 20.0, 30.0, 40.0),)),
        ("lips [ -5 ,  7 , 20 , -1 ]", ((-5.0, -1.0, 20.0, 7.0),)),
        ("lips [10 20 30 40]", ((10.0, 20.0, 30.0, 40.0),)),
        ("lips [.5, 1., +2, 3]", ((0.5, 1.0, 2.0, 3.0),)),
    ],
)
def test_breg_messy_boxes(text, boxes):
    parsed = parse("breg", text)
    assert parsed.ok and parsed.boxes == boxes
    assert parsed.box_concepts[0] == "lips"


def test_breg_concepts_come_from_just_before_each_box():
    parsed = parse("breg", "Edited: LEFT EYEBROW [1, 2, 3, 4], then [5, 6, 7, 8] and the hair on the left: [9, 10, 11, 12].")
    assert parsed.box_concepts == ("eyebrow.left", None, "hair.left")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("The lips were edited.", "no boxes"),
        ("lips [10, 20, 30]", "malformed box"),
        ("lips [10, 20, 30, 40, 50]", "malformed box"),
        ("", "empty answer"),
    ],
)
def test_breg_unparseable(text, problem):
    assert parse("breg", text).problems == (problem,)


@pytest.mark.parametrize("text", ["No manipulated regions.", "The image is real.", "None."])
def test_breg_real_answers(text):
    parsed = parse("breg", text)
    assert parsed.ok and parsed.boxes == ()


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "[",
        "<p>",
        "</p></p><p>",
        "[SEG]" * 5,
        "((((]]]",
        "[1, 2, 3, 4",
        "yes no real fake",
        "\x00\u2028\ud7ff",
        "é" * 300,
        "1e9 [1e3, 2, 3, 4]",
    ],
)
def test_never_raises(task, text):
    parsed = parse(task, text)
    assert isinstance(parsed, ParsedAnswer) and parsed.task == task
    if task in ("toe", "rexp", "bexp"):
        assert parsed.ok


def test_unknown_task_is_an_error():
    with pytest.raises(ValueError, match="unknown task"):
        parse_answer("nope", "Fake.")


def test_concepts_are_named_once_in_order():
    parsed = parse("toe", "The <p>left eyebrow</p> and the lips look edited; the left eyebrow is darker and the face is slimmer.")
    assert parsed.concepts == ("eyebrow.left", "lips")


# --- rows and counts ------------------------------------------------------------------------


def row(task: str, manipulation: str | None = None) -> dict:
    return {"task": task, "manipulation": manipulation}


def test_parse_rows_uses_each_rows_task_and_labels():
    rows = [row("det"), row("cls", "old_age"), row("breg"), row("age")]
    parsed = parse_rows(rows, ["Fake.", "Old age.", "lips [1, 2, 3, 4]", "<p>lips</p> [SEG]"], finder=FINDER)
    assert [p.task for p in parsed] == ["det", "cls", "breg", "age"]
    assert [p.verdict for p in parsed[:2]] == ["fake", "old_age"]
    assert parsed[2].boxes == ((1.0, 2.0, 3.0, 4.0),)
    assert parsed[3].seg_phrases == ("lips",)
    with pytest.raises(ValueError, match="2 rows but 1 answers"):
        parse_rows(rows[:2], ["Fake."])


def test_parse_counts():
    rows = [row("det"), row("det"), row("cls", "smile"), row("breg"), row("age"), row("toe")]
    answers = ["Fake.", "Real or fake?", "Lip-Color", "[1, 2, 3]", "<p>lips</p> [SEG]", ""]
    counts = ParseCounts()
    counts.update(parse_rows(rows, answers, finder=FINDER))
    assert counts.total == {"det": 2, "cls": 1, "breg": 1, "age": 1, "toe": 1}
    assert counts.failed == {"det": 1, "cls": 0, "breg": 1, "age": 0, "toe": 0}
    assert (counts.answers, counts.unparsed) == (6, 2)
    assert counts.problems == {"both real and fake": 1, "malformed box": 1}
    assert counts.as_dict() == {
        "answers": 6,
        "unparsed": 2,
        "total": counts.total,
        "failed": counts.failed,
        "problems": counts.problems,
    }
    assert counts.summary() == "2 of 6 answers could not be parsed (breg 1, det 1)"

    other = ParseCounts()
    other.add(parse("det", ""))
    counts.merge(other)
    assert (counts.total["det"], counts.failed["det"], counts.problems["empty answer"]) == (3, 2, 1)
    assert ParseCounts().summary() == "0 of 0 answers could not be parsed"
