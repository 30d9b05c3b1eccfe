"""FiFa Explorer's tab functions on real inputs: the bundled pairs, a real build, a saved tiny checkpoint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fake_hub import FakeHub, fake_hub, online  # noqa: F401 (fixtures)
from PIL import Image
from test_infer import FACE_BOX

from builders.push import push_folder
from explorer import app as explorer_app
from explorer.ask import ask_photo, concept_choices, concept_from_choice
from explorer.browse import BuildBrowser, build_statistics
from explorer.pair import annotate_pair, sample_manipulations, sample_pair
from explorer.space import write_space
from explorer.views import grounded_html
from fifa_data.core import masks as masklib
from fifa_data.core.schema import TASKS
from model.data import DatasetError
from model.infer import InferError
from model.modeling import CheckpointError

ROOT = Path(__file__).resolve().parents[1]


def _shifted(fake: Path, out: Path) -> Path:
    Image.fromarray(np.roll(np.asarray(Image.open(fake).convert("RGB")), 5, axis=1)).save(out)
    return out


# --- annotate a pair ------------------------------------------------------------------------


def test_a_sample_pair_is_annotated_as_the_build_would():
    real, fake = sample_pair("lip_color")
    view = annotate_pair(real, fake)

    assert view.reject is None and view.image_level_only is None
    assert view.mask_params["mode"] == "adaptive" and view.mask_params["reference"] == "resaved"
    mask = np.asarray(view.artifact_mask) > 0
    assert mask.shape == (512, 512) and 0 < mask.mean() < 0.05
    assert "<p>the lips</p> [SEG]" in view.age_text.replace("<p>The lips", "<p>the lips")  # a sentence may open with the phrase
    assert 'class="fifa-phrase" data-mask="1"' in view.age_html and ">the lips</span>" in view.age_html.replace(">The lips", ">the lips")
    decided = {row[0]: row for row in view.decisions}
    assert decided["lips"][2] == "yes" and decided["lips"][3] > 0.5 and "redder" in decided["lips"][-1]
    assert set(view.rows) == set(TASKS)
    age = view.rows["age"][0]
    assert age["image"] == {"path": "fake/" + Path(fake).name}
    assert age["concepts"] == ["lips"] and masklib.decode(age["masks"][0]).any()
    assert all(rows and all(r["task"] == task and r["pair_id"] == age["pair_id"] for r in rows) for task, rows in view.rows.items())
    assert view.age_image.size[0] > 512 and view.concepts_overlay.size[1] >= 1024


def test_paper_mode_takes_the_top_five_percent():
    view = annotate_pair(*sample_pair("lip_color"), mode="paper")
    assert view.mask_params["mode"] == "paper"
    assert np.asarray(view.artifact_mask).astype(bool).mean() == pytest.approx(0.05, abs=0.01)


def test_a_pair_the_build_rejects_shows_the_reason_in_one_sentence(tmp_path):
    real, fake = sample_pair("smile")
    view = annotate_pair(real, _shifted(fake, tmp_path / "moved.png"))
    assert view.reject.startswith("rejected as misaligned (the fake is shifted against the real photo): fake is shifted by (+")
    assert view.rows == {} and view.artifact_mask is None


def test_an_upload_that_is_not_an_image_is_named(tmp_path):
    real, _ = sample_pair("smile")
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a picture")
    view = annotate_pair(real, notes)
    assert view.reject == "rejected as unreadable (an image file cannot be decoded): fake/notes.jpg: not an image Pillow can read"


def test_the_handler_shows_errors_in_the_page_not_a_traceback():
    handler = explorer_app._safely(explorer_app.annotate_handler, 9)
    out = handler(None, None, "adaptive")
    assert len(out) == 9 and out[0].startswith('<div class="fifa-error"') and "upload a real photo and its fake" in out[0]


def test_every_bundled_sample_edit_has_a_pair():
    for manipulation in sample_manipulations():
        real, fake = sample_pair(manipulation)
        assert real.is_file() and fake.is_file() and manipulation in fake.name
    with pytest.raises(ValueError, match="no bundled sample pair for 'dance'"):
        sample_pair("dance")


def test_grounded_html_colours_each_phrase_and_escapes_the_rest():
    html = grounded_html("A <b>bold</b> claim: <p>the nose</p> [SEG] and <p>the lips</p> [SEG].")
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert html.count('class="fifa-phrase"') == 2 and 'data-mask="2"' in html and ">the lips</span>" in html


# --- browse a build ---------------------------------------------------------------------------


def test_the_browser_filters_on_the_text_columns_and_shows_a_row(small_build):
    browser = BuildBrowser(str(small_build), "rseg", "train")
    everything = browser.matching()
    assert everything == list(range(len(browser))) and len(browser) > 10

    smiles = browser.matching(manipulation="smile")
    assert smiles and all(browser.rows[i]["manipulation"] == "smile" for i in smiles)
    lips = browser.matching(concept="lips")  # the lips or a part of them, flagged or queried
    assert lips and all(any(c.startswith("lips") for c in [*browser.rows[i]["concepts"], browser.rows[i]["query_concept"] or ""]) for i in lips)
    one = browser.rows[smiles[0]]["id"]
    assert browser.matching(text=one) == [smiles[0]]
    assert browser.matching(manipulation="smile", text="no-such-id") == []

    view = browser.show(smiles[0])
    assert view.id == one and view.question and view.picture.size[1] >= 1024
    assert view.details["manipulation"] == "smile"
    with pytest.raises(DatasetError, match="concept 'nosee': not a FICT concept id"):
        browser.matching(concept="nosee")


def test_the_browse_handlers_page_through_the_filtered_rows(small_build):
    opened = explorer_app.open_handler(str(small_build), "age", "train", "", "lips", "")  # one lip_color pair per split: filter on a concept
    *page, matches, statistics = opened
    assert page[0].startswith('<div class="fifa-status">row 1 of ') and len(matches) >= 2
    assert statistics["pairs_in"] == 36 and statistics["reliability"]["miou"] > 0.3
    following = explorer_app.page_handler(str(small_build), "age", "train", matches, page[-1], 1)
    assert following[0].startswith(f'<div class="fifa-status">row 2 of {len(matches)}') and following[-1] == 1
    last = explorer_app.page_handler(str(small_build), "age", "train", matches, len(matches) - 1, 1)
    assert last[-1] == len(matches) - 1  # paging stops at the last row


def test_build_statistics_are_the_cards(small_build, tmp_path):
    stats = build_statistics(str(small_build))
    assert stats["accepted"] + sum(stats["image_level_only"].values()) + sum(stats["rejected"].values()) == stats["pairs_in"]
    assert stats["rows"]["age"]["train"] > 0 and len(stats["fingerprint"]) == 64
    with pytest.raises(DatasetError, match="no such dataset folder"):
        build_statistics(str(tmp_path / "nowhere"))


# --- ask the model ----------------------------------------------------------------------------


def test_ask_answers_through_the_inference_path(checkpoint, photo):
    view = ask_photo(str(checkpoint), str(photo), "age", max_new_tokens=6)
    assert view.record["task"] == "age" and view.record["question"] == view.question
    assert view.answer_html.startswith('<div class="fifa-answer"')
    assert view.overlay.size[1] >= 1024
    assert all("rle" not in m and m["area"] >= 0 for m in view.record["masks"])

    region = ask_photo(str(checkpoint), str(photo), "rseg", concept="nose: nose", max_new_tokens=4)
    assert "nose" in region.question
    boxed = ask_photo(str(checkpoint), str(photo), "bdet", box=FACE_BOX, max_new_tokens=4)
    assert "[180, 60, 320, 230]" in boxed.question or "180" in boxed.question


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"task": "bdet", "box": "0,0,600,100"}, "--box '0,0,600,100': outside the 512x512 image"),
        ({"task": "rseg", "concept": "nosee"}, "--concept 'nosee': not a FICT concept id, name or synonym; did you mean nose"),
        ({"task": "rexp"}, "--task rexp needs --concept"),
    ],
)
def test_ask_gives_the_commands_errors(checkpoint, photo, kwargs, message):
    with pytest.raises(InferError, match="^" + message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        ask_photo(str(checkpoint), str(photo), **kwargs)


def test_ask_refuses_a_folder_that_is_not_a_checkpoint_and_a_missing_photo(checkpoint, tmp_path):
    with pytest.raises(CheckpointError, match="not a FiFa-MLLM checkpoint"):
        ask_photo(str(tmp_path), str(checkpoint / "fifa_config.json"))
    with pytest.raises(InferError, match="no photo given"):
        ask_photo(str(checkpoint), None)
    page = explorer_app._safely(explorer_app.ask_handler, 4)(str(checkpoint), str(checkpoint / "fifa_config.json"), "age", None, "", "", 4)
    assert "fifa_config.json: not an image Pillow can read" in page[0]


def test_concept_choices_name_every_concept_with_its_synonyms():
    choices = concept_choices()
    assert len(choices) == 153 and any(c.startswith("lips.upper.center: ") and "cupid" in c for c in choices)
    assert concept_from_choice("lips.upper: upper lip") == "lips.upper" and concept_from_choice("the nose") == "the nose"
    assert concept_from_choice("  ") is None


def test_two_clicks_make_a_box():
    class Click:
        def __init__(self, x, y):
            self.index = [x, y]

    corners, text, _ = explorer_app.corner_handler(None, [], Click(40, 30))  # no photo: nothing to draw on
    assert text.startswith("40,30,")
    corners, text, _ = explorer_app.corner_handler(None, corners, Click(10, 90))
    assert text == "10,30,41,91"
    assert explorer_app.corner_handler(None, corners, Click(5, 5))[0] == [[5, 5]]  # a third click starts a new box


# --- the Space and the command ----------------------------------------------------------------


def test_the_space_folder_runs_the_app_on_the_dataset(tmp_path):
    folder = write_space(tmp_path / "space", "someone/fifa")
    card = (folder / "README.md").read_text()
    assert card.startswith("---\ntitle: FiFa Explorer\n") and "sdk: gradio\nsdk_version: 6.31.0\n" in card and "app_file: app.py" in card
    assert "datasets:\n- someone/fifa\n" in card
    app_code = (folder / "app.py").read_text()
    assert "'someone/fifa'" in app_code and 'host="0.0.0.0"' in app_code
    compile(app_code, "app.py", "exec")
    requirements = (folder / "requirements.txt").read_text().splitlines()
    assert "gradio==6.31.0" in requirements and "torch==2.13.0" in requirements and not any(r.startswith("pytest") for r in requirements)
    assert (folder / "explorer" / "app.py").is_file() and (folder / "fifa_data" / "data" / "fict.json").is_file()


def test_the_space_pushes_as_a_gradio_space(tmp_path, fake_hub: FakeHub):
    folder = write_space(tmp_path / "space", "someone/fifa")
    url = push_folder(folder, "fifa-tester/fifa-explorer", token=fake_hub.token, commit_message="FiFa Explorer",
                      endpoint=fake_hub.url, repo_type="space")
    assert "/spaces/fifa-tester/fifa-explorer/commit/" in url
    assert fake_hub.created[-1]["type"] == "space" and fake_hub.created[-1]["sdk"] == "gradio"
    assert (fake_hub.repo_dir("fifa-tester/fifa-explorer") / "app.py").read_bytes() == (folder / "app.py").read_bytes()


@pytest.mark.slow  # fresh interpreters
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--push"], "error: --push: needs --space-dir and --space-id USER/NAME"),
        (["--space-dir", "x"], "error: --space-dir: needs --dataset"),
        (["--port", "0"], "error: --port 0: not a TCP port"),
        (["--model", "/nowhere/at/all"], "error: --model /nowhere/at/all: no such folder"),
    ],
)
def test_the_command_refuses_bad_flags_in_one_line(argv, message):
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "explore.py"), *argv], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.strip().splitlines() == [run.stderr.strip()] and run.stderr.startswith(message)
