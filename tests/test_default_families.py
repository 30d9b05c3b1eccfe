"""The default build shows every forgery family: its sample mix, its ``cls`` rows and its card."""

import re
from collections import Counter

import datasets

from fifa_data.core.families import FAMILY_PHRASES, family_of
from fifa_data.core.schema import MANIPULATIONS
from fifa_data.pairs.sample_source import SAMPLE_MIX
from fifa_data.pairs.simulate import FAMILY_EDITS

SIMULATED_FAMILIES = {"attribute", *(family_of(edit) for edit in FAMILY_EDITS)}


def _cls(small_build) -> datasets.DatasetDict:
    return datasets.load_dataset(str(small_build), "cls", cache_dir=str(small_build.parent / "hf-cache-default-families"))


def test_the_sample_mix_is_every_edit_a_family_after_every_two_attribute_edits():
    assert sorted(SAMPLE_MIX) == sorted(MANIPULATIONS + FAMILY_EDITS)
    assert [family_of(m) != "attribute" for m in SAMPLE_MIX] == [i % 3 == 2 for i in range(len(SAMPLE_MIX))]
    assert {family_of(m) for m in SAMPLE_MIX[:6]} >= {"attribute", "identity_swap", "self_blend"}  # a short cycle has families


def test_the_small_build_holds_every_family_and_cls_answers_it(small_build):
    cls = _cls(small_build)
    fakes = [row for split in cls.values() for row in split if row["label"] == "fake"]
    assert {row["family"] for row in fakes} == SIMULATED_FAMILIES
    for row in fakes:
        answer = row["messages"][1]["content"][0]["text"].lower()
        names = {row["family"].replace("_", " "), FAMILY_PHRASES[row["family"]].split(" ", 1)[1]}  # "identity swap", "self-blend"
        assert any(name in answer for name in names), (row["family"], answer)
        assert row["family"] == "attribute" or "attribute" not in answer, answer
    train_families = {row["family"] for row in cls["train"] if row["label"] == "fake"}
    assert train_families == SIMULATED_FAMILIES  # the train photo's pairs cycle through the whole mix


def test_the_card_counts_fakes_per_family_and_split_and_shows_one_picture_per_family(small_build):
    cls = _cls(small_build)
    card = (small_build / "README.md").read_text()
    table = card.split("**Fakes per family and split**", 1)[1].split("\n\n", 2)[1]
    header, _, *lines = table.splitlines()
    splits = [c.strip() for c in header.strip("|").split("|")][1:]
    counted = {cells[0]: dict(zip(splits, map(int, cells[1:]))) for cells in
               ([c.strip() for c in line.strip("|").split("|")] for line in lines)}
    for split in splits:
        truth = Counter(row["family"] for row in cls[split] if row["label"] == "fake")
        assert {family: n[split] for family, n in counted.items() if n[split]} == dict(truth), split
    gallery = card.split("## One explanation per forgery family", 1)[1].split("\n## ", 1)[0]
    pictures = re.findall(r"!\[[^\]]*\]\((images/age_(\w+)\.jpg)\)", gallery)
    assert {family for _, family in pictures} == SIMULATED_FAMILIES
    for path, _ in pictures:
        assert 0 < (small_build / path).stat().st_size < 300_000
    assert gallery.count("\n> ") == len(pictures)  # each picture with its text
