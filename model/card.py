"""The model card: ``cards/model_card.md`` rendered with a training run's facts into ``OUT/README.md``.

It replaces TRL's generic card, which names no base for a FiFa model and shows a text-generation
snippet that cannot load it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from string import Template

from huggingface_hub import ModelCardData

from model.modeling import FiFaConfig

TEMPLATE = Path(__file__).resolve().parent.parent / "cards" / "model_card.md"
CARD_FILE = "README.md"


def render_model_card(
    folder: str | Path,
    config: FiFaConfig,
    *,
    dataset: str,
    configs: Sequence[str],
    steps: int,
    eval_metrics: dict[str, float] | None = None,
    template: str | Path = TEMPLATE,
) -> Path:
    """Write ``folder/README.md`` for a model with ``config`` trained ``steps`` steps on ``dataset``'s ``configs``; returns its path.

    ``eval_metrics`` are the trainer's last evaluation (``eval_loss`` ...), shown until FiFa-Bench is run.
    """
    folder = Path(folder)
    hub_base = not config.base_model.startswith(("tiny", "compose:")) and not Path(config.base_model).exists()
    data = ModelCardData(
        library_name="fifa",
        license="apache-2.0",
        base_model=config.base_model if hub_base else None,
        pipeline_tag="image-text-to-text",
        tags=["fifa", "deepfake-detection", "face-forgery", "segmentation", "trl", "sft"],
        datasets=[dataset] if "/" in dataset and not Path(dataset).exists() else None,
    )
    values = {
        "yaml": data.to_yaml(),
        "name": folder.name,
        "folder": str(folder),
        "base_model": config.base_model,
        "family": config.family,
        "lora": f", LoRA r={config.lora['r']}" if config.lora and "r" in config.lora else (", LoRA" if config.lora else ""),
        "dataset": dataset,
        "configs": ", ".join(f"`{c}`" for c in configs),
        "steps": f"{steps:,}",
        "tasks": ", ".join(config.tasks),
        "bench": _bench_text(str(folder), dataset, eval_metrics),
    }
    folder.mkdir(parents=True, exist_ok=True)  # before the first checkpoint, the trainer has not made it yet
    path = folder / CARD_FILE
    path.write_text(Template(Path(template).read_text()).substitute(values))
    return path


def _bench_text(folder: str, dataset: str, eval_metrics: dict[str, float] | None) -> str:
    measured = {k: v for k, v in (eval_metrics or {}).items() if k.startswith("eval_") and isinstance(v, (int, float)) and math.isfinite(v)}
    shown = ""
    if measured:
        rows = "\n".join(f"| {k.removeprefix('eval_')} | {v:.4f} |" for k, v in sorted(measured.items()) if not k.endswith(("_runtime", "per_second")))
        shown = f"The trainer's last evaluation (the validation split, teacher-forced):\n\n| metric | value |\n|---|---:|\n{rows}\n\n"
    return (
        shown + "FiFa-Bench itself was not measured at save time. Score every FiFa-11 task beside the trivial baselines with\n\n"
        f"```bash\npython model/evaluate.py --model {folder} --dataset {dataset} --out results/\n```\n\n"
        "which writes `results/results.md` (the table) and `results/results.json`."
    )
