"""The learning bench: does a FiFa-MLLM trained from scratch on CPU see edits, or only where edits usually are?

    python scripts/benchmarks/fetch_photos.py          # once: public face photos into a cache
    python scripts/benchmarks/bench_learning.py --out runs/learning [--budget-minutes 45] [--preset bench] [--plain]

1. **Data.** Every single-face photo of the cache (`fetch_photos.py`: no reserved package), cropped
   face-centred (`model.augment.face_view`) and resized to ``--side``, is saved as a JPEG of quality
   80..95, and so is every fake made from it, so compression tells nothing. A quarter of the people
   (a group photo and its face crops are one unit) are held back entirely. The simulator makes every
   attribute edit and every family edit (`fifa_data.pairs.simulate.FAMILY_EDITS`; the donor edits take a
   donor of another identity of the same pool), except that ``--other-families`` (reenact and
   self_blend) are kept for the last group. One pair source (``DIR/source/pairs.csv``) declares the
   splits and tags each group in its ``source_id``:

   ``train``       training people, trained edits (``--repeats`` draws of each edit per person)
   ``validation``  ``val/``: ``--eval-people`` training people, one more draw (the curves)
   ``test``        ``A/``: those people, the trained edits themselves (their first draw);
                   ``B/``: those people, new draws of the trained edits;
                   ``C/``: held-back people, trained edits; ``D/``: held-back people, the other families

   It is built once (det, loc and pairs configs) into ``DIR/fifa``.
2. **Training.** `model/sft.py` trains the tiny LLaVA from scratch (``--preset``: image size, mask
   size and the model's size) with the levers on (``--plain`` turns them off): SRM residual channels and
   their local energy (``--forensic-input --energy-window 7``), scale-crop and flip augmentation
   (``--augment``), one real in every batch, spread over the tasks as the fakes are (``--reals-per-batch 1
   --reals-by-task``), half of the real loc rows as an untrained ``[SEG].`` with an empty mask
   (``--empty-real-masks 0.5``), the image's pooled features at the task token (``--image-summary``), and
   BCE and Dice weighed 1 and 1 (``--bce-weight 1 --dice-weight 1``); the BCE is balanced between each
   mask's edited and untouched pixels, sft.py's default for a tiny model (``--balanced-bce``). ``--sft``
   adds or overrides sft.py flags. It trains in chunks that fill ``--budget-minutes`` of training (the
   first chunk measures the speed; the learning rate is constant after a warm-up, then decays to zero over
   the last ``--decay-share`` of the steps) and after each chunk answers ``--val-rows`` validation rows per
   task, spread over the validation people, by free generation (`model/evaluate.py --spread`):
   ``DIR/curves.png`` shows the loss and those validation figures over steps.
3. **Scoring.** `model/evaluate.py --source-prefix G/` answers and scores each group's test rows
   (``DIR/results/A`` ... ``D``: FiFa-Bench's tables, with the ``location-prior``,
   ``whole-face``, ``marked_real`` / ``marked_fake``, det AUC and per-type figures), and the bench prints
   one table.

Measured on 2 cores shared with another engineer's jobs, pinned to one (``taskset -c 1``, ``OMP_NUM_THREADS=1``),
``--preset bench --budget-minutes 35`` on all 33 single-face photos of the 40-photo cache (25 training people, 8 held
back; 634 training pairs, 2,500 det and loc rows), every test row scored: data and build 1.0 minutes, training 36.2
(18,320 steps of 4 rows), scoring 0.4, 37.8 minutes of wall time in all; 0.97 GB peak resident memory
(/usr/bin/time -v). Nothing is downloaded. What it reached: it sees the edits of the training people (A, B) but
none of the issue's targets on held-back people (C); docs/benchmarks.md has the lever runs and why:

| group | det AUC | loc mIoU | location-prior | whole-face | marked real / fake | small-edit mIoU (model / prior / face) |
|---|---|---|---|---|---|---|
| A | 0.696 | 0.209 | 0.157 | 0.156 | 0.154 / 0.151 | 0.060 / 0.059 / 0.047 |
| B | 0.680 | 0.212 | 0.151 | 0.147 | 0.158 / 0.159 | 0.048 / 0.060 / 0.047 |
| C | 0.526 | 0.076 | 0.151 | 0.139 | 0.250 / 0.240 | 0.028 / 0.070 / 0.054 |
| D | 0.547 | 0.238 | 0.529 | 0.505 | 0.226 / 0.247 | — |
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import polars as pl
from PIL import Image

from builders import BuildOptions, build
from fifa_data.core import masks as masklib
from fifa_data.core.images import encode_image, load_rgb
from fifa_data.core.schema import MANIPULATIONS
from fifa_data.faces.concepts import concept_masks
from fifa_data.faces.detect import NoFaceError, analyze_face
from fifa_data.pairs.simulate import DONOR_EDITS, FAMILY_EDITS, EditNotApplicable, simulate_edit
from fifa_data.pairs.sources import EDIT_MASK_COLUMN
from model import evaluate
from model.augment import face_view
from model.sft import parse_args, train

sys.path.insert(0, str(Path(__file__).parent))
from fetch_photos import default_cache, read_index  # noqa: E402

PRESETS = {  # sft.py flags: the tiny LLaVA's input side, the mask grid, and (bench) its size
    "smoke": {"image-size": 64, "mask-size": 32},
    "tiny": {"image-size": 112, "mask-size": 56},
    # hidden 128 (1.2 M parameters) or 128 x 4 layers (1.7 M) take 2-3x longer a step and did worse in 8-minute runs (docs/benchmarks.md)
    "bench": {"image-size": 160, "mask-size": 80, "tiny-hidden": 64, "tiny-layers": 2, "patch-size": 8},
}
LEVERS = [
    "--forensic-input", "true", "--energy-window", "7", "--augment", "true", "--reals-per-batch", "1", "--reals-by-task", "true",
    "--empty-real-masks", "0.5", "--image-summary", "true", "--bce-weight", "1", "--dice-weight", "1",
]
GROUPS = {
    "A": "training people, trained edits",
    "B": "training people, new edits",
    "C": "held-back people",
    "D": "held-back people, other families",
}
SMALL = ("lip_color", "eyebrow", "eye_enlarge", "part_swap", "inpaint")  # the small-region edits of the target
JPEG = (80, 95)
EDITS = (*MANIPULATIONS, *FAMILY_EDITS)


# --- 1. data ---------------------------------------------------------------------------------


def people(photos: list[dict]) -> list[dict]:
    """The single-face photos, each with its ``unit``: the group photo it was cut from, or itself."""
    return [p | {"unit": p["crop_of"] or p["file"]} for p in photos if p["num_faces"] == 1]


def hold_back(units: list[str], share: float, seed: int) -> set[str]:
    rng = np.random.default_rng(seed)
    chosen = rng.choice(sorted(set(units)), size=max(1, round(share * len(set(units)))), replace=False)
    return {str(u) for u in chosen}


def face_crop(photo: dict, cache: Path, side: int, margin: float) -> np.ndarray:
    """The photo's face-centred square at ``side`` pixels."""
    image = Image.fromarray(load_rgb(cache / photo["file"]))
    box = (photo["face_boxes"] or [[0, 0, image.width, image.height]])[0]  # a face crop of the cache lists no box: it is the face
    view = face_view((image.height, image.width), box, margin)
    return np.asarray(view.image(image).convert("RGB").resize((side, side), Image.Resampling.LANCZOS))


