"""The parquet files of the ``pairs`` and ``tasks`` tables: row groups of whole images, each image stored once per row group.

datasets' own parquet writer stores image bytes PLAIN, a full copy in every row. A FiFa image is
the subject of several rows of a task (its questions about one face, a real photo's rows for each
of its fakes), so these files are written as datasets would write them (the features in the
schema metadata, snappy for every column but the images, content-defined chunking and a page
index, so the Hub's Xet storage still deduplicates across revisions) except that every column is
dictionary-encoded and a row group never splits the rows of one image: the image's bytes are one
entry of the row group's dictionary page, and each row holds an index. A reader gets the same
self-contained rows (pyarrow, and so `datasets`, decodes the dictionary).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets.arrow_writer import get_parquet_column_options

DICTIONARY_PAGE_LIMIT = 1 << 30  # bytes of one column chunk's dictionary: a row group's distinct images, whatever their size


def image_columns(features: datasets.Features) -> tuple[str, ...]:
    """The features' `datasets.Image` columns."""
    return tuple(name for name, feature in features.items() if isinstance(feature, datasets.Image))


@dataclass
class ImageLedger:
    """Every distinct image written (by content), with its size: the "unique" of stored ÷ unique image bytes."""

    unique: int = 0
    distinct: int = 0
    _seen: set[bytes] = field(default_factory=set, repr=False)

    def add(self, values: Iterable[bytes]) -> None:
        """Count in the images (encoded bytes) not seen before."""
        for value in values:
            digest = hashlib.blake2b(value, digest_size=16).digest()
            if digest not in self._seen:
                self._seen.add(digest)
                self.unique += len(value)
                self.distinct += 1


def _embedded(images: pa.StructArray) -> pa.StructArray:
    """An image column as `datasets` embeds one (`Image.embed_storage`): its bytes, and the file's
    name rather than its path."""
    names = pc.replace_substring_regex(images.field("path"), pattern=r"^.*/", replacement="")
    return pa.StructArray.from_arrays([images.field("bytes"), names], fields=list(images.type), mask=images.is_null())


def stored_image_bytes(files: list[Path], features: datasets.Features) -> int:
    """Bytes the image columns take in these parquet files, dictionary pages and indices included."""
    leaves = {f"{name}.bytes" for name in image_columns(features)}
    total = 0
    for file in files:
        metadata = pq.read_metadata(file)
        for g in range(metadata.num_row_groups):
            group = metadata.row_group(g)
            total += sum(group.column(c).total_compressed_size for c in range(group.num_columns) if group.column(c).path_in_schema in leaves)
    return total


@dataclass
class Layout:
    """Where a table's row groups and shards end, from each block's rows and estimated bytes alone.

    A block is the rows of whole images (`TableWriter.add`). A row group ends once it holds at least
    ``group_rows`` rows; a shard ends with the row group that brings its estimated bytes to
    ``max_shard_bytes``. As the cuts depend on nothing else, a merge of slices can plan every shard
    of the whole build before writing any, and write them apart (`builders.build.merge_builds`).
    """

    group_rows: int
    max_shard_bytes: int | None = None
    _rows: int = 0
    _bytes: int = 0

    def add(self, rows: int, size: int) -> tuple[bool, bool]:
        """Count a block in; whether its row group, and its shard, end after it."""
        self._rows, self._bytes = self._rows + rows, self._bytes + size
        if self._rows < self.group_rows:
            return False, False
        self._rows = 0
        if self.max_shard_bytes is None or self._bytes < self.max_shard_bytes:
            return True, False
        self._bytes = 0
        return True, True


def distinct_images(rows: list[dict], column: str) -> set[bytes]:
    """The distinct encoded images of one image column of some rows (the rows of one image share
    its bytes object, whose hash Python computes once)."""
    return {row[column]["bytes"] for row in rows if row[column] is not None and row[column].get("bytes") is not None}


class TableWriter:
    """One split of one table as parquet shards ``<folder>/<split>-SSSSS.parquet`` (or one named shard).

    `add` takes the rows of whole images (one image's rows, or a real image's pairs) and returns
    their estimated bytes; `Layout` ends the row groups and shards, so no row group cuts an image's
    rows. Each block's rows and bytes are all a merge needs to lay the same rows out the same way.
    """

    def __init__(
        self,
        folder: str | Path,
        split: str,
        features: datasets.Features,
        *,
        group_rows: int,
        max_shard_bytes: int | None = None,
        ledger: ImageLedger | None = None,
        name: str | None = None,
    ) -> None:
        self.folder, self.split, self.features, self.name = Path(folder), split, features, name
        self.schema = features.arrow_schema
        self.layout = Layout(group_rows, max_shard_bytes if name is None else None)
        self.ledger = ledger
        self.shards: list[Path] = []
        self.folder.mkdir(parents=True, exist_ok=True)
        self._images = image_columns(features)
        self._options = _writer_options(features, self.schema)
        self._pending: list[pa.RecordBatch] = []
        self._sink: pa.OSFile | None = None
        self._writer: pq.ParquetWriter | None = None

    def add(self, rows: list[dict]) -> int:
        """Add the rows of whole images, as dicts of the table's features; their estimated bytes."""
        if not rows:
            return 0
        batch = pa.RecordBatch.from_pylist(rows, schema=self.schema)
        # a block's estimated bytes in parquet: its distinct images once, its other columns as in memory
        size = sum(column.nbytes for name, column in zip(batch.schema.names, batch.columns) if name not in self._images)
        for name in self._images:
            batch = batch.set_column(batch.schema.get_field_index(name), name, _embedded(batch.column(name)))
            distinct = distinct_images(rows, name)
            size += sum(map(len, distinct))
            if self.ledger is not None:
                self.ledger.add(distinct)
        self._append([batch], batch.num_rows, size)
        return size

    def add_table(self, table: pa.Table, size: int) -> None:
        """Add a block as read back from files of this table (images embedded), with its recorded bytes."""
        self._append(table.cast(self.schema).to_batches(), table.num_rows, size)

    def close(self) -> list[Path]:
        """Write what is buffered and close the last shard; the shards, in order."""
        self._write_group()
        self._close_shard()
        return self.shards

    def _append(self, batches: list[pa.RecordBatch], rows: int, size: int) -> None:
        self._pending += batches
        group_ends, shard_ends = self.layout.add(rows, size)
        if group_ends:
            self._write_group()
        if shard_ends:
            self._close_shard()

    def _write_group(self) -> None:
        if not self._pending:
            return
        if self._writer is None:
            path = self.folder / (self.name or f"{self.split}-{len(self.shards):05d}.parquet")
            self._sink = pa.OSFile(str(path), "wb")
            self._writer = pq.ParquetWriter(self._sink, self.schema, **self._options)
            self._writer.add_key_value_metadata({"content_defined_chunking": json.dumps(self._options["use_content_defined_chunking"])})
            self.shards.append(path)
        table = pa.Table.from_batches(self._pending)
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._pending = []

    def _close_shard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = self._sink = None


def _writer_options(features: datasets.Features, schema: pa.Schema) -> dict:
    """datasets' per-column compression, CDC and page index, with every column dictionary-encoded."""
    return {
        "compression": get_parquet_column_options(features, schema)["compression"],
        "use_dictionary": True,
        "dictionary_pagesize_limit": DICTIONARY_PAGE_LIMIT,
        "use_content_defined_chunking": datasets.config.DEFAULT_CDC_OPTIONS,
        "write_page_index": True,
    }
