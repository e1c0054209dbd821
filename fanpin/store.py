"""Writing Parquet files so that no reader ever sees half of one.

Every file is written beside its target under a dot-name (ignored by pyarrow;
DuckDB globs of `*.parquet` skip it because of the suffix) and renamed into
place. Restricted data is created readable by its owner only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_SIZE = 500_000
OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600


def make_dirs(path: Path, private: bool) -> None:
    """Create `path` and parents; private folders are owner-only.

    Every folder this call creates for private data is owner-only, not just the last one:
    `restricted/links/run_date=D/` would otherwise leave `restricted/` and `links/` listable.
    """
    created = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    if private:
        for folder in {path, *created}:
            os.chmod(folder, OWNER_ONLY_DIR)


def _finish(tmp: Path, target: Path, private: bool) -> None:
    if private:
        os.chmod(tmp, OWNER_ONLY_FILE)
    os.replace(tmp, target)


@contextmanager
def atomic_file(target: Path, private: bool = False) -> Iterator[Path]:
    """A temporary path beside `target` (a dot-name) to write to; renamed onto `target` when
    the block ends (owner-only when `private`), removed when it fails (a full disk, say)."""
    make_dirs(target.parent, private)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        yield tmp
        _finish(tmp, target, private)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_frame(frame: pl.DataFrame, target: Path, private: bool = False) -> Path:
    """Write one frame as zstd Parquet, atomically."""
    with atomic_file(target, private) as tmp:
        frame.write_parquet(tmp, compression="zstd", row_group_size=ROW_GROUP_SIZE, statistics=True)
    return target


def write_batches(
    schema: pa.Schema, batches: Iterable[pa.RecordBatch], target: Path, private: bool = False
) -> int:
    """Stream record batches into one zstd Parquet file, atomically; return the row count."""
    rows = 0
    with (
        atomic_file(target, private) as tmp,
        pq.ParquetWriter(tmp, schema, compression="zstd") as writer,
    ):
        for batch in batches:
            writer.write_batch(batch, row_group_size=ROW_GROUP_SIZE)
            rows += batch.num_rows
    return rows


def write_relation(rel: duckdb.DuckDBPyRelation, target: Path, private: bool = False) -> Path:
    """Write a DuckDB relation as one zstd Parquet file, atomically (DuckDB's parallel writer;
    an ORDER BY in `rel` is kept)."""
    with atomic_file(target, private) as tmp:
        rel.write_parquet(str(tmp), compression="zstd", row_group_size=ROW_GROUP_SIZE)
    return target


def parquet_files(folder: Path) -> list[Path]:
    """The complete Parquet files of a folder, in name order (temporary dot-files excluded)."""
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))


def scan_folder(folder: Path, schema: pa.Schema) -> pl.LazyFrame:
    """The files of a folder as one table in name order; no rows, with `schema`, when empty."""
    files = parquet_files(folder)
    if not files:
        return pl.DataFrame(schema.empty_table()).lazy()
    return pl.scan_parquet(files)


def write_text(text: str, target: Path, private: bool = False) -> Path:
    """Write a small text file (manifest, marker) atomically."""
    with atomic_file(target, private) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
