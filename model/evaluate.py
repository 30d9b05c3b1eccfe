"""Score a FiFa-MLLM, or any system's answers, on FiFa-Bench: every FiFa-11 task beside the trivial baselines.

    python model/evaluate.py --model OUT --dataset ./fifa --out results/
    python model/evaluate.py --predictions answers.jsonl --dataset ./fifa --out results/

``--dataset`` may be any FiFa build (``python scripts/build.py --pairs ...`` on other photos and
edits): a checkpoint is scored on its test split as on its own. With ``--model`` the checkpoint answers every row (greedy decoding, in batches); its answers are
saved as ``results/predictions.jsonl``, det / rdet / bdet with the probability of the positive verdict
as ``score`` (:func:`model.generation.verdict_score`), which gives their AUC. With ``--predictions`` the answers of any other system
(GLaMM, LISA, FakeShield, a person) are scored the same way; the file format is documented in
:mod:`fifa_data.scoring.predictions`. The rows are FiFa-Bench (``--config bench``, the test split) unless
``--config`` / ``--split`` say otherwise (``--config loc,rseg,det --split train`` scores the
training rows). Written to ``--out``:

- ``results.md``: one line per task and metric: the system, then each trivial baseline
  (always "fake", the majority answer, the empty mask, the whole-face mask, the location prior,
  the queried region) scored by the same code; then the same per edit type and per family;
- ``results.json``: the same numbers, the parse and prediction-file problems, and the speed;
- ``age_gallery.png``: the best and the worst AGE answers by mask IoU, each beside its reference.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from fifa_data import cli

cli.guard_start(__name__)  # Ctrl-C from here on: one line, exit 130

import datasets
import numpy as np
from PIL import Image

from fifa_data.core.images import open_row_image
from fifa_data.core.schema import TASKS, answer_of
from fifa_data.outputs import check_output, staged_output
from fifa_data.scoring.baselines import BASELINES, LocationPrior, baseline_predictions, baseline_tasks
from fifa_data.scoring.predictions import Prediction, read_predictions, write_predictions
from fifa_data.scoring.score import ConceptCache, Scores, by_group, json_safe, score
from fifa_data.viz import render_age
from model.collator import CollateError
from model.data import DatasetError, check_dataset, empty_split_error, load_split, parse_configs
from model.modeling import check_model_folder

GALLERY_CASES = 3  # best and worst AGE answers shown each
GALLERY_WIDTH = 720  # pixels of one rendered answer
REPORT_FILE = "results.json"  # marks a folder as an evaluation report


def load_rows(
    dataset: str, configs: str | Sequence[str], split: str, tasks: Sequence[str] | None, limit: int | None, source_prefix: str | None = None,
    spread: bool = False,
) -> list[dict]:
    """The rows to score: ``configs``' ``split``, only ``tasks`` if given, only sources whose id starts with
    ``source_prefix`` if given, at most ``limit`` rows per task: the first ones, or with ``spread`` rows evenly spaced
    over each task's rows (a build lists a photo's rows together, so the first ones are a few photos).

    Images stay as their stored bytes (``{"bytes", "path"}``), decoded only where pixels are needed.
    """
    names, _ = parse_configs(configs)
    ds = load_split(dataset, names, split)
    if ds is None:
        raise empty_split_error(dataset, split) or cli.UsageError(f"{dataset}: has no {split!r} split for {', '.join(names)}")
    ds = ds.cast_column("image", datasets.Image(decode=False))
    kept, per_task = [], {}
    sources = ds["source_id"] if source_prefix else None
    for i, task in enumerate(ds["task"]):
        if sources is not None and not (sources[i] or "").startswith(source_prefix):
            continue
        if (tasks and task not in tasks) or (not spread and limit is not None and per_task.get(task, 0) >= limit):
            continue
        per_task[task] = per_task.get(task, 0) + 1
        kept.append(i)
    if spread and limit is not None:
        all_tasks = ds["task"]
        by_task: dict[str, list[int]] = {}
        for i in kept:
            by_task.setdefault(all_tasks[i], []).append(i)
        kept = sorted(i for found in by_task.values() for i in _evenly(found, limit))
    return list(ds.select(kept))


def _evenly(items: list[int], count: int) -> list[int]:
    """``count`` of ``items`` evenly spaced from the first to the last (all of them if there are fewer)."""
    if len(items) <= count:
        return list(items)
    return [items[k] for k in np.linspace(0, len(items) - 1, count).round().astype(int)]


def model_predictions(
    model_path: str, rows: list[dict], *, batch_size: int, max_new_tokens: int, no_progress: bool = False
) -> tuple[dict[str, Prediction], dict]:
    """The checkpoint's answer to every row it can read, and how it went: rows/s and the rows it could not answer.

    Progress is a bar on a terminal and a plain line every few percent in a log (:func:`fifa_data.cli.progress`).

    A row the model cannot take (an unreadable image, a mask of the wrong size) is listed with its
    reason and left unanswered, so the scorer counts it as wrong; it never stops the run.
    """
    from model.generation import generate, load_for_inference

    model = load_for_inference(model_path)
    predictions: dict[str, Prediction] = {}
    failed: list[str] = []

    def answer(chunk: list[dict]) -> None:
        for row, result in zip(chunk, generate(model, chunk, max_new_tokens=max_new_tokens, batch_size=batch_size)):
            predictions[row["id"]] = Prediction(row["id"], result.text, result.mask_rles(), result.score)

    start = time.perf_counter()
    with cli.progress(len(rows), "generate", "row", no_progress=no_progress) as bar:
        for first in range(0, len(rows), batch_size):
            chunk = rows[first : first + batch_size]
            try:
                answer(chunk)
            except (CollateError, OSError, ValueError):  # find the row, answer the others
                for row in chunk:
                    try:
                        answer([row])
                    except (CollateError, OSError, ValueError) as error:
                        failed.append(f"{row['id']}: {' '.join(str(error).split())}")
            bar.update(len(chunk))
    seconds = time.perf_counter() - start
    speed = {"rows": len(rows), "seconds": round(seconds, 2), "rows_per_second": round(len(rows) / seconds, 2) if seconds else None}
    return predictions, speed | {"not_answered": failed}


PAIR_COLUMNS = ["pair_id", "source_id", "face_boxes", "subject", "artifact_mask"]
GROUP_KEYS = ("manipulation", "family")  # the per-type tables of results.md


def fit_location_prior(dataset: str) -> LocationPrior | None:
    """The ``location-prior`` baseline of a build: fitted on its train pairs, cut on its validation pairs (None without pairs)."""
    splits = {}
    for split in ("train", "validation", "test"):
        try:
            found = load_split(dataset, ["pairs"], split)
        except DatasetError:  # a build without the pairs config
            return None
        splits[split] = [] if found is None else list(found.select_columns(PAIR_COLUMNS))
    if not splits["train"]:
        return None
    try:
        return LocationPrior.fit(splits["train"], splits["validation"], splits["test"])
    except ValueError:  # no training face box
        return None


def score_baselines(rows: list[dict], concepts: ConceptCache, captions: bool, prior: LocationPrior | None = None) -> dict[str, Scores]:
    """Each trivial baseline's answers, scored by the same code on the tasks it applies to (``location-prior`` needs ``prior``)."""
    present = {r["task"] for r in rows}
    out = {}
    for name in BASELINES:
        tasks = [t for t in baseline_tasks(name) if t in present]
        if tasks and (name != "location-prior" or prior is not None):
            predictions = baseline_predictions(name, rows, concepts, prior=prior)
            out[name] = score(rows, predictions, tasks=tasks, captions=captions, concepts=concepts)
    return out


