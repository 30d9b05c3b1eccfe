"""`python model/sft.py` end to end on the tiny model: CLI, saved output, resume, and the learning check."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from model.modeling import HEADS_FILE, FiFaModel
from model.sft import parse_args, train

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _argv(dataset: Path, out: Path, *extra: str) -> list[str]:
    return ["--dataset", str(dataset), "--output-dir", str(out), "--disable-tqdm", "true", *extra]


def test_sft_cli_trains_logs_every_loss_term_and_saves_a_reloadable_model(small_build, tmp_path):
    out = tmp_path / "out"
    argv = [
        sys.executable,
        str(ROOT / "model" / "sft.py"),
        *_argv(small_build, out, "--model", "tiny", "--configs", "age,loc,det", "--max-steps", "6", "--logging-steps", "2", "--eval-steps", "3"),
    ]
    result = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "FiFa-MLLM on tiny-llava" in result.stdout and f"saved to {out}" in result.stdout
    state = json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    logged = [h for h in state["log_history"] if "loss" in h]
    assert logged and all({"ce", "bce", "dice"} <= set(h) for h in logged)
    assert any("eval_loss" in h and "eval_dice" in h for h in state["log_history"])
    model = FiFaModel.from_pretrained(out)
    assert model.fifa_config.base_model == "tiny-llava" and model.fifa_config.lora is None


def test_weighted_configs_with_lora_train_and_reload(small_build, tmp_path):
    out = tmp_path / "lora"
    trainer = train(
        *parse_args(_argv(small_build, out, "--configs", "rseg,bdet", "--weights", "3,1", "--lora", "true", "--max-steps", "3", "--save-strategy", "no"))
    )
    assert trainer.state.global_step == 3
    reloaded = FiFaModel.from_pretrained(out)
    assert reloaded.fifa_config.lora is not None and (out / "adapter_model.safetensors").is_file()


def test_sft_composes_a_llava_from_a_face_encoder_and_an_llm(small_build, tmp_path):
    from tiny_parts import save_encoder_and_llm

    from model.data import load_split, texts_of

    encoder_dir, llm_dir, _, _ = save_encoder_and_llm(tmp_path, texts_of(load_split(str(small_build), ["age"], "train")))
    out = tmp_path / "composed"
    argv = _argv(small_build, out, "--configs", "age,bexp", "--max-steps", "2", "--save-strategy", "no", "--eval-split", "none")
    argv += ["--vision-tower", str(encoder_dir), "--language-model", str(llm_dir)]
    trainer = train(*parse_args(argv))
    assert trainer.state.global_step == 2
    model = FiFaModel.from_pretrained(out)
    assert model.fifa_config.base_model.startswith("compose:") and model.fifa_config.lora is not None
    assert (out / "base").is_dir() and (out / "adapter_model.safetensors").is_file()


def test_resuming_from_a_checkpoint_ends_where_an_uninterrupted_run_ends(small_build, tmp_path):
    common = ("--configs", "age,rdet", "--max-steps", "6", "--save-steps", "3", "--eval-split", "none", "--per-device-train-batch-size", "2")
    straight = tmp_path / "straight"
    train(*parse_args(_argv(small_build, straight, *common)))
    resumed = tmp_path / "resumed"
    checkpoint = straight / "checkpoint-3"
    trainer = train(*parse_args(_argv(small_build, resumed, *common, "--resume-from-checkpoint", str(checkpoint))))
    assert trainer.state.global_step == 6
    a, b = load_file(straight / HEADS_FILE), load_file(resumed / HEADS_FILE)
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    initial = load_file(checkpoint / HEADS_FILE)
    assert any(not torch.equal(initial[k], b[k]) for k in a)


def test_learning_check_beats_every_trivial_baseline(small_build, tmp_path):
    check = runpy.run_path(str(ROOT / "scripts" / "learning_check.py"))["check"]
    result = check(str(small_build), str(tmp_path / "learned"))
    assert result.last_loss < 0.5 * result.first_loss, result
    for key in (("det", "accuracy"), ("loc", "miou"), ("rseg", "miou")):
        assert result.model[key] > result.best_baseline(key), (key, result)
    assert {"always-fake", "majority", "empty-mask", "whole-face"} <= set(result.baselines)
    assert (tmp_path / "learned" / "evaluation" / "results.md").is_file()


def test_two_processes_under_accelerate_train_as_one(small_build, tmp_path):
    """`accelerate launch` with two CPU processes (gloo): the loss terms are logged once, a
    checkpoint is saved, and both ranks end with the same weights."""
    out = tmp_path / "ddp"
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
              "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0"]  # fmt: skip
    flags = _argv(small_build, out, "--model", "tiny", "--configs", "age,det", "--max-steps", "4", "--logging-steps", "1",
                  "--save-steps", "4", "--eval-split", "none", "--use-cpu", "true")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([*launch, str(ROOT / "tests" / "ddp_train.py"), *flags], capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    logged = [json.loads(line.replace("'", '"')) for line in result.stdout.splitlines() if line.startswith("{'loss'")]
    assert len(logged) == 4 and all({"ce", "bce", "dice"} <= set(entry) for entry in logged)  # the main process logs, once
    assert (out / "checkpoint-4" / "fifa_config.json").is_file() and FiFaModel.from_pretrained(out)
    ranks = [json.loads((tmp_path / f"rank-{i}.json").read_text()) for i in range(2)]
    assert [r["world_size"] for r in ranks] == [2, 2] and [r["steps"] for r in ranks] == [4, 4]
    assert ranks[0]["digest"] == ranks[1]["digest"]
