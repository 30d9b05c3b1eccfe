"""The Gradio app: three tabs over `pair`, `browse` and `ask`, every error shown as one line in the page.

`build_app` only wires components to the tab functions; `launch` serves it on 127.0.0.1 with
sharing, analytics and server-side rendering off, so the app makes no network call. Errors keep the
commands' messages, with the page's name of each field in place of its flag (`page_wording`).
Built ``pinned`` (as a Space is), the app serves the dataset and checkpoint it was built with only.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no telemetry, no version check

import gradio as gr

from explorer import ask, browse, pair
from explorer.views import draw_boxes, error_html
from fifa_data.annotate.artifacts import MODES
from fifa_data.cli import USAGE_ERRORS
from fifa_data.core.images import load_rgb
from fifa_data.core.schema import MANIPULATIONS, MIXES, TASKS
from model.data import DatasetError

log = logging.getLogger(__name__)
SPLITS = ("train", "validation", "test")
EXPECTED = (*USAGE_ERRORS, DatasetError, ValueError, KeyError)  # bad input: the message is the whole story
# The page's name of each input the commands name by a flag; each is the start or the gist of its field's label.
FIELDS = {"model": "checkpoint folder", "image": "face photo", "task": "task", "box": "box", "concept": "concept",
          "question": "question"}
_FLAG = re.compile(rf"(?<![\w-])--({'|'.join(FIELDS)})(?![\w-])")


def page_wording(message: str) -> str:
    """A command's message in the page's words: each flag of a field on the page (``--box``) becomes its name (``box``)."""
    return _FLAG.sub(lambda flag: FIELDS[flag[1]], message)


def _safely(handler: Callable, outputs: int) -> Callable:
    """``handler`` with any error shown as one ``error:`` line (the first output) and the other outputs left as they are."""

    def run(*args):
        try:
            return handler(*args)
        except EXPECTED as err:
            message = page_wording(str(err).strip("'\""))
        except Exception as err:  # a bug: the page still gets one line, the console the traceback
            log.exception("FiFa Explorer: %s failed", handler.__name__)
            message = f"{type(err).__name__}: {err} (a bug: the traceback is in the console)"
        return (error_html(" ".join(message.split())), *[gr.skip()] * (outputs - 1))

    run.__name__ = handler.__name__
    return run


# --- annotate a pair --------------------------------------------------------------------------


def annotate_handler(real: str | None, fake: str | None, mode: str):
    if not real or not fake:
        raise ValueError("upload a real photo and its fake (or pick a bundled sample pair)")
    view = pair.annotate_pair(real, fake, mode)
    if view.reject:
        return (error_html(view.reject), "", None, None, None, None, {}, [], {})
    status = f"annotated in {view.seconds:.1f} s"
    if view.image_level_only:
        status += f"; kept for det and cls only, {view.image_level_only}"
    return (
        f'<div class="fifa-status">{status}</div>',
        view.age_html,
        view.age_image,
        view.concepts_overlay,
        view.artifact_overlay,
        view.artifact_mask,
        view.mask_params,
        view.decisions,
        view.rows,
    )


def sample_handler(manipulation: str | None):
    if not manipulation:
        return gr.skip(), gr.skip()
    real, fake = pair.sample_pair(manipulation)
    return str(real), str(fake)


# --- browse a build ---------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _browser(dataset: str, config: str, split: str) -> browse.BuildBrowser:
    return browse.BuildBrowser(dataset, config, split)


def open_handler(dataset: str, config: str, split: str, manipulation: str | None, concept: str | None, text: str | None):
    dataset = (dataset or "").strip()
    if not dataset:
        raise ValueError("give a built dataset: a folder written by scripts/build.py, or a Hub id USER/NAME")
    browser = _browser(dataset, config, split)
    matches = browser.matching(manipulation or None, concept, text)
    try:
        statistics = browse.build_statistics(dataset)
    except DatasetError as err:
        statistics = {"unavailable": str(err)}
    return (*_page(browser, matches, 0), matches, statistics)


def page_handler(dataset: str, config: str, split: str, matches: list[int], position: int, step: int):
    return _page(_browser(dataset.strip(), config, split), matches, int(position or 0) + step)


def _page(browser: browse.BuildBrowser, matches: list[int], position: int):
    if not matches:
        return (error_html(f"{browser.dataset} {browser.config}/{browser.split}: no row passes the filter"), None, "", "", {}, 0)
    position = max(0, min(position, len(matches) - 1))
    view = browser.show(matches[position])
    where = f'<div class="fifa-status">row {position + 1} of {len(matches)} (index {view.index} of {len(browser)}) · {view.id}</div>'
    return (where, view.picture, f"**Question.** {view.question}", view.answer_html, view.details, position)


# --- ask the model ----------------------------------------------------------------------------


def ask_handler(model: str, photo: str | None, task: str, concept: str | None, box: str | None, question: str | None, max_new_tokens: float):
    started = time.perf_counter()
    view = ask.ask_photo((model or "").strip(), photo, task, concept=concept, box=box, question=question, max_new_tokens=int(max_new_tokens))
    return (f'<div class="fifa-status">answered in {time.perf_counter() - started:.1f} s: {view.question}</div>', view.answer_html, view.overlay,
            view.record)


def corner_handler(photo: str | None, corners: list, evt: gr.SelectData):
    """Two clicks on the photo are a box's corners: ``x0,y0,x1,y1`` in the photo's pixels, drawn on the preview.

    The preview is the photo upright (as the ask tab reads it) at its own size, so later clicks keep its pixels.
    """
    corners = ([] if len(corners) >= 2 else list(corners)) + [evt.index]
    (xa, ya), (xb, yb) = corners[0], corners[-1]
    box = [min(xa, xb), min(ya, yb), max(xa, xb) + 1, max(ya, yb) + 1]
    text = f"{xa},{ya},… (click the opposite corner)" if len(corners) < 2 else ",".join(map(str, box))
    preview = draw_boxes(load_rgb(photo), [box], browse.BOX_COLOURS["boxes"]) if photo else gr.skip()
    return corners, text, preview


def preview_handler(photo: str | None):
    return (photo or None), []


# --- the page ---------------------------------------------------------------------------------


def _pinned(handler: Callable, position: int, value: str, field: str) -> Callable:
    """``handler`` refusing any argument at ``position`` but ``value``: the server, not only the page, holds a field fixed."""

    def run(*args):
        given = (args[position] or "").strip()
        if given != value:
            raise ValueError(f"{field} {given!r}: this app serves {value!r} only" if value else f"{field}: this app serves none")
        return handler(*args)

    run.__name__ = handler.__name__
    return run


def build_app(dataset: str | None = None, model: str | None = None, *, pinned: bool = False) -> gr.Blocks:
    """The three tabs; ``dataset`` and ``model`` fill in the browse and ask tabs' fields.

    ``pinned`` (a Space) fixes those two fields: they are not editable, and the handlers refuse any other value a
    request sends, so visitors cannot make the server open another folder or download another Hub repository.
    """
    default_dataset = dataset or ("fifa" if (Path("fifa") / browse.BUILD_FILE).is_file() else "")
    default_model = model or ""
    open_, page_, ask_ = open_handler, page_handler, ask_handler
    if pinned:
        open_, page_ = (_pinned(h, 0, default_dataset, "dataset") for h in (open_handler, page_handler))
        ask_ = _pinned(ask_handler, 0, default_model, FIELDS["model"])
    with gr.Blocks(title="FiFa Explorer", analytics_enabled=False) as app:
        gr.Markdown("# FiFa Explorer\nAnnotate a pair as the build would, audit a built dataset, ask a FiFa-MLLM checkpoint. "
                    "Everything runs here, offline.")
        with gr.Tab("Annotate a pair", id="annotate"):
            with gr.Row():
                real = gr.File(label="real photo", file_types=["image"], type="filepath", elem_id="real-file")
                fake = gr.File(label="fake (the edited photo)", file_types=["image"], type="filepath", elem_id="fake-file")
                with gr.Column():
                    sample = gr.Dropdown([None, *pair.sample_manipulations()], value=None, label="or a bundled sample pair (astronaut)",
                                         elem_id="sample-pair")
                    mode = gr.Radio(list(MODES), value="adaptive", label="artifact mask mode", elem_id="mask-mode")
                    run = gr.Button("Annotate", variant="primary", elem_id="annotate-button")
            status = gr.HTML(elem_id="pair-status")
            age_html = gr.HTML(label="AGE explanation", elem_id="age-html")
            with gr.Row():
                age_image = gr.Image(label="AGE answer", type="pil", format="png", interactive=False, show_label=False, elem_id="age-image")
                artifact_overlay = gr.Image(label="artifact mask", type="pil", format="png", interactive=False, show_label=False, elem_id="artifact-overlay")
            with gr.Row():
                concepts_overlay = gr.Image(label="concepts", type="pil", format="png", interactive=False, show_label=False, elem_id="concepts-overlay")
                artifact_mask = gr.Image(label="artifact mask (255 inside)", type="pil", format="png", interactive=False, elem_id="artifact-mask")
            decisions = gr.Dataframe(headers=pair.DECISION_COLUMNS, label="decisions (manipulated concepts)", interactive=False,
                                     elem_id="decisions", wrap=True)
            with gr.Row():
                params = gr.JSON(label="artifact mask parameters", elem_id="mask-params")
                rows = gr.JSON(label="the eleven task rows", elem_id="task-rows")
            outputs = [status, age_html, age_image, concepts_overlay, artifact_overlay, artifact_mask, params, decisions, rows]
            run.click(_safely(annotate_handler, len(outputs)), [real, fake, mode], outputs)
            sample.change(_safely(sample_handler, 2), sample, [real, fake]).then(_safely(annotate_handler, len(outputs)), [real, fake, mode], outputs)

        with gr.Tab("Browse a build", id="browse"):
            with gr.Row():
                dataset_box = gr.Textbox(default_dataset, label="dataset (folder or Hub id)", interactive=not pinned, elem_id="dataset")
                config = gr.Dropdown([*TASKS, *MIXES], value="age", label="config", elem_id="config")
                split = gr.Dropdown(list(SPLITS), value="train", label="split", elem_id="split")
            with gr.Row():
                manipulation = gr.Dropdown([None, *MANIPULATIONS], value=None, label="manipulation", allow_custom_value=True, elem_id="filter-manipulation")
                concept = gr.Textbox(label="concept (FICT id, name or synonym)", elem_id="filter-concept")
                text = gr.Textbox(label="id, pair id or source id contains", elem_id="filter-id")
                open_button = gr.Button("Open", variant="primary", elem_id="open-button")
            with gr.Row():
                previous = gr.Button("◀ previous", elem_id="previous-button")
                following = gr.Button("next ▶", elem_id="next-button")
            where = gr.HTML(elem_id="browse-status")
            with gr.Row():
                picture = gr.Image(label="image, masks and boxes", type="pil", format="png", interactive=False, show_label=False, elem_id="row-picture")
                with gr.Column():
                    question_md = gr.Markdown(elem_id="row-question")
                    answer_html = gr.HTML(elem_id="row-answer")
                    details = gr.JSON(label="row", elem_id="row-details")
            statistics = gr.JSON(label="build statistics (the card's)", elem_id="build-statistics")
            matches, position = gr.State([]), gr.State(0)
            page = [where, picture, question_md, answer_html, details, position]
            open_button.click(_safely(open_, len(page) + 2), [dataset_box, config, split, manipulation, concept, text], [*page, matches, statistics])
            for button, step in ((previous, -1), (following, 1)):
                step_box = gr.State(step)
                button.click(_safely(page_, len(page)), [dataset_box, config, split, matches, position, step_box], page)

        with gr.Tab("Ask the model", id="ask"):
            with gr.Row():
                model_box = gr.Textbox(default_model, label="FiFa-MLLM checkpoint folder (model/sft.py's output)", interactive=not pinned,
                                   elem_id="model")
                task = gr.Dropdown(list(TASKS), value="age", label="task", elem_id="task")
            with gr.Row():
                photo = gr.File(label="face photo", file_types=["image"], type="filepath", elem_id="ask-photo")
                preview = gr.Image(label="click two corners for a box (bdet, bexp)", interactive=False, elem_id="ask-preview")
                with gr.Column():
                    concept_choice = gr.Dropdown(ask.concept_choices(), value=None, allow_custom_value=True,
                                                 label="concept (rdet, rexp, rseg)", elem_id="ask-concept")
                    box = gr.Textbox(label="box x0,y0,x1,y1 (bdet, bexp)", elem_id="ask-box")
                    question = gr.Textbox(label="question (empty: the task's first phrasing)", elem_id="ask-question")
                    max_new_tokens = gr.Slider(1, 512, value=128, step=1, label="longest answer (tokens)")
                    ask_button = gr.Button("Ask", variant="primary", elem_id="ask-button")
            ask_status = gr.HTML(elem_id="ask-status")
            ask_answer = gr.HTML(elem_id="ask-answer")
            with gr.Row():
                ask_overlay = gr.Image(label="answer and masks", type="pil", format="png", interactive=False, show_label=False, elem_id="ask-overlay")
                ask_record = gr.JSON(label="answer.json", elem_id="ask-record")
            corners = gr.State([])
            photo.change(preview_handler, photo, [preview, corners])
            preview.select(corner_handler, [photo, corners], [corners, box, preview])
            ask_outputs = [ask_status, ask_answer, ask_overlay, ask_record]
            ask_button.click(_safely(ask_, len(ask_outputs)), [model_box, photo, task, concept_choice, box, question, max_new_tokens], ask_outputs)
    return app


def launch(app: gr.Blocks, *, host: str = "127.0.0.1", port: int | None = 7860, block: bool = True) -> gr.Blocks:
    """Serve ``app`` on ``host:port`` (127.0.0.1 unless told otherwise): no share link, no telemetry, no SSR."""
    app.queue(default_concurrency_limit=1).launch(server_name=host, server_port=port, share=False, ssr_mode=False, inbrowser=False,
                                                  prevent_thread_lock=not block, quiet=True, footer_links=[])
    return app
