"""The FiFa dataset builders: one `datasets` builder per config family, versioned.

* :class:`FiFaFict`: ``fict``, the concept tree (one ``train`` split);
* :class:`FiFaPairs`: ``pairs``, each real/fake pair with its artifact mask and annotation;
* :class:`FiFaTasks`: the eleven FiFa-11 task configs, ``instruct`` (every task's train and
  validation rows) and ``bench`` (every task's test rows, FiFa-Bench).

``pairs`` and the task configs are `datasets.ArrowBasedBuilder`s: the work store already holds
their rows as Arrow record batches of the final features, which pass to the parquet writer as
they are, never through Python dicts.

datasets 5 has no loading scripts, so these run at build time (``scripts/build.py``) and users
load the parquet they write. ``pairs`` and the task configs read the work store that stage 1
(:mod:`builders.work`) filled; pass its folder as ``data_dir``::

    builder = FiFaTasks(config_name="age", data_dir="work/", cache_dir="cache/")
    builder.download_and_prepare(output_dir="out/age", file_format="parquet")

A change to any config's output bumps its version in `VERSIONS`; the card shows it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import datasets
import pyarrow as pa

from fifa_data.fict import load_fict
from fifa_data.schema import MIXES, TASKS

from .features import FICT_FEATURES, PAIRS_FEATURES, TASK_FEATURES
from .splits import SPLITS
from .work import read_batches

CONFIGS: tuple[str, ...] = ("fict", "pairs", *TASKS, *MIXES)
VERSIONS: dict[str, datasets.Version] = {name: datasets.Version("1.0.0") for name in CONFIGS}
# 1.1.0: task rows carry `query_mask`, the queried concept's mask (region input of rdet / rexp / rseg).
VERSIONS.update({name: datasets.Version("1.1.0") for name in (*TASKS, *MIXES)})
# 1.1.0 (pairs) / 1.2.0 (tasks): validation keeps pairs it wrongly rejected (a half-pixel alignment
# bias, colour added to a greyscale photo, close three-quarter faces), and evidence never loses a
# flagged concept to subsampling.
VERSIONS["pairs"] = datasets.Version("1.1.0")
VERSIONS.update({name: datasets.Version("1.2.0") for name in (*TASKS, *MIXES)})
# 1.2.0 (pairs) / 1.3.0 (tasks): a photo of several people keeps the edited face as the subject, the
# others being background; the artifact mask is read near the subject only; geometry is stated only
# for a flow that explains the change (evidence gains `motion_explained` and `flow_noise`); a fake
# whose edit cannot be localised is kept for det and cls.
VERSIONS["pairs"] = datasets.Version("1.2.0")
VERSIONS.update({name: datasets.Version("1.3.0") for name in (*TASKS, *MIXES)})
# 1.3.0 (pairs) / 1.4.0 (tasks): a source's own masks (a manifest's `mask` column) are the artifact
# masks, mode "given"; pairs gain `num_faces`, `subject` and `face_boxes` (which face is annotated);
# a warp is a pair-level reading (evidence gains `flow_coherence`) and states no colour, texture or seam.
VERSIONS["pairs"] = datasets.Version("1.3.0")
VERSIONS.update({name: datasets.Version("1.4.0") for name in (*TASKS, *MIXES)})

DESCRIPTIONS: dict[str, str] = {
    "fict": "the Facial Image Concept Tree: every concept with its parent, level, description and synonyms",
    "pairs": "each real/fake pair with both images, the artifact mask and the annotator's decisions, evidence and text",
    "det": "detection: is the face real or fake",
    "cls": "classification: which attribute was edited, or real",
    "toe": "text-only explanation of the artifacts",
    "loc": "localisation: one mask of all artifacts (`[SEG]`)",
    "age": "artifact-grounding explanation: text with `<p>phrase</p> [SEG]` and one mask per manipulated concept",
    "rdet": "region detection: is this FICT concept manipulated",
    "rexp": "region explanation: what happened to this concept",
    "rseg": "region segmentation: this concept's artifact mask (`[SEG]`)",
    "bdet": "box detection: is anything inside this box manipulated",
    "bexp": "box explanation: the manipulated concepts inside this box",
    "breg": "box regression: the boxes of the manipulated concepts, as text",
    "instruct": "FiFa-Instruct: every task's train and validation rows (the training mix)",
    "bench": "FiFa-Bench: every task's test rows",
}


@dataclass
class FiFaDatasetConfig(datasets.BuilderConfig):
    """A FiFa dataset config; ``tasks`` are the task configs whose rows it holds (empty for fict and
    pairs), ``splits`` the splits it may have."""

    tasks: tuple[str, ...] = ()
    splits: tuple[str, ...] = SPLITS


def _config(name: str, **kwargs) -> FiFaDatasetConfig:
    return FiFaDatasetConfig(name=name, version=VERSIONS[name], description=DESCRIPTIONS[name], **kwargs)


class _FromWorkStore(datasets.ArrowBasedBuilder):
    """Split generators over the work store's ``<config>/<split>.arrow`` files; empty splits are left out."""

    FEATURES: datasets.Features
    DEFAULT_WRITER_BATCH_SIZE = 100  # rows per parquet row group: bounds the build's memory, whatever the size

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(description=self.config.description, features=self.FEATURES)

    def _sources(self) -> tuple[str, ...]:
        return (self.config.name,)

    def _split_generators(self, dl_manager):
        if not self.config.data_dir:
            raise ValueError(f"config {self.config.name!r} reads a work store: pass data_dir=<folder written by builders.work>")
        root = Path(self.config.data_dir)
        generators = []
        for split in self.config.splits:
            files = [root / source / f"{split}.arrow" for source in self._sources()]
            files = [f for f in files if f.is_file()]
            if files:
                generators.append(datasets.SplitGenerator(name=split, gen_kwargs={"files": files}))
        return generators

    def _generate_tables(self, files: list[Path]) -> Iterator[tuple[int, pa.Table]]:
        """Tables of exactly ``DEFAULT_WRITER_BATCH_SIZE`` rows (the last may be shorter): one parquet
        row group each, whatever the sizes of the work store's batches."""
        size, pending, rows, key = self.DEFAULT_WRITER_BATCH_SIZE, [], 0, 0
        for path in files:
            for batch in read_batches(path):
                pending.append(batch)
                rows += batch.num_rows
                while rows >= size:
                    table = pa.Table.from_batches(pending)
                    yield key, table.slice(0, size)
                    pending, rows, key = table.slice(size).to_batches(), rows - size, key + 1
        if rows:
            yield key, pa.Table.from_batches(pending)


