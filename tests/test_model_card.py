"""The saved model's card: FiFa's, naming what was trained and how to load it, and saying exactly what is pickled."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_sft_writes_a_fifa_model_card(small_build, tmp_path):
    out = tmp_path / "mllm"
    argv = [
        sys.executable, str(ROOT / "model" / "sft.py"), "--model", "tiny", "--dataset", str(small_build), "--configs", "age,det",
        "--max-steps", "4", "--save-steps", "2", "--eval-steps", "2", "--logging-steps", "2", "--output-dir", str(out), "--disable-tqdm", "true",
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert list(out.glob("checkpoint-*/optimizer.pt")), "the test means to show the card's pickle statement next to a real checkpoint"

    card = (out / "README.md").read_text()
    assert "huggingface.co/None" not in card and "fine-tuned version" not in card  # not TRL's boilerplate
    assert "# FiFa-MLLM: mllm" in card
    assert "| base model | `tiny-llava` (llava) |" in card
    assert "configs `age`, `det`" in card and str(small_build) in card
    assert "| steps | 4 " in card
    assert "| loss |" in card  # the trainer's last evaluation, until FiFa-Bench is run
    assert f"python model/evaluate.py --model {out} --dataset {small_build} --out results/" in card
    assert f'FiFaModel.from_pretrained("{out}")' in card and f"python model/infer.py --model {out} --image PHOTO" in card
    assert "**What is pickled:** only the trainer's state for resuming a run, in `checkpoint-*` folders" in card
    assert "**What never is:** the\nweights, the heads and the configs, which are safetensors and JSON only" in card
    assert card.startswith("---\nlibrary_name: fifa\n")
