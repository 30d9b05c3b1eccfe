"""Load FiFa task configs for training and evaluation: one config, several, or a weighted mix.

The dataset is a built folder (``./fifa``) or a Hub id; every task config shares one schema, so
configs concatenate, or interleave with sampling weights.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain, zip_longest
from pathlib import Path

from datasets import Dataset, concatenate_datasets, get_dataset_infos, interleave_datasets, load_dataset

from fifa_data.cli import UsageError, split_items
from fifa_data.core.schema import EMPTY_SPLIT_ADVICE, MIXES, TASKS

_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


class DatasetError(UsageError):
    """The dataset cannot be read as a FiFa build: no such folder, not a build, no such config, not on the Hub."""


def check_dataset(dataset: str) -> None:
    """Fail early, naming ``dataset``, unless it is a built FiFa folder or looks like a Hub id ``USER/NAME``."""
    path = Path(dataset).expanduser()
    build_it = f"build it with `python scripts/build.py --out {dataset}`"
    if path.is_dir():
        if not (path / "README.md").is_file():
            raise DatasetError(f"{dataset}: not a FiFa dataset folder (no README.md declaring its configs); {build_it}")
    elif path.exists():
        raise DatasetError(f"{dataset}: a file, not a dataset folder")
    elif not _HUB_ID.match(dataset) or dataset.startswith("."):
        raise DatasetError(f"{dataset}: no such dataset folder; {build_it}, or give a Hub id USER/NAME")


def parse_configs(configs: str | list[str], weights: str | list[float] | None = None) -> tuple[list[str], list[float] | None]:
    """``"age,loc"`` and ``"2,1"`` (or lists) → names and weights; clear errors for unknown names or a length mismatch."""
    names = split_items(configs)
    unknown = [c for c in names if c not in TASKS and c not in MIXES]
    if unknown or not names:
        raise DatasetError(f"unknown configs {unknown or names}; choose from {', '.join((*TASKS, *MIXES))}")
    if weights is None or weights == "":
        return names, None
    values = [float(w) for w in (split_items(weights) if isinstance(weights, str) else weights)]
    if len(values) != len(names) or any(w < 0 for w in values) or sum(values) <= 0:
        raise DatasetError(f"--weights needs one non-negative weight per config ({len(names)}), got {values}")
    return names, values


def empty_split_error(dataset: str, split: str) -> DatasetError | None:
    """The error to give when ``split`` is missing because no config of ``dataset`` has a row in it; None otherwise.

    A build leaves a split out (and with it ``bench``, the test split) when none of its source photos fell into it.
    """
    try:
        infos = get_dataset_infos(dataset)
    except (OSError, ValueError):  # not readable here: leave the message to the loader
        return None
    splits = [set(info.splits or {}) for name, info in infos.items() if name in TASKS or name in MIXES]
    if not splits or any(split in names for names in splits):
        return None
    return DatasetError(f"{dataset}: the {split} split is empty ({EMPTY_SPLIT_ADVICE})")


def load_split(dataset: str, configs: list[str], split: str, *, weights: list[float] | None = None, limit: int | None = None, seed: int = 0) -> Dataset | None:
    """The rows of ``configs`` in ``split``; None when no config has that split.

    ``limit`` keeps at most that many rows of each config, its tasks' first rows in turn
    (`first_rows_by_task`). Without weights the configs are concatenated; with weights they are interleaved, each row
    drawn from config i with probability w_i / sum(w), until every row of every config has been drawn
    at least once (so small configs are oversampled).
    """
    check_dataset(dataset)
    parts, kept_weights = [], []
    for i, config in enumerate(configs):
        try:
            part = load_dataset(dataset, config, split=split)
        except ValueError as error:
            if "split" in str(error).lower():  # the split does not exist for this config
                continue
            if "config" in str(error).lower():
                if (empty := empty_split_error(dataset, split)) is not None:
                    raise empty from error
                raise DatasetError(f"{dataset}: has no config {config!r} (build it with --configs {config})") from error
            raise
        except (ConnectionError, FileNotFoundError) as error:
            raise DatasetError(f"{dataset}: cannot be loaded ({' '.join(str(error).split())})") from error
        if limit is not None:
            part = part.select(first_rows_by_task(part, limit))
        parts.append(part)
        kept_weights.append(None if weights is None else weights[i])
    if not parts:
        return None
    if weights is None or len(parts) == 1:
        return concatenate_datasets(parts) if len(parts) > 1 else parts[0]
    total = sum(kept_weights)
    return interleave_datasets(parts, probabilities=[w / total for w in kept_weights], seed=seed, stopping_strategy="all_exhausted")


def first_rows_by_task(dataset: Dataset, n: int) -> list[int]:
    """The indices of ``n`` rows (in the dataset's order), each task's first rows in turn: a mix
    (``instruct``, ``bench``) goes task by task, so its first ``n`` rows would be one task's."""
    by_task: dict[str | None, list[int]] = {}
    for index, task in enumerate(dataset["task"] if "task" in dataset.column_names else [None] * len(dataset)):
        by_task.setdefault(task, []).append(index)
    in_turn = (i for i in chain.from_iterable(zip_longest(*by_task.values())) if i is not None)
    return sorted(i for _, i in zip(range(n), in_turn))


def texts_of(dataset: Dataset, max_rows: int = 20000) -> Iterator[str]:
    """Every message text of up to ``max_rows`` rows, every task's among them (what a tiny tokenizer is trained on)."""
    messages = dataset.select_columns(["messages"])
    for row in messages.select(first_rows_by_task(dataset, max_rows)):
        for message in row["messages"]:
            for part in message["content"]:
                if part.get("text"):
                    yield part["text"]


__all__ = ["DatasetError", "check_dataset", "first_rows_by_task", "load_split", "parse_configs", "texts_of"]
