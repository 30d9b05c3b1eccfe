"""The trip-ups of a first day with FiFa, each as a newcomer meets it: lists typed either way, a misspelt
manifest column, a build whose test split came out empty, evaluate.py's output in a log, and sft.py
started without the arguments it needs."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from fifa_data.core.schema import answer_of
from fifa_data.pairs.sample_source import write_sample_pairs
from fifa_data.pairs.sources import SourceError, open_source
from fifa_data.scoring.predictions import Prediction, write_predictions
from model import evaluate, infer, sft
from model.modeling import FiFaModel
from model.tiny import tiny_llava

ROOT = Path(__file__).resolve().parents[1]


def script(name: str) -> dict:
    return runpy.run_path(str(ROOT / "scripts" / name))


def one_line_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


# --- 1. lists the same way everywhere ---------------------------------------------------------


def test_every_list_option_takes_commas_spaces_and_mixes(tmp_path, capsys):
    build_args, _ = script("build.py")["parse_args"](["--configs", "age,loc", "det", "--split-ratios", "0.7,0.2", "0.1"])
    assert build_args.configs == ["age", "loc", "det"] and build_args.split_ratios == [0.7, 0.2, 0.1]
    fifa, _ = sft.parse_args(
        ["--dataset", "d", "--output-dir", "o", "--configs", "age", "loc,det", "--weights", "1,2", "3", "--lora-target-modules", "q_proj", "v_proj"]
    )
    assert fifa.configs == ["age", "loc", "det"] and fifa.weights == [1.0, 2.0, 3.0] and fifa.lora_target_modules == ["q_proj", "v_proj"]
    scored = evaluate.parse_args(["--predictions", "p.jsonl", "--config", "loc", "rseg,det", "--tasks", "det, loc", "age"])
    assert scored.config == ["loc", "rseg", "det"] and scored.tasks == ["det", "loc", "age"]
    asked = infer.parse_args(["--model", "m", "--image", "i.png", "--out", "o", "--task", "bdet", "--box", "10", "20", "30,40"])
    assert asked.box == "10,20,30,40"

    # simulate.py and annotate.py parse in main: the lists are read, and the run stops at the next check
    simulate = script("simulate.py")["main"]
    lists = ["--photos", "astronaut,camera", "grace_hopper", "--manipulations", "lip_color", "eyebrow,smile", "--views", "full"]
    assert simulate(["--out", str(tmp_path / "s"), "-n", "0", *lists]) == 2
    assert "-n: must be at least 1" in one_line_error(capsys)
    (tmp_path / "empty").mkdir()  # --photos takes a bundled photo's name or a folder, as --photos-dir does
    assert simulate(["--out", str(tmp_path / "s"), "--photos", str(tmp_path / "empty")]) == 2
    assert "--photos " + str(tmp_path / "empty") + ": no photos" in one_line_error(capsys)
    assert simulate(["--out", str(tmp_path / "s"), "--photos", "astronaut,hopper"]) == 2
    assert "--photos: 'hopper' is neither a bundled photo" in one_line_error(capsys)
    assert script("annotate.py")["main"]([str(tmp_path / "nowhere"), "--out", str(tmp_path / "a"), "--tasks", "det,loc", "age"]) == 2
    assert "nowhere: no such file or folder" in one_line_error(capsys)

    assert script("build.py")["main"](["--configs", "age,nope", "--out", str(tmp_path / "b")]) == 2
    assert "--configs: invalid choice: 'nope'" in one_line_error(capsys)
    assert script("build.py")["main"](["--split-ratios", "0.8,0.2", "--out", str(tmp_path / "b")]) == 2
    assert "--split-ratios: expected 3 values, got 2" in one_line_error(capsys)


# --- 2. a misspelt manifest column --------------------------------------------------------------


@pytest.fixture
def photo_pair(tmp_path, astronaut) -> Path:
    """A folder with one real photo and its 'fake' (the same pixels): what a manifest points at."""
    for sub in ("real", "fake"):
        (tmp_path / sub).mkdir()
        Image.fromarray(astronaut).save(tmp_path / sub / "a.png")
    return tmp_path


@pytest.mark.parametrize(("typo", "known"), [("manipulaton", "manipulation"), ("splt", "split"), ("Source_ID", "source_id")])
def test_a_column_one_edit_from_a_missing_known_one_is_refused_naming_both_and_others_travel_along(photo_pair, typo, known, capsys):
    manifest = photo_pair / "pairs.csv"
    manifest.write_text(f"real,fake,{typo}\nreal/a.png,fake/a.png,smile\n")
    with pytest.raises(SourceError, match=f"pairs.csv: column '{typo}' looks like '{known}' \\(rename it, or add an empty '{known}' column"):
        open_source(manifest).scan()
    assert script("build.py")["main"](["--manifest", str(manifest), "--out", str(photo_pair / "fifa")]) == 2
    assert f"column '{typo}' looks like '{known}'" in one_line_error(capsys)
    # other unknown columns still travel along: 'face' is one edit from 'fake', which the manifest has,
    # so it is a column of the user's own, like 'notes'
    manifest.write_text("real,fake,manipulation,face,notes\nreal/a.png,fake/a.png,smile,left,from the lab\n")
    refs, rejects = open_source(manifest).scan()
    assert not rejects and refs[0].manipulation == "smile" and refs[0].extra == {"face": "left", "notes": "from the lab"}


# --- 3. an empty split --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_photo_build(tmp_path_factory) -> tuple[Path, str]:
    """A build from fakes of one photo (so one split, train, holds every row) and the summary it printed."""
    import contextlib
    import io

    root = tmp_path_factory.mktemp("one-photo")
    write_sample_pairs(root / "pairs", 2, seed=0, photos=("astronaut",), manipulations=("lip_color",))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert script("build.py")["main"](["--pairs", str(root / "pairs"), "--out", str(root / "fifa"), "--no-progress"]) == 0
    return root / "fifa", printed.getvalue()


@pytest.mark.slow
def test_a_build_with_an_empty_split_says_so_in_its_summary_and_card(one_photo_build):
    out, summary = one_photo_build
    assert "warning: the validation and test splits are empty" in summary and "--split-ratios" in summary
    card = (out / "README.md").read_text()
    assert "**Warning:** the validation and test splits are empty" in card and "'split' column" in card


@pytest.mark.slow
def test_evaluate_on_a_build_without_a_test_split_says_the_split_is_empty(one_photo_build, tmp_path, capsys):
    out, _ = one_photo_build
    predictions = tmp_path / "answers.jsonl"
    write_predictions(predictions, [])
    for config in (["--config", "bench"], ["--config", "det"]):
        assert evaluate.main(["--predictions", str(predictions), "--dataset", str(out), *config, "--out", str(tmp_path / "r")]) == 2
        line = one_line_error(capsys)
        assert "the test split is empty" in line and "'split' column" in line and "--split-ratios" in line, line
        assert "has no config" not in line


# --- 4. evaluate.py's output --------------------------------------------------------------------


def test_evaluate_prints_clean_paths(small_build, tmp_path, capsys):
    rows = evaluate.load_rows(str(small_build), "bench", "test", ["det"], 2)
    predictions = tmp_path / "answers.jsonl"
    write_predictions(predictions, [Prediction(r["id"], answer_of(r), []) for r in rows])
    out = tmp_path / "results"
    argv = ["--predictions", str(predictions), "--dataset", str(small_build), "--tasks", "det", "--limit", "2", "--no-captions"]
    assert evaluate.main([*argv, "--out", f"{out}/"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}/results.md, {out}/results.json" in printed and "//" not in printed


@pytest.mark.slow
def test_evaluate_shows_progress_as_plain_lines_off_a_terminal(small_build, tmp_path, capsys):
    rows = evaluate.load_rows(str(small_build), "bench", "test", None, 1)
    base, processor = tiny_llava([answer_of(r) for r in rows] * 2)
    checkpoint = FiFaModel.create(base, processor, base_model="tiny-llava", mask_size=32, decoder_dim=32, decoder_heads=4).save_pretrained(tmp_path / "tiny")
    argv = ["--model", str(checkpoint), "--dataset", str(small_build), "--limit", "1", "--max-new-tokens", "2", "--batch-size", "4", "--no-captions"]
    assert evaluate.main([*argv, "--out", str(tmp_path / "results")]) == 0  # under pytest, stderr is not a terminal
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("generate: ")]
    n = len(rows)
    assert lines[0] == f"generate: 0/{n} rows" and lines[-1].startswith(f"generate: {n}/{n} rows (100%)") and len(lines) == 1 + -(-n // 4)


def test_the_java_tokenizers_untokenizable_warnings_stay_out_of_the_output():
    # in a process of its own: the filter works on file descriptor 2, which pytest's capture replaces
    code = "from fifa_data.scoring.captions import caption_scores; print(caption_scores([['the lips are red']], ['the lips \\x07 are red']))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "bleu4" in result.stdout, result.stderr
    assert "Untokenizable" not in result.stderr and "PTBLexer" not in result.stderr, result.stderr


# --- 5. sft.py without what it needs, and a missing --model folder ----------------------------


def test_sft_without_dataset_and_output_dir_says_what_it_needs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sft.main([]) == 2
    assert one_line_error(capsys) == "error: --dataset, --output-dir: required (see --help)"
    assert sft.main(["--dataset", "fifa"]) == 2
    assert one_line_error(capsys) == "error: --output-dir: required (see --help)"
    assert list(tmp_path.iterdir()) == []  # nothing trained into a default folder


def test_a_missing_model_folder_is_named_as_missing_by_every_command(small_build, tmp_path, capsys):
    nope = str(tmp_path / "nope")
    assert sft.main(["--model", nope, "--dataset", str(small_build), "--output-dir", str(tmp_path / "out"), "--max-steps", "1"]) == 2
    assert one_line_error(capsys) == f"error: --model {nope}: no such folder"
    assert sft.main(["--model", "./nope", "--dataset", str(small_build), "--output-dir", str(tmp_path / "out"), "--max-steps", "1"]) == 2
    assert one_line_error(capsys) == "error: --model ./nope: no such folder"
    assert evaluate.main(["--model", nope, "--dataset", str(small_build), "--out", str(tmp_path / "r")]) == 2
    assert one_line_error(capsys) == f"error: --model {nope}: no such folder"
    assert infer.main(["--model", nope, "--image", "photo.png", "--out", str(tmp_path / "a")]) == 2
    assert one_line_error(capsys) == f"error: --model {nope}: no such folder"
    sft.check_model_argument("tiny")  # the tiny bases need no folder
