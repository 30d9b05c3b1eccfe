"""Each forgery family is explained as what it is: the first sentence says what happened at the
family's level, a fake of another family is never called an attribute edit, and the LLM writer is
told the family."""

import numpy as np
import pytest

from fifa_data.annotate import writers
from fifa_data.annotate.explanation import WriterInput
from fifa_data.annotate.llm import facts_text
from fifa_data.annotate.pipeline import annotate
from fifa_data.annotate.sentences import check_text
from fifa_data.annotate.writers import TemplateWriter
from fifa_data.core.families import FAMILIES
from fifa_data.core.fict import TOO_BROAD, finder_for, load_fict
from fifa_data.core.images import encode_image
from fifa_data.pairs.loading import load_pairs
from fifa_data.pairs.simulate import simulate_edit
from fifa_data.pairs.sources import FolderPairs

FICT = load_fict()


@pytest.mark.parametrize("family", sorted(writers._FAMILY_SUMMARIES))
def test_a_family_summary_names_no_region_and_reads_right(family):
    finder = finder_for(FICT)
    assert family in FAMILIES
    for summary in writers._FAMILY_SUMMARIES[family]:
        assert ("attribute" in summary.lower()) == (family == "attribute")
        assert set(finder.find(summary)) <= set(TOO_BROAD), summary  # the guard would drop a named region
        assert not check_text(summary, FICT), summary


@pytest.mark.parametrize(("manipulation", "opening"), [
    ("face_swap", writers._FAMILY_SUMMARIES["identity_swap"]), ("Face2Face", writers._FAMILY_SUMMARIES["reenactment"]),
    ("inpaint", writers._FAMILY_SUMMARIES["inpainting"]), ("my_tool", writers._NEUTRAL_SUMMARIES),
])
def test_the_template_writer_opens_with_the_family(manipulation, opening):
    for key in ("a", "b", "c", "d"):
        text = TemplateWriter(seed=0).write(WriterInput(key, FICT, (), {}, manipulation=manipulation))
        assert text.summary in opening and "attribute" not in text.summary


def test_the_llm_writer_is_told_the_family():
    swap = facts_text(WriterInput("a", FICT, ("nose",), {}, manipulation="FaceSwap"))
    assert "The forgery is an identity swap (FaceSwap)" in swap
    assert "The forgery is" not in facts_text(WriterInput("a", FICT, ("nose",), {}, manipulation=None))


def test_an_annotated_swap_is_explained_as_a_swap(tmp_path, astronaut, grace_hopper):
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    (tmp_path / "real" / "hopper.png").write_bytes(encode_image(grace_hopper, "PNG"))
    edit = simulate_edit(grace_hopper, "face_swap", np.random.default_rng(0), donor=astronaut)
    (tmp_path / "fake" / "hopper_face_swap.png").write_bytes(encode_image(edit.fake, "PNG"))
    (fake,) = [i for i in annotate(load_pairs(FolderPairs(tmp_path))) if i.label == "fake"]
    assert fake.family == "identity_swap" and fake.unlocalised is None
    text = fake.explanation.plain()
    assert fake.explanation.summary in writers._FAMILY_SUMMARIES["identity_swap"] and "attribute" not in text.lower()
