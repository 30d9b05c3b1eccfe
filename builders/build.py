"""Build the FiFa dataset folder: pairs → annotation (stage 1) → parquet + card, atomically.

:func:`build` writes ``OUT/<folder>/<split>-XXXXX-of-YYYYY.parquet`` for the folders ``fict``,
``pairs`` and ``tasks/<task>`` (:mod:`.configs`), ``OUT/rejects.parquet``, ``OUT/build.json`` (parameters,
counts, bytes, fingerprint) and ``OUT/README.md`` (the card, whose YAML declares every config), so
``load_dataset(OUT, "age")`` works. Rows go to parquet as the annotation produces them
(:mod:`.parquet`); everything is written into ``.OUT.partial`` next to ``OUT`` and moved into
place only when complete.

A slice build (``num_slices=K, slice_index=i``) keeps the real photos whose ``source_id`` hashes to
slice ``i``, names each file ``<split>-{i:05d}-of-{K:05d}[-SSSSS].parquet`` and records in
``_order.parquet`` where each of its rows stands in the whole build. :func:`merge_builds` writes the
K slices' rows back in that order, so the merge is byte for byte the unsliced build.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import multiprocessing
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from itertools import groupby
from operator import itemgetter
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
from datasets.utils.py_utils import convert_file_size_to_int
from tqdm.auto import tqdm

from builders.annotation_stage import WorkUnit, annotate_units, plan_units
from builders.card import render_card
from builders.configs import GROUP_ROWS, MIXES, TABLES, VERSIONS, FiFaFict, folders_of, table_of
from builders.features import REJECT_FEATURES
from builders.parquet import ImageLedger, Layout, TableWriter, stored_image_bytes
from builders.splits import DEFAULT_RATIOS, SPLITS, assign_splits, slice_of
from fifa_data.annotate.guard import GuardCounts
from fifa_data.annotate.reliability import Reliability
from fifa_data.annotate.source import AnnotateSettings
from fifa_data.core.schema import CONFIGS, TASKS
from fifa_data.outputs import staged_output
from fifa_data.pairs.layouts.frames import LayoutOptions
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sources import PairRef, make_pair_id, open_source

SAMPLE_SOURCE = "sample"
BUILD_FILE = "build.json"  # a dataset folder's parameters and counts; marks the folder as a FiFa build
ORDER_FILE = "_order.parquet"  # a slice's row blocks in write order: folder, split, unit (of the whole build's plan), rows, estimated bytes
ORDER_SCHEMA = pa.schema([("folder", pa.string()), ("split", pa.string()), ("unit", pa.int64()), ("rows", pa.int64()), ("bytes", pa.int64())])


class BuildError(ValueError):
    """A build or merge that cannot start as asked (unknown configs, slices that do not belong together)."""


class EmptyBuild(RuntimeError):
    """No pair was accepted: the build writes nothing, unless ``allow_empty`` is set."""


@dataclass(frozen=True)
class BuildOptions:
    """The parameters of a build; all but ``out``, ``num_proc``, ``progress``, ``overwrite`` and ``allow_empty`` are in the card."""

    out: Path = Path("fifa")
    sources: tuple[str, ...] = ()  # pair sources (folders or manifests); empty: the bundled sample
    layout: LayoutOptions = LayoutOptions()  # how --pairs folders are read (layout, frames per video, face crop)
    sample_pairs: int = 100  # pairs simulated for the bundled sample source
    configs: tuple[str, ...] = CONFIGS
    settings: AnnotateSettings = AnnotateSettings()
    limit: int | None = None
    split_ratios: tuple[float, float, float] = DEFAULT_RATIOS
    num_slices: int = 1
    slice_index: int = 0
    max_shard_size: str = "500MB"
    license: str | None = None  # Hub licence id; default: cc0-1.0 for the bundled sample, "other" for your sources
    unit_size: int = 16  # fakes of one real image annotated together
    num_proc: int = 1
    progress: bool | None = None  # tqdm's convention: None shows the bars only on a terminal
    overwrite: bool = False  # replace ``out`` even when it is not a FiFa build
    allow_empty: bool = False  # write a dataset with no accepted pair instead of failing

    def parameters(self) -> dict:
        """The parameters that decide the output (recorded in ``build.json`` and the card)."""
        s = self.settings
        return {
            "sources": list(self.sources) or [SAMPLE_SOURCE],
            "license": self.license or ("other" if self.sources else "cc0-1.0"),
            "sample_pairs": self.sample_pairs if not self.sources else None,
            **({"layout": self.layout.parameters()} if self.sources else {}),
            "configs": list(self.configs),
            "limit": self.limit,
            "split_ratios": list(self.split_ratios),
            "max_shard_size": self.max_shard_size,
            "annotator": s.annotator.to_dict(),
            "pair_checks": {k: getattr(s.checks, k) for k in s.checks.__dataclass_fields__},
            "tasks": s.task_config.to_dict(),
            "writer": {"kind": s.writer.kind, "seed": s.writer.seed, **{k: v for k, v in s.writer.llm if k in ("base_url", "model", "send_real")}},
        }


@dataclass
class BuildReport:
    """What a build did: its folder, the counts (also in ``build.json``) and the time of each stage."""

    out: Path
    stats: dict
    seconds: dict[str, float] = field(default_factory=dict)


def build(options: BuildOptions) -> BuildReport:
    """Build the dataset folder ``options.out`` (see the module docstring)."""
    if not 0 <= options.slice_index < options.num_slices:
        raise BuildError(f"slice index {options.slice_index} is not in 0..{options.num_slices - 1}")
    unknown = set(options.configs) - set(CONFIGS)
    if unknown:
        raise BuildError(f"unknown configs {sorted(unknown)}; known: {', '.join(CONFIGS)}")
    out = Path(options.out)
    seconds: dict[str, float] = {}
    with staged_output(out, BUILD_FILE, overwrite=options.overwrite) as staging:
        stats = _build_into(staging, options, seconds)
        if not stats["accepted"] and not options.allow_empty and options.num_slices == 1:
            raise EmptyBuild(_empty_message(stats))
    return BuildReport(out, stats, seconds)


def _empty_message(stats: dict) -> str:
    sources = ", ".join(s["name"] for s in stats["sources"]) or "the sources"
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(stats["rejected"].items(), key=lambda kv: -kv[1]))
    found = f"no pair accepted of {stats['pairs_in']} (rejected: {reasons})" if stats["pairs_in"] else "no pairs found"
    return f"{sources}: {found}; nothing written (--allow-empty writes the empty dataset and its rejects table)"


def _build_into(staging: Path, options: BuildOptions, seconds: dict[str, float]) -> dict:
    """Every stage of :func:`build`, written into ``staging``; returns the stats of ``build.json``."""
    work = staging / "_work"
    clock = time.perf_counter()

    refs, rejects, sources = _scan(options, work)
    splits, refs, split_rejects = assign_splits(refs, options.split_ratios)
    rejects += split_rejects
    units = plan_units(refs, splits, options.unit_size)  # the whole build's plan: a slice keeps its place in it
    numbers = list(range(len(units)))
    if options.num_slices > 1:
        numbers = _slice_units(units, options.num_slices, options.slice_index)
        rejects = [r for r in rejects if slice_of(_reject_key(r), options.num_slices) == options.slice_index]
    seconds["scan"] = time.perf_counter() - clock

    configs = _needed_configs(options.configs)
    tasks = tuple(t for t in TASKS if t in configs)
    settings = replace(options.settings, tasks=tasks, with_pairs="pairs" in configs)
    clock = time.perf_counter()
    units = {n: units[n] for n in numbers}
    pairs_in = sum(len(u.refs) for u in units.values()) + len(rejects)  # later rejects are pairs of `units`
    counts, shards, ledger, blocks = _annotate(units, settings, options, work / "tables", rejects)
    seconds["annotate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    _write_rejects([r.to_row() for r in rejects], staging / _rejects_name(options))
    if "fict" in configs:
        _write_fict(work, staging)
    for (folder, split), files in sorted(shards.items()):
        _place_shards(files, staging / folder, split, _slice(options))
    if options.num_slices > 1:
        pq.write_table(pa.Table.from_pylist(blocks, schema=ORDER_SCHEMA), staging / ORDER_FILE)
    seconds["parquet"] = time.perf_counter() - clock

    clock = time.perf_counter()
    shutil.rmtree(work)
    stats = {
        "versions": {c: str(VERSIONS[c]) for c in configs},
        "parameters": options.parameters(),
        "sources": sources,
        "slice": [options.slice_index, options.num_slices] if options.num_slices > 1 else None,
        "pairs_in": pairs_in,
        **counts,
        "rejected": dict(sorted(Counter(r.reason for r in rejects).items())),
        **_file_stats(staging, configs, ledger.unique),
    }
    stats["fingerprint"] = fingerprint(staging)
    (staging / BUILD_FILE).write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    render_card(staging, stats, name=Path(options.out).name)
    seconds["card"] = time.perf_counter() - clock
    return stats


def merge_builds(parts: Sequence[str | Path], out: str | Path, *, overwrite: bool = False, num_proc: int = 1) -> BuildReport:
    """Put slice builds of the same parameters together into one dataset folder with one card: the
    bytes of the unsliced build, its shards written in ``num_proc`` processes."""
    parts = [Path(p) for p in parts]
    for part in parts:
        if not (part / BUILD_FILE).is_file():
            raise BuildError(f"{part}: not a FiFa build (no {BUILD_FILE})")
    stats = [json.loads((p / BUILD_FILE).read_text()) for p in parts]
    first = stats[0]
    for part, s in zip(parts, stats):
        if s["parameters"] != first["parameters"] or s["versions"] != first["versions"]:
            raise BuildError(f"{part}: built with other parameters or versions than {parts[0]}; slices must share them")
        if s["versions"] != {config: str(VERSIONS[config]) for config in s["versions"]}:
            raise BuildError(f"{part}: built by another version of FiFa (versions {s['versions']}); build the slices again")
        if s["slice"] is None or s["slice"][1] != len(parts):
            raise BuildError(f"{part}: not one of {len(parts)} slices (build.json slice = {s['slice']})")
        if not (part / ORDER_FILE).is_file():
            raise BuildError(f"{part}: no {ORDER_FILE}, the rows' place in the whole build (a slice of an older FiFa: build it again)")
    indices = sorted(s["slice"][0] for s in stats)
    if indices != list(range(len(parts))):
        raise BuildError(f"slices {indices} given; a merge needs each of 0..{len(parts) - 1} once")
    out = Path(out)
    with staged_output(out, BUILD_FILE, overwrite=overwrite) as staging:
        configs = list(first["versions"])
        in_slice_order = [part for _, part in sorted(zip((s["slice"][0] for s in stats), parts))]
        if "fict" in configs:  # every slice carries the same fict files
            shutil.copytree(in_slice_order[0] / "fict", staging / "fict")
        shards = _plan_shards(in_slice_order, convert_file_size_to_int(first["parameters"]["max_shard_size"]))
        _run_merge_shards(shards, in_slice_order, staging, num_proc)
        rejects = [row for part in in_slice_order for f in sorted(part.glob("rejects*.parquet")) for row in pq.read_table(f).to_pylist()]
        _write_rejects(rejects, staging / "rejects.parquet")
        merged = {
            "versions": first["versions"],
            "parameters": first["parameters"],
            "sources": first["sources"],
            "slice": None,
            "merged_slices": len(parts),
        }
        for key in ("pairs_in", "accepted"):
            merged[key] = sum(s[key] for s in stats)
        for key in ("rejected", "image_level_only", "reliability", "guard", "manipulations", "mask_modes", "concepts"):
            total: Counter = Counter()
            for s in stats:
                total.update(s.get(key) or {})
            merged[key] = dict(sorted(total.items()))
        # a real photo and its fakes are in one slice, so the slices' distinct images are disjoint
        merged.update(_file_stats(staging, configs, sum(s["image_bytes"]["unique"] for s in stats)))
        merged["fingerprint"] = fingerprint(staging)
        (staging / BUILD_FILE).write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
        render_card(staging, merged, name=out.name)
    return BuildReport(out, merged)


@dataclass(frozen=True)
class _Shard:
    """One shard of a merged build: its file, and its blocks as (slice, first row in the slice's
    rows of this folder and split, rows, estimated bytes), in the whole build's order."""

    folder: str
    split: str
    name: str
    blocks: tuple[tuple[int, int, int, int], ...]


