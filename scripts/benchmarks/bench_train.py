"""Training bench for FiFa-MLLM: data fetch, collator and training speed, peak memory, save and reload.

    python scripts/benchmarks/bench_train.py [--dataset ./fifa] [--configs instruct] [--model tiny|tiny-qwen2-vl]
        [--size tiny|small|base] [--batch-size 4] [--max-steps 60] [--lora] [--device cpu|cuda] [--threads N]

Without ``--dataset`` it simulates 40 pairs from the bundled photos and builds them into a temporary
FiFa folder (timed; in a child process, so the face mesh stays out of the peak RSS). On the train
split of ``--configs`` it then measures, in one process:

* fetch: ``ds[i]`` on the ``datasets`` Dataset (the arrow row and the PNG/JPEG decode), samples/s;
* collate: ``FiFaCollator`` on rows fetched beforehand, ``--batch-size`` rows a call, over ``--rows``
  rows (cycled when the split is smaller), samples/s; and fetch + collate together;
* training: ``--max-steps`` real steps of ``model.sft.FiFaTrainer`` (dataloader in the main process,
  so each step fetches and collates its batch); the first ``--skip-steps`` are warm-up, the rest
  are timed from step end to step end: samples/s = batch size x steps / seconds. Also the
  samples/s of the median step, and the collator's share of the timed steps' wall time (measured
  in the same steps, so a busy machine slows both alike);
* the ratio collator / training samples/s against its target (>= 10x); peak RSS after training,
  and peak CUDA memory on a GPU;
* ``save_pretrained`` and ``FiFaModel.from_pretrained`` seconds, the checkpoint's size, and whether
  the reloaded model gives bit-identical mask logits and hidden states on one batch in eval mode.

``--size small|base`` (for a GPU) swaps the tiny LLaVA for a larger random-initialised one (224 px,
512 wide, 8 layers; or 336 px, 1024 wide, 16 layers). On CUDA training runs in bf16 autocast.
On a CPU shared with other busy processes, torch's default of one thread per core can make every
step many times slower (threads wait for each other); ``--threads 1`` gives steadier figures, and
the table shows the load average before training.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Before any Hugging Face import: nothing may reach the network or a stale user cache.
if "HF_HOME" not in os.environ:
    os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="fifa-hf-home-")
    atexit.register(shutil.rmtree, os.environ["HF_HOME"], ignore_errors=True)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import multiprocessing
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import cycle, islice, pairwise
from pathlib import Path

import torch
from datasets import Dataset
from transformers import TrainerCallback

from model.collator import FiFaCollator
from model.data import load_split, parse_configs, texts_of
from model.modeling import FiFaModel
from model.sft import FiFaArguments, FiFaSFTConfig, FiFaTrainer, build_model, parse_args
from model.tiny import tiny_llava

RATIO_TARGET = 10.0  # collator samples/s over training samples/s
SAMPLE_PAIRS = 40  # pairs simulated when no --dataset is given
SIZES = {  # --size small / base: a larger random LLaVA (model.tiny.tiny_llava) and its mask grid
    "small": {"image_size": 224, "patch_size": 14, "hidden": 512, "layers": 8, "heads": 8, "mask_size": 64},
    "base": {"image_size": 336, "patch_size": 14, "hidden": 1024, "layers": 16, "heads": 16, "mask_size": 128},
}


# -- the dataset ------------------------------------------------------------------------------


def build_sample_dataset(root: Path, seed: int) -> tuple[Path, float]:
    """Simulate `SAMPLE_PAIRS` pairs and build them into `root/fifa`; the folder and the seconds taken."""
    import builders
    from fifa_data.pairs.sample_source import write_sample_pairs

    start = time.perf_counter()
    pairs_dir, out = root / "pairs", root / "fifa"
    write_sample_pairs(pairs_dir, SAMPLE_PAIRS, seed=seed)
    builders.build(builders.BuildOptions(out=out, sources=(str(pairs_dir),), progress=False))
    return out, time.perf_counter() - start


def build_in_child(root: Path, seed: int) -> tuple[Path, float]:
    """`build_sample_dataset` in a fresh process, so that its memory is not this process's peak RSS."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(build_sample_dataset, root, seed).result()


def load_train(dataset: str, configs: str) -> Dataset:
    """The train split of `configs` (concatenated) in the built folder `dataset`."""
    names, _ = parse_configs(configs)
    train = load_split(dataset, names, "train")
    if train is None:
        raise SystemExit(f"error: {dataset} has no train split for {configs}")
    return train


# -- fetch and collate ------------------------------------------------------------------------


