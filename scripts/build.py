"""Build the FiFa dataset into ./fifa (parquet configs + card), and optionally push it to the Hub.

    python scripts/build.py                                  # the bundled sample source → ./fifa
    python scripts/build.py --pairs my_pairs/ --manifest more/pairs.csv --out fifa --num-proc 8
    python scripts/build.py --pairs FaceForensics++/ --frames-per-video 8 --crop-face 1.3   # FF++, Celeb-DF, DFFD: docs/datasets.md
    python scripts/build.py --configs age loc det --limit 100       # or --configs age,loc,det
    python scripts/build.py --push --repo-id USER/fifa [--private]

Then ``load_dataset("fifa", "age")`` from this folder, or ``load_dataset("/path/to/fifa", "age")``
from anywhere. A cluster builds slices of the same sources and merges them::

    python scripts/build.py --pairs /data/pairs --executor slurm --tasks 64 --slurm-partition cpu --slurm-time 4:00:00 --out fifa
    python scripts/build.py --pairs /data/pairs --executor local --tasks 8 --workers 4 --out fifa

Each task builds one slice (datatrove; a relaunch skips the finished ones), then one merges them.
By hand, the same slices and merge are::

    python scripts/build.py --pairs /data/pairs --num-shards 64 --shard-index $SLURM_ARRAY_TASK_ID --out parts/$SLURM_ARRAY_TASK_ID
    python scripts/build.py --merge parts/* --out fifa
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fifa_data import cli

cli.guard_start(__name__)  # Ctrl-C from here on: one line, exit 130

from fifa_data.annotate.options import add_annotator_arguments, add_writer_arguments, annotator_config, pair_checks, writer_spec
from fifa_data.core.schema import CONFIGS, SPLITS
from fifa_data.pairs.layouts.options import add_layout_arguments, layout_options

if TYPE_CHECKING:  # the build itself (datasets, the annotator) is imported once the flags are read, so --help answers at once
    from builders import BuildOptions, BuildReport


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    sources = parser.add_argument_group("sources (repeatable, in order; none: the bundled sample)")
    sources.add_argument("--pairs", dest="sources", action="append", default=[], metavar="DIR", help="a pair folder (real/ + fake/, or holding pairs.csv)")
    sources.add_argument("--manifest", dest="sources", action="append", metavar="FILE", help="a pairs.csv / pairs.parquet manifest")
    sources.add_argument("--sample-pairs", type=int, default=100, help="pairs simulated for the bundled sample (default: 100)")
    add_layout_arguments(parser)
    parser.add_argument("--out", default="fifa", help="output folder (default: ./fifa)")
    parser.add_argument(
        "--configs", action=cli.ListAction, choices=CONFIGS, default=list(CONFIGS), metavar="CONFIG",
        help=f"configs to build, as age,loc or age loc (default: all: {' '.join(CONFIGS)})",
    )
    add_annotator_arguments(parser)
    parser.add_argument("--limit", type=int, help="build from the first N pairs only")
    parser.add_argument(
        "--split-ratios",
        action=cli.ListAction,
        type=float,
        length=3,
        default=[0.8, 0.1, 0.1],
        metavar="RATIO",
        help="train, validation and test shares for sources that declare no split (default: 0.8 0.1 0.1)",
    )
    parser.add_argument(
        "--num-proc",
        type=int,
        default=1,
        help="annotation processes (with --merge or --executor: the merge's); the output is identical for any N; "
        "with --writer llm each runs --llm-concurrency requests (default: 1)",
    )
    parser.add_argument("--max-shard-size", default="500MB", help="largest parquet file (default: 500MB)")
    parser.add_argument("--num-shards", type=int, default=1, help="build only one of K slices of the sources (by source photo)")
    parser.add_argument("--shard-index", type=int, default=0, help="which slice, 0..K-1")
    parser.add_argument("--merge", nargs="+", metavar="DIR", help="merge slice builds into --out instead of building")
    engine = parser.add_argument_group("distributed build (datatrove): --tasks slices, then their merge")
    engine.add_argument("--executor", help="run the build as datatrove tasks on this executor: local, slurm or ray")
    engine.add_argument("--tasks", type=int, default=1, help="slices of the sources, one task each (default: 1)")
    engine.add_argument("--workers", type=int, default=-1, help="tasks run at once (default: all)")
    engine.add_argument("--logging-dir", help="datatrove's logs, stats and completions (default: OUT.logs beside OUT)")
    engine.add_argument("--slurm-partition", help="Slurm partition")
    engine.add_argument("--slurm-time", help="Slurm time limit per task, e.g. 4:00:00")
    engine.add_argument("--slurm-cpus-per-task", type=int, default=1, help="CPUs per Slurm task (default: 1)")
    engine.add_argument("--slurm-mem-per-cpu-gb", type=float, default=4, help="memory per CPU in GB (default: 4)")
    parser.add_argument("--license", help="the card's licence id (default: cc0-1.0 for the bundled sample, other for your sources)")
    parser.add_argument("--allow-empty", action="store_true", help="write the dataset even when no pair is accepted (default: fail, writing nothing)")
    cli.add_output_arguments(parser)
    hub = parser.add_argument_group("Hub")
    hub.add_argument("--push", action="store_true", help="upload the built folder to the Hub (token: HF_TOKEN or `hf auth login`)")
    hub.add_argument("--repo-id", default="fifa", help="dataset repo, USER/NAME or NAME in your namespace (default: fifa)")
    hub.add_argument("--private", action="store_true", help="create the repo private")
    add_writer_arguments(parser)
    args = parser.parse_args(argv)
    if args.num_shards < 1 or not 0 <= args.shard_index < args.num_shards:
        parser.error(f"--shard-index: must be in 0..{args.num_shards - 1}")
    if args.num_proc < 1:
        parser.error("--num-proc: must be at least 1")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit: must be at least 1")
    for source in args.sources:
        if not os.path.exists(source):
            parser.error(f"{source}: no such pair folder or manifest")
    if args.merge and args.sources:
        parser.error("--merge: takes slice builds, not --pairs or --manifest")
    if args.executor and (args.merge or args.num_shards > 1):
        parser.error("--executor: makes its own slices (--tasks); not with --merge or --num-shards")
    if args.executor and args.tasks < 1:
        parser.error("--tasks: must be at least 1")
    if args.executor == "slurm" and not (args.slurm_partition and args.slurm_time):
        parser.error("--executor slurm: needs --slurm-partition and --slurm-time")
    if args.executor == "ray" and importlib.util.find_spec("ray") is None:
        parser.error('--executor ray: needs Ray on this machine (pip install "ray[default]", then ray start --head)')
    return args, parser


def options_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> BuildOptions:
    from builders import BuildOptions
    from fifa_data.annotate.source import AnnotateSettings

    out = Path(args.out)
    annotator = annotator_config(args)
    writer = writer_spec(args, parser, out.parent / f".{out.name}.llm_cache")
    return BuildOptions(
        out=out,
        sources=tuple(args.sources),
        layout=layout_options(args, parser),
        sample_pairs=args.sample_pairs,
        configs=tuple(args.configs),
        settings=AnnotateSettings(annotator=annotator, checks=pair_checks(args), writer=writer),
        limit=args.limit,
        split_ratios=tuple(args.split_ratios),
        num_slices=args.num_shards,
        slice_index=args.shard_index,
        max_shard_size=args.max_shard_size,
        license=args.license,
        num_proc=args.num_proc,
        progress=False if args.no_progress else None,
        overwrite=args.overwrite,
        allow_empty=args.allow_empty,
    )


def print_summary(report: BuildReport) -> None:
    """The counts a builder checks first: pairs in / accepted / rejected, rows, guard, time."""
    from builders.splits import empty_splits_warning
    from fifa_data.annotate.reliability import Reliability, summary_line

    s = report.stats
    print(f"\nFiFa → {report.out}/  fingerprint {s['fingerprint'][:16]}")
    rejected = sum(s["rejected"].values())
    image_level = s.get("image_level_only") or {}
    print(f"  pairs in {s['pairs_in']:,}   accepted {s['accepted']:,}   det/cls only {sum(image_level.values()):,}   "
          f"rejected {rejected:,} (rejects.parquet)")
    for reason, n in sorted(s["rejected"].items(), key=lambda kv: -kv[1]):
        print(f"    {n:7,}  {reason}")
    for reason, n in sorted(image_level.items(), key=lambda kv: -kv[1]):
        print(f"    {n:7,}  {reason} (kept for det and cls)")
    reliability = Reliability(**s["reliability"]).figures() if s.get("reliability", {}).get("pairs") else None
    if reliability:
        print(f"  {summary_line(reliability)}")
    print(f"  {'rows':10} {'version':>8} " + " ".join(f"{split:>11}" for split in SPLITS))
    for config, version in s["versions"].items():
        rows = s["rows"].get(config, {})
        print(f"  {config:10} {version:>8} " + " ".join(f"{rows[split]:11,}" if split in rows else f"{'-':>11}" for split in SPLITS))
    if warning := empty_splits_warning(s["rows"]):
        print(f"  warning: {warning}")
    g = s["guard"]
    print(f"  guard: {g['texts']:,} texts, {g['inconsistent']:,} text-decision inconsistencies removed, {g['missing']:,} missing filled in, "
          f"{g['repaired']:,} repaired, {g['rejected']:,} replaced, {g['writer_failures']:,} writer failures, "
          f"{g.get('wrong_family', 0):,} stating another forgery family")
    per_pair = s["disk_bytes"] / max(s["accepted"], 1)
    images = s["image_bytes"]
    print(f"  on disk: {s['disk_bytes'] / 1e6:,.1f} MB of parquet, {per_pair / 1e6:,.2f} MB per annotated pair; "
          f"image bytes stored / distinct {images['stored'] / max(images['unique'], 1):.2f}")
    if report.seconds:
        print("  time: " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in report.seconds.items()))


@cli.command
def main(argv: list[str] | None = None) -> int:
    args, parser = parse_args(argv)
    from builders import BUILD_FILE, BuildError, BuildReport, EmptyBuild, build, merge_builds
    from builders.distributed import EXECUTORS, build_executor

    if args.executor and args.executor not in EXECUTORS:
        parser.error(f"--executor {args.executor}: choose from {', '.join(EXECUTORS)}")
    cli.configure_progress(args.no_progress)
    try:
        if args.merge:
            report = merge_builds(args.merge, args.out, overwrite=args.overwrite, num_proc=args.num_proc)
        elif args.executor:
            slurm = {"partition": args.slurm_partition, "time": args.slurm_time, "cpus_per_task": args.slurm_cpus_per_task,
                     "mem_per_cpu_gb": args.slurm_mem_per_cpu_gb}  # fmt: skip
            executor = build_executor(options_from(args, parser), executor=args.executor, tasks=args.tasks, workers=args.workers,
                                      logging_dir=args.logging_dir, slurm=slurm)  # fmt: skip
            executor.run()
            if args.executor == "slurm":
                print(f"submitted {args.tasks} build tasks and their merge to Slurm; logs in {executor.logging_dir.path}")
                return 0
            report = BuildReport(Path(args.out), json.loads((Path(args.out) / BUILD_FILE).read_text()))
        else:
            report = build(options_from(args, parser))
    except EmptyBuild as empty:
        raise cli.RunError(str(empty)) from empty
    except BuildError as mistake:  # slices that do not belong together
        raise cli.UsageError(str(mistake)) from mistake
    print_summary(report)
    if args.push:
        from builders.push import PushError, push_folder

        versions = sorted(set(report.stats["versions"].values()))
        message = f"FiFa {', '.join(versions)}: {report.stats['accepted']:,} pairs, fingerprint {report.stats['fingerprint'][:16]}"
        try:
            url = push_folder(report.out, args.repo_id, private=args.private, commit_message=message)
        except PushError as exc:
            raise cli.RunError(str(exc)) from exc
        print(f"pushed {report.out}/ to {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
