"""The learning check: the tiny FiFa-MLLM, trained on CPU, must answer its training rows better than every trivial baseline.

    python scripts/learning_check.py --dataset ./fifa --out runs/learning-check

It trains ``model/sft.py --model tiny`` on det, loc, age and rseg (``--limit`` rows of each, the
train split) for 1000 steps, then lets the model answer those same rows by free generation
(``model/evaluate.py``: greedy decoding, a mask per generated ``[SEG]``) and scores them with the
benchmark's code beside the trivial baselines: always "fake", the majority answer, the empty mask
and the whole-face mask (the baselines that expose priors, `location-prior` and `query-region`,
are for held-out people: ``scripts/benchmarks/bench_learning.py``). It passes when the total loss fell below half its first logged value and
the model beats every baseline on loc mIoU, rseg mIoU and det accuracy; the exit status says so.
This is what shows that the collator, the losses, the mask decoder and generation are wired right.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

from fifa_data import cli

cli.guard_start(__name__)  # Ctrl-C from here on: one line, exit 130

CONFIGS = ("det", "loc", "age", "rseg")
WEIGHTS = "4,1,1,2"  # det and rseg decide in one or two tokens among long AGE answers: sample them more often
# (det 3: its rows now hold fakes whose edit no mask finds, kept for det; at 2 seed 0 fell to always-real.
# det 4: with the annotator of issue 16 round 6 the first 16 det rows changed, and at 3 det fell to one class)
CRITERIA = (("det", "accuracy"), ("loc", "miou"), ("rseg", "miou"))  # the model must beat every baseline on each
SHOWN = (*CRITERIA, ("age", "miou"), ("age", "mask_recall"))
TRIVIAL = ("always-fake", "majority", "empty-mask", "whole-face")  # the baselines a wired model must beat on its training rows


@dataclass
class CheckResult:
    """Losses at the start and end of training; the model's and each baseline's scores on the training rows."""

    first_loss: float
    last_loss: float
    model: dict[tuple[str, str], float]
    baselines: dict[str, dict[tuple[str, str], float]]

    def best_baseline(self, key: tuple[str, str]) -> float:
        values = [b[key] for b in self.baselines.values() if key in b and not math.isnan(b[key])]
        return max(values) if values else math.nan

    @property
    def passed(self) -> bool:
        learned = all(self.model.get(key, math.nan) > self.best_baseline(key) for key in CRITERIA)
        return self.last_loss < 0.5 * self.first_loss and learned


def train_tiny(
    dataset: str, out: str, *, steps: int = 1000, limit: int = 16, learning_rate: float = 1e-3, dice_weight: float = 2.0, seed: int = 0
) -> list[dict]:
    """Train the tiny model on the check's configs; returns the trainer's log history.

    The Dice weight is raised from GLaMM's 0.5: GLaMM's weights assume SAM's pretrained decoder,
    while this decoder starts from scratch, and on sparse artifact masks BCE alone first drives
    every logit negative. It keeps the pixel-mean BCE it was tuned with (``--balanced-bce false``; sft.py
    balances it for a tiny model by default).
    """
    argv = [
        "--model", "tiny", "--dataset", dataset, "--configs", ",".join(CONFIGS), "--weights", WEIGHTS, "--limit", str(limit),
        "--max-steps", str(steps), "--learning-rate", str(learning_rate), "--output-dir", out, "--eval-split", "none",
        "--logging-steps", str(max(1, steps // 10)), "--save-strategy", "no", "--seed", str(seed), "--disable-tqdm", "true",
        "--dice-weight", str(dice_weight), "--balanced-bce", "false",
    ]  # fmt: skip
    from model.sft import parse_args, train

    return train(*parse_args(argv)).state.log_history


def _values(scores: dict) -> dict[tuple[str, str], float]:
    return {(task, metric): math.nan if value is None else value for task, metrics in scores["metrics"].items() for metric, value in metrics.items()}


def check(dataset: str, out: str, *, steps: int = 1000, limit: int = 16, seed: int = 0) -> CheckResult:
    """Train, then answer and score the training rows with ``model/evaluate.py``."""
    from model.evaluate import evaluate
    from model.evaluate import parse_args as evaluate_args

    history = train_tiny(dataset, out, steps=steps, limit=limit, seed=seed)
    losses = [h["loss"] for h in history if "loss" in h]
    argv = ["--model", out, "--dataset", dataset, "--config", ",".join(CONFIGS), "--split", "train", "--limit", str(limit)]
    report = evaluate(evaluate_args([*argv, "--no-captions", "--max-new-tokens", "96", "--out", str(Path(out) / "evaluation")]))
    baselines = {name: _values(scores) for name, scores in report["baselines"].items() if name in TRIVIAL}
    return CheckResult(losses[0], losses[-1], _values(report["scores"]), baselines)


@cli.command
def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="./fifa", help="a built FiFa folder")
    parser.add_argument("--out", default="runs/learning-check", help="where the trained model and its evaluation go")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=16, help="training rows of each config (a small training set)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = check(args.dataset, args.out, steps=args.steps, limit=args.limit, seed=args.seed)
    print(f"\nlearning check: {', '.join(CONFIGS)} on {args.limit} training rows each, answered by free generation")
    print(f"  total loss {result.first_loss:.3f} → {result.last_loss:.3f}")
    for key in SHOWN:
        others = "   ".join(f"{name} {scores[key]:.3f}" for name, scores in result.baselines.items() if key in scores)
        print(f"  {key[0]} {key[1]:<12} model {result.model.get(key, math.nan):.3f}   {others}")
    print(f"  {'PASSED' if result.passed else 'FAILED'}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
