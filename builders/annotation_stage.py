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

from builders.pair_rows import pair_row
from fifa_data.annotate.guard import GuardCounts
from fifa_data.annotate.reliability import Reliability
from fifa_data.annotate.source import AnnotateSettings, annotate_source, mask_kinds
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sources import PairRef

__all__ = ["UnitResult", "WorkUnit", "annotate_unit", "annotate_units", "plan_units"]


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
    mask_modes: Counter = field(default_factory=Counter)  # the accepted fakes' `mask_kinds`
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
    """Annotate one unit's pairs (`annotate_source`) and keep every requested config's rows and the counts."""
    result = UnitResult(unit.split)
    annotated = annotate_source(unit.refs, settings, writer=writer, guard=result.guard, reliability=result.reliability,
                                fakes_per_real={unit.refs[0].real_path: unit.fakes_per_real}, real_rows=unit.first)
    real = None
    for out in annotated:
        img = out.item
        if isinstance(img, Reject):
            result.rejects.append(img)
            continue
        if img.label == "real":
            real = img
            if not unit.first:
                continue
        result.task_rows.append([row for task in settings.tasks for row in out.rows[task]])
        if img.label == "fake" and img.unlocalised:
            result.image_level[img.unlocalised.reason] += 1
        elif img.label == "fake":
            result.accepted += 1
            result.manipulations[img.manipulation or "unknown"] += 1
            result.mask_modes.update(mask_kinds(img))
            result.concepts.update(img.decisions.manipulated)
            if settings.with_pairs:
                result.pair_rows.append(pair_row(img, real.image if real is not None else None, out.ref, settings.annotator.evidence))
    return result


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
