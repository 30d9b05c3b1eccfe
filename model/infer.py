"""Ask a FiFa-MLLM checkpoint one FiFa-11 question about a face photo and save its answer, masks and an overlay.

    python model/infer.py --model OUT --image PHOTO [--task age] [--box x0,y0,x1,y1 | --concept ID] \\
        [--question TEXT] [--max-new-tokens 256] --out DIR

``--task`` is one of the FiFa-11 tasks (default ``age``). The box tasks (``bdet``, ``bexp``) need
``--box``: pixels of the photo as a viewer shows it (EXIF orientation applied), x1 and y1
exclusive. The region tasks (``rdet``, ``rexp``, ``rseg``) need ``--concept``: a FICT concept id
(``nose``, ``lips.upper``) or its name or synonym; its mask on this face is the model's region
input. The question is the task's first dataset phrasing unless ``--question`` gives another
(``{box}`` and ``{concept}`` in it are filled in).

The answer is printed and ``DIR`` gets ``mask_<i>.png`` per ``[SEG]`` (in order, 255 inside),
``overlay.png`` (the masks on the photo beside the answer, each phrase in its mask's colour) and
``answer.json`` (``task``, ``question``, ``image``, ``answer``, ``parsed``: the FiFa-Bench parse of
the answer, and ``masks``: per ``[SEG]`` its file, phrase, concept, bbox, area and COCO RLE).
Bad inputs (a missing model or photo, no face, a box outside the photo, an unknown concept...)
end with one ``error:`` line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import sys
from pathlib import Path

from fifa_data import cli

cli.guard_start(__name__)  # Ctrl-C from here on: one line, exit 130

import numpy as np
from PIL import Image

from fifa_data.core import masks as masklib
from fifa_data.core.fict import FICT, load_fict
from fifa_data.core.grammar import conjugate, is_plural
from fifa_data.core.images import ImageLoadError, load_image_file
from fifa_data.core.schema import BOX_QUERY_TASKS, REGION_TASKS, SEG_TASKS, TASKS, PlainImage, box_text, make_row
from fifa_data.faces.concepts import concept_masks
from fifa_data.faces.detect import Face, NoFaceError, analyze_face
from fifa_data.outputs import check_output, staged_output
from fifa_data.scoring.parse import ParsedAnswer, parse_answer
from fifa_data.tasks.questions import QUESTIONS
from fifa_data.viz import render_age
from model.generation import Answer, generate, load_for_inference
from model.modeling import CONFIG_FILE, SEG, FiFaModel, check_model_folder  # noqa: F401 (CONFIG_FILE: the Explorer reads it here)

ANSWER_FILE = "answer.json"  # marks a folder as an answer of this command
_SPELLED_SEG = re.compile(r"\[\s*seg\s*\]", re.IGNORECASE)


class InferError(cli.UsageError):
    """A bad input; the message names the file or value and the reason (printed as one ``error:`` line)."""


# --- checking the inputs ----------------------------------------------------------------------


def check_task_inputs(task: str, box: str | None, concept: str | None) -> None:
    """``--box`` goes with the box tasks and ``--concept`` with the region tasks, each required there."""
    if box is not None and task not in BOX_QUERY_TASKS:
        raise InferError(f"--box is only for the box tasks {', '.join(BOX_QUERY_TASKS)} (got --task {task})")
    if concept is not None and task not in REGION_TASKS:
        raise InferError(f"--concept is only for the region tasks {', '.join(REGION_TASKS)} (got --task {task})")
    if box is None and task in BOX_QUERY_TASKS:
        raise InferError(f"--task {task} needs --box x0,y0,x1,y1 (pixels of the photo)")
    if concept is None and task in REGION_TASKS:
        raise InferError(f"--task {task} needs --concept ID (a FICT concept such as nose)")


def parse_box(text: str) -> list[float]:
    """``x0,y0,x1,y1`` as four finite numbers with x1 > x0 and y1 > y0."""
    try:
        box = [float(v) for v in text.split(",")]
    except ValueError:
        box = []
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise InferError(f"--box {text!r}: expected four numbers x0,y0,x1,y1")
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        raise InferError(f"--box {text!r}: empty box (x1 must exceed x0 and y1 must exceed y0)")
    return box


def check_box_inside(box: list[float], width: int, height: int, text: str) -> None:
    """The box must lie within the ``width x height`` photo."""
    x0, y0, x1, y1 = box
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise InferError(f"--box {text!r}: outside the {width}x{height} image (need 0 <= x0 < x1 <= {width}, 0 <= y0 < y1 <= {height})")


def resolve_concept(text: str, fict: FICT) -> str:
    """The FICT id that ``text`` (an id, name or synonym) names; close ids are suggested otherwise."""
    try:
        return fict.lookup(text).id
    except KeyError:
        pass
    by_text = {c.id: c.id for c in fict} | {w.lower(): c.id for c in fict for w in (c.name, *c.synonyms)}
    close = dict.fromkeys(by_text[m] for m in difflib.get_close_matches(text.strip().lower(), list(by_text), n=6))
    hint = f"; did you mean {', '.join(list(close)[:3])}?" if close else ""
    raise InferError(f"--concept {text!r}: not a FICT concept id, name or synonym{hint}")


def load_photo(path: str) -> tuple[bytes, np.ndarray]:
    """The file's bytes, unchanged, and its upright RGB pixels."""
    try:
        return load_image_file(path)
    except ImageLoadError as err:
        raise InferError(str(err)) from None


