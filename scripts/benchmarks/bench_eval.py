"""Evaluation bench for FiFa-Bench: metric throughput on 10 000 synthetic predictions, and evaluate.py's rows/s.

    python scripts/benchmarks/bench_eval.py [--dataset ./fifa] [--predictions 10000] [--model OUT]
        [--rows 64] [--batch-size 8] [--max-new-tokens 64] [--threads N]

Without ``--dataset`` it builds 40 simulated pairs into a temporary FiFa folder. Then:

* **metrics**: the benchmark rows (``bench``, every task) are repeated to ``--predictions`` rows
  (new ids, same images), each with a synthetic answer near its truth: the right closed answer 70 %
  of the time, the reference text with words dropped, every mask shifted by a few pixels, every
  breg box jittered. ``fifa_data.scoring.score.score`` scores them all: seconds for everything, for
  everything but the caption metrics (which start Java), and per task. The concept masks of the
  text-mask consistency are computed once per distinct image, as in a real run.
* **generation**: ``model/evaluate.py``'s answering loop (``model_predictions``) on ``--rows`` rows
  with the tiny model on this machine's CPU: rows/s. Without ``--model`` the model is a random tiny
  LLaVA, whose answers are noise of whatever length chance gives; pass a trained checkpoint (the
  learning check's) for the figure that matters.
"""

from __future__ import annotations

import os
import tempfile

# Before any Hugging Face import: nothing may reach the network or a stale user cache.
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="fifa-hf-home-"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import argparse
import re
import time
from itertools import cycle, islice
from pathlib import Path

import numpy as np
import torch

from fifa_data.core import masks as masklib
from fifa_data.core.schema import TASKS, answer_of
from fifa_data.scoring.predictions import Prediction
from fifa_data.scoring.score import ConceptCache, score
from model.data import texts_of
from model.evaluate import load_rows, model_predictions

SAMPLE_PAIRS = 40
_OPPOSITE = {"real": "fake", "fake": "real", "yes": "no", "no": "yes"}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def synthetic_answer(row: dict, rng: np.random.Generator) -> Prediction:
    """An answer near the row's truth: closed answers right 70 % of the time, text thinned, masks shifted, boxes jittered."""
    text = answer_of(row)
    if row["answer"] is not None and rng.random() > 0.7:
        text = _OPPOSITE.get(row["answer"], "real") + "."
    elif row["task"] == "breg":
        text = _NUMBER.sub(lambda m: str(max(0, round(float(m.group()) + rng.integers(-12, 13)))), text)
    elif row["answer"] is None:
        words = text.split()
        text = " ".join(w for w in words if "[SEG]" in w or "<p>" in w or "</p>" in w or rng.random() > 0.2)
    masks = []
    for rle in row["masks"]:
        shift = tuple(int(v) for v in rng.integers(-8, 9, size=2))
        masks.append(masklib.encode(np.roll(masklib.decode(rle).astype(bool), shift, axis=(0, 1))))
    return Prediction(row["id"], text, masks)


def synthetic_benchmark(rows: list[dict], n: int, seed: int) -> tuple[list[dict], dict[str, Prediction]]:
    """``rows`` repeated to ``n`` rows with unique ids, and a synthetic answer for each."""
    rng = np.random.default_rng(seed)
    out = [dict(row, id=f"{row['id']}#{k}") for k, row in enumerate(islice(cycle(rows), n))]
    return out, {row["id"]: synthetic_answer(row, rng) for row in out}


def timed(fn, *args, **kwargs) -> tuple[object, float]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def bench_metrics(rows: list[dict], n: int, seed: int) -> None:
    """Score ``n`` synthetic predictions with every metric; print the seconds."""
    bench, predictions = synthetic_benchmark(rows, n, seed)
    concepts = ConceptCache()
    _, warm = timed(lambda: [concepts.concepts(r) for r in rows if r["task"] == "age"])
    everything, total = timed(score, bench, predictions, concepts=concepts)
    _, without_captions = timed(score, bench, predictions, captions=False, concepts=concepts)
    print(f"\nmetrics on {n:,} synthetic predictions ({len(rows)} distinct benchmark rows, {len(concepts)} distinct images)")
    print(f"  concept masks of the images (once)   {warm:7.2f} s")
    print(f"  all metrics                          {total:7.2f} s   ({n / total:,.0f} predictions/s)")
    print(f"  all but the caption metrics          {without_captions:7.2f} s   ({n / without_captions:,.0f} predictions/s)")
    print(f"  caption metrics (BLEU/ROUGE/METEOR/CIDEr, Java)  {total - without_captions:7.2f} s")
    for task in TASKS:
        count = everything.counts.get(task, 0)
        if count:
            _, seconds = timed(score, bench, predictions, tasks=[task], captions=False, concepts=concepts)
            print(f"    {task:<5} {count:6,} rows  {seconds:6.2f} s without captions")


def random_tiny_checkpoint(rows: list[dict], folder: Path) -> Path:
    """A random tiny LLaVA with a tokenizer trained on the rows' text, saved as a checkpoint."""
    from model.modeling import FiFaModel
    from model.tiny import tiny_llava

    texts = list(texts_of(_as_dataset(rows)))
    base, processor = tiny_llava(texts)
    FiFaModel.create(base, processor, base_model="tiny-llava").save_pretrained(folder)
    return folder


def _as_dataset(rows: list[dict]):
    from datasets import Dataset

    return Dataset.from_list([{"messages": r["messages"]} for r in rows])


def bench_generation(rows: list[dict], model: str, n: int, batch_size: int, max_new_tokens: int) -> None:
    """Answer ``n`` rows with ``model/evaluate.py``'s loop; print rows/s."""
    chosen = list(islice(cycle(rows), n))
    predictions, speed = model_predictions(model, chosen, batch_size=batch_size, max_new_tokens=max_new_tokens)
    tokens = sum(len(p.answer.split()) for p in predictions.values())
    print(f"\ngeneration with {model} on CPU ({torch.get_num_threads()} threads), batch {batch_size}, up to {max_new_tokens} new tokens")
    print(f"  {speed['rows']} rows in {speed['seconds']:.2f} s: {speed['rows_per_second']:.2f} rows/s ({tokens / speed['seconds']:.0f} words/s)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", help="a built FiFa folder (default: build 40 simulated pairs)")
    parser.add_argument("--predictions", type=int, default=10_000)
    parser.add_argument("--model", help="a FiFa-MLLM checkpoint (default: a random tiny LLaVA)")
    parser.add_argument("--rows", type=int, default=64, help="rows answered by the generation bench")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="fifa-bench-eval-") as tmp:
        dataset = args.dataset
        if dataset is None:
            from builders import BuildOptions, build

            dataset = str(Path(tmp) / "fifa")
            _, seconds = timed(build, BuildOptions(out=Path(dataset), sample_pairs=SAMPLE_PAIRS, progress=False))
            print(f"built {SAMPLE_PAIRS} simulated pairs in {seconds:.1f} s")
        rows = load_rows(dataset, "bench", "test", None, None)
        bench_metrics(rows, args.predictions, args.seed)
        model = args.model or str(random_tiny_checkpoint(rows, Path(tmp) / "tiny"))
        bench_generation(rows, model, args.rows, args.batch_size, args.max_new_tokens)


if __name__ == "__main__":
    main()