def bench_fetch(ds: Dataset, n: int) -> tuple[list[dict], float]:
    """Fetch the first `n` rows with ``ds[i]`` (image decoded); the rows and samples/s."""
    ds[0]  # warm-up: opens the arrow files
    start = time.perf_counter()
    rows = [ds[i] for i in range(n)]
    return rows, n / (time.perf_counter() - start)


def bench_collate(collator: FiFaCollator, rows: list[dict], n: int, batch_size: int) -> float:
    """Collate `n` rows (cycling `rows`) in batches of `batch_size`; samples/s."""
    collator(rows[:batch_size])  # warm-up
    stream = list(islice(cycle(rows), n))
    start = time.perf_counter()
    for i in range(0, n, batch_size):
        collator(stream[i : i + batch_size])
    return n / (time.perf_counter() - start)


def make_collator(model: FiFaModel) -> FiFaCollator:
    """The collator `model.sft.main` builds for `model`."""
    cfg = model.fifa_config
    return FiFaCollator(model.processor, cfg.family, mask_size=cfg.mask_size, tasks=cfg.tasks)


# -- the model --------------------------------------------------------------------------------


def trainer_setup(args: argparse.Namespace, dataset: str, out: Path) -> tuple[FiFaArguments, FiFaSFTConfig]:
    """``(FiFaArguments, FiFaSFTConfig)`` from `model.sft.parse_args`, set up for the bench."""
    cuda = args.device == "cuda"
    argv = [
        "--model", args.model, "--dataset", dataset, "--configs", args.configs, "--seed", str(args.seed),
        "--eval_split", "none", "--eval_strategy", "no", "--save_strategy", "no", "--output_dir", str(out),
        "--max_steps", str(args.max_steps), "--per_device_train_batch_size", str(args.batch_size),
        "--logging_steps", "1000000", "--report_to", "none", "--dataloader_num_workers", "0",
        "--bf16", str(cuda).lower(), "--use_cpu", str(not cuda).lower(),
    ]  # fmt: skip
    if args.lora:
        argv += ["--lora", "true"]
    return parse_args(argv)


def build_sized_model(fifa: FiFaArguments, texts, size: str, seed: int) -> FiFaModel:
    """A FiFa-MLLM on a larger random LLaVA (`SIZES[size]`), with LoRA or not as `model.sft.build_model`."""
    spec = dict(SIZES[size])
    mask_size = spec.pop("mask_size")
    base, processor = tiny_llava(texts, seed=seed, **spec)
    model = FiFaModel.create(base, processor, base_model="tiny-llava", seed=seed, mask_size=mask_size, decoder_dim=256, decoder_heads=8)
    if fifa.lora:  # without LoRA the vision tower trains too, as on every tiny base (it starts random)
        targets = tuple(fifa.lora_target_modules)
        model.add_lora(r=fifa.lora_r, alpha=fifa.lora_alpha, dropout=fifa.lora_dropout, target_modules=targets)
    return model


def make_model(args: argparse.Namespace, fifa: FiFaArguments, train: Dataset, seed: int) -> tuple[FiFaModel, float]:
    """The model to train (`--size tiny`: `model.sft.build_model`); the model and the seconds taken."""
    start = time.perf_counter()
    if args.size == "tiny":
        model = build_model(fifa, texts_of(train), None, seed)
    else:
        model = build_sized_model(fifa, texts_of(train), args.size, seed)
    return model, time.perf_counter() - start


