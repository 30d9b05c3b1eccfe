"""FiFa Explorer in a real headless browser: Debian's Chromium driven by Playwright, the app on a free local port.

The browser is the system's (``.ci/run`` installs it with apt-get); Playwright downloads nothing.
Without Chromium these tests are skipped, unless ``FIFA_REQUIRE_BROWSER=1`` (as in CI) makes that a failure.
Screenshots go to the test's temporary folder; ``FIFA_UPDATE_SCREENSHOTS=1`` also writes the README's
``cards/images/explorer_*.png``.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer.app import build_app, launch
from explorer.pair import sample_pair

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CARDS = Path(__file__).resolve().parents[1] / "cards" / "images"
# As the machine's own probe starts it: no sandbox as root, and no background connections on a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

if CHROMIUM is None and os.environ.get("FIFA_REQUIRE_BROWSER") == "1":
    raise RuntimeError("the browser tests need Debian's chromium: apt-get install -y chromium")
if CHROMIUM is None:
    pytest.skip("no system Chromium (apt-get install -y chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(small_build, checkpoint):
    port = _free_port()
    app = launch(build_app(dataset=str(small_build), model=str(checkpoint)), port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(server)
    page.locator("#annotate-button").wait_for()
    yield page
    page.close()
    assert not errors, errors


def _screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"explorer_{name}.png"
    page.screenshot(path=path, full_page=True)
    with Image.open(path) as shot:
        assert shot.size[0] >= 1400 and np.asarray(shot.convert("L")).std() > 10  # a page, not a blank
    if os.environ.get("FIFA_UPDATE_SCREENSHOTS") == "1":
        page.screenshot(path=CARDS / path.name)  # the first screen of the tab, as a reader sees it
    return path


def _image_loaded(page, selector: str) -> tuple[int, int]:
    image = page.locator(f"{selector} img").first
    image.wait_for(timeout=60_000)
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=image.element_handle(), timeout=60_000)
    return image.evaluate("(el) => [el.naturalWidth, el.naturalHeight]")


def test_annotate_tab_shows_the_age_explanation_of_an_uploaded_pair(page, tmp_path):
    real, fake = sample_pair("lip_color")
    page.locator("#real-file input[type=file]").set_input_files(str(real))
    page.locator("#fake-file input[type=file]").set_input_files(str(fake))
    page.locator("#annotate-button").click()

    phrase = page.locator("#age-html .fifa-phrase").first
    phrase.wait_for(timeout=120_000)
    assert phrase.inner_text().lower() == "the lips"  # a sentence may open with the phrase
    assert "redder" in page.locator("#age-html").inner_text()
    width, height = _image_loaded(page, "#artifact-mask")
    assert (width, height) == (512, 512)
    source = page.locator("#artifact-mask img").first.get_attribute("src")
    with Image.open(_download(page, source, tmp_path / "mask.png")) as mask:
        assert np.asarray(mask.convert("L")).max() == 255  # the mask is not empty
    assert "lips" in page.locator("#decisions").inner_text()
    _screenshot(page, tmp_path, "annotate")


def _download(page, url: str, path: Path) -> Path:
    path.write_bytes(page.request.get(url).body())
    return path


def test_annotate_tab_states_a_reject_in_one_sentence(page, tmp_path):
    real, fake = sample_pair("smile")
    page.locator("#real-file input[type=file]").set_input_files(str(real))
    page.locator("#fake-file input[type=file]").set_input_files(str(real))
    page.locator("#annotate-button").click()
    error = page.locator("#pair-status .fifa-error")
    error.wait_for(timeout=120_000)
    assert error.inner_text().startswith("error: rejected as identical")


def test_browse_tab_opens_a_build_and_pages_forward(page, tmp_path):
    page.get_by_role("tab", name="Browse a build").click()
    page.locator("#open-button").click()
    status = page.locator("#browse-status .fifa-status")
    status.wait_for(timeout=60_000)
    assert status.inner_text().startswith("row 1 of ")
    first = page.locator("#row-question").inner_text()
    _image_loaded(page, "#row-picture")
    page.locator("#next-button").click()
    page.wait_for_function("() => document.querySelector('#browse-status').innerText.startsWith('row 2 of ')", timeout=60_000)
    assert page.locator("#row-question").inner_text() != "" and first != ""
    assert "pairs_in" in page.locator("#build-statistics").inner_text() and "miou" in page.locator("#build-statistics").inner_text()
    _screenshot(page, tmp_path, "browse")


def test_ask_tab_answers_with_a_tiny_checkpoint(page, tmp_path, photo):
    page.get_by_role("tab", name="Ask the model").click()
    page.locator("#ask-photo input[type=file]").set_input_files(str(photo))
    _image_loaded(page, "#ask-preview")
    page.locator("#ask-button").click()
    status = page.locator("#ask-status .fifa-status")
    status.wait_for(timeout=120_000)
    assert status.inner_text().startswith("answered in ")
    assert page.locator("#ask-answer .fifa-answer").count() == 1
    _image_loaded(page, "#ask-overlay")
    _screenshot(page, tmp_path, "ask")


def test_ask_tab_shows_a_bad_box_as_one_line(page):
    page.get_by_role("tab", name="Ask the model").click()
    page.locator("#ask-photo input[type=file]").set_input_files(str(Path(sample_pair("smile")[0])))
    _image_loaded(page, "#ask-preview")  # the upload has reached the app before the task and box are set
    _choose(page, "#task", "bdet")
    box = page.locator("#ask-box textarea, #ask-box input").first
    box.fill("0,0,9000,10")
    page.wait_for_function("() => document.querySelector('#ask-box textarea, #ask-box input').value === '0,0,9000,10'")
    page.locator("#ask-button").click()
    outcome = page.locator("#ask-status .fifa-error, #ask-status .fifa-status")
    outcome.wait_for(timeout=120_000)  # the first question of a worker also loads transformers
    assert outcome.inner_text().startswith("error: box '0,0,9000,10': outside the 512x512 image")  # the page's name, not the flag


def _choose(page, dropdown: str, option: str) -> None:
    """Pick ``option`` in a Gradio dropdown by clicking it (typing and Enter can race the option list's filter)."""
    page.locator(f"{dropdown} input").click()
    page.locator("[data-testid=dropdown-option]", has_text=option).first.click()
    page.wait_for_function(f"() => document.querySelector('{dropdown} input').value === '{option}'", timeout=30_000)


def test_figures_have_no_label_badge_over_their_titles(page):
    page.get_by_role("tab", name="Browse a build").click()
    page.locator("#open-button").click()
    _image_loaded(page, "#row-picture")
    page.get_by_role("tab", name="Ask the model").click()
    page.locator("#ask-overlay").wait_for()
    for figure in ("#row-picture", "#age-image", "#artifact-overlay", "#concepts-overlay", "#ask-overlay"):
        badge = page.locator(f"{figure} [data-testid=block-label]")
        assert badge.count() == 1 and not badge.is_visible(), figure  # kept for screen readers, not drawn over the title


def test_the_concept_filter_finds_the_upper_lip_in_rows_that_flag_the_lips(page):
    page.get_by_role("tab", name="Browse a build").click()
    page.locator("#filter-concept textarea, #filter-concept input").first.fill("upper lip")
    page.locator("#open-button").click()
    status = page.locator("#browse-status .fifa-status")
    status.wait_for(timeout=60_000)
    assert status.inner_text().startswith("row 1 of ")
    assert "lips" in page.locator("#row-details").inner_text()


def test_two_clicks_on_the_preview_draw_the_box(page, tmp_path):
    page.get_by_role("tab", name="Ask the model").click()
    page.locator("#ask-photo input[type=file]").set_input_files(str(Path(sample_pair("smile")[0])))
    assert _image_loaded(page, "#ask-preview") == [512, 512]
    box_field = page.locator("#ask-box textarea, #ask-box input").first
    for x, y, wanted in ((0.25, 0.25, r"^\d+,\d+,…"), (0.75, 0.6, r"^\d+,\d+,\d+,\d+$")):
        image = page.locator("#ask-preview img").first
        image.wait_for()
        before, shown = image.get_attribute("src"), image.bounding_box()
        image.click(position={"x": shown["width"] * x, "y": shown["height"] * y})
        page.wait_for_function("([sel, re]) => new RegExp(re).test(document.querySelector(sel).value)",
                               arg=["#ask-box textarea, #ask-box input", wanted], timeout=60_000)
        page.wait_for_function("(src) => { const i = document.querySelector('#ask-preview img'); return i && i.src !== src && i.complete; }",
                               arg=before, timeout=60_000)
    box = [int(v) for v in box_field.input_value().split(",")]
    assert 100 < box[0] < 160 and 250 < box[3] < 330
    with Image.open(_download(page, page.locator("#ask-preview img").first.get_attribute("src"), tmp_path / "preview.png")) as drawn:
        pixels = np.asarray(drawn.convert("RGB"))
    assert pixels.shape == (512, 512, 3) and pixels[box[1], box[0] + 5 : box[2] - 5].min() > 200  # the top edge, white (lossy webp)


@pytest.fixture(scope="module")
def space_server(small_build):
    port = _free_port()
    app = launch(build_app(dataset=str(small_build), model="checkpoints/fifa-mllm", pinned=True), port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def test_a_space_fixes_its_dataset_and_checkpoint_fields(browser, space_server):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(space_server)
    page.get_by_role("tab", name="Browse a build").click()
    dataset = page.locator("#dataset textarea, #dataset input").first
    dataset.wait_for()
    assert not dataset.is_editable()
    page.locator("#open-button").click()
    page.locator("#browse-status .fifa-status").wait_for(timeout=60_000)  # the one dataset it serves opens
    page.get_by_role("tab", name="Ask the model").click()
    model = page.locator("#model textarea, #model input").first
    assert model.input_value() == "checkpoints/fifa-mllm" and not model.is_editable()
    page.close()
