"""Every forgery family is explained by its own traces: the family evidence of a pair (seam, colour,
lighting and sharpness mismatch, replaced texture, removed structure, moved expression), the family
guessed for a fake whose source names none, and the texts and pairs rows that carry both."""

import datasets
import numpy as np
import pytest

from fifa_data.annotate.family_evidence import STATED
from fifa_data.annotate.llm import facts_text
from fifa_data.annotate.pipeline import annotate
from fifa_data.annotate.reliability import TRUE_FACTS, fact_is_true
from fifa_data.annotate.sentences import check_explanation
from fifa_data.annotate.writers import stated_facts
from fifa_data.core.families import FAMILY_PHRASES, family_of
from fifa_data.core.images import encode_image
from fifa_data.pairs.loading import load_pairs
from fifa_data.pairs.simulate import FAMILY_EDITS, simulate_edit
from fifa_data.pairs.sources import FolderPairs

SEEDS = {"self_blend": 0, "inpaint": 11}  # draws whose edit is visible on this photo (most inpaint draws are too small to localise)
UNNAMED = {"unnamed_swap": ("face_swap", "identity_swap"), "unnamed_inpaint": ("inpaint", "inpainting"),
           "unnamed_lipstick": ("lip_color", "attribute")}


@pytest.fixture(scope="module")
def annotated(tmp_path_factory, grace_hopper, astronaut):
    """Grace Hopper edited by every family edit (named in the fake's file name; the donor is the astronaut)
    and by three edits whose fakes name nothing, annotated in one run; fakes by case folder."""
    root = tmp_path_factory.mktemp("families")
    cases = {m: (m, f"hopper_{m}.png") for m in FAMILY_EDITS} | {c: (m, "hopper.png") for c, (m, _) in UNNAMED.items()}
    for case, (manipulation, name) in cases.items():
        (root / "real" / case).mkdir(parents=True)
        (root / "fake" / case).mkdir(parents=True)
        (root / "real" / case / "hopper.png").write_bytes(encode_image(grace_hopper, "PNG"))
        edit = simulate_edit(grace_hopper, manipulation, np.random.default_rng(SEEDS.get(manipulation, 3)), donor=astronaut)
        (root / "fake" / case / name).write_bytes(encode_image(edit.fake, "PNG"))
    fakes = [i for i in annotate(load_pairs(FolderPairs(root))) if i.label == "fake"]
    return root, {i.image_path.split("/")[1]: i for i in fakes}


def test_true_facts_cover_every_family_edit_and_its_stated_family_facts():
    for manipulation in FAMILY_EDITS:
        family = family_of(manipulation)
        assert manipulation in TRUE_FACTS
        kinds = {"blending seam": "blend", "colour mismatch": "blend", "lighting mismatch": "blend", "sharpness mismatch": "blend",
                 "texture replaced": "replaced", "structure removed": "removed", "expression moved": "motion"}
        for direction in STATED[family]:  # a family states no family fact that its truth marks false
            assert direction not in TRUE_FACTS[manipulation].get(kinds[direction], {direction}), (manipulation, direction)


@pytest.mark.slow
@pytest.mark.parametrize("manipulation", FAMILY_EDITS)
def test_each_family_states_its_own_facts_and_none_false(annotated, manipulation):
    _, fakes = annotated
    fake = fakes[manipulation]
    family = family_of(manipulation)
    assert fake.family == family and fake.family_guess is None and fake.unlocalised is None
    facts = fake.family_evidence.facts(family)
    assert facts, f"{manipulation}: no family fact measured ({fake.family_evidence})"
    assert all(f.direction in STATED[family] for f in facts)
    assert all(fact_is_true(manipulation, f) for f in facts), [f for f in facts if not fact_is_true(manipulation, f)]
    concept_facts = [f for c in fake.explanation.concepts for f in stated_facts(fake.evidence.get(c), family=family)]
    assert all(fact_is_true(manipulation, f) for f in concept_facts), [f for f in concept_facts if not fact_is_true(manipulation, f)]
    text = fake.explanation
    assert "attribute" not in text.plain().lower()
    assert not check_explanation(text, fake.concept_masks.fict)
    assert text.sentences[0] and not text.sentences[0].count("<p>")  # the family facts come right after the opening


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(UNNAMED))
def test_an_unnamed_fake_gets_its_family_guessed_with_reasons(annotated, case):
    _, fakes = annotated
    fake = fakes[case]
    manipulation, family = UNNAMED[case]
    assert fake.manipulation is None and fake.unlocalised is None
    assert fake.family_guess is not None and fake.family_guess.family == family, fake.family_evidence
    assert fake.decided_family == family and fake.family == "unknown" and fake.family_guess.reasons
    summary = fake.explanation.summary
    assert FAMILY_PHRASES[family] in summary and ("looks like" in summary or "suggest" in summary)  # hedged
    assert not check_explanation(fake.explanation, fake.concept_masks.fict)
    if family != "attribute":
        assert "attribute" not in fake.explanation.plain().lower()


@pytest.mark.slow
def test_a_build_of_named_and_unnamed_fakes_carries_the_guess(annotated, tmp_path):
    """A real build of the folder: the pairs table records the guess beside the source's family
    ("unknown" for an unnamed fake), and every task row of an unnamed fake passes the row checks
    (its `family` is its source's, the truth, not the guess; cls asks only about named fakes)."""
    from builders import BuildOptions, build

    root, _ = annotated
    out = tmp_path / "fifa"
    build(BuildOptions(out=out, sources=(str(root),), progress=False))
    pairs = datasets.load_dataset(str(out), "pairs")
    rows = {r["fake_path"].split("/")[1]: r for split in pairs.values() for r in split}
    assert rows["face_swap"]["family"] == "identity_swap" and rows["face_swap"]["family_guess"] is None
    assert rows["face_swap"]["family_reasons"] == []
    swap = rows["unnamed_swap"]
    assert swap["family"] == "unknown" and swap["family_guess"] == "identity_swap" and swap["family_reasons"]
    assert swap["explanation_plain"].startswith(("This looks like an identity swap", "The traces in this photo suggest an identity swap"))
    for config in ("det", "age"):
        rows = [r for split in datasets.load_dataset(str(out), config).values() for r in split if r["pair_id"] == swap["pair_id"]]
        assert rows and all(r["family"] == "unknown" for r in rows), config


def test_the_llm_writer_gets_the_guess_and_the_family_facts(annotated):
    _, fakes = annotated
    guessed = facts_text(_item(fakes["unnamed_swap"]))
    assert "looks like an identity swap" in guessed and "the annotator's guess" in guessed
    named = facts_text(_item(fakes["face_swap"]))
    assert "The forgery is an identity swap (face_swap)" in named
    assert all(f.direction in named for f in fakes["face_swap"].family_evidence.facts("identity_swap"))


def _item(fake):
    from fifa_data.annotate.explanation import WriterInput

    facts = tuple(fake.family_evidence.facts(fake.decided_family))
    return WriterInput(fake.pair_id, fake.concept_masks.fict, fake.grounded, fake.evidence, manipulation=fake.manipulation,
                       family=fake.decided_family, family_facts=facts, guessed=fake.family_guess is not None)