def _plan_shards(parts: Sequence[Path], max_shard_bytes: int) -> list[_Shard]:
    """Every shard of the whole build, from the slices' `ORDER_FILE` alone: their blocks in plan
    order, cut into row groups and shards by the `Layout` the build itself follows."""
    placed: dict[tuple[str, str], list[tuple]] = {}
    for k, part in enumerate(parts):
        order = pq.read_table(part / ORDER_FILE)
        start: Counter = Counter()
        for seq, (folder, split, unit, rows, size) in enumerate(zip(*(order.column(name).to_pylist() for name in ORDER_SCHEMA.names))):
            placed.setdefault((folder, split), []).append((unit, seq, k, start[folder, split], rows, size))
            start[folder, split] += rows
    shards = []
    for (folder, split), blocks in sorted(placed.items()):
        layout, cut = Layout(GROUP_ROWS[table_of(folder)], max_shard_bytes), [[]]
        for _, _, k, first, rows, size in sorted(blocks):
            cut[-1].append((k, first, rows, size))
            if layout.add(rows, size)[1]:
                cut.append([])
        cut = [c for c in cut if c]
        shards += [_Shard(folder, split, f"{split}-{i:05d}-of-{len(cut):05d}.parquet", tuple(c)) for i, c in enumerate(cut)]
    return shards


