"""The dataset card's and the Explorer's rough edges, on real builds, real photos and the Space's own app.py."""

from __future__ import annotations

import json
import re
import runpy
import shutil
from pathlib import Path

import cv2
import datasets
import numpy as np
import pytest
from PIL import Image

from builders import BuildOptions, build
from explorer import app as explorer_app
from explorer.browse import BuildBrowser
from explorer.space import write_space
from fifa_data.core import masks as masklib
from fifa_data.core.fict import load_fict
from fifa_data.pairs.sample_source import write_sample_pairs

pytestmark = pytest.mark.slow


# --- the dataset card -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def user_build(tmp_path_factory) -> Path:
    """A build of a user's folder (``--pairs DIR``): four simulated pairs and one whose fake is its real (rejected)."""
    root = tmp_path_factory.mktemp("user") / "my-pairs"
    write_sample_pairs(root, 4, seed=0, manipulations=("lip_color", "hair_color"))
    manifest = (root / "pairs.csv").read_text().splitlines()
    real = manifest[1].split(",")[0]
    shutil.copyfile(root / real, root / "fake" / "copy_of_the_real.png")
    (root / "pairs.csv").write_text("\n".join([*manifest, f"{real},fake/copy_of_the_real.png,smile,,,,"]) + "\n")
    out = tmp_path_factory.mktemp("user-build") / "fifa"
    build(BuildOptions(out=out, sources=(str(root),), progress=False))
    return out


def test_a_build_without_rejects_says_so_instead_of_a_bare_table(small_build):
    stats = json.loads((small_build / "build.json").read_text())
    assert sum(stats["rejected"].values()) == 0
    card = (small_build / "README.md").read_text()
    assert "No input was rejected." in card and "| reason | pairs |" not in card


def test_a_users_build_tables_its_rejects_and_names_its_sources_where_it_speaks_of_them(user_build):
    stats = json.loads((user_build / "build.json").read_text())
    assert stats["rejected"] == {"identical": 1}
    card = (user_build / "README.md").read_text()
    assert "| reason | pairs |\n|---|---:|\n| identical | 1 |" in card and "No input was rejected." not in card
    edits = next(line for line in card.splitlines() if line.startswith("- **The edits.**"))
    assert "listed below" not in card and "`my-pairs`" in edits and "*How it was built*" in edits
    assert card.index("## How it was built") < card.index(edits)  # the section it points to is above it