def jpeg(image: np.ndarray, rng: np.random.Generator) -> bytes:
    return encode_image(Image.fromarray(image), "JPEG", quality=int(rng.integers(JPEG[0], JPEG[1] + 1)))


_CROPS: dict[str, np.ndarray] = {}


def _simulate(task: tuple[str, list[tuple[str, str, int, str]], list[str], int]) -> list[dict]:
    """Write one person's real photo once per group, and its fakes; returns pairs.csv rows."""
    stem, plan, donors, seed = task
    root = Path(os.environ["FIFA_BENCH_SOURCE"])
    rng = np.random.default_rng([seed, sum(map(ord, stem))])
    real_bytes = jpeg(_CROPS[stem], rng)
    (root / "real").mkdir(parents=True, exist_ok=True)
    (root / "real" / f"{stem}.jpg").write_bytes(real_bytes)
    real = load_rgb(root / "real" / f"{stem}.jpg")  # what the build decodes
    try:
        face = analyze_face(real)
    except NoFaceError:
        return []
    concepts = concept_masks(real, face)
    rows, written = [], set()
    for prefix, manipulation, draw, split in plan:
        edit_rng = np.random.default_rng([seed, draw, EDITS.index(manipulation), sum(map(ord, stem))])
        donor = None
        if manipulation in DONOR_EDITS:
            donor = _CROPS[donors[int(edit_rng.integers(len(donors)))]]
        try:
            edit = simulate_edit(real, manipulation, edit_rng, face=face, concepts=concepts, donor=donor)
        except (EditNotApplicable, NoFaceError, ValueError):
            continue
        group = prefix.rstrip("/") or "train"
        real_path = f"real/{group}/{stem}.jpg"
        if real_path not in written:
            (root / real_path).parent.mkdir(parents=True, exist_ok=True)
            (root / real_path).write_bytes(real_bytes)
            written.add(real_path)
        fake_path = f"fake/{group}/{stem}_{manipulation}_{draw}.jpg"
        (root / fake_path).parent.mkdir(parents=True, exist_ok=True)
        (root / fake_path).write_bytes(jpeg(edit.fake, edit_rng))
        rows.append({"real": real_path, "fake": fake_path, "manipulation": manipulation, "source_id": prefix + stem, "split": split,
                     "params": json.dumps({"draw": draw}), EDIT_MASK_COLUMN: json.dumps(masklib.encode(edit.mask))})
    return rows


