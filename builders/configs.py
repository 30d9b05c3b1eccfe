"""FiFa's configs and the folders that hold them; the `datasets` builder of ``fict``.

A build writes three tables, each config's rows in files of their own (the Hub's dataset viewer
shows a config's parquet files as they are, so a file never mixes configs):

* ``fict/``: the Facial Image Concept Tree, by :class:`FiFaFict` (one ``train`` split);
* ``pairs/``: each real/fake pair with its artifact mask and annotation (the ``pairs`` config);
* ``tasks/<task>/``: the rows of each FiFa-11 task, ordered by image (:mod:`.parquet` stores each
  image once per row group of a file).

``instruct`` (every task's train and validation rows) and ``bench`` (every task's test rows,
FiFa-Bench) read the task folders' files of their splits, task by task.

A change to any config's output bumps its version in `VERSIONS`; the card shows it.
"""

from __future__ import annotations

import datasets

from builders.features import FICT_FEATURES, PAIRS_FEATURES, TASK_FEATURES
from fifa_data.core.fict import load_fict
from fifa_data.core.schema import MIXES, TASKS

TABLES: dict[str, datasets.Features] = {"fict": FICT_FEATURES, "pairs": PAIRS_FEATURES, "tasks": TASK_FEATURES}
GROUP_ROWS: dict[str, int] = {"pairs": 16, "tasks": 100}  # least rows per parquet row group: bounds a reader's batch
VERSIONS: dict[str, datasets.Version] = {  # a config's version goes up whenever its output changes (the git log says why)
    "fict": datasets.Version("1.0.0"),
    "pairs": datasets.Version("1.15.0"),
    **{name: datasets.Version("3.9.0") for name in (*TASKS, *MIXES)},
}

DESCRIPTIONS: dict[str, str] = {
    "fict": "the Facial Image Concept Tree: every concept with its parent, level, description and synonyms",
    "pairs": "each real/fake pair with both images, the artifact mask and the annotator's decisions, evidence and text",
    "det": "detection: is the face real or fake",
    "cls": "classification: which manipulation, of which forgery family, or real",
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


def table_of(name: str) -> str:
    """The table (and so the features) of a config or of a folder of a build: ``fict``, ``pairs`` or ``tasks``."""
    table = name.split("/")[0]
    return table if table in TABLES else "tasks"


def folders_of(config: str) -> tuple[str, ...]:
    """The folders of a build whose files a config reads: its own (``tasks/<task>`` for a task), or its tasks' for a mix."""
    if config in MIXES:
        return tuple(f"tasks/{task}" for task in TASKS)
    return (f"tasks/{config}",) if config in TASKS else (config,)


class FiFaFict(datasets.GeneratorBasedBuilder):
    """The ``fict`` config: the concept tree that ships with the package."""

    BUILDER_CONFIGS = [datasets.BuilderConfig(name="fict", version=VERSIONS["fict"], description=DESCRIPTIONS["fict"])]

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(description=self.config.description, features=FICT_FEATURES)

    def _split_generators(self, dl_manager):
        return [datasets.SplitGenerator(name="train")]

    def _generate_examples(self):
        for row in load_fict().to_rows():
            yield row["id"], row