def _write_shard(shard: _Shard, parts: Sequence[Path], staging: Path) -> None:
    """Write one planned shard of a merge from the slices' files."""
    readers: dict[int, _SliceRows] = {}
    table = table_of(shard.folder)
    writer = TableWriter(staging / shard.folder, shard.split, TABLES[table], group_rows=GROUP_ROWS[table], name=shard.name)
    try:
        for k, first, rows, size in shard.blocks:
            if k not in readers:
                readers[k] = _SliceRows(sorted((parts[k] / shard.folder).glob(f"{shard.split}-*.parquet")))
            writer.add_table(readers[k].rows(first, rows), size)
    finally:
        writer.close()


class _SliceRows:
    """A slice's rows of one folder and split, by number, read a row group at a time."""

    def __init__(self, files: Sequence[Path]):
        self._groups, self._starts = [], []
        first = 0
        for file in files:
            metadata = pq.read_metadata(file)
            for g in range(metadata.num_row_groups):
                self._groups.append((file, g))
                self._starts.append(first)
                first += metadata.row_group(g).num_rows
        self._cached: tuple[int, pa.Table] | None = None

    def rows(self, start: int, n: int) -> pa.Table:
        index = bisect.bisect_right(self._starts, start) - 1
        if self._cached is None or self._cached[0] != index:
            file, g = self._groups[index]
            self._cached = (index, pq.ParquetFile(file).read_row_group(g))  # the writer casts to its schema
        offset, group = start - self._starts[index], self._cached[1]
        if offset + n > group.num_rows:
            raise BuildError(f"{self._groups[index][0]}: rows {start}..{start + n} span row groups; not the slice its {ORDER_FILE} describes")
        return group.slice(offset, n)