def find_face(path: str, rgb: np.ndarray) -> Face:
    """The photo's largest face; FiFa only answers about faces."""
    try:
        return analyze_face(rgb)
    except NoFaceError as err:
        raise InferError(f"{path}: {err}") from None


def query_mask(rgb: np.ndarray, face: Face, concept_id: str, path: str) -> dict:
    """The queried concept's mask on this face as COCO RLE (the region input of rdet / rexp / rseg)."""
    mask = concept_masks(rgb, face).mask(concept_id)
    if not mask.any():
        raise InferError(f"--concept {concept_id!r}: not visible in the face of {path}")
    return masklib.encode(mask)


def load_model(path: str, task: str) -> FiFaModel:
    """The checkpoint, on the GPU if there is one, checked to know ``task``."""
    model = load_checkpoint(path)
    check_model_task(model, path, task)
    return model


def load_checkpoint(path: str) -> FiFaModel:
    """The checkpoint, on the GPU if there is one; a broken or partial one is an :class:`InferError`."""
    try:
        return load_for_inference(path)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as err:
        raise InferError(f"--model {path}: cannot load the checkpoint: {err}") from None


def check_model_task(model: FiFaModel, path: str, task: str) -> None:
    """The checkpoint at ``path`` was trained for ``task``."""
    if task not in model.fifa_config.tasks:
        raise InferError(f"--model {path}: not trained for task {task} (its tasks: {', '.join(model.fifa_config.tasks)})")


# --- the question and the row -----------------------------------------------------------------


def make_question(task: str, question: str | None, *, box: list[float] | None = None, concept_name: str | None = None) -> str:
    """``question`` (default: the task's first phrasing) with ``{box}``, ``{concept}`` and the verbs
    that agree with the concept (``{Have}``, ``{be}`` ...) filled in."""
    text = QUESTIONS[task][0] if question is None else question
    if box is not None:
        text = text.replace("{box}", box_text(box))
    if concept_name is not None:
        text = conjugate(text, is_plural(concept_name)).replace("{concept}", concept_name)
    text = " ".join(text.split())
    if not text:
        raise InferError("--question: empty question")
    if _SPELLED_SEG.search(text):
        raise InferError(f"--question {question!r}: must not contain {SEG}, which only answers hold")
    return text


