"""Tests for transforms.quality_prep: narrowing and chunking staged frames for GX."""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.quality_prep import (
    available_columns,
    chunk_count,
    expectation_columns,
    iter_chunks,
    select_for_validation,
)


def test_expectation_columns_reads_single_and_pair_forms() -> None:
    """Single-column and column-pair kwargs both name the columns they read."""
    assert expectation_columns({"column": "a", "value_set": [1]}) == ["a"]
    assert expectation_columns({"column_A": "t", "column_B": "o", "or_equal": True}) == ["t", "o"]


def test_id_valid_nonblank_nulls_blank_numbers() -> None:
    """Blank numbers become null (ignored by `mostly`); given numbers keep their validity."""
    frame = pl.DataFrame(
        {
            "id_valid": [True, False, False],
            "id_problem": [None, "missing", "checksum"],
            "other": [1, 2, 3],
        }
    )
    assert "id_valid_nonblank" in available_columns(frame.columns)
    narrow = select_for_validation(frame, ["id_valid_nonblank"])
    assert narrow.columns == ["id_valid_nonblank"]
    assert narrow["id_valid_nonblank"].to_list() == [True, None, False]


def test_select_casts_dates_and_small_ints_for_pandas() -> None:
    """Dates become datetime[ns] and Int8 becomes Int64, so GX compares them vectorised."""
    frame = pl.DataFrame({"d": [date(2020, 1, 1)], "g": pl.Series([2], dtype=pl.Int8)})
    narrow = select_for_validation(frame, ["d", "g", "absent"])
    assert narrow.schema == pl.Schema({"d": pl.Datetime("ns"), "g": pl.Int64})


def test_hash_chunks_keep_equal_keys_together() -> None:
    """Every row lands in exactly one chunk and rows sharing a key share a chunk."""
    frame = pl.DataFrame({"k": [f"k{i % 13}" for i in range(100)], "i": list(range(100))})
    chunks = list(iter_chunks(frame, chunk_count(100, 30), "k"))
    assert len(chunks) == 4
    assert sorted(pl.concat(chunks)["i"].to_list()) == list(range(100))
    keys = [set(chunk["k"].to_list()) for chunk in chunks]
    assert sum(len(k) for k in keys) == 13


def test_slices_without_key() -> None:
    """Without a key the frame is cut into contiguous slices."""
    frame = pl.DataFrame({"i": list(range(10))})
    assert [c.height for c in iter_chunks(frame, 3, None)] == [4, 4, 2]


def test_suite_columns_lists_what_the_suite_reads_with_derived_sources() -> None:
    """A suite's checked columns are read from Parquet, derived ones through their sources;
    a column named only by a schema expectation is not read."""
    from transforms.quality_prep import suite_columns

    suite = [
        {"type": "expect_column_to_exist", "kwargs": {"column": "name"}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "record_id"}},
        {"type": "x", "kwargs": {"column_A": "total_cost", "column_B": "out_of_pocket"}},
        {"type": "y", "kwargs": {"column": "id_valid_nonblank", "mostly": 0.5}},
    ]
    assert suite_columns(suite) == {
        "record_id",
        "total_cost",
        "out_of_pocket",
        "id_valid",
        "id_problem",
    }
