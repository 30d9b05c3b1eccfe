"""Forgery families: one fact of the core, read in every dataset's spelling, carried by every row."""

import datasets
import pytest

from fifa_data.core import families
from fifa_data.core.families import FAMILIES, FAMILY_PHRASES, family_of
from fifa_data.core.schema import MANIPULATIONS
from fifa_data.tasks.questions import QUESTIONS


def test_every_alias_belongs_to_exactly_one_family():
    seen: dict[str, str] = {}
    for family, aliases in families._ALIASES.items():
        assert family in FAMILIES
        for alias in aliases:
            key = families._key(alias)
            assert seen.setdefault(key, family) == family, f"{alias} is in {seen[key]} and {family}"
    assert set(FAMILY_PHRASES) == set(FAMILIES)


@pytest.mark.parametrize(("name", "family"), [
    ("Deepfakes", "identity_swap"), ("FaceSwap", "identity_swap"), ("FaceShifter", "identity_swap"),
    ("Face2Face", "reenactment"), ("NeuralTextures", "reenactment"), ("DeepFakeDetection", "identity_swap"),
    ("Celeb-synthesis", "identity_swap"), ("face-swap", "identity_swap"), ("Face_Swap", "identity_swap"),
    ("SimSwap", "identity_swap"), ("sadtalker", "reenactment"), ("StyleGAN2", "synthesis"), ("e4e", "attribute"),
    ("faceapp", "attribute"), ("inpaint", "inpainting"), ("part_swap", "part_swap"), ("SBI", "self_blend"),
    ("no-such-method", "unknown"), (None, "unknown"), ("", "unknown"),
])
def test_dataset_method_names_map_to_their_family(name, family):
    assert family_of(name) == family


def test_the_simulators_edits_are_attribute_edits():
    assert {family_of(m) for m in MANIPULATIONS} == {"attribute"}


def test_cls_questions_no_longer_assume_an_attribute_edit():
    assert not [q for q in QUESTIONS["cls"] if "attribute" in q]


def test_every_row_of_a_build_carries_its_family_and_cls_names_it(small_build):
    cache = str(small_build.parent / "hf-cache-families")
    for config in ("det", "cls", "age"):
        for row in datasets.load_dataset(str(small_build), config, split="train", cache_dir=cache):
            assert row["family"] == (None if row["label"] == "real" else family_of(row["manipulation"])), row["id"]
            if config == "cls" and row["label"] == "fake":
                answer = row["messages"][1]["content"][0]["text"].lower()
                names = {row["family"].replace("_", " "), FAMILY_PHRASES[row["family"]].split(" ", 1)[1]}  # "identity swap", "self-blend"
                assert any(name in answer for name in names) and row["manipulation"].split("_")[0] in answer, answer
    pairs = datasets.load_dataset(str(small_build), "pairs", split="train", cache_dir=cache)
    assert set(pairs["family"]) == {family_of(m) for m in pairs["manipulation"]} and "attribute" in pairs["family"]
    card = (small_build / "README.md").read_text()
    assert "**Forgery families**" in card and "| attribute |" in card and "| identity_swap |" in card
