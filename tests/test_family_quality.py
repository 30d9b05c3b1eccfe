"""The quality round of the forgery families: an inpainting is localised and grounded by its patch's
concept, the family guess tells a reenactment from a self-blend and a part swap from drawn-on glasses,
and a blend's text says where its seam runs."""

from dataclasses import replace

import numpy as np
import pytest

from fifa_data.annotate.decide import decide
from fifa_data.annotate.explanation import WriterInput
from fifa_data.annotate.pipeline import annotate, nameable_seam
from fifa_data.annotate.sentences import check_explanation
from fifa_data.annotate.writers import TemplateWriter, stated_facts
from fifa_data.core import masks as masklib
from fifa_data.core.fict import finder_for
from fifa_data.core.images import encode_image
from fifa_data.core.markup import TAG, strip
from fifa_data.pairs.loading import load_pairs
from fifa_data.pairs.simulate import simulate_edit
from fifa_data.pairs.sources import FolderPairs

CASES = {  # case: (manipulation, seed, named in the file name); draws checked on Grace Hopper, the astronaut the donor
    "inpaint": ("inpaint", 11, True),  # a wrinkled band across the forehead
    "face_swap": ("face_swap", 3, True),
    "unnamed_reenact": ("reenact", 4, False),  # its warp reaches 60 % of the inner face: read as a self-blend before
    "unnamed_part_swap": ("part_swap", 0, False),
    "unnamed_glasses": ("glasses", 0, False),  # a frame with replaced texture on the eyes: read as a part swap before
}


@pytest.fixture(scope="module")
def annotated(tmp_path_factory, grace_hopper, astronaut):
    """Grace Hopper edited per case, written as real/fake PNG files and annotated in one run; fakes by case,
    with each edit's truth mask."""
    root = tmp_path_factory.mktemp("family-quality")
    truth = {}
    for case, (manipulation, seed, named) in CASES.items():
        (root / "real" / case).mkdir(parents=True)
        (root / "fake" / case).mkdir(parents=True)
        (root / "real" / case / "hopper.png").write_bytes(encode_image(grace_hopper, "PNG"))
        edit = simulate_edit(grace_hopper, manipulation, np.random.default_rng(seed), donor=astronaut)
        name = f"hopper_{manipulation}.png" if named else "hopper.png"
        (root / "fake" / case / name).write_bytes(encode_image(edit.fake, "PNG"))
        truth[case] = edit.mask
    fakes = {i.image_path.split("/")[1]: i for i in annotate(load_pairs(FolderPairs(root))) if i.label == "fake"}
    return fakes, truth


@pytest.mark.slow
def test_an_inpainting_is_localised_and_grounded_by_its_patch_concept(annotated):
    fakes, truth = annotated
    fake = fakes["inpaint"]
    assert fake.family == "inpainting" and fake.unlocalised is None
    decisions = fake.decisions
    assert masklib.iou(decisions.artifact, truth["inpaint"]) >= 0.75
    (patch,) = decisions.cover
    assert fake.grounded == (patch,)
    fict = fake.concept_masks.fict
    assert decisions.concepts[patch].artifact_pixels >= decisions.config.patch_share * decisions.artifact.sum()
    # the patch concept's atomic parts it crosses are flagged with it: each holds its share of the true hole,
    # and every part the truth mask's decisions flag is among them
    parts = set(decisions.manipulated_atomic)
    assert parts and parts <= set(fict.atomic_descendants(patch))
    hole = truth["inpaint"]
    for part in parts:
        assert np.count_nonzero(hole & fake.concept_masks.mask(part)) >= decisions.config.patch_part_share * hole.sum()
    truth_parts = set(decide(hole, fake.concept_masks, decisions.config, family="inpainting").manipulated_atomic)
    assert truth_parts <= parts
    assert not check_explanation(fake.explanation, fict)


