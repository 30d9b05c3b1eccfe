"""The browse tab's work: page through one config and split of a built FiFa dataset, filtered, lazily.

`BuildBrowser` opens the split with `datasets` (memory-mapped Arrow, as `model.data.load_split`
loads it for training) and filters on the small text columns only, read straight from the Arrow
table; an image is decoded only when its row is shown. `build_statistics` reads what the card
states from ``build.json``: rows per config and split, rejects by reason, the reliability figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from PIL import Image

from explorer.views import draw_boxes, grounded_html
from fifa_data.annotate.reliability import Reliability
from fifa_data.core import masks as masklib
from fifa_data.core.fict import TOO_BROAD, finder_for, load_fict
from fifa_data.viz import overlay_masks
from model.data import DatasetError, check_dataset, load_split

BUILD_FILE = "build.json"
BOX_COLOURS = {"boxes": (255, 255, 255), "target_boxes": (255, 210, 0)}  # query boxes white, breg's targets yellow


@dataclass
class RowView:
    """One row as the tab shows it."""

    index: int
    id: str
    picture: Image.Image
    question: str
    answer_html: str
    answer: str
    details: dict  # task, label, manipulation, concepts, boxes, ids


class BuildBrowser:
    """One split of one config of a built dataset (a folder or a Hub id), with a filter over its rows."""

    def __init__(self, dataset: str, config: str, split: str) -> None:
        rows = load_split(dataset, [config], split)
        if rows is None:
            raise DatasetError(f"{dataset}: config {config!r} has no {split} split")
        self.dataset, self.config, self.split, self.rows = dataset, config, split, rows
        self.fict = load_fict()

    def __len__(self) -> int:
        return len(self.rows)

    def matching(self, manipulation: str | None = None, concept: str | None = None, text: str | None = None) -> list[int]:
        """The indices of the rows of ``manipulation``, about ``concept`` (see `concept_ids`, in ``concepts`` or
        ``query_concept``) and whose id, pair id or source id contains ``text``."""
        table = self.rows.data.table  # memory-mapped; only these columns are read
        selected = np.ones(len(table), bool)
        if manipulation:
            selected &= _true(pc.equal(table["manipulation"], manipulation))
        if text and text.strip():
            selected &= np.logical_or.reduce([_true(pc.match_substring(table[c], text.strip())) for c in ("id", "pair_id", "source_id")])
        if concept and concept.strip():
            wanted = self.concept_ids(concept)
            named = table["concepts"].to_pylist()
            queried = table["query_concept"].to_pylist()
            selected &= np.array([bool(wanted & set(n or ())) or q in wanted for n, q in zip(named, queried)], bool)
        return np.flatnonzero(selected).tolist()

    def concept_ids(self, text: str) -> set[str]:
        """The FICT ids a concept filter matches: the concept ``text`` names, its parts and what it is part of.

        ``text`` is an id, name or synonym, or a phrase naming one concept as the build's texts do ("the upper
        lip"). A researcher asking for the upper lip wants the rows where it, a part of it (its left half) or the
        lips as a whole are flagged or queried, as a flagged parent says its parts were edited; not the lower lip's
        rows, and not those of the face or image, which every fake would match.
        """
        try:
            concept = self.fict.lookup(text)
        except KeyError:
            found = finder_for(self.fict).resolve(text)
            if found is None:
                raise DatasetError(f"concept {text!r}: not a FICT concept id, name or synonym") from None
            concept = self.fict[found]
        parts = (d.id for d in self.fict.descendants(concept.id))
        wholes = (a.id for a in self.fict.ancestors(concept.id) if a.id not in TOO_BROAD)
        return {concept.id, *parts, *wholes}

    def show(self, index: int) -> RowView:
        """Row ``index`` of the split, its image decoded now."""
        row = self.rows[index]
        user, *reply = row["messages"]
        question = next(c["text"] for c in user["content"] if c["type"] == "text")
        answer = reply[0]["content"][0]["text"] if reply else ""
        return RowView(
            index=index,
            id=row["id"],
            picture=row_picture(row),
            question=question,
            answer_html=grounded_html(answer),
            answer=answer,
            details={k: row[k] for k in ("id", "task", "label", "answer", "manipulation", "concepts", "query_concept", "boxes",
                                         "target_boxes", "pair_id", "source_id")},
        )


def _true(column) -> np.ndarray:
    """An Arrow boolean column as a numpy array, null as False."""
    return pc.fill_null(column, False).to_numpy(zero_copy_only=False)


def row_picture(row: dict) -> Image.Image:
    """The row's image with its masks (in ``[SEG]`` order, then the region query) and its boxes drawn on it."""
    rgb = np.array(row["image"].convert("RGB"))
    for key, colour in BOX_COLOURS.items():
        draw_boxes(rgb, row.get(key) or (), colour)
    masks = [masklib.decode(m) for m in row.get("masks") or ()]
    names = list(row.get("concepts") or ())  # a validated row names the concept of each mask, in order
    if row.get("query_mask"):
        masks.append(masklib.decode(row["query_mask"]))
        names.append(f"query: {row.get('query_concept')}")
    return overlay_masks(rgb, masks, names, title=f"{row['task']} · {row['label']} · {row['id']}")


def build_statistics(dataset: str) -> dict:
    """What the card states about a build: pairs in, accepted, rejects by reason, rows per config and split, reliability."""
    check_dataset(dataset)
    path = Path(dataset).expanduser() / BUILD_FILE
    if not path.is_file():
        try:
            from huggingface_hub import hf_hub_download

            path = Path(hf_hub_download(dataset, BUILD_FILE, repo_type="dataset"))
        except Exception as err:  # offline, not on the Hub, no build.json: the rows still browse
            raise DatasetError(f"{dataset}: no {BUILD_FILE} to read the statistics from ({type(err).__name__})") from None
    build = json.loads(path.read_text())
    figures = Reliability(**build["reliability"]).figures() if build.get("reliability") else None
    return {
        "pairs_in": build.get("pairs_in"),
        "accepted": build.get("accepted"),
        "image_level_only": build.get("image_level_only", {}),
        "rejected": build.get("rejected", {}),
        "rows": build.get("rows", {}),
        "reliability": {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()} if figures else None,
        "fingerprint": build.get("fingerprint"),
    }