def param_counts(model: FiFaModel) -> tuple[int, int]:
    """Trained and total parameters."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


# -- training ---------------------------------------------------------------------------------


class StepClock(TrainerCallback):
    """Wall-clock time at the end of every optimizer step (CUDA synchronised first)."""

    def __init__(self, cuda: bool):
        self.cuda = cuda
        self.ends: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        if self.cuda:
            torch.cuda.synchronize()
        self.ends.append(time.perf_counter())


class TimedCollator:
    """A collator that records the seconds of each call (inside training, beside the steps' times)."""

    def __init__(self, collator: FiFaCollator):
        self.collator = collator
        self.calls: list[float] = []

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        start = time.perf_counter()
        batch = self.collator(rows)
        self.calls.append(time.perf_counter() - start)
        return batch


def final_train_loss(trainer: FiFaTrainer) -> float:
    """The mean training loss the trainer logs at the end of `train()`."""
    return next((h["train_loss"] for h in reversed(trainer.state.log_history) if "train_loss" in h), float("nan"))


def bench_train(model: FiFaModel, config: FiFaSFTConfig, train: Dataset, skip: int, cuda: bool) -> dict:
    """Train `config.max_steps` steps; samples/s over the steps after the first `skip`, and totals."""
    clock, collator = StepClock(cuda), TimedCollator(make_collator(model))
    trainer = FiFaTrainer(
        model=model, args=config, data_collator=collator, train_dataset=train,
        processing_class=model.processor, callbacks=[clock],
    )  # fmt: skip
    start = time.perf_counter()
    trainer.train()
    total = time.perf_counter() - start
    ends = clock.ends[skip - 1 :]  # from the end of step `skip` to the end of the last step
    durations = [b - a for a, b in pairwise(ends)]
    seconds, median = ends[-1] - ends[0], statistics.median(durations)
    batch = config.per_device_train_batch_size
    collated = sum(collator.calls[skip : skip + len(durations)])  # call i collates the batch of step i + 1
    return {
        "steps": len(clock.ends),
        "timed_steps": len(durations),
        "seconds": seconds,
        "median_step": median,
        "total": total,
        "samples_per_s": batch * len(durations) / seconds,
        "median_samples_per_s": batch / median,
        "collate_share": collated / seconds,
        "train_loss": final_train_loss(trainer),
    }


# -- save and reload --------------------------------------------------------------------------


def check_batch(rows: list[dict], collator: FiFaCollator, batch_size: int) -> dict[str, torch.Tensor]:
    """One collated batch of rows that have masks (so that the mask decoder runs)."""
    with_masks = [r for r in rows if r.get("masks")] or rows
    return collator(with_masks[:batch_size])


@torch.no_grad()
def forward_eval(model: FiFaModel, batch: dict[str, torch.Tensor]):
    """`model`'s output on `batch` in eval mode, on the model's device."""
    device = next(model.parameters()).device
    model.eval()
    return model(**{k: v.to(device) for k, v in batch.items()})


def dir_bytes(path: Path) -> int:
    """Bytes of every file under `path`."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_save_reload(model: FiFaModel, batch: dict[str, torch.Tensor], out: Path) -> dict:
    """Time `save_pretrained` and `from_pretrained`; checkpoint bytes; identical outputs after the reload."""
    start = time.perf_counter()
    model.save_pretrained(out)
    save = time.perf_counter() - start
    start = time.perf_counter()
    reloaded = FiFaModel.from_pretrained(out)
    load = time.perf_counter() - start
    reloaded.to(next(model.parameters()).device)
    before, after = forward_eval(model, batch), forward_eval(reloaded, batch)
    return {
        "save": save,
        "load": load,
        "bytes": dir_bytes(out),
        "masks": len(before.mask_logits),
        "same_masks": torch.equal(before.mask_logits, after.mask_logits),
        "same_hidden": torch.equal(before.hidden_states, after.hidden_states),
    }


# -- the report -------------------------------------------------------------------------------


def yes_no(flag: bool) -> str:
    return "yes" if flag else "NO"


def report_rows(r: dict) -> list[tuple[str, str]]:
    """(label, value) of every row of the table."""
    fetch, collate, train, save = r["fetch"], r["collate"], r["train"], r["save"]
    rows = [
        ("device / training dtype", r["device"]),
        ("load average (1 min) before training", f"{r['load']:.2f} on {os.cpu_count()} CPUs"),
        ("model (size)", f"{r['base_model']} ({r['size']}), {'LoRA' if r['lora'] else 'full fine-tuning'}"),
        ("parameters trained / total", f"{r['params'][0]:,} / {r['params'][1]:,}"),
        ("model build s", f"{r['build_model']:.1f}"),
        ("dataset [configs] / train rows", f"{r['dataset']} / {r['train_rows']}"),
    ]
    if r["build_dataset"] is not None:
        rows.append((f"  simulate {SAMPLE_PAIRS} pairs + build s", f"{r['build_dataset']:.1f}"))
    rows += [
        (f"fetch samples/s (ds[i], {r['fetched']} rows)", f"{fetch:.1f}"),
        (f"collator samples/s ({r['collated']} rows, batch {r['batch_size']})", f"{collate:.1f}"),
        ("fetch + collate samples/s", f"{1 / (1 / fetch + 1 / collate):.1f}"),
        (f"training samples/s (steps {r['skip'] + 1}-{train['steps']})", f"{train['samples_per_s']:.2f}"),
        ("  samples/s of the median step", f"{train['median_samples_per_s']:.2f}"),
        ("  s/step mean / median", f"{train['seconds'] / train['timed_steps']:.3f} / {train['median_step']:.3f}"),
        ("  collator share of those steps' time", f"{train['collate_share'] * 100:.0f} %"),
        ("  train() s (all steps) / mean loss", f"{train['total']:.1f} / {train['train_loss']:.3f}"),
        ("peak RSS MiB (after training)", f"{r['rss_mib']:.0f}"),
    ]
    if r["cuda_gib"] is not None:
        rows.append(("peak CUDA memory allocated GiB", f"{r['cuda_gib']:.2f}"))
    rows += [
        ("save_pretrained s", f"{save['save']:.2f}"),
        ("from_pretrained s", f"{save['load']:.2f}"),
        ("checkpoint MB", f"{save['bytes'] / 1e6:.1f}"),
        (f"reload identical: mask logits ({save['masks']} masks)", yes_no(save["same_masks"])),
        ("reload identical: hidden states", yes_no(save["same_hidden"])),
    ]
    return rows


def print_report(r: dict) -> None:
    """The table and the PASS / NOT MET line of the collator-to-training ratio."""
    rows = report_rows(r)
    width = max(len(label) for label, _ in rows)
    print("\ntrain bench")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    ratio = r["collate"] / r["train"]["samples_per_s"]
    verdict = "PASS" if ratio >= RATIO_TARGET else "NOT MET"
    print(f"collator / training samples/s: {ratio:.1f}x (target >= {RATIO_TARGET:g}x): {verdict}")


# -- main -------------------------------------------------------------------------------------


def parse_cli() -> argparse.Namespace:
    """The bench's own flags."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", help=f"a built FiFa folder; default: {SAMPLE_PAIRS} sample pairs built into a temporary one")
    parser.add_argument("--configs", default="instruct", help="comma-separated task configs, or instruct")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-steps", type=int, default=60)
    parser.add_argument("--skip-steps", type=int, default=10, help="warm-up steps left out of training samples/s")
    parser.add_argument("--rows", type=int, default=200, help="rows collated (cycled when the split is smaller)")
    parser.add_argument("--model", default="tiny", choices=["tiny", "tiny-llava", "tiny-qwen2-vl"])
    parser.add_argument("--size", default="tiny", choices=["tiny", *SIZES], help="small / base: a larger random LLaVA")
    parser.add_argument("--lora", action="store_true", help="train with LoRA instead of full fine-tuning")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's); 1 is steadier on a shared machine")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.size != "tiny" and args.model == "tiny-qwen2-vl":
        parser.error("--size small / base builds a LLaVA; use it with --model tiny")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device here")
    if args.max_steps < 2:
        parser.error("--max-steps must be at least 2")
    args.skip_steps = max(1, min(args.skip_steps, args.max_steps // 2))
    return args


def run(args: argparse.Namespace, tmp: Path) -> dict:
    """Every measurement: the numbers of the report."""
    dataset, built = args.dataset, None
    if dataset is None:
        print(f"simulating {SAMPLE_PAIRS} pairs and building a FiFa folder ...", flush=True)
        path, built = build_in_child(tmp, args.seed)
        dataset = str(path)
    train = load_train(dataset, args.configs)
    fifa, config = trainer_setup(args, dataset, tmp / "run")

    print("building the model ...", flush=True)
    model, build_seconds = make_model(args, fifa, train, config.seed)
    collator = make_collator(model)
    print("fetching and collating ...", flush=True)
    rows, fetch = bench_fetch(train, min(len(train), args.rows))
    collate = bench_collate(collator, rows, args.rows, args.batch_size)

    print(f"training {args.max_steps} steps ...", flush=True)
    cuda = args.device == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    params, load = param_counts(model), os.getloadavg()[0]
    train_stats = bench_train(model, config, train, args.skip_steps, cuda)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    cuda_gib = torch.cuda.max_memory_allocated() / 2**30 if cuda else None

    print("saving and reloading ...", flush=True)
    save = bench_save_reload(model, check_batch(rows, collator, args.batch_size), tmp / "checkpoint")
    return {
        "device": f"{args.device} ({torch.get_num_threads()} torch threads) / {'bf16' if config.bf16 else 'fp32'}",
        "base_model": model.fifa_config.base_model,
        "size": args.size,
        "lora": model.fifa_config.lora is not None,
        "params": params,
        "load": load,
        "build_model": build_seconds,
        "dataset": f"{'temporary build' if args.dataset is None else args.dataset} [{args.configs}]",
        "train_rows": len(train),
        "build_dataset": built,
        "fetched": len(rows),
        "fetch": fetch,
        "collated": args.rows,
        "batch_size": args.batch_size,
        "collate": collate,
        "skip": args.skip_steps,
        "train": train_stats,
        "rss_mib": rss_mib,
        "cuda_gib": cuda_gib,
        "save": save,
    }


def main() -> None:
    args = parse_cli()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        results = run(args, Path(tmp))
    print_report(results)


if __name__ == "__main__":
    main()
