"""``scripts/build.py`` and the builders: real builds of simulated pairs, loaded back with ``load_dataset``."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import datasets
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from fake_hub import TOKEN, FakeHub, fake_hub, online  # noqa: F401 (fixtures)
from huggingface_hub import DatasetCard
from PIL import Image

from builders import CONFIGS, MIXES, VERSIONS, BuildOptions, build, fingerprint, merge_builds
from builders.configs import GROUP_ROWS
from builders.features import FICT_FEATURES, PAIRS_FEATURES, TASK_FEATURES
from builders.splits import SPLITS, assign_splits, hash_split
from fifa_data.annotate.pipeline import AnnotatorConfig
from fifa_data.annotate.reliability import Reliability
from fifa_data.annotate.source import AnnotateSettings
from fifa_data.core import masks as masklib
from fifa_data.core.fict import load_fict
from fifa_data.core.images import upright_size
from fifa_data.core.schema import TASKS
from fifa_data.pairs.sample_source import write_sample_pairs
from fifa_data.pairs.sources import open_source
from fifa_data.tasks.check import check_row

ROOT = Path(__file__).resolve().parents[1]
PAIRS = 12
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """12 simulated pairs over all five real images (three photos, so three splits)."""
    root = tmp_path_factory.mktemp("pairs")
    write_sample_pairs(root, PAIRS, seed=0, manipulations=("lip_color", "hair_color"))
    return root


@pytest.fixture(scope="module")
def built(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "fifa"
    build(BuildOptions(out=out, sources=(str(source),), progress=False))
    return out


def _load(folder: Path, config: str, **kwargs):
    return datasets.load_dataset(str(folder), config, cache_dir=str(folder.parent / "hf-cache"), **kwargs)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_config_loads_with_its_declared_features(built):
    expected = {"fict": FICT_FEATURES, "pairs": PAIRS_FEATURES}
    for config in CONFIGS:
        loaded = _load(built, config)
        want_splits = {"fict": {"train"}, "instruct": {"train", "validation"}, "bench": {"test"}}.get(config, set(SPLITS))
        assert set(loaded) == want_splits, config
        for split in loaded.values():
            assert split.features == expected.get(config, TASK_FEATURES), config
            assert split.num_rows > 0
    assert _load(built, "fict", split="train").num_rows == len(list(load_fict()))


def test_rows_decode_at_image_size_and_keep_every_invariant(built):
    fict = load_fict()
    seen_tasks = set()
    for task in TASKS:
        for rows in _load(built, task).values():
            rows = rows.cast_column("image", datasets.Image(decode=False))
            for row in rows:
                check_row(row, fict)  # [SEG] ↔ mask ↔ concept, phrases name concepts, sizes, boxes
                size = upright_size(row["image"]["bytes"])
                for rle in row["masks"]:
                    assert masklib.decode(rle).shape == size
                seen_tasks.add(task)
    assert seen_tasks == set(TASKS)
    age = _load(built, "age", split="train")
    fake = next(r for r in age if r["masks"])
    assert isinstance(fake["image"], Image.Image)
    assert masklib.decode(fake["masks"][0]).shape == (fake["image"].height, fake["image"].width)


def test_images_are_the_source_files_bytes_unchanged(built, source):
    pairs = _load(built, "pairs", split="train").cast_column("fake", datasets.Image(decode=False)).cast_column("real", datasets.Image(decode=False))
    for row in pairs:
        assert row["fake"]["bytes"] == (source / row["fake_path"]).read_bytes()
        assert row["real"]["bytes"] == (source / row["real_path"]).read_bytes()
        assert masklib.decode(row["artifact_mask"]).any()
        assert row["grounded"] and len(row["grounded_masks"]) == len(row["grounded"])
        assert json.loads(row["source_fields"])["edit_mask"]  # the simulator's ground truth travels along


def test_splits_are_disjoint_by_source_photo(built):
    for config in ("pairs", *TASKS):
        sources = {split: set(rows["source_id"]) for split, rows in _load(built, config).items()}
        for a in sources:
            for b in sources:
                assert a == b or not sources[a] & sources[b], (config, a, b)
    # the sample source declares one photo per split
    assert {s: set(r["source_id"]) for s, r in _load(built, "pairs").items()} == {
        "train": {"astronaut"}, "validation": {"camera"}, "test": {"grace_hopper"}
    }


def test_mixes_are_the_union_of_the_task_configs(built):
    for mix, splits in MIXES.items():
        loaded = _load(built, mix)
        for split in splits:
            union = sorted(i for task in TASKS for i in _load(built, task, split=split)["id"])
            assert sorted(loaded[split]["id"]) == union


def test_each_task_config_has_its_own_files_that_store_each_image_once_per_row_group(built):
    """A task config's files (``tasks/<task>/``) hold its rows alone, in the order it loads them; in
    those files no row group cuts the rows of an image, and the image bytes column holds each of a
    row group's images once."""
    stats = json.loads((built / "build.json").read_text())
    for task in TASKS:
        for split, rows in _load(built, task).items():
            files = [built / name for name in stats["files"][task][split]]
            assert all(f.parent == built / "tasks" / task and f.name.startswith(f"{split}-") for f in files)
            assert rows["id"] == [i for f in files for i in pq.read_table(f, columns=["id"])["id"].to_pylist()]
        for file in sorted((built / "tasks" / task).glob("*.parquet")):
            parquet = pq.ParquetFile(file)
            groups: dict[bytes, set[int]] = {}
            for g in range(parquet.num_row_groups):
                images = parquet.read_row_group(g, columns=["image"]).column("image").combine_chunks().field("bytes")
                unique = {bytes(v.as_py()) for v in images}
                for value in unique:
                    groups.setdefault(value, set()).add(g)
                group = parquet.metadata.row_group(g)
                column = next(group.column(c) for c in range(group.num_columns) if group.column(c).path_in_schema == "image.bytes")
                assert "RLE_DICTIONARY" in column.encodings
                assert column.total_compressed_size < sum(map(len, unique)) + 64 * len(images) + 4096  # each image once, plus its indices
            assert all(len(g) == 1 for g in groups.values())  # an image's rows are in one row group
    # a fake once in each task config and once in pairs; a real once per row group of each
    assert 1 <= stats["image_bytes"]["stored"] / stats["image_bytes"]["unique"] < len(TASKS) + 2


