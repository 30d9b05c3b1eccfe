"""Whole-build bench: time, peak memory, multi-process speed-up and bytes on disk of `builders.build`.

    OMP_NUM_THREADS=1 python scripts/benchmarks/bench_build.py [--sizes 200 2000] [--long-side 1024]

For each size N, simulates N pairs from the bundled photos once (not timed), then, each in a fresh
subprocess so that peak RSS is that process's own: builds with ``num_proc=1``; times the
face-analysis floor alone (``analyze_face``, detection + mesh + person segmentation, and
``concept_masks`` on the pairs' real images, N calls each, images loaded beforehand); builds again
with ``num_proc=2``, and as datatrove tasks (``--executor local --tasks 4 --workers 2``), and checks
all three builds have the same fingerprint; times the merge of those four slices alone with one and
two processes. It then measures the build
folder: parquet bytes per accepted pair, RLE mask bytes against the same masks as 1-bit PNG, and
image bytes as stored in every table against each distinct image once (build.json's ``image_bytes``).
Prints one table (one column per size), then the two targets: peak RSS flat between the sizes
(within 15 %) and total build time at most 3x the face-analysis floor.
The bundled photos are 512-600 px (the 512 px setting of the issue); ``--long-side 1024`` resizes
them first (the 1024 px setting). The table reports the mean size measured.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pyarrow.parquet as pq
from PIL import Image

from fifa_data.core import masks as masklib
from fifa_data.core.schema import TASKS

RSS_FLAT = 0.15  # peak RSS of the largest size may exceed the smallest's by this share
MESH_RATIO = 3.0  # total build time / face-analysis time
IMAGE_RATIO = len(TASKS) + 2  # image bytes stored in all tables / every distinct image once: a fake is in each task config's files and in pairs
EXECUTOR_TASKS, EXECUTOR_WORKERS = 4, 2  # the datatrove build the bench compares with one process
MARKER = "BENCH_JSON "  # the children's result line on stdout
PNG_MODE = "1"  # masks are saved as 1-bit PNG, optimize=False


# -- children: each runs in a fresh interpreter and prints one JSON line ----------------------


def child_simulate(source: Path, n: int, seed: int, long_side: int | None) -> dict:
    """Write `n` simulated pairs to `source` (here so the face detector's logs stay out of sight)."""
    from fifa_data.pairs.sample_source import write_sample_pairs

    return {"pairs": write_sample_pairs(source, n, seed, long_side=long_side).pairs}


def child_build(source: Path, out: Path, num_proc: int) -> dict:
    """Build `source` into `out`; the report's seconds, a stats subset and this process's peak RSS."""
    from builders import BuildOptions, build

    report = build(BuildOptions(out=out, sources=(str(source),), num_proc=num_proc, progress=False))
    keep = ("pairs_in", "accepted", "rejected", "rows", "bytes", "files", "disk_bytes", "image_bytes", "fingerprint")
    return {
        "seconds": report.seconds,
        "stats": {k: report.stats[k] for k in keep},
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "children_maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }


def child_executor(source: Path, out: Path, tasks: int, workers: int) -> dict:
    """Build `source` as datatrove tasks on the local executor, then time their merge alone again
    with one and with two processes; the fingerprints and the seconds."""
    from builders import BuildOptions, merge_builds
    from builders.distributed import build_executor, slice_folder

    options = BuildOptions(out=out, sources=(str(source),), progress=False)
    start = time.perf_counter()
    build_executor(options, executor="local", tasks=tasks, workers=workers).run()
    wall = time.perf_counter() - start
    parts = [slice_folder(out.parent / f"{out.name}.parts", i) for i in range(tasks)]
    merges = {}
    for num_proc in (1, 2):
        start = time.perf_counter()
        report = merge_builds(parts, out.parent / f"merge-{num_proc}", num_proc=num_proc)
        merges[num_proc] = {"seconds": time.perf_counter() - start, "fingerprint": report.stats["fingerprint"]}
    return {"seconds": wall, "fingerprint": json.loads((out / "build.json").read_text())["fingerprint"], "merges": merges}


def child_mesh(source: Path) -> dict:
    """Seconds of the face-analysis floor, once per pair on its real image (images loaded first):
    `analyze_face` (detection + mesh + person segmentation) and `concept_masks` (the concept labels)."""
    from fifa_data.core.images import load_rgb
    from fifa_data.faces.concepts import concept_masks
    from fifa_data.faces.detect import NoFaceError, analyze_face
    from fifa_data.pairs.sources import open_source

    refs, _ = open_source(source).scan()
    images = {ref.real_path: load_rgb(ref.real_file) for ref in refs}
    calls, segment, no_face = [], [], 0
    for ref in refs:
        start = time.perf_counter()
        try:
            face = analyze_face(images[ref.real_path])
        except NoFaceError:
            no_face += 1
            calls.append(time.perf_counter() - start)
            continue
        calls.append(time.perf_counter() - start)
        start = time.perf_counter()
        concept_masks(images[ref.real_path], face)
        segment.append(time.perf_counter() - start)
    shapes = [images[ref.real_path].shape[:2] for ref in refs]
    return {
        "calls": len(calls),
        "seconds": sum(calls),
        "segment_seconds": sum(segment),
        "first_call": calls[0] if calls else 0.0,
        "no_face": no_face,
        "reals": len(images),
        "mean_hw": [sum(s[i] for s in shapes) / max(len(shapes), 1) for i in (0, 1)],
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def run_as_child(kind: str, source: str, *rest: str) -> None:
    """`--child simulate SOURCE N SEED LONG_SIDE | build SOURCE OUT NUM_PROC | executor SOURCE OUT TASKS WORKERS | mesh SOURCE`:
    print the JSON result."""
    if kind == "simulate":
        result = child_simulate(Path(source), int(rest[0]), int(rest[1]), int(rest[2]) or None)
    elif kind == "build":
        result = child_build(Path(source), Path(rest[0]), int(rest[1]))
    elif kind == "executor":
        result = child_executor(Path(source), Path(rest[0]), int(rest[1]), int(rest[2]))
    elif kind == "mesh":
        result = child_mesh(Path(source))
    else:
        raise SystemExit(f"unknown child kind {kind!r}")
    print(MARKER + json.dumps(result), flush=True)


def run_child(*args: str) -> dict:
    """Run this script in `--child` mode in a fresh process; its JSON result (stderr shown on failure)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    start = time.perf_counter()
    done = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"child {' '.join(args)} failed with exit status {done.returncode}")
    return {**json.loads(lines[-1][len(MARKER) :]), "wall": wall}


# -- the build folder's bytes ---------------------------------------------------------------


def config_files(out: Path, stats: dict, configs: tuple[str, ...]) -> Iterator[Path]:
    """Every parquet file `configs` read, once (the mixes read the task configs' files), from build.json."""
    names = dict.fromkeys(name for config in configs for names in stats["files"].get(config, {}).values() for name in names)
    yield from (out / name for name in names)


def column_values(files: Iterator[Path], column: str) -> Iterator:
    """The values of one column over some parquet files, a small batch in memory at a time."""
    for file in files:
        for batch in pq.ParquetFile(file).iter_batches(batch_size=64, columns=[column]):
            yield from batch.column(0).to_pylist()


def png_bytes(rle: dict, cache: dict[tuple, int]) -> int:
    """Bytes of one RLE mask saved as a 1-bit PNG (memoised: masks repeat across tasks)."""
    key = (tuple(rle["size"]), rle["counts"])
    if key not in cache:
        mask = masklib.decode(rle).astype("uint8")
        buf = io.BytesIO()
        Image.fromarray(mask * 255).convert(PNG_MODE).save(buf, "PNG", optimize=False)
        cache[key] = buf.tell()
    return cache[key]


def all_masks(out: Path, stats: dict) -> Iterator[dict]:
    """Every RLE mask of the build: task configs' `masks`, pairs' `artifact_mask` and `grounded_masks`."""
    for masks in column_values(config_files(out, stats, TASKS), "masks"):
        yield from masks or ()
    yield from (m for m in column_values(config_files(out, stats, ("pairs",)), "artifact_mask") if m)
    for masks in column_values(config_files(out, stats, ("pairs",)), "grounded_masks"):
        yield from masks or ()


def mask_bytes(out: Path, stats: dict) -> dict:
    """Total bytes of the masks' RLE counts strings and of the same masks as PNG."""
    cache: dict[tuple, int] = {}
    rle = png = count = 0
    for mask in all_masks(out, stats):
        rle += len(mask["counts"].encode("ascii"))
        png += png_bytes(mask, cache)
        count += 1
    return {"masks": count, "distinct": len(cache), "rle": rle, "png": png}


def disk_bytes(stats: dict) -> dict:
    """Parquet bytes of the whole build and of `pairs` alone."""
    return {"total": stats["disk_bytes"], "pairs": sum(stats["bytes"].get("pairs", {}).values())}


# -- one size --------------------------------------------------------------------------------


def bench_size(n: int, seed: int, root: Path, long_side: int | None = None) -> dict:
    """Simulate `n` pairs, build them twice and time the face mesh; every number of one table column."""
    source, out1, out2 = root / "source", root / "build-1", root / "build-2"
    simulated = run_child("simulate", str(source), str(n), str(seed), str(long_side or 0))["pairs"]
    one = run_child("build", str(source), str(out1), "1")
    mesh = run_child("mesh", str(source))
    two = run_child("build", str(source), str(out2), "2")
    tasks = run_child("executor", str(source), str(root / "build-tasks"), str(EXECUTOR_TASKS), str(EXECUTOR_WORKERS))
    accepted = max(one["stats"]["accepted"], 1)
    return {
        "n": n,
        "simulated": simulated,
        "one": one,
        "two": two,
        "tasks": tasks,
        "mesh": mesh,
        "disk": {k: v / accepted for k, v in disk_bytes(one["stats"]).items()},
        "masks": mask_bytes(out1, one["stats"]),
        "images": one["stats"]["image_bytes"],
        "per_pair": accepted,
    }


# -- the table -------------------------------------------------------------------------------


def floor_seconds(mesh: dict) -> float:
    """The face-analysis floor: detection + mesh + segmentation of each pair's real image."""
    return mesh["seconds"] + mesh["segment_seconds"]


def total_seconds(child: dict) -> float:
    return sum(child["seconds"].values())


def table_rows(r: dict) -> list[tuple[str, str]]:
    """(label, value) of every row of the table for one size."""
    one, two, tasks, mesh, per = r["one"], r["two"], r["tasks"], r["mesh"], r["per_pair"]
    fingerprints = [tasks["fingerprint"], *(m["fingerprint"] for m in tasks["merges"].values())]
    calls = max(mesh["calls"], 1)
    s1, s2 = one["seconds"], two["seconds"]
    t1, t2 = total_seconds(one), total_seconds(two)
    stages = " / ".join(f"{s1[k]:.1f}" for k in ("scan", "annotate", "parquet", "card"))
    masks, images = r["masks"], r["images"]
    return [
        ("pairs (simulated / in build)", f"{r['simulated']} / {one['stats']['pairs_in']}"),
        ("accepted", f"{one['stats']['accepted']}"),
        ("mean real image, px (h x w)", "{:.0f} x {:.0f}".format(*mesh["mean_hw"])),
        ("total s (num_proc=1)", f"{t1:.1f}"),
        ("  scan / annotate / parquet / card s", stages),
        ("  child wall s (with imports)", f"{one['wall']:.1f}"),
        ("pairs/s (one process)", f"{one['stats']['pairs_in'] / t1:.2f}"),
        ("annotate s", f"{s1['annotate']:.1f}"),
        ("face analysis s (N calls)", f"{floor_seconds(mesh):.1f}"),
        ("  detect+mesh / concepts ms/pair", f"{mesh['seconds'] / calls * 1e3:.0f} / {mesh['segment_seconds'] / calls * 1e3:.0f}"),
        ("  first call ms", f"{mesh['first_call'] * 1e3:.0f}"),
        (f"total / face analysis (target <= {MESH_RATIO:g})", f"{t1 / floor_seconds(mesh):.2f}"),
        ("  total / detect+mesh alone", f"{t1 / mesh['seconds']:.2f}"),
        ("peak RSS MiB (build / mesh only)", f"{one['maxrss_kib'] / 1024:.0f} / {mesh['maxrss_kib'] / 1024:.0f}"),
        ("total s (num_proc=2)", f"{t2:.1f}"),
        ("  speed-up total / annotate", f"{t1 / t2:.2f} / {s1['annotate'] / s2['annotate']:.2f}"),
        ("  peak RSS MiB parent / largest worker", f"{two['maxrss_kib'] / 1024:.0f} / {two['children_maxrss_kib'] / 1024:.0f}"),
        ("fingerprint num_proc 1 == 2", "yes" if one["stats"]["fingerprint"] == two["stats"]["fingerprint"] else "NO"),
        (f"total s (--executor local --tasks {EXECUTOR_TASKS} --workers {EXECUTOR_WORKERS})", f"{tasks['seconds']:.1f}"),
        ("  fingerprint == num_proc 1 (build / merges)", " / ".join("yes" if f == one["stats"]["fingerprint"] else "NO" for f in fingerprints)),
        ("  merge alone ms/pair (1 / 2 processes)", " / ".join(f"{tasks['merges'][k]['seconds'] / per * 1e3:.1f}" for k in ("1", "2"))),
        ("disk bytes/pair, all configs", f"{r['disk']['total']:,.0f}"),
        ("disk bytes/pair, pairs config", f"{r['disk']['pairs']:,.0f}"),
        ("masks (distinct)", f"{masks['masks']} ({masks['distinct']})"),
        ("mask bytes/pair RLE counts", f"{masks['rle'] / per:,.0f}"),
        (f"mask bytes/pair PNG mode {PNG_MODE!r}", f"{masks['png'] / per:,.0f}"),
        ("  PNG / RLE", f"{masks['png'] / max(masks['rle'], 1):.1f}"),
        ("image bytes/pair as stored (all tables)", f"{images['stored'] / per:,.0f}"),
        ("image bytes/pair distinct", f"{images['unique'] / per:,.0f}"),
        (f"  stored / distinct (target <= {IMAGE_RATIO:g})", f"{images['stored'] / max(images['unique'], 1):.2f}"),
    ]


def print_report(results: list[dict]) -> None:
    """The table (one column per size) and the PASS/FAIL lines of the two targets."""
    columns = [table_rows(r) for r in results]
    width = max(len(label) for label, _ in columns[0])
    cells = [max(len(v) for _, v in col) + 2 for col in columns]
    cells = [max(c, len(f"N={r['n']}") + 2) for c, r in zip(cells, results)]
    print("\nbuild bench, one core per process (OMP_NUM_THREADS=1); bundled photos, mean size in the table")
    print(" " * width + "".join(f"{'N=' + str(r['n']):>{c}}" for r, c in zip(results, cells)))
    for i, (label, _) in enumerate(columns[0]):
        print(f"{label:<{width}}" + "".join(f"{col[i][1]:>{c}}" for col, c in zip(columns, cells)))
    rejected = {r["n"]: r["one"]["stats"]["rejected"] for r in results if r["one"]["stats"]["rejected"]}
    print(f"rejected by the build: {rejected or 'none'}")

    small, large = results[0], results[-1]
    growth = large["one"]["maxrss_kib"] / small["one"]["maxrss_kib"] - 1
    verdict = "PASS" if growth <= RSS_FLAT else "FAIL"
    print(f"peak RSS N={large['n']} vs N={small['n']}: {growth * 100:+.1f} % (target <= {RSS_FLAT * 100:.0f} %): {verdict}")
    ratios = [total_seconds(r["one"]) / floor_seconds(r["mesh"]) for r in results]
    verdict = "PASS" if all(x <= MESH_RATIO for x in ratios) else "FAIL"
    shown = ", ".join(f"N={r['n']}: {x:.2f}" for r, x in zip(results, ratios))
    print(f"total / face-analysis time ({shown}; target <= {MESH_RATIO:g} at every size): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--long-side", type=int, default=None, help="resize the bundled photos to this long side first (default: as installed, 512-600 px)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)  # KIND SOURCE [...]: see run_as_child
    args = parser.parse_args()
    if args.child:
        run_as_child(*args.child)
        return

    results = []
    for n in sorted(args.sizes):
        with tempfile.TemporaryDirectory(prefix=f"bench_build_{n}_") as tmp:
            print(f"N={n}: simulating, building (num_proc=1), face mesh, building (num_proc=2, then {EXECUTOR_TASKS} tasks) ...", flush=True)
            results.append(bench_size(n, args.seed, Path(tmp), args.long_side))
    print_report(results)


if __name__ == "__main__":
    main()
