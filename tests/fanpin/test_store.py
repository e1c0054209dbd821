"""Writing and reading work files (fanpin/store.py): atomic, owner-only, folders as tables."""

from __future__ import annotations

import stat
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from fanpin.store import parquet_files, scan_folder, write_frame, write_relation

SCHEMA = pa.schema([("k", pa.string()), ("v", pa.int64())])


def test_write_relation_keeps_the_order_and_is_owner_only(tmp_path: Path) -> None:
    """A sorted relation is written in its order, owner-only, with no temporary file left."""
    con = duckdb.connect()
    rel = con.sql("SELECT range AS v FROM range(1000) ORDER BY v DESC")
    target = write_relation(rel, tmp_path / "private" / "t.parquet", private=True)
    assert pl.read_parquet(target)["v"].to_list() == list(range(999, -1, -1))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert [p.name for p in target.parent.iterdir()] == ["t.parquet"]


def test_a_failed_relation_write_leaves_no_file(tmp_path: Path) -> None:
    """An error while writing (here a failing cast) leaves neither the file nor its temporary."""
    con = duckdb.connect()
    rel = con.sql("SELECT CAST('x' || range AS INTEGER) AS v FROM range(3)")
    with pytest.raises(duckdb.Error):
        write_relation(rel, tmp_path / "t.parquet")
    assert list(tmp_path.iterdir()) == []


def test_scan_folder_reads_the_files_in_name_order(tmp_path: Path) -> None:
    """b.parquet after a.parquet whatever the order they were written in; dot-files skipped."""
    write_frame(pl.DataFrame({"k": ["b"], "v": [2]}), tmp_path / "b.parquet")
    write_frame(pl.DataFrame({"k": ["a"], "v": [1]}), tmp_path / "a.parquet")
    (tmp_path / ".c.parquet").write_bytes(b"half")
    assert [p.name for p in parquet_files(tmp_path)] == ["a.parquet", "b.parquet"]
    assert scan_folder(tmp_path, SCHEMA).collect()["k"].to_list() == ["a", "b"]


def test_scan_folder_of_an_empty_or_missing_folder_has_the_schema(tmp_path: Path) -> None:
    """No files (or no folder): no rows, with the given columns and types."""
    frame = scan_folder(tmp_path / "missing", SCHEMA).collect()
    assert frame.height == 0 and frame.schema == pl.Schema({"k": pl.String(), "v": pl.Int64()})