def _run_merge_shards(shards: Sequence[_Shard], parts: Sequence[Path], staging: Path, num_proc: int) -> None:
    """Write the planned shards, in ``num_proc`` processes: each depends on the plan alone."""
    if num_proc <= 1 or len(shards) <= 1:
        for shard in shards:
            _write_shard(shard, parts, staging)
        return
    with multiprocessing.get_context("spawn").Pool(min(num_proc, len(shards))) as pool:
        jobs = [pool.apply_async(_write_shard, (shard, parts, staging)) for shard in sorted(shards, key=lambda s: -len(s.blocks))]
        for job in jobs:
            job.get()


def fingerprint(folder: str | Path) -> str:
    """sha256 over every parquet file's relative path and bytes: equal fingerprints, equal data."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for file in sorted(folder.rglob("*.parquet")):
        if _internal(file.relative_to(folder)):
            continue
        digest.update(file.relative_to(folder).as_posix().encode() + b"\0")
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _internal(path: Path) -> bool:
    """A build's own bookkeeping (``_work/``, `ORDER_FILE`), not a published file."""
    return any(part.startswith("_") for part in path.parts)


def data_files(folder: str | Path, configs: Sequence[str] = CONFIGS) -> dict[str, dict[str, list[str]]]:
    """The parquet files each config reads, by split, relative to ``folder``: a config's own folder
    (`folders_of`), a mix its tasks' folders of its splits, task by task."""
    folder = Path(folder)
    files: dict[str, dict[str, list[str]]] = {}
    for config in configs:
        for split in MIXES.get(config, SPLITS):
            found = [p.relative_to(folder).as_posix() for own in folders_of(config) for p in sorted((folder / own).glob(f"{split}-*.parquet"))]
            if found:
                files.setdefault(config, {})[split] = found
    return files


# -- stages ---------------------------------------------------------------------------------


