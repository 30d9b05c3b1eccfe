"""FiFa-Bench prediction files: what any system hands to the scorer (:func:`fifa_data.scoring.score.score`).

A prediction file is JSON Lines (UTF-8): one JSON object per line, one line per benchmark row::

    {"id": "age-11b470f087dfada5-0", "answer": "<p>The lips</p> [SEG] look redder.", "masks": [{"size": [600, 512], "counts": "..."}]}
    {"id": "det-11b470f087dfada5-0", "answer": "Fake."}

``id``
    The ``id`` of the benchmark row answered (the ``bench`` config's ``test`` split). Rows without
    a line are scored as unanswered (wrong / empty), never dropped.
``answer``
    The system's text answer, as it generated it. Grounded tasks (loc, rseg, age) mark each
    segmented region with ``[SEG]`` right after the phrase that names it: ``<p>phrase</p> [SEG]``;
    breg writes its boxes as ``[x0, y0, x1, y1]`` in pixels. The text is parsed by
    :func:`fifa_data.scoring.parse.parse_answer` (see its rules). ``null`` stands for no answer (the
    system failed on that row) and is scored as wrong, as a missing line is.
``masks`` (optional, default ``[]``)
    One COCO RLE per ``[SEG]`` of the answer, in order: ``{"size": [h, w], "counts": ...}`` at the
    image's size (as ``datasets`` decodes it, EXIF orientation applied). ``counts`` is either
    COCO's compressed string (``pycocotools.mask.encode(np.asfortranarray(m.astype(np.uint8)))["counts"].decode()``,
    or :func:`mask_rle`) or COCO's uncompressed list of run lengths (column-major, starting with
    a run of background); both are read, and kept in the compressed string form. ``null`` stands
    for a mask the system could not produce (scored as empty). The scorer pairs the i-th mask
    with the i-th ``[SEG]``: a missing mask is empty, an extra one ignored, and both are reported.
``score`` (optional, det / rdet / bdet)
    The system's confidence that the answer is the positive one ("fake" for det, "yes" for rdet
    and bdet), any real number, higher = more likely; it gives the task's ``auc``. A row without a
    score ranks by its verdict (1 positive, 0 negative, 0.5 none), so hard answers alone give the
    balanced accuracy.

Other keys are ignored. Blank lines are skipped. :func:`read_predictions` never fails on a bad
line: it keeps what it can and reports each problem as ``"FILE:LINE: reason"``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fifa_data.core import masks as masklib

__all__ = ["Prediction", "mask_rle", "normalise_rle", "read_predictions", "write_predictions"]


@dataclass
class Prediction:
    """A system's answer to one benchmark row: its text and one mask (COCO RLE, or None) per ``[SEG]``."""

    id: str
    answer: str | None
    masks: list[dict | None] = field(default_factory=list)
    score: float | None = None  # confidence in the positive answer (det: fake, rdet / bdet: yes)

    def to_json(self) -> dict:
        """The JSON object of a prediction file line, masks as compressed RLE with ``str`` counts."""
        line = {"id": self.id, "answer": self.answer, "masks": [None if m is None else normalise_rle(m) for m in self.masks]}
        return line if self.score is None else line | {"score": self.score}


def mask_rle(mask: np.ndarray) -> dict:
    """Encode a 2-D mask (nonzero = foreground) as the ``{"size": [h, w], "counts": str}`` of a prediction file."""
    return masklib.encode(mask)


def normalise_rle(mask: dict | np.ndarray) -> dict:
    """A mask as compressed RLE with ``str`` counts; takes an array, or an RLE with ``str``, ``bytes`` or list counts.

    Raises ValueError when it is not a valid mask (bad size, counts not covering h*w pixels, ...).
    """
    return masklib.to_rle(mask)


def write_predictions(path: str | os.PathLike, predictions: Iterable[Prediction]) -> None:
    """Write ``predictions`` as a prediction file (one JSON object per line, UTF-8)."""
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(p.to_json(), ensure_ascii=False) + "\n" for p in predictions)


def read_predictions(path: str | os.PathLike) -> tuple[dict[str, Prediction], list[str]]:
    """Read a prediction file: predictions by row id, and its problems as ``"FILE:LINE: reason"``.

    A line that is not valid UTF-8 or JSON, not an object, or has no string ``id`` is skipped; a
    duplicate id keeps the first line; a missing answer or one that is neither a string nor
    null becomes None; a mask that is not a valid RLE becomes None; a ``masks`` that is not a
    list becomes ``[]``; a ``score`` that is not a finite number becomes None. Each is a problem (a null answer or mask is not). A missing file raises
    FileNotFoundError.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"prediction file not found: {path}")
    predictions: dict[str, Prediction] = {}
    first_line: dict[str, int] = {}
    problems: list[str] = []
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            reasons: list[str] = []
            prediction = _parse_line(raw, reasons)
            if prediction is not None and prediction.id in predictions:
                reasons.append(f"duplicate id {prediction.id!r} (the line {first_line[prediction.id]} one is kept)")
            elif prediction is not None:
                predictions[prediction.id] = prediction
                first_line[prediction.id] = number
            problems += [f"{path}:{number}: {reason}" for reason in reasons]
    return predictions, problems


def _parse_line(raw: bytes, reasons: list[str]) -> Prediction | None:
    """One line's prediction (None if the line is blank or unusable); its problems go to ``reasons``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        reasons.append("not UTF-8 text")
        return None
    if not text.strip():
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as error:
        reasons.append(f"not JSON ({error.msg})")
        return None
    if not isinstance(obj, dict):
        reasons.append(f"not a JSON object (a {_json_type(obj)})")
        return None
    if "id" not in obj:
        reasons.append("missing id")
        return None
    if not isinstance(obj["id"], str):
        reasons.append(f"id is not a string (a {_json_type(obj['id'])})")
        return None
    answer = obj.get("answer")
    if "answer" not in obj:
        reasons.append("missing answer")
    elif answer is not None and not isinstance(answer, str):
        reasons.append(f"answer is not a string (a {_json_type(answer)})")
        answer = None
    return Prediction(obj["id"], answer, _read_masks(obj.get("masks", []), reasons), _read_score(obj.get("score"), reasons))


def _read_score(score: object, reasons: list[str]) -> float | None:
    if score is None:
        return None
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        reasons.append(f"score is not a finite number ({json.dumps(score)})")
        return None
    return float(score)


def _read_masks(masks: object, reasons: list[str]) -> list[dict | None]:
    if masks is None:
        return []
    if not isinstance(masks, list):
        reasons.append(f"masks is not a list (a {_json_type(masks)})")
        return []
    out: list[dict | None] = []
    for i, mask in enumerate(masks):
        if mask is None:
            out.append(None)
            continue
        try:
            out.append(normalise_rle(mask))
        except (ValueError, TypeError, OverflowError) as error:
            reasons.append(f"mask {i} is not a valid RLE ({error})")
            out.append(None)
    return out


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
