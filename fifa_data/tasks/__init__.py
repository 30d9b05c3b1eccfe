"""FiFa-11: the eleven instruction-tuning tasks, as rows of one shared schema.

``task_rows(img, ...)`` runs every task's generator (:mod:`.generators`, with the phrasings of
:mod:`.questions`) on one annotated image and checks each row (:mod:`.check`); the schema is in
:mod:`fifa_data.core.schema`. It imports ``core`` and the annotator's output (`AnnotatedImage`, the
writers' concept words); never ``pairs`` or ``scoring``.
"""

from __future__ import annotations

import hashlib

import numpy as np

from fifa_data.annotate.pipeline import AnnotatedImage
from fifa_data.core.fict import ConceptFinder, finder_for
from fifa_data.core.schema import COLUMNS, IMAGE_LEVEL_TASKS, TASKS, answer_of, make_row, question_of
from fifa_data.tasks.check import RowError, check_row
from fifa_data.tasks.generators import GENERATORS, TaskConfig

__all__ = ["COLUMNS", "TASKS", "RowError", "TaskConfig", "answer_of", "make_row", "question_of", "task_rows", "check_row"]


def task_rows(
    img: AnnotatedImage,
    tasks: tuple[str, ...] = TASKS,
    config: TaskConfig = TaskConfig(),
    seed: int = 0,
    real_repeats: int = 1,
    finder: ConceptFinder | None = None,
) -> dict[str, list[dict]]:
    """Rows of each task for one image, validated; the same image and seed give the same rows.

    ``real_repeats`` is the number of fakes of a real image (det and cls repeat it that many
    times, capped at ``config.max_real_repeats``); it is ignored for fakes. A fake whose edit
    could not be localised (``img.unlocalised``) gets rows of the image-level tasks only.
    """
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"unknown tasks {sorted(unknown)}; known: {', '.join(TASKS)}")
    fict = img.concept_masks.fict
    finder = finder or finder_for(fict)
    repeats = min(max(real_repeats, 1), config.max_real_repeats) if img.label == "real" else 1
    out: dict[str, list[dict]] = {}
    for task in tasks:
        if img.unlocalised and task not in IMAGE_LEVEL_TASKS:
            out[task] = []  # no mask, no text: the fake serves det and cls only
            continue
        rng = np.random.default_rng([seed, _stable_int(f"{task}\0{img.image_id}")])
        generate = GENERATORS[task]
        rows = generate(img, rng, config, repeats) if task in ("det", "cls") else generate(img, rng, config)
        for row in rows:
            check_row(row, fict, finder, img.size)
        out[task] = rows
    return out


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "little")