def _scan(options: BuildOptions, work: Path) -> tuple[list[PairRef], list[Reject], list[dict]]:
    """Every source's pairs and rejects; with several sources, ids are prefixed by the source's name."""
    paths = list(options.sources)
    if not paths:
        from fifa_data.pairs.sample_source import SAMPLE_MIX, write_sample_pairs

        sample = work / SAMPLE_SOURCE
        if not _bars_off(options):
            tqdm.write(f"simulating {options.sample_pairs} sample pairs from the bundled photos ...")
        write_sample_pairs(sample, options.sample_pairs, options.settings.annotator.seed, manipulations=SAMPLE_MIX)
        paths = [str(sample)]
    names = _source_names(paths)
    refs: list[PairRef] = []
    rejects: list[Reject] = []
    sources = []
    for path, name in zip(paths, names):
        source_refs, source_rejects = open_source(path, replace(options.layout, work=work / "layouts" / name)).scan()
        if len(paths) > 1:
            source_refs = [_namespaced(r, name) for r in source_refs]
            source_rejects = [replace(r, pair_id=f"{name}/{r.pair_id}" if r.pair_id else None) for r in source_rejects]
        refs += source_refs
        rejects += source_rejects
        sources.append({"name": name if options.sources else SAMPLE_SOURCE, "pairs": len(source_refs), "rejected": len(source_rejects)})
    if options.limit is not None:
        refs = refs[: options.limit]
    return refs, rejects, sources


def _source_names(paths: Sequence[str]) -> list[str]:
    names: list[str] = []
    for path in paths:
        stem = Path(path).stem if Path(path).is_file() else Path(path).name
        name, k = stem, 1
        while name in names:
            k += 1
            name = f"{stem}-{k}"
        names.append(name)
    return names


def _namespaced(ref: PairRef, name: str) -> PairRef:
    pair_id = make_pair_id(f"{name}/{ref.real_path}", f"{name}/{ref.fake_path}")
    return replace(ref, pair_id=pair_id, source_id=f"{name}/{ref.source_id}")


def _reject_key(reject: Reject) -> str:
    return reject.pair_id or reject.fake or reject.real or reject.detail


def _slice_units(units: Sequence[WorkUnit], num_slices: int, index: int) -> list[int]:
    """The numbers of slice ``index``'s units: a real image's units go together, to the slice of its first pair's ``source_id``."""
    numbers, owner = [], None
    for number, unit in enumerate(units):
        if unit.first:
            owner = slice_of(unit.refs[0].source_id, num_slices)
        if owner == index:
            numbers.append(number)
    return numbers


def _slice(options: BuildOptions) -> tuple[int, int] | None:
    return (options.slice_index, options.num_slices) if options.num_slices > 1 else None


def _needed_configs(requested: Sequence[str]) -> list[str]:
    """The requested configs in `CONFIGS` order, plus every task config a requested mix is made of."""
    wanted = set(requested)
    if wanted & set(MIXES):
        wanted |= set(TASKS)
    return [c for c in CONFIGS if c in wanted]


def _annotate(
    units: dict[int, WorkUnit], settings: AnnotateSettings, options: BuildOptions, folder: Path, rejects: list[Reject]
) -> tuple[dict, dict[tuple[str, str], list[Path]], ImageLedger, list[dict]]:
    """Stage 1 on the units (by their number in the build's plan), its rows written to parquet shards
    under ``folder`` as they come; appends the new rejects and returns the counts, the shards of each
    (folder, split), the distinct images and the row blocks written (`ORDER_SCHEMA`)."""
    ledger = ImageLedger()
    blocks: list[dict] = []  # kept by a slice build only: a whole build has no merge to tell
    max_shard = convert_file_size_to_int(options.max_shard_size)
    writers: dict[tuple[str, str], TableWriter] = {}

    def writer(name: str, split: str) -> TableWriter:
        if (name, split) not in writers:
            table = table_of(name)
            writers[name, split] = TableWriter(folder / name, split, TABLES[table], group_rows=GROUP_ROWS[table], max_shard_bytes=max_shard, ledger=ledger)
        return writers[name, split]

    def add(name: str, split: str, number: int, rows: list[dict]) -> None:
        if rows:
            size = writer(name, split).add(rows)
            if options.num_slices > 1:
                blocks.append({"folder": name, "split": split, "unit": number, "rows": len(rows), "bytes": size})

    guard = GuardCounts()
    accepted = 0
    image_level: Counter = Counter()
    reliability = Reliability()
    manipulations: Counter = Counter()
    mask_modes: Counter = Counter()
    concepts: Counter = Counter()
    results = annotate_units(list(units.values()), settings, options.num_proc)
    total = sum(len(u.refs) for u in units.values())
    try:
        with tqdm(total=total, desc="annotate", unit="pair", disable=_bars_off(options)) as bar, closing(results):
            for (number, unit), result in zip(units.items(), results):
                for rows in result.task_rows:  # one image's rows, task by task
                    for task, task_rows in groupby(rows, key=itemgetter("task")):
                        add(folders_of(task)[0], result.split, number, list(task_rows))
                add("pairs", result.split, number, result.pair_rows)
                rejects += result.rejects
                guard.merge(result.guard)
                accepted += result.accepted
                image_level.update(result.image_level)
                reliability.merge(result.reliability)
                manipulations.update(result.manipulations)
                mask_modes.update(result.mask_modes)
                concepts.update(result.concepts)
                bar.update(len(unit.refs))
    finally:  # also on an interrupt: no file left open in the staging folder that is about to go
        shards = {key: w.close() for key, w in writers.items()}
    counts = {
        "accepted": accepted,
        "image_level_only": dict(sorted(image_level.items())),
        "reliability": reliability.to_dict(),
        "guard": guard.to_dict(),
        "manipulations": dict(sorted(manipulations.items())),
        "mask_modes": dict(sorted(mask_modes.items())),
        "concepts": dict(sorted(concepts.items())),
    }
    return counts, {key: files for key, files in shards.items() if files}, ledger, blocks