@pytest.mark.slow
def test_an_unnamed_reenactment_is_guessed_as_reenactment(annotated):
    fakes, _ = annotated
    fake = fakes["unnamed_reenact"]
    assert fake.family_guess.family == "reenactment" and fake.decided_family == "reenactment"
    evidence = fake.family_evidence
    assert evidence.cover >= 0.5 and evidence.moved_parts >= 3  # a warp as wide as a self-blend's blend
    assert evidence.layout_moved < 0.4  # but the nose and forehead stayed where they were
    assert "the face's layout kept" in fake.family_guess.reasons


@pytest.mark.slow
def test_an_unnamed_part_swap_is_guessed_as_part_swap_and_glasses_are_not(annotated):
    fakes, _ = annotated
    swap, glasses = fakes["unnamed_part_swap"], fakes["unnamed_glasses"]
    assert swap.family_guess.family == "part_swap", swap.family_evidence
    assert glasses.family_guess.family == "attribute"
    assert swap.family_evidence.part_cover >= 0.9  # the part is replaced whole
    assert glasses.family_evidence.part_cover < 0.35  # a frame crosses the eyes' region, it does not replace it


@pytest.mark.slow
def test_the_seam_sentence_names_the_seam_concepts_and_passes_the_checker(annotated):
    fakes, _ = annotated
    fake = fakes["face_swap"]
    named = nameable_seam(fake.decisions)
    assert named, "a face swap's border runs through some natural parts"
    assert set(named) <= set(fake.decisions.seam_concepts)
    explanation = fake.explanation
    (sentence,) = [s for s in explanation.sentences if "seam" in s and "runs along" in s]
    at = sum(len(TAG.findall(s)) for s in explanation.sentences[: explanation.sentences.index(sentence)])
    tagged = explanation.concepts[at : at + len(TAG.findall(sentence))]
    plain = finder_for(fake.concept_masks.fict).find(TAG.sub("", sentence))
    assert set(tagged) <= set(fake.decisions.cover)  # grounded there only when in the cover
    assert sorted([*tagged, *plain]) == sorted(named)  # every seam concept once, the others as plain words
    assert len(set(explanation.concepts)) == len(explanation.concepts)  # and no concept grounded twice
    assert not check_explanation(explanation, fake.concept_masks.fict)
    assert "blending seam along its border" not in explanation.plain()  # the seam is said once, where it runs


@pytest.mark.slow
def test_a_swap_text_states_no_warp(annotated):
    """A swap is resampled onto the photo's own mesh, so a warp read on its regions is no fact about it:
    the reenactment's real readings, written for a swap, state no geometry and no warp sentence."""
    fakes, _ = annotated
    fake = fakes["unnamed_reenact"]
    item = WriterInput(fake.pair_id, fake.concept_masks.fict, fake.grounded, fake.evidence, family="reenactment")
    assert "warp" in TemplateWriter().write(item).plain()
    for family in ("identity_swap", "part_swap", "inpainting"):
        text = TemplateWriter().write(replace(item, family=family))
        assert not [f for c in text.concepts for f in stated_facts(fake.evidence[c], family=family) if f.kind == "geometry"]
        assert "warp" not in text.plain() and "interocular distance" not in text.plain(), text.plain()
        assert not check_explanation(text, fake.concept_masks.fict)


@pytest.mark.slow
def test_the_warp_is_introduced_before_it_is_referred_to(annotated):
    """A self-blend's shifted copy reads as a warp on the regions it reaches; where no sentence before has
    told of a warp, the sentence that names those regions introduces it ("A warp ..."), not "The warp also"."""
    fakes, _ = annotated
    fake = fakes["unnamed_reenact"]
    item = WriterInput(fake.pair_id, fake.concept_masks.fict, fake.grounded, fake.evidence, family="self_blend")
    for seed in range(4):
        explanation = TemplateWriter(seed=seed).write(item)
        sentences = [strip(s) for s in explanation.sentences]
        first = next(s for s in sentences if "warp" in s)
        assert not first.startswith("The warp"), sentences
        assert not check_explanation(explanation, fake.concept_masks.fict)
