"""The build as tasks of HF's datatrove: one slice of the sources per task, then the merge.

Each task runs :func:`~builders.build.build` on one slice of today's ``source_id`` hash split
(task ``i`` of ``N`` builds slice ``i`` into ``<parts>/<i>``); a second, dependent executor of one
task merges the slices into the dataset folder with :func:`~builders.build.merge_builds`, byte for
byte the build of one process, its shards written in ``options.num_proc`` processes.
datatrove gives each task its log (``<logs>/build/logs/task_XXXXX.log``), its stats and a
completion marker, so a relaunch skips the slices already built and goes on with the rest.

The documents datatrove passes between steps are text; these steps pass none (the annotator reads
image pairs from the sources itself), so each task is a single step. On Slurm, datatrove pickles
the executor (with dill) for the array jobs to load, as it does for every pipeline.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor, RayPipelineExecutor, SlurmPipelineExecutor
from datatrove.executor.base import PipelineExecutor
from datatrove.pipeline.base import PipelineStep

from builders.build import BuildOptions, build, merge_builds

EXECUTORS = ("local", "slurm", "ray")


class BuildSlice(PipelineStep):
    """Build slice ``rank`` of ``world_size`` of the sources into ``parts/<rank>``."""

    name = "FiFa slice build"
    type = "FiFa"

    def __init__(self, options: BuildOptions, parts: str | Path):
        super().__init__()
        self.options, self.parts = options, str(parts)

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        out = slice_folder(self.parts, rank)
        options = dataclasses.replace(self.options, out=out, num_slices=world_size, slice_index=rank, overwrite=True, allow_empty=True, progress=False)
        stats = build(options).stats
        for key in ("pairs_in", "accepted"):
            self.stat_update(key, value=stats[key])
        self.stat_update("rejected", value=sum(stats["rejected"].values()))
        yield from data or ()


class MergeSlices(PipelineStep):
    """Merge the ``tasks`` slice builds under ``parts`` into ``out``, in ``num_proc`` processes."""

    name = "FiFa merge"
    type = "FiFa"

    def __init__(self, parts: str | Path, tasks: int, out: str | Path, overwrite: bool = False, num_proc: int = 1):
        super().__init__()
        self.parts, self.tasks, self.out, self.overwrite, self.num_proc = str(parts), tasks, str(out), overwrite, num_proc

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        parts = [slice_folder(self.parts, i) for i in range(self.tasks)]
        report = merge_builds(parts, self.out, overwrite=self.overwrite, num_proc=self.num_proc)
        self.stat_update("accepted", value=report.stats["accepted"])
        yield from data or ()


def slice_folder(parts: str | Path, rank: int) -> Path:
    """Where task ``rank`` builds its slice."""
    return Path(parts) / f"{rank:05d}"


def build_executor(
    options: BuildOptions,
    *,
    executor: str = "local",
    tasks: int = 1,
    workers: int = -1,
    logging_dir: str | Path | None = None,
    slurm: dict | None = None,
    ray: dict | None = None,
) -> PipelineExecutor:
    """The executor whose ``run()`` builds ``options.out`` in ``tasks`` slices, then merges them.

    The slices go to ``<out>.parts/`` and the logs to ``logging_dir`` (default ``<out>.logs/``), both
    beside ``out``. ``slurm`` holds `SlurmPipelineExecutor`'s own arguments (``partition``, ``time``,
    ``cpus_per_task``, ``mem_per_cpu_gb``, ...), ``ray`` `RayPipelineExecutor`'s.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
    if tasks < 1:
        raise ValueError("tasks: must be at least 1")
    out = Path(options.out)
    parts = out.parent / f"{out.name}.parts"
    logs = Path(logging_dir) if logging_dir is not None else out.parent / f"{out.name}.logs"
    slices = [BuildSlice(dataclasses.replace(options, num_proc=1), parts)]  # the tasks are the parallelism; num_proc is the merge's
    merge = [MergeSlices(parts, tasks, out, overwrite=options.overwrite, num_proc=options.num_proc)]
    if executor == "local":
        first = LocalPipelineExecutor(slices, tasks=tasks, workers=workers, logging_dir=str(logs / "build"))
        return LocalPipelineExecutor(merge, tasks=1, logging_dir=str(logs / "merge"), depends=first)
    if executor == "slurm":
        args = dict(slurm or {})
        if not args.get("partition") or not args.get("time"):
            raise ValueError("slurm: needs a partition and a time limit")
        if sys.prefix != sys.base_prefix:  # the jobs run in this virtual environment
            args.setdefault("venv_path", str(Path(sys.prefix) / "bin" / "activate"))
        first = SlurmPipelineExecutor(slices, tasks=tasks, workers=workers, logging_dir=str(logs / "build"), job_name="fifa-build", **args)
        return SlurmPipelineExecutor(merge, tasks=1, logging_dir=str(logs / "merge"), job_name="fifa-merge", depends=first, **args)
    args = dict(ray or {})
    first = RayPipelineExecutor(slices, tasks=tasks, workers=workers, logging_dir=str(logs / "build"), **args)
    return RayPipelineExecutor(merge, tasks=1, logging_dir=str(logs / "merge"), depends=first, **args)
