"""Annotate a pair source: FiFa-11 task rows as JSONL, per-pair annotations, AGE pictures.

    python scripts/simulate.py --out pairs/ -n 50
    python scripts/annotate.py pairs/ --out annotated/ [--limit N] [--pair-id ID] [--render 10]
    python scripts/annotate.py pairs/ --out annotated/ --writer llm \\
        --llm-base-url http://localhost:8000/v1 --llm-model Qwen2.5-VL-7B-Instruct [--llm-api-key-env OPENAI_API_KEY]

``PAIRS`` is any source ``fifa_data.pairs.sources.open_source`` reads (a folder with real/ + fake/, or a
manifest). Writes into ``OUT/``:

* ``rows.jsonl``: every task row (the task table of `fifa_data.core.schema`) with the image bytes replaced by the path;
* ``annotations.jsonl``: per localised fake, the artifact mask (RLE) and its parameters, the decisions,
  the evidence, the explanation and what the consistency guard did;
* ``rejects.jsonl``: every pair left out, with its reason;
* ``age/<pair_id>.png``: the AGE answer drawn over the image (first ``--render`` fakes);
* ``summary.json``: counts, also printed, with the reliability figures (`fifa_data.annotate.reliability`)
  when the source gives the true edit masks (``edit_mask``, or a ``mask`` with ``--score-given-masks``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from fifa_data import cli

cli.guard_start(__name__)  # Ctrl-C from here on: one line, exit 130

from fifa_data.annotate.guard import GuardCounts
from fifa_data.annotate.options import add_annotator_arguments, add_writer_arguments, annotator_config, pair_checks, writer_spec
from fifa_data.annotate.pipeline import AnnotatedImage, AnnotatorConfig
from fifa_data.annotate.reliability import Reliability, summary_line
from fifa_data.annotate.source import AnnotateSettings, annotate_source
from fifa_data.core.schema import TASKS
from fifa_data.outputs import check_output, staged_output
from fifa_data.pairs.layouts.options import add_layout_arguments, layout_options
from fifa_data.pairs.rejects import Reject, count_reasons
from fifa_data.pairs.sources import open_source
from fifa_data.viz import render_annotated

SUMMARY_FILE = "summary.json"  # marks a folder as this command's output


def annotation_record(img: AnnotatedImage) -> dict:
    """Everything the annotator decided about one fake, as plain JSON values."""
    return {
        "pair_id": img.pair_id,
        "source_id": img.source_id,
        "fake_path": img.image_path,
        "manipulation": img.manipulation,
        "artifact_mask": img.masks["image"],
        "mask_params": img.mask_params,
        "decisions": img.decisions.to_dict(),
        "evidence": {c: e.to_dict() for c, e in img.evidence.items()},
        "explanation": img.explanation.to_dict(),
        "age": img.explanation.grounded(),
        "concept_masks": {c: img.masks[c] for c in img.grounded},
    }


def render(img: AnnotatedImage, path: Path) -> None:
    """Draw the AGE answer of a fake over its image."""
    render_annotated(img, title=f"{img.manipulation or 'fake'} · {img.pair_id}").save(path)


@cli.command
def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pairs", help="pair source: folder (real/ + fake/, or with pairs.csv) or manifest")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--limit", type=int, help="annotate at most this many pairs")
    parser.add_argument("--pair-id", action="append", help="only this pair (repeatable)")
    parser.add_argument("--tasks", action=cli.ListAction, choices=TASKS, default=list(TASKS))
    add_annotator_arguments(parser)
    parser.add_argument("--render", type=int, default=10, help="draw the AGE answer of the first N fakes (default: 10)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out even if it holds files that FiFa did not write")
    add_writer_arguments(parser)
    add_layout_arguments(parser)
    args = parser.parse_args(argv)
    layout = layout_options(args, parser)

    check_output(args.out, SUMMARY_FILE, overwrite=args.overwrite)
    writer = writer_spec(args, parser, Path(args.out).parent / f".{Path(args.out).name}.llm_cache").make()
    config = annotator_config(args)
    with tempfile.TemporaryDirectory(prefix="fifa-layout-") as frames:  # a video layout's decoded frames
        refs, rejects = open_source(args.pairs, replace(layout, work=Path(frames))).scan()
        if args.pair_id:
            refs = [r for r in refs if r.pair_id in set(args.pair_id)]
            if not refs:
                parser.error(f"--pair-id: no pair with id {', '.join(args.pair_id)} in {args.pairs}")
        refs = refs[: args.limit] if args.limit else refs
        with staged_output(args.out, SUMMARY_FILE, overwrite=args.overwrite) as out:
            summary, counts, rendered = _annotate_into(out, args, refs, rejects, writer, config)
    out = Path(args.out)
    print(f"{summary['accepted']} fakes annotated, {sum(summary['image_level_only'].values())} kept for det and cls only, "
          f"{sum(summary['rejected'].values())} rejected, {summary['seconds']} s")
    for reason, n in summary["rejected"].items():
        print(f"  rejected {n:5d}  {reason}")
    for key, n in summary["rows"].items():
        print(f"  rows {n:7d}  {key}")
    guard = counts.to_dict()
    print(f"  guard: {guard['texts']} texts, {guard['inconsistent']} concepts the decisions do not flag, {guard['missing']} missing, "
          f"{guard['repaired']} repaired, {guard['rejected']} rejected, {guard['writer_failures']} writer failures, "
          f"{guard['wrong_family']} stating another forgery family")
    if figures := summary.get("reliability"):
        print(f"  {summary_line(figures)}")
    print(f"wrote {out}/rows.jsonl, annotations.jsonl, rejects.jsonl, age/ ({rendered} pictures)")
    if not summary["accepted"]:
        raise cli.RunError(f"{args.pairs}: no pair accepted of {summary['pairs']} (see {out}/rejects.jsonl)")
    return 0


def _annotate_into(out: Path, args: argparse.Namespace, refs: list, rejects: list, writer, config: AnnotatorConfig) -> tuple[dict, GuardCounts, int]:
    """Annotate ``refs`` and write every file into ``out``; returns the summary, the guard's counts and the pictures drawn."""
    (out / "age").mkdir()
    started = time.perf_counter()
    counts = GuardCounts()
    reliability = Reliability()
    rows_per_task: Counter = Counter()
    accepted = rendered = 0
    image_level: Counter = Counter()
    with (
        open(out / "rows.jsonl", "w") as rows_file,
        open(out / "annotations.jsonl", "w") as annotations_file,
        open(out / "rejects.jsonl", "w") as rejects_file,
    ):
        for reject in rejects:
            rejects_file.write(json.dumps(reject.to_row()) + "\n")
        settings = AnnotateSettings(annotator=config, checks=pair_checks(args), tasks=tuple(args.tasks))
        for out_item in annotate_source(refs, settings, writer=writer, guard=counts, reliability=reliability):
            img = out_item.item
            if isinstance(img, Reject):
                rejects.append(img)
                rejects_file.write(json.dumps(img.to_row()) + "\n")
                continue
            for task, rows in out_item.rows.items():
                rows_per_task[(task, img.label)] += len(rows)
                for row in rows:
                    row = dict(row, image={"path": row["image"]["path"]})
                    rows_file.write(json.dumps(row) + "\n")
            if img.unlocalised:
                image_level[img.unlocalised.reason] += 1  # kept for det and cls: no mask, no text
            elif img.label == "fake":
                accepted += 1
                annotations_file.write(json.dumps(annotation_record(img)) + "\n")
                if rendered < args.render:
                    render(img, out / "age" / f"{img.pair_id}.png")
                    rendered += 1

    summary = {
        "pairs": len(refs) + sum(1 for r in rejects if r.pair_id is None),
        "accepted": accepted,
        "image_level_only": dict(sorted(image_level.items())),
        "rejected": count_reasons(rejects),
        "rows": {f"{task}/{label}": n for (task, label), n in sorted(rows_per_task.items())},
        "guard": counts.to_dict(),
        **({"reliability": reliability.figures()} if reliability.pairs else {}),
        "writer": getattr(writer, "name", type(writer).__name__),
        "config": config.to_dict(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    return summary, counts, rendered


if __name__ == "__main__":
    sys.exit(main())
