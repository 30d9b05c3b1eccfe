"""Stage 1 of a build: annotate every pair once and cut the rows of every config from it.

Every config is cut from the same annotation (an AGE row and a det row of a fake share its mesh,
artifact mask, decisions and text), so the annotator runs once per pair, here. Work is planned in
units of one real image and up to ``chunk`` of its fakes; units run in worker processes with
``num_proc > 1``, and results are consumed in plan order, so the build's bytes do not depend on
``num_proc``. A unit's result holds its ``tasks`` rows image by image and its ``pairs`` rows
(which share one real image), the groups :mod:`builders.parquet` keeps within a row group.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from fifa_data.annotate.guard import GuardCounts
from fifa_data.annotate.pipeline import AnnotatedImage, AnnotatorConfig, annotate
from fifa_data.annotate.reliability import Reliability, score_pair
from fifa_data.annotate.writers import WriterSpec
from fifa_data.images import ImageLoadError, load_mask_file
from fifa_data.pairs import PairRef
from fifa_data.rejects import Reject
from fifa_data.schema import TASKS
from fifa_data.tasks import TaskConfig, task_rows
from fifa_data.validation import ValidationConfig, fit_mask, load_pairs

from .rows import pair_row

WARPED = "warped"  # `mask_modes` key: accepted fakes read as warps, whose moved pixels joined the mask
RESAVED = "resaved"  # `mask_modes` key: accepted fakes whose mask was computed against their real saved as the fake was


@dataclass(frozen=True)
class AnnotateSettings:
    """Everything a worker needs besides its pairs; part of the build parameters."""

    annotator: AnnotatorConfig = AnnotatorConfig()
    validation: ValidationConfig = ValidationConfig()
    tasks: tuple[str, ...] = TASKS
    task_config: TaskConfig = TaskConfig()
    with_pairs: bool = True
    writer: WriterSpec = WriterSpec()


@dataclass(frozen=True)
class WorkUnit:
    """One real image and some of its fakes; ``first`` units also emit the real image's rows."""

    refs: tuple[PairRef, ...]
    split: str
    first: bool
    fakes_per_real: int


@dataclass
class UnitResult:
    """The rows of every config for one unit, and what happened to its pairs."""

    split: str
    task_rows: list[list[dict]] = field(default_factory=list)  # one list per image: its rows of every task, in task order
    pair_rows: list[dict] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    guard: GuardCounts = field(default_factory=GuardCounts)
    accepted: int = 0
    image_level: Counter = field(default_factory=Counter)  # fakes kept for det and cls only, by why
    manipulations: Counter = field(default_factory=Counter)
    mask_modes: Counter = field(default_factory=Counter)  # the accepted fakes' artifact masks: computed (the mode) or given, and WARPED
    concepts: Counter = field(default_factory=Counter)
    reliability: Reliability = field(default_factory=Reliability)  # pairs whose manifest gives the edit mask


def plan_units(refs: Sequence[PairRef], splits: dict[str, str], chunk: int = 16) -> list[WorkUnit]:
    """Group pairs by real image (in order of first appearance) and cut each group into chunks."""
    groups: dict[tuple[str, str], list[PairRef]] = {}
    for ref in refs:
        groups.setdefault((str(ref.root), ref.real_path), []).append(ref)
    units = []
    for group in groups.values():
        for start in range(0, len(group), chunk):
            part = tuple(group[start : start + chunk])
            units.append(WorkUnit(part, splits[part[0].source_id], start == 0, len(group)))
    return units


def annotate_unit(unit: WorkUnit, settings: AnnotateSettings, writer) -> UnitResult:
    """Annotate one unit's pairs and cut every requested config's rows from them."""
    result = UnitResult(unit.split)
    by_id = {ref.pair_id: ref for ref in unit.refs}
    real: AnnotatedImage | None = None
    stream = annotate(load_pairs(unit.refs, settings.validation), writer, settings.annotator, result.guard)
    for img in stream:
        if isinstance(img, Reject):
            result.rejects.append(img)
            if img.pair_id in by_id:
                _score(result, None, by_id[img.pair_id], real, settings)
            continue
        if img.label == "real":
            real = img
            if not unit.first:
                continue
        repeats = unit.fakes_per_real if img.label == "real" else 1
        rows = task_rows(img, settings.tasks, settings.task_config, seed=settings.annotator.seed, real_repeats=repeats)
        result.task_rows.append([row for task in settings.tasks for row in rows[task]])
        if img.label == "fake":
            _score(result, img, by_id[img.pair_id], real, settings)
        if img.label == "fake" and img.unlocalised:
            result.image_level[img.unlocalised.reason] += 1
        elif img.label == "fake":
            result.accepted += 1
            result.manipulations[img.manipulation or "unknown"] += 1
            result.mask_modes[img.mask_params["mode"]] += 1
            if img.mask_params["mode"] != "given":  # how a computed mask was made
                if (img.mask_params.get("motion") or {}).get("warped"):
                    result.mask_modes[WARPED] += 1
                if img.mask_params.get("reference") == "resaved":
                    result.mask_modes[RESAVED] += 1
            result.concepts.update(img.decisions.manipulated)
            if settings.with_pairs:
                result.pair_rows.append(pair_row(img, real.image, by_id[img.pair_id], settings.annotator.evidence))
    return result


def _score(result: UnitResult, fake: AnnotatedImage | None, ref: PairRef, real: AnnotatedImage | None, settings: AnnotateSettings) -> None:
    """Add a pair to the unit's reliability figures when its source knows the truth: the simulator's
    edit mask, else the mask the source gives (a pair whose given mask cannot be read is a reject only)."""
    truth = ref.edit_mask
    if truth is None and ref.mask_file is not None:
        try:
            truth = load_mask_file(ref.mask_file, max_pixels=settings.validation.max_pixels)
        except ImageLoadError:
            return
    if truth is None:
        return
    concepts = fake.concept_masks if fake is not None else real.concept_masks if real is not None else None
    if concepts is not None:
        truth = fit_mask(truth, concepts.labels.shape)
    annotator = settings.annotator
    result.reliability.add(score_pair(fake, truth, ref.manipulation, concepts, annotator.decision, annotator.evidence))


def annotate_units(units: Sequence[WorkUnit], settings: AnnotateSettings, num_proc: int = 1) -> Iterator[UnitResult]:
    """`annotate_unit` over every unit, in order; ``num_proc > 1`` runs them in worker processes."""
    if num_proc <= 1:
        writer = settings.writer.make()
        for unit in units:
            yield annotate_unit(unit, settings, writer)
        return
    # spawn, not fork: the parent may already hold mediapipe's TFLite threads. The workers ignore
    # Ctrl-C from birth (a terminal sends it to all of them): the parent alone handles it and
    # terminates the pool, so no worker dies half-way and leaves the pool waiting for its result.
    context = multiprocessing.get_context("spawn")
    with _sigint_ignored():
        pool = context.Pool(num_proc, initializer=_init_worker, initargs=(settings,))
    try:
        yield from pool.imap(_run_in_worker, units, chunksize=1)
        pool.close()
    finally:
        pool.terminate()  # also when the consumer stops early (an interrupt, an error, `close()`)
        pool.join()


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while the block starts processes (they inherit it); a no-op off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


_worker: dict = {}


def _init_worker(settings: AnnotateSettings) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker["settings"] = settings
    _worker["writer"] = settings.writer.make()


def _run_in_worker(unit: WorkUnit) -> UnitResult:
    return annotate_unit(unit, _worker["settings"], _worker["writer"])
