"""FICT: size, structure, lookups and the validation of a tree file."""

import json

import pytest

from fifa_data.core.fict import load_fict


@pytest.fixture(scope="module")
def fict():
    return load_fict()


def test_size_and_depth(fict):
    assert len(fict.atomic_ids) >= 112
    assert fict.root.id == "image" and fict.root.level == 0
    assert max(c.level for c in fict) >= 4  # at least three levels below the root's children
    assert all(c.is_atomic == (not c.children) for c in fict)


@pytest.mark.parametrize(
    "concept_id",
    [
        "hair.top.crown", "hair.left.side", "forehead.center", "temple.left", "eyebrow.left.tail",
        "eye.left.upper_eyelid", "eye.left.lower_eyelid", "eye.left.inner_canthus", "eye.left.outer_canthus",
        "eye.left.iris", "eye.left.sclera_inner", "eye.left.eye_bag", "nose.bridge.dorsum", "nose.tip",
        "nose.ala.left", "nose.nostril.right", "cheek.right.apple", "perioral.nasolabial.left",
        "perioral.philtrum", "perioral.moustache.left", "lips.upper.center", "lips.lower.left",
        "lips.corner.right", "mouth.teeth.upper", "mouth.cavity", "chin.center", "jaw.left.line",
        "ear.left.lobe", "neck.front", "background.upper",
    ],
)
def test_covers_what_editing_apps_change(fict, concept_id):
    assert fict[concept_id].is_atomic


def test_every_concept_is_described(fict):
    for c in fict:
        assert c.name and c.description.endswith((".", ")")), c.id
    left = [c for c in fict if ".left" in c.id]
    assert left and all(fict.lookup(c.id.replace(".left", ".right")) for c in left)


def test_walks(fict):
    assert [a.id for a in fict.ancestors("eye.left.iris")] == ["eye.left", "eye", "face", "image"]
    assert fict.parent("eye.left.iris").id == "eye.left"
    assert fict.parent("image") is None
    assert [c.id for c in fict.children("lips.corner")] == ["lips.corner.left", "lips.corner.right"]
    assert fict.atomic_descendants("lips.upper") == ["lips.upper.center", "lips.upper.left", "lips.upper.right"]
    assert fict.atomic_descendants("nose.tip") == ["nose.tip"]
    assert set(fict.atomic_descendants("image")) == set(fict.atomic_ids)
    assert fict.is_ancestor("face", "eye.left.iris") and not fict.is_ancestor("hair", "eye.left.iris")


def test_lookup_by_id_name_and_synonym(fict):
    assert fict.lookup("eye.left.upper_eyelid").id == "eye.left.upper_eyelid"
    assert fict.lookup("Left Upper Eyelid").id == "eye.left.upper_eyelid"
    assert fict.lookup("cupid's bow").id == "lips.upper.center"
    assert fict.lookup("  smile   lines ").id == "perioral.nasolabial"
    with pytest.raises(KeyError, match="unknown FICT concept 'left eyebrw'; did you mean 'left eyebrow'"):
        fict.lookup("left eyebrw")
    with pytest.raises(KeyError, match="unknown FICT concept 'eye.middle'"):
        fict["eye.middle"]


def test_rows_match_the_dataset_columns(fict):
    rows = fict.to_rows()
    assert len(rows) == len(fict)
    assert set(rows[0]) == {"id", "name", "parent", "level", "is_atomic", "description", "synonyms", "children"}
    assert rows[0]["parent"] is None and sum(r["is_atomic"] for r in rows) == len(fict.atomic_ids)


@pytest.mark.parametrize(
    "concepts, message",
    [
        ([{"id": "a", "name": "a", "parent": None, "description": "."}] * 2, "duplicate concept ids"),
        ([{"id": "a", "name": "a", "parent": "zz", "description": "."}], "unknown parent 'zz'"),
        (
            [{"id": "a", "name": "a", "parent": None, "description": "."},
             {"id": "b", "name": "b", "parent": None, "description": "."}],
            "exactly one root",
        ),
        (
            [{"id": "a", "name": "a", "parent": None, "description": ".", "synonyms": ["x"]},
             {"id": "b", "name": "b", "parent": "a", "description": ".", "synonyms": ["X"]}],
            "names both",
        ),
    ],
)
def test_invalid_tree_files_are_refused(tmp_path, concepts, message):
    path = tmp_path / "fict.json"
    path.write_text(json.dumps({"version": "0", "concepts": concepts}))
    with pytest.raises(ValueError, match=f"{path}: invalid FICT file: .*{message}"):
        load_fict(path)