def build_row(
    task: str,
    image_bytes: bytes,
    image_name: str,
    question: str,
    *,
    box: list[float] | None = None,
    concept_id: str | None = None,
    concept_rle: dict | None = None,
) -> dict:
    """One FiFa task row with the user turn only, as :func:`model.generation.generate` reads it."""
    image = PlainImage(image_bytes, image_name, Path(image_name).stem)
    return make_row(image, task, question, None, boxes=[box] if box is not None else None, query_concept=concept_id, query_mask=concept_rle)


# --- the answer -------------------------------------------------------------------------------


def grounded_text(answer: Answer, model: FiFaModel) -> str:
    """The answer with ``[SEG]`` written only where a ``[SEG]`` token (and so a mask) is.

    Normally the answer's own text; a model may also spell ``[SEG]`` out of ordinary tokens, and
    those spellings (no mask) lose their brackets, so the i-th ``[SEG]`` of the text is the i-th mask.
    """
    if parse_answer("age", answer.text).segs == len(answer.masks) == answer.text.count(SEG):
        return answer.text
    pieces: list[list[int]] = [[]]
    for token in answer.token_ids:
        if token == model.seg_token_id:
            pieces.append([])
        else:
            pieces[-1].append(token)
    decode = model.processor.tokenizer.decode
    return SEG.join(_SPELLED_SEG.sub("SEG", decode(p, skip_special_tokens=False)) for p in pieces).strip()


def mask_records(masks: list[np.ndarray], grounding: ParsedAnswer) -> list[dict]:
    """Per mask: its file, the phrase of its ``[SEG]``, the concept that phrase names, bbox, area and RLE."""
    concept_of = dict(zip(grounding.phrases, grounding.phrase_concepts))
    records = []
    for i, mask in enumerate(masks):
        phrase = grounding.seg_phrases[i] if i < len(grounding.seg_phrases) else None
        rle = masklib.encode(mask)
        records.append(
            {
                "file": f"mask_{i + 1}.png",
                "phrase": phrase,
                "concept": concept_of.get(phrase) if phrase else None,
                "bbox": masklib.bbox(rle),
                "area": int(mask.sum()),
                "rle": rle,
            }
        )
    return records


def answer_record(row: dict, image_path: str, answer: Answer, text: str) -> dict:
    """``answer.json``'s record: the task, question, image, answer, its FiFa-Bench parse and per mask its phrase and concept.

    ``text`` is :func:`grounded_text`: the answer whose ``[SEG]`` tokens match the masks one to one.
    """
    task, question = row["task"], row["messages"][0]["content"][1]["text"]
    grounding = parse_answer(task if task in SEG_TASKS else "age", text)  # [SEG] phrases in any task
    return {
        "task": task,
        "question": question,
        "image": image_path,
        "answer": answer.text,
        "parsed": parse_answer(task, answer.text).to_dict(),
        "masks": mask_records(answer.masks, grounding),
    }