def test_builds_are_byte_identical_whatever_num_proc(built, source, tmp_path):
    """Two processes, and each real image's fakes cut into units of two: the same bytes as one process."""
    again = tmp_path / "fifa"
    build(BuildOptions(out=again, sources=(str(source),), num_proc=2, unit_size=2, progress=False))
    assert _files(again) == _files(built)
    assert json.loads((again / "build.json").read_text())["fingerprint"] == fingerprint(built)


def test_slices_merge_into_the_same_bytes(built, source, tmp_path, monkeypatch):
    """Three slices, given in any order and cut into several shards: the merge is the unsliced build, file for file."""
    monkeypatch.setitem(GROUP_ROWS, "tasks", 10)  # row groups of a few images, and a shard for each
    options = BuildOptions(sources=(str(source),), max_shard_size="1KB", progress=False)
    whole = build(replace(options, out=tmp_path / "whole")).out
    parts = []
    for index in range(3):
        part = tmp_path / f"part-{index}"
        build(replace(options, out=part, num_slices=3, slice_index=index))
        parts.append(part)
        assert all(f.name.startswith(f"{f.name.split('-')[0]}-{index:05d}-of-00003") for f in part.glob("[!f]*/**/*.parquet"))
    assert sum(bool(json.loads((p / "build.json").read_text())["accepted"]) for p in parts) >= 2
    assert any("-of-00003-" in f.name for p in parts for f in p.glob("tasks/*/*.parquet"))  # a slice of several shards
    merged = merge_builds(list(reversed(parts)), tmp_path / "fifa", num_proc=2)
    published = {name: data for name, data in _files(merged.out).items() if name.endswith(".parquet")}
    assert published == {name: data for name, data in _files(whole).items() if name.endswith(".parquet")}
    assert merged.stats["fingerprint"] == fingerprint(whole)
    for config in ("fict", "pairs", *TASKS):
        for split in SPLITS:
            key = "pair_id" if config == "pairs" else "id"
            try:
                whole = _load(built, config, split=split)
            except ValueError:  # a split this config does not have
                continue
            part = _load(merged.out, config, split=split)
            assert sorted(part[key]) == sorted(whole[key]), (config, split)
    stats = json.loads((merged.out / "build.json").read_text())
    whole = json.loads((built / "build.json").read_text())
    assert stats["rows"] == whole["rows"] and stats["accepted"] == whole["accepted"] and stats["pairs_in"] == whole["pairs_in"]
    assert stats["rejected"] == whole["rejected"] and stats["merged_slices"] == 3
    assert sum(len(pq.read_table(f)) for f in (merged.out).glob("rejects*.parquet")) == sum(stats["rejected"].values())
    # slices of other parameters, or a slice missing, do not merge
    other = tmp_path / "other"
    shutil.copytree(parts[2], other)
    meta = json.loads((other / "build.json").read_text())
    meta["parameters"]["annotator"]["seed"] = 7
    (other / "build.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="other parameters"):
        merge_builds([parts[0], parts[1], other], tmp_path / "bad")
    with pytest.raises(ValueError, match="not one of 1 slices"):
        merge_builds([parts[0]], tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_interrupted_build_keeps_the_previous_one_and_a_rerun_completes(built, source, tmp_path):
    out = tmp_path / "fifa"
    shutil.copytree(built, out)
    before = _files(out)
    command = [sys.executable, str(ROOT / "scripts" / "build.py"), "--pairs", str(source), "--out", str(out), "--seed", "1", "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    partial = tmp_path / ".fifa.partial"
    deadline = time.monotonic() + 120
    while not (partial / "_work" / "tables").exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the build finished before it could be interrupted"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert partial.exists()
    assert _files(out) == before  # the published folder is untouched and still loads
    assert _load(out, "age", split="train").num_rows > 0
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert not partial.exists()
    stats = json.loads((out / "build.json").read_text())
    assert stats["parameters"]["annotator"]["seed"] == 1 and stats["fingerprint"] == fingerprint(out)


@pytest.fixture(scope="module")
def messy_source(source, tmp_path_factory) -> Path:
    """A folder source with an unreadable fake, a fake of the wrong size and a real image without fakes."""
    root = tmp_path_factory.mktemp("messy")
    (root / "real").mkdir()
    (root / "fake").mkdir()
    refs, _ = open_source(source).scan()
    good = next(r for r in refs if r.manipulation == "lip_color" and r.source_id == "astronaut")
    shutil.copy(source / good.real_path, root / "real" / "a.png")
    shutil.copy(source / good.fake_path, root / "fake" / f"a_lip_color{Path(good.fake_path).suffix}")
    (root / "fake" / "a_broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    Image.open(source / good.fake_path).resize((100, 80)).save(root / "fake" / "a_small.png")
    shutil.copy(source / good.real_path, root / "real" / "lonely.png")
    return root


def test_every_pair_is_accepted_or_counted_as_rejected(source, messy_source, tmp_path):
    report = build(BuildOptions(out=tmp_path / "fifa", sources=(str(source), str(messy_source)), configs=("pairs", "det"), progress=False))
    stats = report.stats
    rejects = pq.read_table(tmp_path / "fifa" / "rejects.parquet").to_pylist()
    assert stats["pairs_in"] == PAIRS + 4  # three messy fakes and the lonely real image
    kept = stats["accepted"] + sum(stats["image_level_only"].values())  # fakes without a mask are kept for det and cls
    assert stats["pairs_in"] == kept + len(rejects) == kept + sum(stats["rejected"].values())
    reasons = {r["reason"] for r in rejects}
    assert {"unreadable", "size_mismatch", "unpaired_real"} <= reasons
    assert all(r["detail"] for r in rejects)
    assert [s["name"] for s in stats["sources"]] == [source.name, messy_source.name]
    pairs = _load(tmp_path / "fifa", "pairs")
    accepted = sum(rows.num_rows for rows in pairs.values())
    assert accepted == stats["accepted"]
    ids = [i for rows in pairs.values() for i in rows["pair_id"]]
    assert len(set(ids)) == len(ids)
    assert any(s.startswith(f"{messy_source.name}/") for rows in pairs.values() for s in rows["source_id"])


def test_given_masks_are_the_artifact_masks_or_the_truth_they_are_scored_against(source, built, tmp_path):
    """The sample's true edit masks shipped as mask images in a `mask` column, as DFFD or SID-Set ship theirs."""
    given = tmp_path / "given"
    table = pl.read_csv(source / "pairs.csv", infer_schema=False)
    masks = []
    for row in table.iter_rows(named=True):
        for rel in (row["real"], row["fake"]):
            (given / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source / rel, given / rel)
        mask = f"masks/{Path(row['fake']).stem}_mask.png"
        (given / mask).parent.mkdir(exist_ok=True)
        Image.fromarray(masklib.decode(json.loads(row["edit_mask"]))).save(given / mask)
        masks.append(mask)
    table.drop("edit_mask").with_columns(pl.Series("mask", masks)).write_csv(given / "pairs.csv")
    truth = {r["pair_id"]: masklib.decode(json.loads(r["edit_mask"])) for r in _pair_ids(source, table)}

    used = build(BuildOptions(out=tmp_path / "used", sources=(str(given),), configs=("pairs",), progress=False)).stats
    assert used["mask_modes"] == {"given": used["accepted"]} and used["accepted"] > 0
    rows = [r for split in _load(tmp_path / "used", "pairs").values() for r in split]
    for row in rows:
        assert json.loads(row["mask_params"])["mode"] == "given"
        assert json.loads(row["mask_params"])["path"].startswith("masks/")
        assert np.array_equal(masklib.decode(row["artifact_mask"]), truth[row["pair_id"]])
        assert row["num_faces"] == len(row["face_boxes"]) >= 1 and 0 <= row["subject"] < row["num_faces"]
    figures = Reliability(**used["reliability"]).figures()
    assert figures["pairs"] == PAIRS and figures["miou"] == pytest.approx(figures["localised"])
    card = (tmp_path / "used" / "README.md").read_text()
    assert "given by the source (its `mask` column, mode `given`)" in card and "agree by construction" in card

    settings = AnnotateSettings(annotator=AnnotatorConfig(use_given_masks=False))
    scored = build(BuildOptions(out=tmp_path / "scored", sources=(str(given),), configs=("pairs",), settings=settings, progress=False)).stats
    assert scored["mask_modes"]["adaptive"] == scored["accepted"] and "given" not in scored["mask_modes"]
    expected = json.loads((built / "build.json").read_text())["reliability"]  # the same pairs scored against edit_mask
    assert scored["reliability"] == pytest.approx(expected)
    assert "serve only as the truth" in (tmp_path / "scored" / "README.md").read_text()


def _pair_ids(source: Path, table: pl.DataFrame) -> list[dict]:
    ids = {(r.real_path, r.fake_path): r.pair_id for r in open_source(source).scan()[0]}
    return [{**row, "pair_id": ids[(row["real"], row["fake"])]} for row in table.iter_rows(named=True)]


def test_card_has_valid_hub_metadata_and_real_numbers(built):
    card = DatasetCard.load(built / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "other" and "image-text-to-text" in data["task_categories"]  # a source of its own
    declared = {c["config_name"]: c for c in data["configs"]}
    assert set(declared) == set(CONFIGS)
    stats = json.loads((built / "build.json").read_text())
    infos = {i["config_name"]: i for i in data["dataset_info"]}
    for name, config in declared.items():
        for entry in config["data_files"]:
            patterns = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
            assert all(list(built.glob(p)) for p in patterns), (name, entry)
        splits = {s["name"]: s["num_examples"] for s in infos[name]["splits"]}
        assert splits == stats["rows"][name]
    assert declared["instruct"].get("default") is True
    text = card.text
    assert stats["fingerprint"] in text and "![" in text and (built / "images" / "age_example.png").is_file()
    for config in CONFIGS:
        assert f"| `{config}` | {VERSIONS[config]} |" in text
    assert "Statistics" in text and "Limitations" in text and "Citation" in text and "licence of the sources" in text
    resaved = stats["mask_modes"]["resaved"]  # the sample's JPEG fakes: a real plus an edit, saved by Pillow
    assert 0 < resaved <= stats["accepted"] and f"{resaved:,} JPEG fakes were compared with their real saved the same way" in text


def test_cli_build_loads_by_name_in_a_fresh_process(source, tmp_path):
    out = tmp_path / "fifa"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build.py"),
            "--pairs",
            str(source),
            "--out",
            str(out),
            "--configs",
            "age",
            "fict",
            "--limit",
            "6",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "pairs in 6" in result.stdout and "text-decision inconsistencies removed" in result.stdout and "time:" in result.stdout
    check = (
        "from datasets import load_dataset\n"
        "age = load_dataset('fifa', 'age')\n"
        "fict = load_dataset('fifa', 'fict', split='train')\n"
        "row = next(r for s in age.values() for r in s if r['masks'])\n"
        "print(sum(s.num_rows for s in age.values()), len(fict), row['image'].size)\n"
    )
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf-home"))
    loaded = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    rows, concepts, _ = loaded.stdout.split(maxsplit=2)
    assert int(rows) > 0 and int(concepts) == 154
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["fict", "images", "tasks"]


def test_push_uploads_the_build_in_one_commit(fake_hub: FakeHub, source, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    main = runpy.run_path(str(ROOT / "scripts" / "build.py"))["main"]
    out = tmp_path / "fifa"
    argv = ["--pairs", str(source), "--out", str(out), "--configs", "age", "--limit", "4", "--no-progress", "--push", "--repo-id", "tester/fifa"]
    assert main(argv) == 0
    assert len(fake_hub.commits) == 1 and f"FiFa {VERSIONS['age']}" in fake_hub.commits[0]["summary"]
    received = fake_hub.repo_dir("tester/fifa")
    assert _files(received) == _files(out)
    assert _load(received, "age", split="train").num_rows > 0


def test_push_offline_fails_clearly_and_keeps_the_build(source, tmp_path, capsys):
    main = runpy.run_path(str(ROOT / "scripts" / "build.py"))["main"]
    out = tmp_path / "fifa"
    assert main(["--pairs", str(source), "--out", str(out), "--configs", "fict", "--no-progress", "--push"]) == 1
    assert "offline" in capsys.readouterr().err
    assert (out / "README.md").is_file() and _load(out, "fict", split="train").num_rows == 154


def test_declared_splits_win_and_conflicts_are_rejected(source):
    refs, _ = open_source(source).scan()
    splits, kept, rejects = assign_splits(refs)
    assert splits == {"astronaut": "train", "camera": "validation", "grace_hopper": "test"}
    assert len(kept) == len(refs) and not rejects
    from dataclasses import replace

    bad = [replace(refs[0], extra={"split": "test"}), replace(refs[0], pair_id="x", extra={"split": "dev"})]
    _, kept, rejects = assign_splits([refs[0], *bad])
    assert len(kept) == 1 and [r.reason for r in rejects] == ["split_conflict", "split_conflict"]
    assert hash_split("some photo") == hash_split("some photo") in SPLITS
    counts = {s: 0 for s in SPLITS}
    for i in range(2000):
        counts[hash_split(f"id{i}")] += 1
    assert 0.75 < counts["train"] / 2000 < 0.85 and counts["validation"] > 100 and counts["test"] > 100
