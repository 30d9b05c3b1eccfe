"""What the Hub shows is what `load_dataset` gives.

The Hub's dataset viewer (and its ``/rows`` and ``/parquet`` APIs) shows a parquet config's declared
files as they are, without `datasets` and without a config's ``filters``. So each config's files,
read with plain pyarrow, must hold exactly the rows ``load_dataset`` gives for it: the same ids in
the same order.
"""

from __future__ import annotations

from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard

from builders import CONFIGS
from fifa_data.core.schema import TASKS
from model.data import first_rows_by_task, load_split


def _card_configs(folder: Path) -> dict[str, dict]:
    """The card's YAML ``configs``, by name."""
    return {c["config_name"]: c for c in DatasetCard.load(folder / "README.md").data.to_dict()["configs"]}


def _declared_files(folder: Path, config: dict) -> dict[str, list[Path]]:
    """A config's files per split as the card declares them: each pattern's matches, pattern by pattern."""
    files = {}
    for entry in config["data_files"]:
        patterns = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
        files[entry["split"]] = [path for pattern in patterns for path in sorted(folder.glob(pattern))]
    return files


def test_no_config_declares_filters(small_build):
    configs = _card_configs(small_build)
    assert set(configs) == set(CONFIGS)
    assert [name for name, config in configs.items() if "filters" in config] == []


@pytest.mark.parametrize("name", CONFIGS)
def test_a_configs_declared_files_hold_exactly_the_rows_load_dataset_gives(small_build, name):
    declared = _declared_files(small_build, _card_configs(small_build)[name])
    loaded = datasets.load_dataset(str(small_build), name)
    assert set(declared) == set(loaded)
    key = "pair_id" if name == "pairs" else "id"
    for split, files in declared.items():
        assert files, (name, split)
        table = pa.concat_tables(pq.read_table(file) for file in files)  # no filter: as the viewer copies them
        assert table[key].to_pylist() == loaded[split][key], (name, split)  # the same ids, in the same order
        if name in TASKS:
            assert set(table["task"].to_pylist()) == {name}


def test_a_limited_mix_takes_every_tasks_first_rows(small_build):
    """``instruct``'s files go task by task, so ``--limit`` takes each task's first rows in turn, not det's alone."""
    rows = load_split(str(small_build), ["instruct"], "train", limit=2 * len(TASKS))
    assert sorted(rows["task"]) == sorted(TASKS * 2)
    assert first_rows_by_task(rows, 3) == [0, 2, 4]  # the first rows of three tasks, in the dataset's order
