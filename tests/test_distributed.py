"""The build as datatrove tasks (`builders.distributed`): a real local run in slices and a merge,
a relaunch that skips what finished, and the Slurm and Ray executors built with their arguments."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from builders import BUILD_FILE, BuildOptions, build
from builders.distributed import build_executor, slice_folder

pytestmark = pytest.mark.slow


def _options(out: Path) -> BuildOptions:
    return BuildOptions(out=out, sample_pairs=8, configs=("pairs", "det", "age"), progress=False)


def test_local_executor_builds_the_same_bytes_in_slices_and_skips_finished_tasks(tmp_path):
    out = tmp_path / "fifa"
    build_executor(_options(out), executor="local", tasks=2, workers=1).run()

    stats = json.loads((out / BUILD_FILE).read_text())
    assert stats["fingerprint"] == build(_options(tmp_path / "whole")).stats["fingerprint"]  # the same bytes as one process
    parts = [json.loads((slice_folder(tmp_path / "fifa.parts", i) / BUILD_FILE).read_text()) for i in range(2)]
    assert stats["pairs_in"] == sum(p["pairs_in"] for p in parts) > 0  # slices by source photo: one may be empty
    rows = datasets.load_dataset(str(out), "det")
    assert sum(map(len, rows.values())) == sum(stats["rows"]["det"].values()) > 0
    logs = tmp_path / "fifa.logs"
    assert sorted(p.name for p in (logs / "build" / "completions").iterdir()) == ["00000", "00001"]
    assert (logs / "build" / "logs" / "task_00001.log").read_text().count("FiFa slice build")
    assert (logs / "merge" / "completions" / "00000").is_file()

    # Relaunch after task 1 "failed": only task 1 runs again, then the merge.
    built = {i: (slice_folder(tmp_path / "fifa.parts", i) / BUILD_FILE).stat().st_mtime_ns for i in range(2)}
    (logs / "build" / "completions" / "00001").unlink()
    (logs / "merge" / "completions" / "00000").unlink()
    build_executor(_options(out), executor="local", tasks=2, workers=1).run()
    again = {i: (slice_folder(tmp_path / "fifa.parts", i) / BUILD_FILE).stat().st_mtime_ns for i in range(2)}
    assert again[0] == built[0] and again[1] != built[1]
    assert json.loads((out / BUILD_FILE).read_text())["fingerprint"] == stats["fingerprint"]


def test_slurm_and_ray_executors_are_built_with_their_arguments(tmp_path):
    slurm = {"partition": "cpu", "time": "4:00:00", "cpus_per_task": 2, "mem_per_cpu_gb": 4}
    merge = build_executor(_options(tmp_path / "fifa"), executor="slurm", tasks=64, workers=16, slurm=slurm)
    first = merge.depends
    assert (first.tasks, first.workers, first.partition, first.time, first.cpus_per_task, first.mem_per_cpu_gb) == (64, 16, "cpu", "4:00:00", 2, 4)
    assert merge.tasks == 1 and first.pipeline[0].parts == str(tmp_path / "fifa.parts")
    with pytest.raises(ValueError, match="partition"):
        build_executor(_options(tmp_path / "fifa"), executor="slurm", tasks=2)

    ray = build_executor(_options(tmp_path / "fifa"), executor="ray", tasks=8, workers=4, ray={"cpus_per_task": 2, "mem_per_cpu_gb": 3})
    assert (ray.depends.tasks, ray.depends.workers, ray.depends.cpus_per_task, ray.depends.mem_per_cpu_gb, ray.tasks) == (8, 4, 2, 3, 1)
    with pytest.raises(ValueError, match="unknown executor"):
        build_executor(_options(tmp_path / "fifa"), executor="dask")
