"""Template writer and consistency guard on real decisions and evidence."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from fifa_data.annotate import writers
from fifa_data.annotate.decide import decide
from fifa_data.annotate.evidence import measure_evidence
from fifa_data.annotate.explanation import Explanation, WriterInput
from fifa_data.annotate.guard import GuardCounts, guard
from fifa_data.annotate.writers import TemplateWriter
from fifa_data.core.fict import ConceptFinder, load_fict
from fifa_data.core.markup import strip
from fifa_data.faces.concepts import concept_masks
from fifa_data.faces.detect import analyze_face

FICT = load_fict()


@pytest.fixture(scope="module")
def lips_and_brow(astronaut):
    """A pair whose lips were reddened and left eyebrow darkened, with its writer input."""
    face = analyze_face(astronaut)
    concepts = concept_masks(astronaut, face)
    lips, brow = concepts.mask("lips"), concepts.mask("eyebrow.left")
    lab = cv2.cvtColor(astronaut.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    lab[lips, 1] += 18
    lab[brow, 0] -= 20
    fake = (np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1) * 255).round().astype(np.uint8)
    decisions = decide(lips | brow, concepts)
    evidence = measure_evidence(astronaut, fake, decisions, face.landmarks)
    item = WriterInput("pair-1", FICT, decisions.cover, evidence)
    return item, frozenset(decisions.manipulated)


def test_finder_reads_names_synonyms_and_plurals():
    finder = ConceptFinder(FICT)
    assert finder.find("The hair on the left looks lighter") == ["hair.left"]
    assert finder.find("the left eyebrow and the bridge of the nose") == ["eyebrow.left", "nose.bridge"]
    assert finder.find("one eye and the upper lip, in this face photo") == ["eye", "lips.upper"]
    assert finder.find("the center of the upper lip") == ["lips.upper.center"]
    assert finder.resolve("the left and right eyebrows") == "eyebrow"
    assert finder.resolve("lips and nose") is None


def test_template_writer_grounds_every_requested_concept(lips_and_brow):
    item, manipulated = lips_and_brow
    assert set(item.requested) == {"lips", "eyebrow.left"}
    text = TemplateWriter().write(item)
    assert text.concepts == item.requested
    assert text.grounded().count("[SEG]") == 2
    assert "redder" in " ".join(text.sentences_about("lips"))
    assert "darker" in " ".join(text.sentences_about("eyebrow.left"))
    assert guard(text, item, manipulated).action == "clean"


def test_template_writer_is_deterministic_and_varied(lips_and_brow):
    item, manipulated = lips_and_brow
    writer = TemplateWriter(seed=0)
    assert writer.write(item) == writer.write(item)
    texts = {writer.write(WriterInput(f"pair-{k}", FICT, item.requested, item.evidence)).plain() for k in range(40)}
    assert len(texts) >= 30
    assert TemplateWriter(seed=1).write(item) != writer.write(item) or len(texts) > 1
    counts = GuardCounts()
    for k in range(40):
        one = WriterInput(f"pair-{k}", FICT, item.requested, item.evidence)
        counts.add(guard(writer.write(one), one, manipulated))
    assert counts.inconsistent == 0 and counts.clean == 40


def test_guard_drops_a_hallucinated_sentence_and_fills_a_missing_concept(lips_and_brow):
    item, manipulated = lips_and_brow
    text = Explanation(
        "This photo was edited.",
        ("<p>The lips</p> look redder.", "<p>The nose</p> was made smaller.", "The chin looks odd too."),
        ("lips", "nose"),
        writer="llm:test",
    )
    result = guard(text, item, manipulated, fallback=TemplateWriter())
    assert result.action == "repaired"
    assert set(result.hallucinated) == {"nose", "chin"}
    assert result.missing == ("eyebrow.left",)
    assert set(result.explanation.concepts) == {"lips", "eyebrow.left"}
    assert "nose" not in strip(result.explanation.grounded()) and "chin" not in result.explanation.plain()


def test_guard_checks_tags_name_their_concept(lips_and_brow):
    item, manipulated = lips_and_brow
    mislabelled = Explanation("Edited.", ("<p>The lips</p> look redder.", "<p>The left eyebrow</p> is darker."), ("eyebrow.left", "lips"))
    result = guard(mislabelled, item, manipulated)
    assert result.action == "rejected"  # no fallback: nothing can be repaired
    assert set(result.hallucinated) == {"eyebrow.left", "lips"}


def test_guard_rejects_a_useless_text_for_the_fallback(lips_and_brow):
    item, manipulated = lips_and_brow
    useless = Explanation("", ("The nose is bigger.",), ())
    counts = GuardCounts()
    result = guard(useless, item, manipulated, fallback=TemplateWriter())
    counts.add(result)
    assert result.action == "rejected" and result.explanation.concepts == item.requested
    assert counts.to_dict()["rejected"] == 1 and counts.inconsistent == 1 and counts.missing == 2


def test_guard_refuses_a_concept_grounded_twice(lips_and_brow):
    item, manipulated = lips_and_brow
    twice = Explanation(
        "Edited.", ("<p>The lips</p> look redder.", "<p>The lips</p> look glossy.", "<p>The left eyebrow</p> is darker."), ("lips", "lips", "eyebrow.left")
    )
    result = guard(twice, item, manipulated, fallback=TemplateWriter())
    assert result.action == "repaired" and result.explanation.concepts == ("lips", "eyebrow.left")


def test_explanation_rejects_misaligned_concepts():
    with pytest.raises(ValueError, match="2 <p> tags but 1 concept"):
        Explanation("s", ("<p>The lips</p> and <p>the nose</p>.",), ("lips",))


def test_a_sentence_joins_its_clauses_with_one_and(astronaut):
    """A clause holds no "and" and no comma of its own, so a concept's three clauses read "A, B and C";
    no two in a row open with the same verb."""
    face = analyze_face(astronaut)
    concepts = concept_masks(astronaut, face)
    cheek = concepts.mask("cheek.left")
    alpha = cv2.GaussianBlur(cheek.astype(np.float32), (0, 0), 3)[..., None]
    blurred = cv2.GaussianBlur(astronaut, (0, 0), 3).astype(np.float32) + 12  # smoothed and lightened, feathered
    fake = np.clip(astronaut * (1 - alpha) + blurred * alpha, 0, 255).round().astype(np.uint8)
    decisions = decide(cheek, concepts)
    evidence = measure_evidence(astronaut, fake, decisions, face.landmarks)
    item = WriterInput("pair-1", FICT, decisions.cover, evidence)
    writer = TemplateWriter(seed=0)
    smoothed = 0
    for k in range(40):
        text = writer.write(WriterInput(f"pair-{k}", FICT, item.requested, item.evidence))
        assert text.concepts == ("cheek.left",)
        for sentence in text.sentences:  # "<p>The left cheek</p> is lighter and has lost …"
            smoothed += "smooth" in sentence or "fine texture" in sentence or "airbrushed" in sentence
            plain = strip(sentence)
            assert plain.count(" and ") <= 1 and plain.count(",") <= plain.count(" and "), sentence
            predicate = sentence.split("</p>", 1)[1].strip()
            verbs = [clause.split()[0] for clause in re.split(r", | and ", predicate)]
            assert all(a != b for a, b in zip(verbs, verbs[1:])), sentence  # not "looks lighter and looks airbrushed"
    assert smoothed >= 20


def test_a_colour_of_two_directions_ends_its_sentence(astronaut):
    """A colour of two directions ("less saturated and bluer") holds an "and" of its own: it is the last clause, not the first of a list."""
    face = analyze_face(astronaut)
    concepts = concept_masks(astronaut, face)
    cheek = concepts.mask("cheek.left")
    alpha = cv2.GaussianBlur(cheek.astype(np.float32), (0, 0), 3)[..., None]
    lab = cv2.cvtColor(astronaut.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    lab[..., 0] += 10  # lighter
    lab[..., 1] -= 4
    lab[..., 2] -= 12  # bluer and less saturated
    shifted = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1) * 255
    fake = np.clip(astronaut * (1 - alpha) + shifted * alpha, 0, 255).round().astype(np.uint8)
    decisions = decide(cheek, concepts)
    evidence = measure_evidence(astronaut, fake, decisions, face.landmarks)
    writer = TemplateWriter(seed=0)
    for k in range(20):
        text = writer.write(WriterInput(f"pair-{k}", FICT, decisions.cover, evidence))
        (sentence,) = [strip(s) for s in text.sentences_about("cheek.left")]
        assert "lighter" in sentence and "bluer" in sentence, sentence
        assert sentence.index("lighter") < sentence.index("bluer"), sentence



def test_no_article_is_doubled():
    """An adverb of degree may itself be "a little": no clause template puts one after an article ("shows a a little gain")."""
    rng = np.random.default_rng(0)
    for options in writers._CLAUSES.values():
        for template in options:
            for strength, adverbs in writers._ADVERBS.items():
                for _ in range(4 * len(adverbs)):  # every adverb of the strength, drawn at random
                    text = writers._fill(template, False, rng, strength)
                    assert not re.search(r"\b(a|an) (a|an)\b", text), text
