"""One declaration per table: the `datasets` features, the rows FiFa writes, the parquet files and
the card's column tables all follow `fifa_data.core.schema`'s table declarations."""

import pyarrow.parquet as pq
import pytest

from builders.features import FICT_FEATURES, KINDS, PAIRS_FEATURES, REJECT_FEATURES, TASK_FEATURES
from fifa_data.core.fict import load_fict
from fifa_data.core.schema import COLUMNS, FICT_TABLE, PAIRS_TABLE, REJECTS_TABLE, TASK_TABLE, PlainImage, make_row
from fifa_data.pairs.rejects import Reject

TABLES = {"tasks": (TASK_TABLE, TASK_FEATURES), "pairs": (PAIRS_TABLE, PAIRS_FEATURES), "fict": (FICT_TABLE, FICT_FEATURES),
          "rejects": (REJECTS_TABLE, REJECT_FEATURES)}


def _names(table) -> list[str]:
    return [column.name for column in table]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_features_are_the_declared_columns_in_order(name):
    table, features = TABLES[name]
    assert list(features) == _names(table)
    assert len(set(_names(table))) == len(table), "a column is declared twice"
    assert all(column.kind in KINDS and column.doc.strip() for column in table)


def test_rows_have_exactly_the_declared_columns():
    image = PlainImage(b"\x89PNG", "a.png", "a")
    assert list(make_row(image, "det", "Is it fake?", "It is real.")) == list(COLUMNS) == _names(TASK_TABLE)
    assert set(load_fict().to_rows()[0]) == set(_names(FICT_TABLE))
    assert list(Reject(pair_id=None, real="r.png", fake="f.png", reason="unreadable", detail="f.png: broken").to_row()) == _names(REJECTS_TABLE)


def test_a_build_writes_the_declared_columns_and_the_card_explains_each(small_build):
    for folder, table in (("tasks", TASK_TABLE), ("pairs", PAIRS_TABLE), ("fict", FICT_TABLE)):
        files = sorted((small_build / folder).rglob("*.parquet"))
        assert files, folder
        assert pq.read_schema(files[0]).names == _names(table), folder
    card = (small_build / "README.md").read_text()
    for column in (*TASK_TABLE, *PAIRS_TABLE):
        assert f"| `{column.name}` |" in card and column.doc in card, column.name