def _init(crops: dict[str, np.ndarray], root: str) -> None:
    _CROPS.update(crops)
    os.environ["FIFA_BENCH_SOURCE"] = root


def make_source(args: argparse.Namespace, root: Path) -> dict:
    """Simulate every group's pairs into ``root`` (real/, fake/, pairs.csv); returns who is in which pool."""
    photos = people(read_index(args.cache))
    if args.photos:
        photos = [photos[i] for i in np.linspace(0, len(photos) - 1, min(args.photos, len(photos))).round().astype(int)]
    held = hold_back([p["unit"] for p in photos], args.held_share, args.seed)
    crops = {Path(p["file"]).stem + f"-{i}": face_crop(p, args.cache, args.side, args.margin) for i, p in enumerate(photos)}
    stems = list(crops)
    pool = {s: ("held" if p["unit"] in held else "train") for s, p in zip(stems, photos)}
    other = tuple(args.other_families)
    trained = [m for m in EDITS if m not in other]
    scored = [s for s in stems if pool[s] == "train"][: args.eval_people]  # the training people of validation, A and B
    tasks = []
    for stem in stems:
        donors = [s for s in stems if pool[s] == pool[stem] and s != stem]
        if pool[stem] == "train":
            plan = [("", m, r, "train") for m in trained for r in range(args.repeats)]
            if stem in scored:
                plan += [("val/", m, args.repeats, "validation") for m in trained]
                plan += [("A/", m, 0, "test") for m in trained] + [("B/", m, args.repeats + 1, "test") for m in trained]
        else:
            plan = [("C/", m, 0, "test") for m in trained] + [("D/", m, 0, "test") for m in other]
        tasks.append((stem, plan, donors, args.seed))
    root.mkdir(parents=True)
    with multiprocessing.get_context("spawn").Pool(args.jobs, initializer=_init, initargs=(crops, str(root))) as workers:
        rows = [row for part in workers.imap(_simulate, tasks) for row in part]
    schema = dict.fromkeys(("real", "fake", "manipulation", "source_id", "split", "params", EDIT_MASK_COLUMN), pl.String)
    pl.DataFrame(rows, schema=schema).write_csv(root / "pairs.csv")
    counts = {g: sum(r["source_id"].startswith(g + "/") for r in rows) for g in GROUPS}
    counts |= {"train": sum(r["split"] == "train" for r in rows), "validation": sum(r["split"] == "validation" for r in rows)}
    return {"pairs": counts, "people": {k: sum(v == k for v in pool.values()) for k in ("train", "held")}, "other_families": list(other)}


# --- 2. training in chunks, validation figures after each -------------------------------------


def validation_point(args: argparse.Namespace, model: Path, out: Path) -> dict:
    report = evaluate.evaluate(evaluate.parse_args([
        "--model", str(model), "--dataset", str(args.out / "fifa"), "--config", "det,loc", "--split", "validation",
        "--limit", str(args.val_rows), "--spread", "--no-captions", "--no-progress", "--max-new-tokens", "48", "--out", str(out),
    ]))
    det, loc = report["scores"]["metrics"].get("det", {}), report["scores"]["metrics"].get("loc", {})
    return {"det_auc": det.get("auc"), "det_accuracy": det.get("accuracy"), "loc_miou": loc.get("miou"),
            "marked_real": loc.get("marked_real"), "marked_fake": loc.get("marked_fake")}