def _write_rejects(rows: list[dict], path: Path) -> None:
    """The rejects table, sorted by its columns: a build and the merge of its slices write the same file."""
    rows = sorted(rows, key=lambda row: tuple(row[name] or "" for name in REJECT_FEATURES))
    pq.write_table(pa.Table.from_pylist(rows, schema=REJECT_FEATURES.arrow_schema), path)


def _rejects_name(options: BuildOptions) -> str:
    if options.num_slices > 1:
        return f"rejects-{options.slice_index:05d}-of-{options.num_slices:05d}.parquet"
    return "rejects.parquet"


def _write_fict(work: Path, staging: Path) -> None:
    """The ``fict`` table, by its `datasets` builder."""
    builder = FiFaFict(config_name="fict", cache_dir=str(work / "cache"), dataset_name="fifa")
    prepared = work / "prepared" / "fict"
    with _quiet_datasets():
        builder.download_and_prepare(output_dir=str(prepared), file_format="parquet")
    (staging / "fict").mkdir(parents=True, exist_ok=True)
    files = sorted(prepared.glob("fifa-train*.parquet"))
    for index, file in enumerate(files):
        file.rename(staging / "fict" / f"train-{index:05d}-of-{len(files):05d}.parquet")


def _place_shards(files: list[Path], folder: Path, split: str, slice_: tuple[int, int] | None) -> None:
    """Move a split's shards into ``folder`` under their published names (a slice's: of its slice)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, file in enumerate(files):
        if slice_ is None:
            name = f"{split}-{index:05d}-of-{len(files):05d}"
        else:
            name = f"{split}-{slice_[0]:05d}-of-{slice_[1]:05d}" + (f"-{index:05d}" if len(files) > 1 else "")
        file.rename(folder / f"{name}.parquet")


class _quiet_datasets:
    """Silence datasets' own progress bars and info logs inside a build (ours show the stages)."""

    def __enter__(self):
        self._bars = datasets.utils.logging.is_progress_bar_enabled()
        self._level = datasets.logging.get_verbosity()
        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()

    def __exit__(self, *exc):
        if self._bars:
            datasets.enable_progress_bars()
        datasets.logging.set_verbosity(self._level)


def _file_stats(folder: Path, configs: Sequence[str], unique_image_bytes: int) -> dict:
    """Rows and file bytes of every config and split, the bytes on disk, and the image bytes as
    stored against each distinct image once."""
    files = data_files(folder, configs)
    rows: dict[str, dict[str, int]] = {}
    sizes: dict[str, dict[str, int]] = {}
    for config, by_split in files.items():
        for split, names in by_split.items():
            rows.setdefault(config, {})[split] = sum(pq.read_metadata(folder / name).num_rows for name in names)
            sizes.setdefault(config, {})[split] = sum((folder / name).stat().st_size for name in names)
    disk = sum(p.stat().st_size for p in folder.rglob("*.parquet") if not _internal(p.relative_to(folder)))
    stored = sum(stored_image_bytes(sorted((folder / table).rglob("*.parquet")), features) for table, features in TABLES.items())
    return {
        "rows": rows,
        "bytes": sizes,
        "files": files,
        "disk_bytes": disk,
        "image_bytes": {"stored": stored, "unique": unique_image_bytes},
    }


def _bars_off(options: BuildOptions) -> bool | None:
    return None if options.progress is None else not options.progress