def group_table(rows: list[dict], system: str, scores: Scores, baselines: dict[str, Scores], key: str) -> str:
    """results.md's table per ``key`` (edit type or family): each group's accuracy, mIoU and marked share, beside the baselines."""
    names = list(baselines)
    mine = by_group(rows, scores, key)
    theirs = {n: by_group(rows, b, key) for n, b in baselines.items()}
    lines = [f"| {key} | task | metric | n | {system} | " + " | ".join(names) + " |", "|---|---|---|---:|---:|" + "---:|" * len(names)]
    for group, tasks in mine.items():
        for task, values in tasks.items():
            for metric, value in values.items():
                if metric == "n":
                    continue
                others = [_cell(theirs[n].get(group, {}).get(task, {}).get(metric)) if task in baselines[n].metrics else "" for n in names]
                lines.append(f"| {group} | {task} | {metric} | {values['n']} | **{_cell(value)}** | " + " | ".join(others) + " |")
    return "\n".join(lines) + "\n"


def _prior_note(prior: LocationPrior | None) -> str:
    if prior is None:
        return "location-prior: not computed (the build has no `pairs` config with a training face box).\n\n"
    fallback = "" if prior.tuned_on == "validation" else " (the build has no validation split: tuned on train)"
    return (
        f"location-prior: the mean artifact mask of {prior.fitted_on} training pairs in face-box coordinates, "
        f"cut at {prior.level:.3f} (mean IoU {prior.tuning_miou:.3f} on the {prior.tuned_on} pairs{fallback}).\n\n"
    )


