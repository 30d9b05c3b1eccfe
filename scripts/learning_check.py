"""The learning check: the tiny FiFa-MLLM, trained on CPU, must learn masks that beat the trivial ones.

    python scripts/learning_check.py --dataset ./fifa --out runs/learning-check

It trains ``model/sft.py --model tiny`` on the mask tasks (loc, age, rseg) of a small training set
for 400 steps, then feeds the training rows back with their answers (teacher forcing)
and scores every ``[SEG]`` mask by IoU at full image resolution against two baselines: the empty
mask and the whole-face mask (the FICT concept ``face``). It passes when the total loss fell below
half its first logged value and the model's mean IoU beats both baselines; the exit status says so.
This is what shows that the collator, the losses and the mask decoder are wired right.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import torch

from fifa_data import masks as masklib
from fifa_data.concepts import concept_masks
from model.collator import FiFaCollator
from model.data import load_split
from model.heads import masks_at
from model.modeling import FiFaModel
from model.sft import parse_args, train

CONFIGS = ("loc", "age", "rseg")


@dataclass
class CheckResult:
    """Losses at the start and end of training, and mean IoU of the model and the baselines."""

    first_loss: float
    last_loss: float
    masks: int
    model_iou: float
    empty_iou: float
    face_iou: float

    @property
    def passed(self) -> bool:
        return self.last_loss < 0.5 * self.first_loss and self.model_iou > max(self.empty_iou, self.face_iou)


def train_tiny(dataset: str, out: str, *, steps: int = 400, limit: int = 16, learning_rate: float = 1e-3, dice_weight: float = 2.0, seed: int = 0) -> list[dict]:
    """Train the tiny model on the mask tasks; returns the trainer's log history.

    The Dice weight is raised from GLaMM's 0.5: GLaMM's weights assume SAM's pretrained decoder,
    while this decoder starts from scratch, and on sparse artifact masks BCE alone first drives
    every logit negative.
    """
    argv = [
        "--model", "tiny", "--dataset", dataset, "--configs", ",".join(CONFIGS), "--limit", str(limit),
        "--max-steps", str(steps), "--learning-rate", str(learning_rate), "--output-dir", out, "--eval-split", "none",
        "--logging-steps", str(max(1, steps // 10)), "--save-strategy", "no", "--seed", str(seed), "--disable-tqdm", "true",
        "--dice-weight", str(dice_weight),
    ]
    return train(*parse_args(argv)).state.log_history


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def mask_ious(model: FiFaModel, rows: list[dict], batch_size: int = 8) -> tuple[list[float], list[float], list[float]]:
    """Per ``[SEG]`` mask of ``rows``: IoU of the model's mask (teacher forcing), the empty mask and the face."""
    config = model.fifa_config
    collator = FiFaCollator(model.processor, config.family, mask_size=config.mask_size, tasks=config.tasks)
    model.eval()
    faces: dict[str, np.ndarray] = {}
    scores: tuple[list[float], list[float], list[float]] = ([], [], [])
    for start in range(0, len(rows), batch_size):
        batch_rows = rows[start : start + batch_size]
        with torch.no_grad():
            out = model(**collator(batch_rows))
        k = 0
        for row in batch_rows:
            image = np.asarray(row["image"].convert("RGB"))
            key = row["pair_id"] or row["id"]
            if key not in faces:
                faces[key] = concept_masks(image).mask("face")
            predicted = masks_at(out.mask_logits[k : k + len(row["masks"])], image.shape[:2])
            for rle, mask in zip(row["masks"], predicted):
                truth = masklib.decode(rle).astype(bool)
                scores[0].append(iou(mask, truth))
                scores[1].append(iou(np.zeros_like(truth), truth))
                scores[2].append(iou(faces[key], truth))
            k += len(row["masks"])
    return scores


def check(dataset: str, out: str, *, steps: int = 400, limit: int = 16, seed: int = 0) -> CheckResult:
    """Train, then score the training rows that carry masks."""
    history = train_tiny(dataset, out, steps=steps, limit=limit, seed=seed)
    losses = [h["loss"] for h in history if "loss" in h]
    train_rows = load_split(dataset, list(CONFIGS), "train", limit=limit)
    rows = [r for r in train_rows if r["masks"]]
    model_scores, empty_scores, face_scores = mask_ious(FiFaModel.from_pretrained(out), rows)
    return CheckResult(losses[0], losses[-1], len(model_scores), float(np.mean(model_scores)), float(np.mean(empty_scores)), float(np.mean(face_scores)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="./fifa", help="a built FiFa folder")
    parser.add_argument("--out", default="runs/learning-check", help="where the trained model goes")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--limit", type=int, default=16, help="rows of each mask config (a small training set)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = check(args.dataset, args.out, steps=args.steps, limit=args.limit, seed=args.seed)
    print(f"\nlearning check on {result.masks} [SEG] masks of the training rows ({', '.join(CONFIGS)})")
    print(f"  total loss      {result.first_loss:.3f} → {result.last_loss:.3f}")
    print(f"  mean IoU        model {result.model_iou:.3f}   empty mask {result.empty_iou:.3f}   whole face {result.face_iou:.3f}")
    print(f"  {'PASSED' if result.passed else 'FAILED'}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
