"""Family statements are read, checked and scored: `sentences.stated_families` reads the family a text
states, the guard drops text that states another family than the pair's, and the reliability
figures count the family stated, another family stated, "attribute" said of another family and the
family guessed on unnamed fakes."""

import dataclasses
import json
import runpy
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fifa_data.annotate import writers
from fifa_data.annotate.explanation import Explanation, WriterInput
from fifa_data.annotate.guard import GuardCounts, guard
from fifa_data.annotate.pipeline import annotate
from fifa_data.annotate.reliability import Reliability, score_pair
from fifa_data.annotate.sentences import stated_families
from fifa_data.annotate.source import annotate_source
from fifa_data.annotate.writers import TemplateWriter
from fifa_data.core import masks as masklib
from fifa_data.core.fict import load_fict
from fifa_data.core.images import encode_image
from fifa_data.pairs.loading import load_pairs
from fifa_data.pairs.simulate import simulate_edit
from fifa_data.pairs.sources import EDIT_MASK_COLUMN, open_source

FICT = load_fict()
ATTRIBUTE_SUMMARY = "The image is a fake: a local attribute edit was applied."


@pytest.mark.parametrize("family", sorted(writers._FAMILY_SUMMARIES))
def test_every_family_summary_states_its_family(family):
    for summary in writers._FAMILY_SUMMARIES[family]:
        assert stated_families(summary) == {family}, summary


def test_the_neutral_summaries_state_no_family():
    for summary in writers._NEUTRAL_SUMMARIES:
        assert stated_families(summary) == set(), summary
    for summary in writers._COUNTED:
        assert stated_families(summary.format(n=2, s="s")) == {"attribute"}, summary
    for clauses in writers._CLAUSES.values():  # a fact about a region states no family ("looks synthetic" included)
        for clause in clauses:
            assert not stated_families(clause), clause


@pytest.mark.parametrize(("text", "families"), [
    ("This is a deepfake: the subject's face was replaced with a different person's.", {"identity_swap"}),
    ("A face-swapped image; <p>the cheeks</p> show a blending seam.", {"identity_swap"}),
    ("The eyes were swapped from another person.", {"part_swap"}),
    ("The nose was replaced with someone else's.", {"part_swap"}),
    ("The subject was replaced by someone else's face.", {"identity_swap"}),
    ("The face appears self-blended, with a visible halo.", {"self_blend"}),
    ("The person's expression was changed to match a driving video.", {"reenactment"}),
    ("The mouth was lip-synced to new audio.", {"reenactment"}),
    ("A mole was removed and the skin filled in.", {"inpainting"}),
    ("The region looks inpainted.", {"inpainting"}),
    ("This is an AI-generated face.", {"synthesis"}),
    ("The lips show an attribute edit that made them redder.", {"attribute"}),
    ("This is not a face swap; the lips were recoloured.", set()),
    ("Rather than a face swap, this is a reenactment.", {"reenactment"}),
    ("The skin has gained texture that looks synthetic.", set()),
    ("The photo was altered after capture.", set()),
])
def test_stated_families_reads_llm_like_sentences(text, families):
    assert stated_families(text) == families


class FixedWriter:
    """A writer that always returns the same text (a stand-in for an LLM that says the wrong family)."""

    name = "fixed"

    def __init__(self, explanation: Explanation):
        self.explanation = explanation

    def write(self, item: WriterInput) -> Explanation:
        return self.explanation


def _item(manipulation: str) -> WriterInput:
    return WriterInput("k", FICT, ("nose",), {}, manipulation=manipulation)


def test_the_guard_repairs_attribute_stated_about_a_swap():
    text = Explanation(ATTRIBUTE_SUMMARY, ("<p>The nose</p> shows a visible seam where the edit meets the untouched pixels.",), ("nose",))
    result = guard(text, _item("face_swap"), {"nose"}, TemplateWriter())
    assert result.action == "repaired" and result.wrong_family == ("attribute",)
    assert result.explanation.summary in writers._FAMILY_SUMMARIES["identity_swap"]
    assert result.explanation.sentences == text.sentences  # the region's sentence was true: kept
    assert stated_families(result.explanation.plain()) == {"identity_swap"}
    counts = GuardCounts()
    counts.add(result)
    assert counts.wrong_family == 1 and counts.repaired == 1
    # the same text about an attribute edit is clean; without a fallback the swap's is rejected
    assert guard(text, _item("lip_color"), {"nose"}, TemplateWriter()).action == "clean"
    assert guard(text, _item("face_swap"), {"nose"}).action == "rejected"