def _cell(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def markdown_table(system: str, scores: Scores, baselines: dict[str, Scores]) -> str:
    """One line per task and metric: the system's value, then each baseline's (blank where it does not apply)."""
    names = list(baselines)
    lines = [f"| task | metric | n | {system} | " + " | ".join(names) + " |", "|---|---|---:|---:|" + "---:|" * len(names)]
    for task in TASKS:
        metrics = scores.metrics.get(task)
        if not metrics:
            continue
        for metric, value in metrics.items():
            others = [_cell(baselines[n].metrics.get(task, {}).get(metric)) if task in baselines[n].metrics else "" for n in names]
            lines.append(f"| {task} | {metric} | {scores.counts.get(task, 0)} | **{_cell(value)}** | " + " | ".join(others) + " |")
    return "\n".join(lines) + "\n"


def age_gallery(rows: list[dict], predictions: dict[str, Prediction], scores: Scores, path: Path, cases: int = GALLERY_CASES) -> list[str]:
    """Draw the best and worst AGE answers (by their mask IoU) beside their references; returns the row ids drawn."""
    by_id = {r["id"]: r for r in rows}
    graded = [(s["miou"], i) for i, s in scores.per_row.items() if s.get("task") == "age" and s.get("n_truth") and not _nan(s.get("miou"))]
    graded.sort()
    chosen = [("best", v, i) for v, i in reversed(graded[-cases:])] + [("worst", v, i) for v, i in graded[:cases] if i not in {g[1] for g in graded[-cases:]}]
    if not chosen:
        return []
    panels = []
    for kind, value, row_id in chosen:
        row, prediction = by_id[row_id], predictions.get(row_id) or Prediction(row_id, None, [])
        image = open_row_image(row["image"])
        masks = [m if m is not None else np.zeros((image.height, image.width), bool) for m in prediction.masks]
        answer = render_age(image, prediction.answer or "(no answer)", masks, width=GALLERY_WIDTH, title=f"{kind}: {row_id}, mask IoU {value:.2f}")
        truth = render_age(image, answer_of(row), row["masks"], width=GALLERY_WIDTH, title="reference")
        panels.append(_side_by_side(answer, truth))
    _stack(panels).save(path, format="PNG")
    return [row_id for _, _, row_id in chosen]


def _nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _side_by_side(left: Image.Image, right: Image.Image) -> Image.Image:
    out = Image.new("RGB", (left.width + right.width, max(left.height, right.height)), "white")
    out.paste(left, (0, 0))
    out.paste(right, (left.width, 0))
    return out


def _stack(panels: list[Image.Image]) -> Image.Image:
    out = Image.new("RGB", (max(p.width for p in panels), sum(p.height for p in panels)), "white")
    y = 0
    for panel in panels:
        out.paste(panel, (0, y))
        y += panel.height
    return out


def evaluate(args: argparse.Namespace) -> dict:
    """Load the rows, get the answers, score them and the baselines, write the report; returns the JSON report.

    The report is written aside and moved into ``args.out`` whole (:func:`fifa_data.outputs.staged_output`).
    """
    check_output(args.out, REPORT_FILE, overwrite=args.overwrite)
    args.config = ",".join(cli.split_items(args.config))
    tasks = cli.split_items(args.tasks) if args.tasks else None
    unknown = [t for t in tasks or [] if t not in TASKS]
    if unknown:
        raise cli.UsageError(f"--tasks: unknown tasks {unknown}; choose from {', '.join(TASKS)}")
    rows = load_rows(args.dataset, args.config, args.split, tasks, args.limit, args.source_prefix, spread=args.spread)
    if not rows:
        raise cli.UsageError(f"{args.dataset}: no rows to score ({args.config}, {args.split}, tasks {','.join(tasks or []) or 'all'})")
    with staged_output(args.out, REPORT_FILE, overwrite=args.overwrite) as staging:
        report = _evaluate_into(staging, args, rows)
    written = [Path(args.out) / name for name in ("results.md", REPORT_FILE, *(["age_gallery.png"] if report["gallery"] else []))]
    print("wrote " + ", ".join(map(str, written)))
    return report


def _evaluate_into(out: Path, args: argparse.Namespace, rows: list[dict]) -> dict:
    file_problems: list[str] = []
    speed = None
    if args.predictions:
        predictions, file_problems = read_predictions(args.predictions)
        system = Path(args.predictions).stem
    else:
        predictions, speed = model_predictions(
            args.model, rows, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens, no_progress=args.no_progress
        )
        write_predictions(out / "predictions.jsonl", predictions.values())
        system = Path(args.model).name or "model"
    concepts = ConceptCache()
    scores = score(rows, predictions, captions=not args.no_captions, concepts=concepts)
    prior = fit_location_prior(args.dataset)
    baselines = score_baselines(rows, concepts, captions=not args.no_captions, prior=prior)
    scored_ids = {r["id"] for r in rows}
    report = {
        "system": system,
        "source": args.predictions or args.model,
        "dataset": str(args.dataset),
        "config": args.config,
        "split": args.split,
        "rows": len(rows),
        "scores": scores.to_dict(),
        "baselines": {name: s.to_dict() for name, s in baselines.items()},
        "by_group": json_safe({key: {"system": by_group(rows, scores, key)} | {n: by_group(rows, b, key) for n, b in baselines.items()} for key in GROUP_KEYS}),
        "location_prior": None if prior is None else {"level": prior.level, "fitted_on": prior.fitted_on, "tuned_on": prior.tuned_on},
        "prediction_file_problems": file_problems,
        "predictions_for_other_rows": sum(1 for i in predictions if i not in scored_ids),
        "generation": speed,
    }
    table = markdown_table(system, scores, baselines)
    header = (
        f"# FiFa-Bench: {system}\n\n{len(rows)} rows of {args.dataset} ({args.config}, {args.split}). "
        f"{scores.parse.summary()}; {scores.missing} rows had no answer.\n\n"
    )
    groups = "".join(f"\n## By {key}\n\n" + group_table(rows, system, scores, baselines, key) for key in GROUP_KEYS)
    (out / "results.md").write_text(header + _prior_note(prior) + table + groups)
    report["gallery"] = age_gallery(rows, predictions, scores, out / "age_gallery.png")
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2, sort_keys=True, allow_nan=False))
    print("\n" + header + table)
    for problem in [*file_problems, *(speed or {}).get("not_answered", [])][:10]:
        print(f"warning: {problem}", file=sys.stderr)
    if len(file_problems) > 10:
        print(f"warning: {len(file_problems) - 10} more problems in {args.predictions} (see results.json)", file=sys.stderr)
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a FiFa-MLLM checkpoint folder (model/sft.py's --output-dir)")
    source.add_argument("--predictions", help="answers of any system as JSONL (format: fifa_data/predictions.py)")
    parser.add_argument("--dataset", default="./fifa", help="a built FiFa folder or Hub id")
    parser.add_argument(
        "--config", action=cli.ListAction, default=["bench"], metavar="CONFIG", help="bench (FiFa-Bench), instruct, or task configs: loc,rseg,det"
    )
    parser.add_argument("--split", default="test", help="test (FiFa-Bench), validation or train")
    parser.add_argument("--tasks", action=cli.ListAction, metavar="TASK", help="only these tasks, e.g. det,loc,age or det loc age")
    parser.add_argument("--limit", type=int, default=None, help="at most this many rows per task")
    parser.add_argument("--spread", action="store_true", help="with --limit: rows evenly spaced over each task's rows, not the first ones")
    parser.add_argument("--source-prefix", metavar="P", help="only the rows of sources whose source_id starts with P (a group of a build)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--no-captions", action="store_true", help="skip BLEU/ROUGE/METEOR/CIDEr (they start Java)")
    parser.add_argument("--out", default="results", help="where the report goes (default: ./results)")
    cli.add_output_arguments(parser)
    args = parser.parse_args(argv)
    cli.configure_progress(args.no_progress)
    return args


@cli.command
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.predictions and not Path(args.predictions).is_file():
        raise cli.UsageError(f"--predictions {args.predictions}: no such file")
    if args.model:
        check_model_folder(args.model)
    check_dataset(args.dataset)
    evaluate(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