def write_outputs(out: Path, rgb: np.ndarray, row: dict, image_path: str, answer: Answer, text: str, *, overwrite: bool = False) -> dict:
    """Write the mask PNGs, ``overlay.png`` and ``answer.json`` as the folder ``out``; returns the JSON record.

    ``text`` is :func:`grounded_text`: the answer whose ``[SEG]`` tokens match the masks one to one.
    """
    record = answer_record(row, image_path, answer, text)
    question = record["question"]
    with staged_output(out, ANSWER_FILE, overwrite=overwrite) as staging:  # no mask of an earlier answer stays
        for mask, entry in zip(answer.masks, record["masks"]):
            Image.fromarray(mask.astype(np.uint8) * 255).save(staging / entry["file"])
        render_age(rgb, text, answer.masks, title=question).save(staging / "overlay.png")
        (staging / ANSWER_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return record


# --- the command ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; only the task's choices are checked here, the rest by :func:`prepare`."""
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a FiFa-MLLM checkpoint folder (model/sft.py's output)")
    parser.add_argument("--image", required=True, help="a face photo (any format Pillow reads)")
    parser.add_argument("--task", default="age", choices=TASKS, help="the FiFa-11 task (default: age)")
    parser.add_argument(
        "--box", action=cli.ListAction, metavar="X", help="bdet / bexp: the query box x0,y0,x1,y1 (or x0 y0 x1 y1) in pixels (x1, y1 exclusive)"
    )
    parser.add_argument("--concept", help="rdet / rexp / rseg: the queried FICT concept, an id such as nose or a name")
    parser.add_argument("--question", help="the question (default: the task's first phrasing); {box} and {concept} are filled in")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="longest answer in tokens (default: 256)")
    parser.add_argument("--out", required=True, help="output folder, created if missing; an earlier answer there is replaced")
    parser.add_argument("--overwrite", action="store_true", help="replace --out even if it holds files that FiFa did not write")
    cli.add_progress_argument(parser)
    args = parser.parse_args(argv)
    args.box = ",".join(args.box) if args.box is not None else None  # the text parse_box reads, as the Explorer sends it
    cli.configure_progress(args.no_progress)
    return args


def task_row(image: str, task: str, *, box: str | None = None, concept: str | None = None, question: str | None = None) -> tuple[dict, np.ndarray]:
    """Check a question's inputs and build its task row; returns the row and the photo's RGB pixels.

    ``box`` is ``x0,y0,x1,y1`` text and ``concept`` a FICT id, name or synonym, as on the command
    line; every bad input raises :class:`InferError`. The command and FiFa Explorer both ask through here.
    """
    check_task_inputs(task, box, concept)
    query_box = parse_box(box) if box is not None else None
    fict = load_fict()
    concept_id = resolve_concept(concept, fict) if concept is not None else None
    image_bytes, rgb = load_photo(image)
    if query_box is not None:
        check_box_inside(query_box, rgb.shape[1], rgb.shape[0], box)
    face = find_face(image, rgb)
    concept_rle = query_mask(rgb, face, concept_id, image) if concept_id is not None else None
    name = fict[concept_id].name if concept_id is not None else None
    text = make_question(task, question, box=query_box, concept_name=name)
    row = build_row(task, image_bytes, Path(image).name, text, box=query_box, concept_id=concept_id, concept_rle=concept_rle)
    return row, rgb


def ask_model(model: FiFaModel, row: dict, *, max_new_tokens: int = 256) -> tuple[Answer, str]:
    """The model's answer to ``row`` and its :func:`grounded_text` (one ``[SEG]`` per mask)."""
    result = generate(model, [row], max_new_tokens=max_new_tokens)[0]
    return result, grounded_text(result, model)


def prepare(args: argparse.Namespace) -> tuple[dict, np.ndarray]:
    """Check every input and build the task row; returns it and the photo's RGB pixels."""
    check_task_inputs(args.task, args.box, args.concept)
    if args.max_new_tokens < 1:
        raise InferError(f"--max-new-tokens {args.max_new_tokens}: must be at least 1")
    check_output(args.out, ANSWER_FILE, overwrite=args.overwrite)
    check_model_folder(args.model)
    return task_row(args.image, args.task, box=args.box, concept=args.concept, question=args.question)


@cli.command
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    row, rgb = prepare(args)
    model = load_model(args.model, args.task)
    result, grounded = ask_model(model, row, max_new_tokens=args.max_new_tokens)
    out = Path(args.out)
    record = write_outputs(out, rgb, row, args.image, result, grounded, overwrite=args.overwrite)
    text = " ".join(result.text.split())
    if not record["parsed"]["ok"]:
        problems = "; ".join(record["parsed"]["problems"])
        print(f"answer (not a well-formed {args.task} answer: {problems}): {text or '(empty)'}")
    elif not any(c.isalnum() for c in text):
        print(f"answer (no words: the checkpoint may need more training): {text or '(empty)'}")
    else:
        print(f"answer: {text}")
    print(f"wrote {len(record['masks'])} mask(s), overlay.png and {ANSWER_FILE} to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
