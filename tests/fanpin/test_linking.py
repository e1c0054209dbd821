"""The link stage's files (fanpin/linking.py): a sorted file per department, reruns, partitions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from fanpin.context import RunContext
from fanpin.linking import (
    LINKS_SCHEMA,
    combine_departments,
    link_all,
    link_connection,
    link_departments,
    scan_links,
    scan_review,
)
from fanpin.store import parquet_files, write_frame
from transforms.identity import id_columns
from transforms.names import name_columns

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(body17: str) -> str:
    """A valid 18-char id from its first 17 digits (GB 11643 check character)."""
    total = sum(int(c) * w for c, w in zip(body17, WEIGHTS, strict=True))
    return body17 + "10X98765432"[total % 11]


A, B, C = (make_id(f"5002221980010{i}123") for i in (1, 2, 3))
TWINS = make_id("50022219900505124")  # two roster people with one name share it


def _roster() -> pl.DataFrame:
    rows = [
        ("H1", "张丽", A, "户主"),
        ("H1", "王强", B, "配偶"),
        ("H2", "李明", C, "户主"),
        ("H3", "赵一", TWINS, "户主"),
        ("H4", "赵一", TWINS, "户主"),  # same name and id: ambiguous
    ]
    frame = pl.DataFrame(
        rows, schema=["household_id", "name", "id_number", "relation"], orient="row"
    )
    frame = frame.with_columns(id_columns()).with_columns(name_columns())
    ref = pl.lit("R:") + pl.col("household_id") + ":" + pl.col("name_norm")
    unique = pl.col("id_norm").is_not_null() & (pl.len().over("id_norm") == 1)
    return frame.with_columns(
        county_code=pl.lit("500222"), person_ref=pl.when(unique).then("id_norm").otherwise(ref)
    )


def _records(prefix: str, lines: list[int]) -> pl.DataFrame:
    """Records about A, B, C, the twins' id and nobody, on the given (shuffled) lines."""
    people = [
        ("张丽", A),
        ("王强", B),
        ("李明", C),
        ("赵一", TWINS),
        ("陈某", make_id("11010119990101001")),
    ]
    rows = [(f"{prefix}{i}", *people[i % len(people)]) for i in range(len(lines))]
    frame = pl.DataFrame(rows, schema=["record_id", "name", "id_number"], orient="row")
    return (
        frame.with_columns(id_columns())
        .with_columns(name_columns())
        .with_columns(source_file=pl.lit("x.csv"), source_line=pl.Series(lines, dtype=pl.Int64))
    )


@pytest.fixture
def ctx(tmp_path: Path) -> RunContext:
    """A run whose staged roster and two departments (records in shuffled line order) exist."""
    run = RunContext(tmp_path / "inbox", tmp_path / "out", dt.date(2026, 11, 30), "default")
    write_frame(_roster(), run.staged("roster"), private=True)
    write_frame(_records("M", [9, 3, 7, 1, 5, 2, 8, 4, 6, 10]), run.staged("medical"), private=True)
    write_frame(_records("H", [4, 2, 5, 1, 3]), run.staged("health"), private=True)
    return run


def test_each_department_gets_one_file_sorted_by_file_and_line(ctx: RunContext) -> None:
    """links/<department>.parquet and review/<department>.parquet; read in name order they are
    the whole table in (department, file, line) order."""
    link_all(ctx, ["medical", "health"])
    assert [p.name for p in parquet_files(ctx.links)] == ["health.parquet", "medical.parquet"]
    assert [p.name for p in parquet_files(ctx.review)] == ["health.parquet", "medical.parquet"]
    links = scan_links(ctx).collect()
    assert links.height == 15
    assert links.equals(links.sort("department", "source_file", "source_line", "record_id"))
    assert links.schema == pl.DataFrame(LINKS_SCHEMA.empty_table()).schema
    review = scan_review(ctx).collect()
    assert set(review["record_id"]) == {"M3", "M8", "H3"}  # the twins' id, both candidates
    assert review.equals(review.sort("department", "record_id", "candidate_rank", "person_ref"))


def test_a_rerun_without_a_department_leaves_no_file_of_it(ctx: RunContext) -> None:
    """The same date linked again with medical held back: medical's earlier links are gone."""
    link_all(ctx, ["medical", "health"])
    link_all(ctx, ["health"])
    assert [p.name for p in parquet_files(ctx.links)] == ["health.parquet"]
    assert set(scan_links(ctx).collect()["department"]) == {"health"}


def test_no_department_gives_empty_tables_with_the_schema(ctx: RunContext) -> None:
    """Every department held back: no files, and the tables read as no rows with their columns."""
    link_all(ctx, [])
    assert parquet_files(ctx.links) == [] and parquet_files(ctx.review) == []
    assert scan_links(ctx).collect().columns == LINKS_SCHEMA.names
    assert scan_review(ctx).collect().height == 0


def test_partitions_combined_equal_the_single_run(ctx: RunContext, tmp_path: Path) -> None:
    """Records split over two partitions, linked apart and combined: the single run's tables."""
    link_all(ctx, ["medical", "health"])
    single = (scan_links(ctx).collect(), scan_review(ctx).collect())
    link_parts: list[Path] = []
    review_parts: list[Path] = []
    for index, keep in enumerate((pl.col("source_line") % 2 == 0, pl.col("source_line") % 2 == 1)):
        records = {}
        for department in ("medical", "health"):
            part = tmp_path / f"in-{index}" / f"{department}.parquet"
            write_frame(pl.read_parquet(ctx.staged(department)).filter(keep), part)
            records[department] = part
        with link_connection(tmp_path / "spill") as con:
            links, review = link_departments(con, ctx, records, tmp_path / f"out-{index}")
        link_parts += links
        review_parts += review
    with link_connection(tmp_path / "spill") as con:
        combine_departments(con, ctx, link_parts, review_parts)
    assert scan_links(ctx).collect().equals(single[0])
    assert scan_review(ctx).collect().equals(single[1])
