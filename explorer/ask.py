"""The ask tab's work: one FiFa-11 question about a photo to a FiFa-MLLM checkpoint, through `model.infer`.

`ask_photo` checks its inputs and builds the row with `infer.task_row`, answers with
`infer.ask_model` and draws the answer as `infer.write_outputs` does, so the page and
``python model/infer.py`` give the same answer, masks and errors for the same inputs. A loaded
checkpoint is kept (one at a time) until its folder changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from explorer.views import grounded_html
from fifa_data.core.fict import load_fict
from fifa_data.core.schema import BOX_QUERY_TASKS, REGION_TASKS
from fifa_data.viz import render_age

if TYPE_CHECKING:
    from model.modeling import FiFaModel


def _infer():
    """`model.infer`, imported at the first question: transformers takes half the app's start time."""
    from model import infer

    return infer


@dataclass
class AskView:
    """The answer as the tab shows it."""

    question: str
    answer: str  # the model's text
    answer_html: str
    overlay: Image.Image
    record: dict = field(default_factory=dict)  # as answer.json: parsed answer, masks with phrase, concept, bbox, area


def concept_choices() -> list[str]:
    """Every FICT concept for the region tasks' dropdown: ``"id: name (synonyms)"``."""
    fict = load_fict()
    return [f"{c.id}: {c.name}" + (f" ({', '.join(c.synonyms)})" if c.synonyms else "") for c in fict if c.id != "image"]


def concept_from_choice(choice: str | None) -> str | None:
    """The FICT id, name or synonym a dropdown choice or a typed value names."""
    if not choice or not choice.strip():
        return None
    return choice.split(":", 1)[0].strip() if ":" in choice else choice.strip()


def _loaded_model(path: str) -> FiFaModel:
    """The checkpoint at ``path`` (a checked folder), loaded once and kept until its config file changes."""
    infer = _infer()
    return _load(str(Path(path).resolve()), (Path(path) / infer.CONFIG_FILE).stat().st_mtime_ns)


@lru_cache(maxsize=1)
def _load(path: str, stamp: int) -> FiFaModel:
    return _infer().load_checkpoint(path)


def ask_photo(model_path: str, photo: str, task: str = "age", *, concept: str | None = None, box: str | None = None,
              question: str | None = None, max_new_tokens: int = 128) -> AskView:
    """Ask the checkpoint at ``model_path`` about ``photo``; bad inputs raise `infer.InferError` with the command's message."""
    infer = _infer()
    if not model_path:
        raise infer.InferError("--model: no checkpoint folder given (model/sft.py's output)")
    infer.check_model_folder(model_path)  # the cheap checks first, as the command makes them
    if not photo:
        raise infer.InferError("--image: no photo given; upload a face photo")
    box = box.strip() if box and box.strip() else None
    if box is not None and task not in BOX_QUERY_TASKS:
        box = None  # a box left over from a box task; only the box tasks read it
    concept = concept_from_choice(concept) if task in REGION_TASKS else None
    question = question.strip() if question and question.strip() else None
    row, rgb = infer.task_row(photo, task, box=box, concept=concept, question=question)
    model = _loaded_model(model_path)
    infer.check_model_task(model, model_path, task)
    answer, text = infer.ask_model(model, row, max_new_tokens=max_new_tokens)
    record = infer.answer_record(row, Path(photo).name, answer, text)
    record["masks"] = [{k: v for k, v in m.items() if k != "rle"} for m in record["masks"]]  # the page shows no RLE
    asked = record["question"]
    return AskView(asked, answer.text, grounded_html(text), render_age(rgb, text, answer.masks, title=asked), record)
