"""The Explorer's annotate tab shows the forgery families: a bundled face swap annotated through its plain handlers."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from explorer import app as explorer_app
from explorer.pair import DONOR_PHOTO, SAMPLE_PHOTO, sample_manipulations, sample_pair
from fifa_data.core.families import family_of
from fifa_data.pairs.simulate import FAMILY_EDITS


def test_the_samples_offer_every_family_on_the_sample_photo():
    offered = sample_manipulations()
    assert set(FAMILY_EDITS) <= set(offered)
    for manipulation in FAMILY_EDITS:
        real, fake = sample_pair(manipulation)
        assert real.stem == SAMPLE_PHOTO and fake.stem.startswith(f"{SAMPLE_PHOTO}_{manipulation}_")
    manifest = pl.read_csv(real.parents[2] / "pairs.csv")
    donors = [json.loads(p)["donor"] for p in manifest.filter(pl.col("manipulation") == "face_swap")["params"]]
    assert donors and all(DONOR_PHOTO in donor for donor in donors)


@pytest.mark.slow
def test_the_annotate_handler_explains_a_face_swap_with_its_mask():
    real, fake = explorer_app.sample_handler("face_swap")
    status, age_html, age_image, _, artifact_overlay, artifact_mask, params, decisions, rows = explorer_app.annotate_handler(real, fake, "adaptive")
    assert "annotated in" in status
    text = rows["age"][0]["messages"][1]["content"][0]["text"]
    lowered = text.lower()
    assert any(words in lowered for words in ("another person", "someone else")) and "attribute" not in lowered, text
    assert "[SEG]" in text and "<span" in age_html and age_image is not None and artifact_overlay is not None
    mask = np.asarray(artifact_mask) > 0
    assert 0.005 < mask.mean() < 0.5  # the swapped face, not the whole photo
    assert decisions and params
    fakes = [row for task_rows in rows.values() for row in task_rows if row["label"] == "fake"]
    assert fakes and {row["family"] for row in fakes} == {family_of("face_swap")} == {"identity_swap"}
    cls = rows["cls"][0]["messages"][1]["content"][0]["text"].lower()
    assert "identity swap" in cls, cls
