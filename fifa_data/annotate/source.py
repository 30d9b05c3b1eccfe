"""`annotate_source`: the one path from pairs to annotated images and their FiFa-11 rows.

The build, ``scripts/annotate.py``, the Explorer and the benches all call it, so they validate,
annotate, write the task rows and score the annotations against a known truth the same way:
pairs are loaded and checked (:mod:`fifa_data.pairs.loading`), annotated
(:mod:`fifa_data.annotate.pipeline`), cut into rows (:mod:`fifa_data.tasks`), and, where the
source knows the truth (the simulator's edit mask, or a mask the source ships), scored
(:mod:`fifa_data.annotate.reliability`).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from fifa_data.annotate.guard import GuardCounts
from fifa_data.annotate.pipeline import AnnotatedImage, AnnotatorConfig, annotate
from fifa_data.annotate.reliability import Reliability, score_pair
from fifa_data.annotate.writers import WriterSpec
from fifa_data.core.images import ImageLoadError, load_mask_file
from fifa_data.core.schema import TASKS
from fifa_data.pairs.loading import PairChecks, fit_mask, load_pairs
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sources import PairRef, PairSource, open_source
from fifa_data.tasks import TaskConfig, task_rows

WARPED = "warped"  # `mask_kinds`: an accepted fake read as a warp, whose moved pixels joined the mask
RESAVED = "resaved"  # `mask_kinds`: an accepted fake whose mask was computed against its real saved as the fake was


@dataclass(frozen=True)
class AnnotateSettings:
    """How to annotate a source: pair checks, annotator, writer and the tasks to write; part of a build's parameters."""

    annotator: AnnotatorConfig = AnnotatorConfig()
    checks: PairChecks = PairChecks()
    tasks: tuple[str, ...] = TASKS
    task_config: TaskConfig = TaskConfig()
    with_pairs: bool = True  # the build also writes the `pairs` config's rows
    writer: WriterSpec = WriterSpec()


@dataclass(frozen=True)
class Annotated:
    """One item out of `annotate_source`: an annotated image (a fake, or a real before its first fake) or a reject."""

    item: AnnotatedImage | Reject
    rows: dict[str, list[dict]] = field(default_factory=dict)  # task -> validated rows; empty for a reject or a skipped real
    ref: PairRef | None = None  # the pair of a fake or of a reject, when the source gave one

    @property
    def accepted(self) -> bool:
        """A fake whose edit was localised: it serves every task."""
        return isinstance(self.item, AnnotatedImage) and self.item.label == "fake" and self.item.unlocalised is None


def annotate_source(
    source: str | os.PathLike | PairSource | Iterable[PairRef],
    settings: AnnotateSettings = AnnotateSettings(),
    *,
    writer=None,
    guard: GuardCounts | None = None,
    reliability: Reliability | None = None,
    fakes_per_real: Mapping[str, int] | None = None,
    real_rows: bool = True,
    batch_size: int = 16,
) -> Iterator[Annotated]:
    """Annotate every pair of ``source`` (a path, a `PairSource` or its `PairRef`s) and write its task rows.

    A source's own rejects come first, then the pairs in order; every real image comes out once,
    before its first fake, with its rows unless ``real_rows`` is False. ``fakes_per_real`` (real
    path → its number of fakes, counted from ``source`` when not given) sets how often det and cls
    repeat a real image. ``reliability`` collects every pair whose truth the source knows, ``guard``
    the consistency guard's counts. ``writer`` defaults to ``settings.writer.make()``.
    """
    refs, source_rejects = _refs_of(source)
    for reject in source_rejects:
        yield Annotated(reject)
    counts = Counter(ref.real_path for ref in refs) if fakes_per_real is None else fakes_per_real
    by_id = {ref.pair_id: ref for ref in refs}
    writer = writer if writer is not None else settings.writer.make()
    real: AnnotatedImage | None = None
    stream = annotate(load_pairs(refs, settings.checks), writer, settings.annotator, guard, batch_size=batch_size)
    for img in stream:
        if isinstance(img, Reject):
            ref = by_id.get(img.pair_id)
            if reliability is not None and ref is not None:
                _score(reliability, None, ref, real, settings)
            yield Annotated(img, ref=ref)
            continue
        if img.label == "real":
            real = img
            if not real_rows:
                yield Annotated(img)
                continue
        repeats = counts.get(img.image_path, 1) if img.label == "real" else 1
        rows = task_rows(img, settings.tasks, settings.task_config, seed=settings.annotator.seed, real_repeats=repeats)
        ref = by_id.get(img.pair_id) if img.label == "fake" else None
        if reliability is not None and ref is not None:
            _score(reliability, img, ref, real, settings)
        yield Annotated(img, rows, ref)


def mask_kinds(img: AnnotatedImage) -> list[str]:
    """How an accepted fake's artifact mask was made: its mode (or ``given``), plus `WARPED` and `RESAVED` when they apply."""
    params = img.mask_params
    kinds = [params["mode"]]
    if params["mode"] != "given":
        if (params.get("motion") or {}).get("warped"):
            kinds.append(WARPED)
        if params.get("reference") == "resaved":
            kinds.append(RESAVED)
    return kinds


def _refs_of(source) -> tuple[list[PairRef], list[Reject]]:
    if isinstance(source, (str, os.PathLike)):
        source = open_source(source)
    if isinstance(source, PairSource):
        return source.scan()
    return list(source), []


def _score(reliability: Reliability, fake: AnnotatedImage | None, ref: PairRef, real: AnnotatedImage | None, settings: AnnotateSettings) -> None:
    """Add a pair to the reliability figures when its source knows the truth: the simulator's edit mask,
    else the mask the source gives (a pair whose given mask cannot be read is a reject only)."""
    truth = ref.edit_mask
    if truth is None and ref.mask_file is not None:
        try:
            truth = load_mask_file(ref.mask_file, max_pixels=settings.checks.max_pixels)
        except ImageLoadError:
            return
    if truth is None:
        return
    concepts = fake.concept_masks if fake is not None else real.concept_masks if real is not None else None
    if concepts is not None:
        truth = fit_mask(truth, concepts.labels.shape)
    annotator = settings.annotator
    reliability.add(score_pair(fake, truth, ref.manipulation, concepts, annotator.decision, annotator.evidence))