class FiFaTasks(_FromWorkStore):
    """The FiFa-11 task configs and their two mixes, all with the one shared row schema."""

    FEATURES = TASK_FEATURES
    BUILDER_CONFIGS = [_config(task, tasks=(task,)) for task in TASKS] + [
        _config(mix, tasks=TASKS, splits=splits) for mix, splits in MIXES.items()
    ]

    def _sources(self) -> tuple[str, ...]:
        return self.config.tasks


class FiFaPairs(_FromWorkStore):
    """The ``pairs`` config."""

    FEATURES = PAIRS_FEATURES
    DEFAULT_WRITER_BATCH_SIZE = 16  # a pairs row holds two images and every mask and measurement
    BUILDER_CONFIGS = [_config("pairs")]


class FiFaFict(datasets.GeneratorBasedBuilder):
    """The ``fict`` config: the concept tree that ships with the package."""

    BUILDER_CONFIGS = [_config("fict")]

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(description=self.config.description, features=FICT_FEATURES)

    def _split_generators(self, dl_manager):
        return [datasets.SplitGenerator(name="train")]

    def _generate_examples(self):
        for row in load_fict().to_rows():
            yield row["id"], row


BUILDERS: dict[str, type[datasets.DatasetBuilder]] = {
    "fict": FiFaFict,
    "pairs": FiFaPairs,
    **{name: FiFaTasks for name in (*TASKS, *MIXES)},
}