def train_in_chunks(args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    model_dir = args.out / "model"
    preset = [x for k, v in PRESETS[args.preset].items() for x in (f"--{k}", str(v))]
    base = ["--model", "tiny", "--dataset", str(args.out / "fifa"), "--configs", "det,loc", "--weights", "1,2", "--output-dir", str(model_dir),
            "--disable-tqdm", "true", "--eval-split", "none", "--lr-scheduler-type", "constant_with_warmup", "--warmup-steps", "20",
            "--learning-rate", str(args.learning_rate), "--per-device-train-batch-size", "4", "--logging-steps", "10",
            "--seed", str(args.seed), *preset, *([] if args.plain else LEVERS), *shlex.split(args.sft)]
    budget, spent, looped, steps, points = args.budget_minutes * 60, 0.0, 0.0, 0, []
    chunk, last = args.first_chunk, False
    while True:
        start = time.perf_counter()
        resume = ["--resume-from-checkpoint", "latest"] if steps else []
        decay = []
        if last and args.decay_share > 0:  # the last chunk ends the run: the learning rate decays to zero over its last part
            decay = ["--lr-scheduler-type", "warmup_stable_decay", "--lr-scheduler-kwargs",
                     json.dumps({"num_decay_steps": max(1, round(args.decay_share * (steps + chunk)))})]
        trainer = train(*parse_args([*base, "--max-steps", str(steps + chunk), "--save-steps", str(steps + chunk), *resume, *decay]))
        spent += time.perf_counter() - start
        looped += next(h["train_runtime"] for h in reversed(trainer.state.log_history) if "train_runtime" in h)
        steps = trainer.state.global_step
        points.append({"step": steps, "minutes": spent / 60, **validation_point(args, model_dir, args.out / "curves" / f"step-{steps}")})
        print(f"step {steps}: {spent / 60:.1f} training minutes; validation {points[-1]}", flush=True)
        per_step = looped / steps  # the training loop's time per step; building the model and loading the data cost each chunk
        overhead = (spent - looped) / len(points)  # about the same again
        left = budget - spent - overhead
        if last or left < max(20 * per_step, budget / 20):  # what is left is too short for another point on the curve
            break
        chunk = int(min(left / per_step, max(chunk, left / per_step / max(1, args.points - len(points)))))
        last = left - chunk * per_step < max(20 * per_step, budget / 20)
    losses = [h for h in trainer.state.log_history if "loss" in h]
    return losses, points


def plot_curves(losses: list[dict], points: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key in ("loss", "ce", "bce", "dice"):
        left.plot([h["step"] for h in losses], [h.get(key) for h in losses], label=key)
    left.set(xlabel="step", title="training loss", yscale="log")
    left.legend()
    steps = [p["step"] for p in points]
    for key in ("loc_miou", "det_auc", "marked_real", "marked_fake"):
        right.plot(steps, [np.nan if p[key] is None else p[key] for p in points], marker="o", label=key)
    right.set(xlabel="step", title="validation (free generation)", ylim=(0, 1))
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# --- 3. the four groups -----------------------------------------------------------------------


def score_groups(args: argparse.Namespace) -> dict[str, dict]:
    """Each group's FiFa-Bench report: the model answers the group's test rows (``--test-rows`` per task at most)."""
    common = ["--model", str(args.out / "model"), "--dataset", str(args.out / "fifa"), "--config", "det,loc", "--no-captions", "--no-progress",
              "--max-new-tokens", "64", *(["--limit", str(args.test_rows)] if args.test_rows else [])]
    return {g: evaluate.evaluate(evaluate.parse_args([*common, "--source-prefix", f"{g}/", "--out", str(args.out / "results" / g)])) for g in GROUPS}


def _f(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def table(reports: dict[str, dict]) -> str:
    """One line per group: det, loc against the two location baselines, the area marked, the small edits."""
    lines = ["| group | det acc | det AUC | loc mIoU | location-prior | whole-face | marked real / fake | small-edit mIoU (model / prior / face) |",
             "|---|---|---|---|---|---|---|---|"]
    for group, report in reports.items():
        m, b = report["scores"]["metrics"], report["baselines"]
        det, loc = m.get("det", {}), m.get("loc", {})
        prior, face = b.get("location-prior", {}).get("metrics", {}).get("loc", {}), b.get("whole-face", {}).get("metrics", {}).get("loc", {})
        by = report["by_group"]["manipulation"]

        def small(system: str) -> float | None:
            cells = [by.get(system, {}).get(t, {}).get("loc") for t in SMALL]
            cells = [c for c in cells if c and c.get("miou") is not None]
            n = sum(c["n"] for c in cells)
            return sum(c["miou"] * c["n"] for c in cells) / n if n else None

        lines.append(f"| {group}: {GROUPS[group]} | {_f(det.get('accuracy'))} | {_f(det.get('auc'))} | {_f(loc.get('miou'))} | {_f(prior.get('miou'))} | "
                     f"{_f(face.get('miou'))} | {_f(loc.get('marked_real'))} / {_f(loc.get('marked_fake'))} | "
                     f"{_f(small('system'))} / {_f(small('location-prior'))} / {_f(small('whole-face'))} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="where source/, fifa/, model/, results/, curves.png go (must not exist)")
    parser.add_argument("--budget-minutes", type=float, default=45, help="training minutes, the validation points not counted (default: 45)")
    parser.add_argument("--preset", choices=PRESETS, default="bench", help="model input and mask size (default: bench)")
    parser.add_argument("--plain", action="store_true", help="train without the levers (the baseline to compare with)")
    parser.add_argument("--side", type=int, default=224, help="side of the face-centred crops the fakes are made on (default: 224)")
    parser.add_argument("--margin", type=float, default=0.3, help="the crop's margin around the face box, as a share of its side")
    parser.add_argument("--photos", type=int, default=None, help="use this many of the cached people, spread over the cache (default: all)")
    parser.add_argument("--repeats", type=int, default=2, help="draws of each trained edit per training person (default: 2)")
    parser.add_argument("--eval-people", type=int, default=8, help="training people in validation and groups A and B (default: 8)")
    parser.add_argument("--held-share", type=float, default=0.25, help="share of the people held back (default: 0.25)")
    parser.add_argument("--other-families", nargs="*", default=["reenact", "self_blend"], help="family edits kept for group D")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--decay-share", type=float, default=0.2,
                        help="the learning rate decays to zero (cosine) over this share of the run's steps, in its last chunk (0: constant; default: 0.2)")
    parser.add_argument("--first-chunk", type=int, default=60, help="steps of the first training chunk (measures the speed)")
    parser.add_argument("--points", type=int, default=4, help="validation points on the curves (default: 4)")
    parser.add_argument("--val-rows", type=int, default=24, help="validation rows per task at each point (default: 24)")
    parser.add_argument("--test-rows", type=int, default=None, help="at most this many test rows per task (default: all)")
    parser.add_argument("--sft", default="", metavar="FLAGS", help="more sft.py flags, after the preset's and the levers' (they win): '--empty-real-masks 0'")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=None, help="the photo cache (default: fetch_photos.py's)")
    args = parser.parse_args()
    args.cache = args.cache or default_cache()
    if args.out.exists():
        parser.error(f"--out {args.out}: exists; give a new folder")
    started = time.perf_counter()
    facts = make_source(args, args.out / "source")
    print(f"simulated {facts}: {(time.perf_counter() - started) / 60:.1f} min", flush=True)
    build(BuildOptions(out=args.out / "fifa", sources=(str(args.out / "source"),), configs=("fict", "pairs", "det", "loc"), num_proc=args.jobs,
                       progress=False))
    built = time.perf_counter()
    print(f"built {args.out / 'fifa'}: {(built - started) / 60:.1f} min", flush=True)
    losses, points = train_in_chunks(args)
    plot_curves(losses, points, args.out / "curves.png")
    trained = time.perf_counter()
    reports = score_groups(args)
    text = table(reports)
    minutes = {"data_and_build": (built - started) / 60, "training": (trained - built) / 60, "scoring": (time.perf_counter() - trained) / 60}
    summary = {"preset": args.preset, "levers": not args.plain, "sft": args.sft, "decay_share": args.decay_share, "budget_minutes": args.budget_minutes,
               "minutes": minutes, **facts,
               "curve": points, "table": text}
    (args.out / "bench.json").write_text(json.dumps(summary, indent=2))
    print(f"\n{text}\n\nsmall edits: {', '.join(SMALL)}; minutes: " + ", ".join(f"{k} {v:.1f}" for k, v in minutes.items()))


if __name__ == "__main__":
    main()