def _example(folder: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """The card's example row: its image and its masks, read back with `datasets`."""
    card = (folder / "README.md").read_text()
    row_id = re.search(r'"id": "([^"]+)"', card.split("## An example", 1)[1])[1]
    split = re.search(r'row = age\["(\w+)"\]', card)[1]
    rows = datasets.load_dataset(str(folder), "age", split=split, cache_dir=str(folder.parent / "hf-cache"))
    row = rows[rows["id"].index(row_id)]
    return np.asarray(row["image"].convert("RGB")), [masklib.decode(m).astype(np.uint8) for m in row["masks"]]


def test_the_example_picture_shows_the_edit_inside_its_masks(small_build):
    image, masks = _example(small_build)
    picture = np.asarray(Image.open(small_build / "images" / "age_example.png").convert("RGB"))
    h, w = image.shape[:2]
    scale = -(-1024 // h)
    kernel = np.ones((11, 11), np.uint8)  # wider than any outline
    edges = np.logical_or.reduce([cv2.dilate(m, kernel) > cv2.erode(m, kernel) for m in masks])
    away = ~np.logical_or.reduce([cv2.dilate(m, kernel) > 0 for m in masks])
    inside = np.logical_or.reduce(masks).astype(bool) & ~edges
    assert inside.sum() > 1000
    # The photo sits below the title band, enlarged by nearest neighbour: find the band by the pixels far from any mask.
    top = next(b for b in range(picture.shape[0] - h * scale + 1) if (picture[b : b + h * scale : scale, : w * scale : scale][away] == image[away]).all())
    shown = picture[top : top + h * scale : scale, : w * scale : scale]
    assert (shown[inside] == image[inside]).all()  # the edited pixels as stored: outlined, not painted over


# --- the Explorer -----------------------------------------------------------------------------


def test_the_concept_filter_finds_a_part_where_its_whole_is_flagged(small_build):
    browser = BuildBrowser(str(small_build), "age", "train")
    fict = load_fict()
    upper = {"lips", "lips.upper", *(c.id for c in fict.descendants("lips.upper"))}
    about = [i for i in range(len(browser)) if upper & set(browser.rows[i]["concepts"] or ())]
    assert about and any("lips" in browser.rows[i]["concepts"] for i in about)
    assert browser.matching(concept="upper lip") == about
    assert browser.matching(concept="the upper lip") == about  # a phrase, as the texts name it
    lower_only = [i for i in range(len(browser)) if {c for c in browser.rows[i]["concepts"] if c.startswith("lips")} == {"lips.lower.left"}]
    assert not set(lower_only) & set(about)
    assert "face" not in browser.concept_ids("upper lip") and "image" not in browser.concept_ids("upper lip")


class _Click:
    """A click on an image, as Gradio hands it to a ``select`` handler."""

    def __init__(self, x: int, y: int) -> None:
        self.index = [x, y]


def test_two_clicks_draw_the_box_on_the_preview(tmp_path, astronaut):
    photo = tmp_path / "astronaut.png"
    Image.fromarray(astronaut).save(photo)
    corners, text, first = explorer_app.corner_handler(str(photo), [], _Click(300, 200))
    assert text.startswith("300,200,") and first.shape == astronaut.shape
    corners, text, preview = explorer_app.corner_handler(str(photo), corners, _Click(100, 50))
    assert text == "100,50,301,201" and preview.shape == astronaut.shape
    changed = (preview != astronaut).any(axis=2)
    assert changed[50, 100:301].all() and changed[50:201, 300].all() and (preview[50, 150] == 255).all()
    assert not changed[60:190, 110:290].any() and not changed[:40].any()  # the box's outline only


def test_errors_in_the_page_name_its_fields_and_the_command_keeps_its_flags(tmp_path, astronaut, capsys):
    photo = tmp_path / "astronaut.png"
    Image.fromarray(astronaut).save(photo)
    ask = explorer_app._safely(explorer_app.ask_handler, 4)
    missing = ask(str(tmp_path / "nowhere"), str(photo), "age", None, "", "", 4)[0]
    assert f"error: checkpoint folder {tmp_path / 'nowhere'}: no such folder" in missing and "--" not in missing
    assert f"error: checkpoint folder {tmp_path}: not a FiFa-MLLM checkpoint" in ask(str(tmp_path), str(photo), "age", None, "", "", 4)[0]
    assert explorer_app.page_wording("--task bexp needs --box x0,y0,x1,y1") == "task bexp needs box x0,y0,x1,y1"
    assert explorer_app.page_wording("--box '1,2': see --max-new-tokens") == "box '1,2': see --max-new-tokens"  # only the page's fields

    from model.infer import main

    assert main(["--model", str(tmp_path / "nowhere"), "--image", str(photo), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith(f"error: --model {tmp_path / 'nowhere'}: no such folder")


# --- the Space --------------------------------------------------------------------------------


def _handler(app, name: str):
    return next(f.fn for f in app.fns.values() if f.name == name)


def test_a_space_serves_only_the_dataset_and_checkpoint_it_was_written_with(small_build, tmp_path, monkeypatch):
    monkeypatch.delenv("FIFA_DATASET", raising=False)
    monkeypatch.delenv("FIFA_MODEL", raising=False)
    folder = write_space(tmp_path / "space", str(small_build), "checkpoints/fifa-mllm")
    app = runpy.run_path(str(folder / "app.py"))["app"]  # as the Space runs it, less the launch
    fields = {b.elem_id: b for b in app.blocks.values() if getattr(b, "elem_id", None) in ("dataset", "model")}
    assert fields["dataset"].value == str(small_build) and fields["model"].value == "checkpoints/fifa-mllm"
    assert fields["dataset"].interactive is False and fields["model"].interactive is False

    open_rows, page = _handler(app, "open_handler"), _handler(app, "page_handler")
    for other in (str(tmp_path), "someone/another-dataset"):
        refused = open_rows(other, "age", "train", None, "", "")
        assert f"error: dataset &#x27;{other}&#x27;: this app serves &#x27;{small_build}&#x27; only" in refused[0]
        assert "error: dataset" in page(other, "age", "train", [0, 1], 0, 1)[0]
    served = open_rows(str(small_build), "age", "train", None, "", "")
    assert served[0].startswith('<div class="fifa-status">row 1 of ')
    ask = _handler(app, "ask_handler")
    refused = ask(str(tmp_path), None, "age", None, "", "", 4)[0]
    assert "error: checkpoint folder" in refused and "this app serves &#x27;checkpoints/fifa-mllm&#x27; only" in refused
