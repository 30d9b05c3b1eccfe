"""Every command as a user runs it, in a subprocess: a mistake gives one line and the right exit status,
a folder FiFa did not write is never replaced, and Ctrl-C or SIGTERM ends a build cleanly."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fifa_data.pairs.sample_source import write_sample_pairs

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "build": ROOT / "scripts" / "build.py",
    "simulate": ROOT / "scripts" / "simulate.py",
    "annotate": ROOT / "scripts" / "annotate.py",
    "concepts": ROOT / "scripts" / "concepts.py",
    "sft": ROOT / "model" / "sft.py",
    "evaluate": ROOT / "model" / "evaluate.py",
    "infer": ROOT / "model" / "infer.py",
}
NOISE = ("Traceback", "W0000", "XNNPACK", "absl::InitializeLog", "PTBTokenizer", "%|")
pytestmark = pytest.mark.slow


def run(command: str, *argv: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(COMMANDS[command]), *argv], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    """A working folder with the inputs people get wrong: notes, a broken source, an empty one, a bad manifest."""
    root = tmp_path_factory.mktemp("user")
    (root / "notes").mkdir()
    (root / "notes" / "analysis.md").write_text("my notes\n")
    (root / "notes" / "results.csv").write_text("a,b\n1,2\n")
    (root / "no_layout").mkdir()
    (root / "no_layout" / "photo.jpg").write_bytes(b"not really")
    for sub in ("real", "fake"):
        (root / "empty" / sub).mkdir(parents=True)
    (root / "bad_manifest.csv").write_text("real,image\nreal/a.png,fake/a.png\n")
    rejected = root / "all_rejected"
    for sub in ("real", "fake"):
        (rejected / sub).mkdir(parents=True)
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(rejected / "real" / "0001.png")
    (rejected / "fake" / "0001_smile.jpg").write_bytes(b"truncated")
    Image.fromarray(noise).save(root / "noise.png")
    (root / "not_an_image.jpg").write_text("hello")
    return root


# command, arguments, exit status, what the one line says ({p} is the working folder)
BAD_INPUTS = {
    "build: notes as --out": ("build", ["--out", "notes"], 2, "--out notes: holds files that FiFa did not write (no build.json)"),
    "build: missing source": ("build", ["--pairs", "nowhere", "--out", "o"], 2, "nowhere: no such pair folder or manifest"),
    "build: no real/ and fake/": ("build", ["--pairs", "no_layout", "--out", "o"], 2, "no_layout: neither a manifest"),
    "build: manifest lacks a column": ("build", ["--manifest", "bad_manifest.csv", "--out", "o"], 2, "lacks column(s) fake"),
    "build: unknown flag": ("build", ["--colour", "red"], 2, "--colour red: unknown option"),
    "build: bad choice": ("build", ["--mask-mode", "magic"], 2, "--mask-mode: invalid choice: 'magic'"),
    "build: merge of no build": ("build", ["--merge", "notes", "--out", "o"], 2, "notes: not a FiFa build (no build.json)"),
    "build: empty source": ("build", ["--pairs", "empty", "--out", "o"], 1, "empty: no pairs found; nothing written"),
    "build: slurm without a partition": (
        "build",
        ["--executor", "slurm", "--tasks", "4", "--out", "o"],
        2,
        "--executor slurm: needs --slurm-partition and --slurm-time",
    ),
    "build: executor and shards": ("build", ["--executor", "local", "--num-shards", "2", "--out", "o"], 2, "--executor: makes its own slices (--tasks)"),
    "build: every pair rejected": ("build", ["--pairs", "all_rejected", "--out", "o"], 1, "all_rejected: no pair accepted of 1 (rejected: 1 unreadable)"),
    "simulate: notes as --out": ("simulate", ["--out", "notes", "-n", "2"], 2, "--out notes: holds files that FiFa did not write"),
    "simulate: no pairs": ("simulate", ["--out", "o", "-n", "0"], 2, "-n: must be at least 1"),
    "annotate: notes as --out": ("annotate", ["empty", "--out", "notes"], 2, "--out notes: holds files that FiFa did not write (no summary.json)"),
    "annotate: missing source": ("annotate", ["nowhere", "--out", "o"], 2, "nowhere: no such file or folder"),
    "concepts: not an image": ("concepts", ["not_an_image.jpg", "--out", "o"], 2, "not_an_image.jpg: not an image Pillow can read"),
    "concepts: no face": ("concepts", ["noise.png", "--out", "o"], 2, "noise.png: no face found"),
    "sft: missing dataset": ("sft", ["--dataset", "./nowhere", "--output-dir", "o"], 2, "./nowhere: no such dataset folder"),
    "sft: notes as --output-dir": ("sft", ["--dataset", "nowhere", "--output-dir", "notes"], 2, "--output-dir notes: holds files that FiFa did not write"),
    "evaluate: missing dataset": (
        "evaluate",
        ["--predictions", "notes/results.csv", "--dataset", "./nowhere", "--out", "o"],
        2,
        "./nowhere: no such dataset folder",
    ),
    "evaluate: not a checkpoint": ("evaluate", ["--model", "notes", "--out", "o"], 2, "--model notes: not a FiFa-MLLM checkpoint"),
    "infer: notes as --out": (
        "infer",
        ["--model", "m", "--image", "noise.png", "--out", "notes"],
        2,
        "--out notes: holds files that FiFa did not write (no answer.json)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_a_mistake_gives_one_line_the_right_status_and_leaves_nothing(case, place):
    command, argv, status, message = BAD_INPUTS[case]
    before = files_of(place)
    result = run(command, *argv, cwd=place)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == status, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not any(n in result.stderr for n in NOISE)
    assert files_of(place) == before  # the user's files byte-identical, and no output or .partial left
    assert sorted(p.name for p in place.iterdir() if p.name.startswith(".")) == []


def test_sft_help_shows_fifas_options_on_one_screen_and_help_all_the_rest(capsys):
    from model.sft import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--help"])
    short = capsys.readouterr().out
    with pytest.raises(SystemExit):
        parse_args(["--help-all"])
    full = capsys.readouterr().out
    assert "--ce-weight" in short and "--learning-rate" in short and "--help-all" in short
    assert "--ce_weight" not in short and "--adam-beta1" not in short
    assert len(short.splitlines()) < 150 < len(full.splitlines())
    assert "--adam-beta1" in full
    assert parse_args(["--dataset", "d", "--output_dir", "o", "--ce_weight", "3", "--learning_rate", "1e-4"])[1].ce_weight == 3.0  # underscores still parse


def test_a_dataset_that_is_not_a_fifa_build_is_named(place):
    from model.data import DatasetError, check_dataset

    for dataset, message in {
        str(place / "notes"): "not a FiFa dataset folder",
        str(place / "noise.png"): "a file, not a dataset folder",
        "./fifa-nowhere": "no such dataset folder",
    }.items():
        with pytest.raises(DatasetError, match=message):
            check_dataset(dataset)
    check_dataset("someone/fifa")  # a Hub id is left to the loader


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pairs")
    write_sample_pairs(root, 4, seed=0, photos=("astronaut",), manipulations=("lip_color", "eyebrow"))
    return root


def test_a_build_replaces_its_own_earlier_build_whole_and_speaks_quietly(pairs, tmp_path):
    out = tmp_path / "fifa"
    argv = ["--pairs", str(pairs), "--out", str(out), "--configs", "det", "age"]
    first = run("build", *argv, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert not any(n in first.stderr for n in NOISE), first.stderr  # no bars in a log, no native start-up lines
    (out / "stale.parquet").write_bytes(b"from an earlier build")
    again = run("build", *argv, "--seed", "1", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert not (out / "stale.parquet").exists() and json.loads((out / "build.json").read_text())["parameters"]["annotator"]["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifa"]


def test_infer_into_a_reused_folder_keeps_no_mask_of_the_earlier_answer(tmp_path):
    from model.generation import Answer
    from model.infer import write_outputs

    rgb = np.zeros((32, 32, 3), np.uint8)
    row = {"task": "age", "messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Why?"}]}]}
    two = Answer(text="<p>the lips</p> [SEG] and <p>the nose</p> [SEG]", masks=[np.ones((32, 32), bool)] * 2, token_ids=[])
    none = Answer(text="It is real.", masks=[], token_ids=[])
    out = tmp_path / "answer"
    write_outputs(out, rgb, row, "photo.png", two, two.text)
    assert {"mask_1.png", "mask_2.png"} <= {p.name for p in out.iterdir()}
    record = write_outputs(out, rgb, row, "photo.png", none, none.text)
    assert record["masks"] == [] and not list(out.glob("mask_*.png"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_ends_a_two_process_build_within_seconds_and_keeps_the_old_build(sig, small_build, tmp_path):
    out = tmp_path / "fifa"
    shutil.copytree(small_build, out)
    before = files_of(out)
    command = [sys.executable, str(COMMANDS["build"]), "--out", str(out), "--sample-pairs", "100", "--num-proc", "2", "--configs", "det", "loc"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    tables = tmp_path / ".fifa.partial" / "_work" / "tables"
    # The pool runs (two workers and multiprocessing's resource tracker) and has handed back its first
    # rows (their table's folder exists): the parent is past starting the workers, which it does with SIGINT ignored.
    while (len(_children(process.pid)) < 3 or not (tables.is_dir() and any(tables.iterdir()))) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = _children(process.pid)
    assert process.poll() is None, "the build ended before it could be interrupted"
    sent = time.monotonic()
    process.send_signal(sig)
    try:
        _, stderr = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"{sig.name} did not end the build within 10 s")
    assert time.monotonic() - sent < 10
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == [f"interrupted; {out} unchanged"], stderr
    assert not (tmp_path / ".fifa.partial").exists()
    assert files_of(out) == before
    time.sleep(0.5)
    assert not [w for w in workers if _alive(w)]  # no worker outlives the build


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_an_interrupted_training_run_keeps_its_checkpoints_or_the_earlier_model(tmp_path):
    from fifa_data.outputs import Interrupted, OutputRefused
    from model.modeling import CONFIG_FILE
    from model.sft import training_output

    out = tmp_path / "run"
    out.mkdir()
    (out / CONFIG_FILE).write_text("{}")  # an earlier FiFa model
    before = files_of(out)
    with pytest.raises(Interrupted, match="unchanged"), training_output(out, resuming=False):
        (out / "half-written").mkdir(parents=True)  # the new run, interrupted before its first checkpoint
        raise KeyboardInterrupt
    assert files_of(out) == before and not (tmp_path / ".run.old").exists()
    with pytest.raises(Interrupted, match="checkpoint-5 kept"), training_output(out, resuming=False):
        (out / "checkpoint-5").mkdir(parents=True)
        (out / "checkpoint-5" / CONFIG_FILE).write_text("{}")
        raise KeyboardInterrupt
    assert (out / "checkpoint-5").is_dir() and not (out / CONFIG_FILE).exists()
    with training_output(out, resuming=True):  # a resumed run keeps its folder
        (out / CONFIG_FILE).write_text("{}")
    assert {f"checkpoint-5/{CONFIG_FILE}", CONFIG_FILE} <= set(files_of(out))
    with pytest.raises(OutputRefused, match="--output-dir"), training_output(tmp_path, resuming=False):
        pass  # tmp_path holds other files
