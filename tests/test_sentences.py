"""The sentence checker (fifa_data.annotate.sentences) on hand-written sentences, and on every text of a real build."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from fifa_data.annotate import writers
from fifa_data.annotate.evidence import colour_agrees, colour_name
from fifa_data.annotate.sentences import check_text
from fifa_data.core.fict import load_fict
from fifa_data.core.grammar import conjugate, is_plural, subject_is_plural
from fifa_data.core.schema import answer_of, question_of
from fifa_data.tasks.questions import ANSWERS, QUESTIONS, phrase

FICT = load_fict()


def kinds(text: str, verdicts: bool = False) -> list[str]:
    return [p.kind for p in check_text(text, FICT, verdicts=verdicts)]


# --- agreement -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lips", "eyes", "ears", "nasal sidewalls", "cheeks", "temples", "eyebrows", "teeth", "nasal alae", "left crow's feet"])
def test_plural_concept_names(name):
    assert is_plural(name)


@pytest.mark.parametrize("name", ["nose", "hair", "left crow's feet area", "glabella", "left iris", "area around the mouth", "right side of the neck"])
def test_singular_concept_names(name):
    assert not is_plural(name)


def test_a_quantifier_decides_the_number_as_in_english():
    assert not subject_is_plural("cheeks", "Part of") and not subject_is_plural("cheeks", "A portion of")
    assert subject_is_plural("cheeks", "Most of") and subject_is_plural("cheeks", "Nearly all of")
    assert conjugate("{Have} the {concept} been edited? {subj} {was}", True) == "Have the {concept} been edited? they were"


@pytest.mark.parametrize(
    "bad",
    [
        "Yes, the ears has been manipulated.",
        "No; the nasal sidewalls is natural.",
        "Has the ears been manipulated?",
        "Is the teeth edited?",
        "The lips are redder, looks darker and have gained texture that looks synthetic.",
        "The nasal alae has gained texture that looks clearly synthetic.",
        "A portion of the cheeks lie inside the warped area and are darker.",
        "Most of the cheeks is darker.",
        "The region shows the eyebrows, which looks untouched.",
        "Yes, they was edited.",
        "The nose are darker.",
    ],
)
def test_agreement_errors_are_found(bad):
    assert "agreement" in kinds(bad, verdicts=True), bad


@pytest.mark.parametrize(
    "good",
    [
        "Yes, the ears have been manipulated.",
        "No; the nasal sidewalls are natural.",
        "Have the ears been manipulated?",
        "Why do the lips look real or fake?",
        "The lips are redder, look darker and have gained texture that looks synthetic.",
        "Part of the cheeks is darker and has lost fine texture.",
        "Most of the cheeks are darker.",
        "The region shows the eyebrows, which look untouched.",
        "Yes, they were edited.",
        "This photo has been digitally manipulated; parts of it were edited.",
    ],
)
def test_correct_agreement_passes(good):
    assert "agreement" not in kinds(good, verdicts=True), good


# --- measured facts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "The forehead lies inside the warped area.",
        "The temples lie inside the warped area.",
        "The lower lip has been resampled by the warp around it.",
        "The jaw shows subtle pixel-level changes that do not match the rest of the photo.",
        "<p>The upper teeth</p> [SEG] differ faintly from the original where the warp reaches them.",
    ],
)
def test_sentences_without_a_measured_fact_are_found(bad):
    assert kinds(bad) == ["factless"]


@pytest.mark.parametrize(
    "good",
    [
        "<p>The lips</p> [SEG] are noticeably redder and look darker than the pixels around them.",
        "The warp, which moved the facial landmarks by up to 1.1 % of the interocular distance, also reaches part of the cheeks.",
        "The edit also reaches part of the forehead and most of the chin, with a mean colour difference of at most ΔE 2.3.",
        "The jaw looks visibly smaller, as if squeezed by a warp.",
        "This photo has been digitally manipulated.",  # a summary names no region
    ],
)
def test_stated_facts_pass(good):
    assert kinds(good) == []


def test_an_answer_may_state_the_decision_instead_of_a_fact():
    for text in ("No, the lips look authentic.", "Yes, the ears have been manipulated.", "Sure, <p>the lips</p> [SEG].", "lips [120, 300, 210, 345]."):
        assert kinds(text) == ["factless"] and kinds(text, verdicts=True) == [], text


def test_every_clause_the_writer_can_state_is_a_measured_fact():
    templates = [t for options in writers._CLAUSES.values() for t in options]
    for template in templates:
        clause = template.replace("{dir}", "redder").format(
            be="is", look="looks", look_bare="looks", have="has", show="shows", sit="sits", carry="carries", obj="it", adv="clearly", adv_adj="clear"
        )
        assert kinds(f"The nose {clause}.") == [], clause
    for template in (*writers._WARP_MOVED, *writers._WARP_EXPLAINED, *writers._FAINT):
        text = template.format(amount="2.0 %", share="most", delta_e="1.5", regions="part of <p>the nose</p>")
        assert kinds(text) == [], text


# --- colour -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "The hair shows a colour shift that makes it markedly more purple (now purple).",
        "The beard line looks less saturated and bluer (now brown).",
        "The lips are more saturated and redder (now grey).",
        "The hair is bluer, now a tan shade.",
    ],
)
def test_a_colour_named_twice_or_against_its_shift_is_found(bad):
    assert kinds(bad) == ["colour"], bad


@pytest.mark.parametrize(
    "good",
    ["The lips are noticeably redder (now rosy).", "The hair is redder and more saturated (now brown).", "The ears are less saturated (now grey)."],
)
def test_a_colour_that_reads_as_its_shift_passes(good):
    assert kinds(good) == []


def test_colour_names_agree_with_the_shift_that_made_them():
    assert colour_agrees(colour_name(50, 30, 5), ["redder"])  # a red
    assert not colour_agrees(colour_name(40, 10, 20), ["bluer", "less saturated"])  # a brown is not bluer
    assert not colour_agrees("purple", ["yellower"])


# --- the task templates -----------------------------------------------------------------------


@pytest.mark.parametrize("concept", ["ears", "nasal sidewalls", "teeth", "nose", "left crow's feet area", "lips"])
def test_every_task_template_agrees_with_its_concept(concept):
    for key, templates in (*QUESTIONS.items(), *ANSWERS.items()):
        for template in templates:
            if "{concept}" not in template:
                continue
            text = phrase(template, concept)
            text = text[:1].upper() + text[1:]
            problems = check_text(text, FICT, verdicts=True)
            if key in QUESTIONS:  # a question states no fact
                problems = [p for p in problems if p.kind == "agreement"]
            assert problems == [], (key, text)


# --- a real build ----------------------------------------------------------------------------


def _load(folder: Path, config: str) -> datasets.DatasetDict:
    return datasets.load_dataset(str(folder), config, cache_dir=str(folder.parent / "hf-cache-sentences"))


@pytest.mark.slow
def test_every_explanation_and_answer_of_a_build_reads_right(small_build):
    problems = []
    for split in _load(small_build, "pairs").values():
        for row in split.select_columns(["explanation"]):
            problems += check_text(row["explanation"], FICT)
    texts = 0
    for config in sorted(p.name for p in (small_build / "tasks").iterdir()):
        for split in _load(small_build, config).values():
            for row in split.select_columns(["messages"]):
                problems += [p for p in check_text(question_of(row), FICT, verdicts=True) if p.kind == "agreement"]
                problems += check_text(answer_of(row), FICT, verdicts=True)
                texts += 1
    assert texts > 500
    assert [(p.kind, p.sentence, p.detail) for p in problems] == []