def test_the_guard_drops_a_sentence_stating_another_family():
    text = Explanation(writers._FAMILY_SUMMARIES["identity_swap"][0], ("<p>The nose</p> was inpainted.",), ("nose",))
    result = guard(text, _item("face_swap"), {"nose"}, TemplateWriter())
    assert result.wrong_family == ("inpainting",) and result.action == "rejected"  # nothing usable left: the fallback's text
    assert "inpaint" not in result.explanation.plain() and result.explanation.concepts == ("nose",)
    # a fake of unknown family may state none
    unknown = guard(Explanation(writers._FAMILY_SUMMARIES["identity_swap"][0], (), ()),
                    WriterInput("k", FICT, (), {}, manipulation=None), set(), TemplateWriter())
    assert unknown.wrong_family == ("identity_swap",) and not stated_families(unknown.explanation.plain())


@pytest.fixture(scope="module")
def swap_source(tmp_path_factory, astronaut, grace_hopper):
    """A folder with a real photo, its simulated face swap and a manifest with the true edit mask."""
    root = tmp_path_factory.mktemp("swap")
    (root / "real").mkdir()
    (root / "fake").mkdir()
    (root / "real" / "hopper.png").write_bytes(encode_image(grace_hopper, "PNG"))
    edit = simulate_edit(grace_hopper, "face_swap", np.random.default_rng(0), donor=astronaut)
    (root / "fake" / "hopper_1.png").write_bytes(encode_image(edit.fake, "PNG"))
    row = {"real": "real/hopper.png", "fake": "fake/hopper_1.png", "manipulation": "face_swap",
           EDIT_MASK_COLUMN: json.dumps(masklib.encode(edit.mask))}
    pl.DataFrame([row]).write_csv(root / "pairs.csv")
    return root, edit.mask


@pytest.mark.slow  # the simulated swap and its annotation take a few seconds
def test_a_wrong_family_from_the_writer_is_repaired_in_the_pipeline(swap_source):
    root, _ = swap_source
    counts = GuardCounts()
    fixed = FixedWriter(Explanation(ATTRIBUTE_SUMMARY, (), ()))
    refs, _ = open_source(root).scan()
    (fake,) = [i for i in annotate(load_pairs(refs), fixed, counts=counts) if i.label == "fake"]
    assert counts.wrong_family == 1 and counts.texts == 1
    assert fake.explanation.summary in writers._FAMILY_SUMMARIES["identity_swap"]
    assert "attribute" not in fake.explanation.plain().lower()


@pytest.mark.slow  # the simulated swap and its annotation take a few seconds
def test_score_pair_counts_the_family_of_an_annotated_swap(swap_source):
    root, truth = swap_source
    reliability = Reliability()
    fakes = [a.item for a in annotate_source(root, reliability=reliability) if a.accepted]
    assert len(fakes) == 1 and reliability.pairs == 1
    figures = reliability.figures()
    assert figures["family_stated"] == 1.0 and figures["wrong_family"] == 0.0 and figures["attribute_on_other"] == 0
    assert figures["family_guessed"] is None  # the manifest named the manipulation

    (fake,) = fakes
    concepts = fake.concept_masks
    said = dataclasses.replace(fake, explanation=dataclasses.replace(fake.explanation, summary=ATTRIBUTE_SUMMARY))
    record = score_pair(said, truth, "face_swap", concepts)
    assert record["family"] == "identity_swap" and record["stated_families"] == ["attribute"]
    unnamed = score_pair(dataclasses.replace(fake, manipulation=None), truth, "face_swap", concepts)
    assert unnamed["unnamed"] and unnamed["family_guess"] == getattr(getattr(fake, "family_guess", None), "family", None)
    wrong = Reliability()
    wrong.add(record)
    wrong.add(unnamed)
    figures = wrong.figures()
    assert (figures["family_stated"], figures["wrong_family"], figures["attribute_on_other"]) == (0.5, 0.5, 1)
    assert figures["family_guessed"] == (1.0 if unnamed["family_guess"] == "identity_swap" else 0.0)


@pytest.mark.slow  # the simulated swap and its annotation take a few seconds
def test_annotate_py_reports_the_family_figures(swap_source, tmp_path, capsys):
    root, _ = swap_source
    main = runpy.run_path(str(Path(__file__).parents[1] / "scripts" / "annotate.py"))["main"]
    assert main([str(root), "--out", str(tmp_path / "out"), "--render", "0"]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["reliability"]["pairs"] == 1 and summary["reliability"]["family_stated"] == 1.0
    assert summary["guard"]["wrong_family"] == 0
    out = capsys.readouterr().out
    assert "family stated 1.000, another family stated 0.000" in out and "0 stating another forgery family" in out


def test_the_card_reports_the_family_figures(small_build):
    stats = json.loads((small_build / "build.json").read_text())
    figures = Reliability(**stats["reliability"]).figures()
    assert figures["wrong_family"] == 0.0 and figures["attribute_on_other"] == 0 and figures["family_guessed"] is None
    card = (small_build / "README.md").read_text()
    stated = f"{100 * figures['family_stated']:.1f} %"
    assert f"| texts stating the true forgery family / another family | {stated} / 0.0 % |" in card
    assert "| texts calling another family an attribute edit | 0 |" in card
    assert "0 texts stating another forgery family than the pair's corrected" in card
