"""The link stage's reading and writing: staged Parquet in, links and review Parquet out.

The matching itself is `transforms.linker` (pure SQL steps on a DuckDB
connection); this module owns the connection, its memory limit and spill
folder, and the files.

Links and review are folders with one file per department (`linked/links/medical.parquet`),
each in one stable order (`LINK_ORDER`, `REVIEW_ORDER`), so that the folder read in name
order is the whole table in (department, ...) order. A department's links are sorted and
written once, straight from the linker's view: a single file for all departments would
mean writing every link twice (parts, then a sorted merge), which at a province cost more
than all of the matching.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from fanpin.context import RunContext
from fanpin.matching_config import load_matching_config
from fanpin.store import make_dirs, parquet_files, scan_folder, write_relation
from transforms.compare import warm_up
from transforms.linker import configure_connection, link_department, release_department

LINK_ORDER = "source_file, source_line, record_id"  # within a department's file
REVIEW_ORDER = "record_id, candidate_rank, person_ref"
MEMORY_LIMIT = "6GB"
SLOWEST_STEPS = 5
log = logging.getLogger(__name__)

LINKS_SCHEMA = pa.schema(
    [
        ("department", pa.string()),
        ("record_id", pa.string()),
        ("person_ref", pa.string()),
        ("id_number", pa.string()),
        ("household_id", pa.string()),
        ("match_status", pa.string()),
        ("match_method", pa.string()),
        ("match_score", pa.float64()),
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
    ]
)
REVIEW_SCHEMA = pa.schema(
    [
        ("department", pa.string()),
        ("record_id", pa.string()),
        ("candidate_rank", pa.int64()),
        ("person_ref", pa.string()),
        ("id_number", pa.string()),
        ("household_id", pa.string()),
        ("match_method", pa.string()),
        ("match_score", pa.float64()),
        ("why", pa.string()),
    ]
)


_SQL_TYPES = {pa.string(): "VARCHAR", pa.float64(): "DOUBLE", pa.int64(): "BIGINT"}


def _write_sorted(
    rel: duckdb.DuckDBPyRelation, schema: pa.Schema, order: str, target: Path
) -> None:
    """One department's links or review: the schema's columns and types, in the one stable
    order (reruns, and the partitioned run, give the same rows in the same order)."""
    columns = ", ".join(
        f'CAST("{field.name}" AS {_SQL_TYPES[field.type]}) AS "{field.name}"' for field in schema
    )
    write_relation(rel.select(columns).order(order), target, private=True)


def scan_links(ctx: RunContext) -> pl.LazyFrame:
    """All departments' links as one table (department order, then `LINK_ORDER`)."""
    return scan_folder(ctx.links, LINKS_SCHEMA)


def scan_review(ctx: RunContext) -> pl.LazyFrame:
    """All departments' review rows as one table (department order, then `REVIEW_ORDER`)."""
    return scan_folder(ctx.review, REVIEW_SCHEMA)


def _fresh(folder: Path) -> Path:
    """An empty owner-only folder (files of an earlier run of the same date are removed)."""
    shutil.rmtree(folder, ignore_errors=True)
    make_dirs(folder, private=True)
    return folder


@contextmanager
def link_connection(spill: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection set up for the linker; its spill folder is removed afterwards."""
    spill.mkdir(parents=True, exist_ok=True, mode=0o700)
    con = duckdb.connect()
    try:
        configure_connection(con, memory_limit=MEMORY_LIMIT, temp_directory=str(spill))
        warm_up(con)
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def link_departments(
    con: duckdb.DuckDBPyConnection, ctx: RunContext, records: Mapping[str, Path], out: Path
) -> tuple[list[Path], list[Path]]:
    """Link each department's records (all of them, or one partition) against the whole roster.

    Writes `out/links/<department>.parquet` and `out/review/<department>.parquet`, sorted;
    the single run writes them into the run's `linked/` folder, each partition of the
    partitioned run into its own (`combine_departments` then merges the partitions).
    """
    config = load_matching_config(ctx.config.matching)
    roster = con.read_parquet(str(ctx.staged("roster")))
    links_dir, review_dir = _fresh(out / "links"), _fresh(out / "review")
    for department, path in records.items():
        records_rel = con.read_parquet(str(path))
        timings: dict[str, float] = {}
        links, review = link_department(con, roster, records_rel, department, config, timings)
        slowest = sorted(timings.items(), key=lambda kv: -kv[1])[:SLOWEST_STEPS]
        log.debug("link %s: slowest steps (s) %s", department, slowest)
        _write_sorted(links, LINKS_SCHEMA, LINK_ORDER, links_dir / f"{department}.parquet")
        _write_sorted(review, REVIEW_SCHEMA, REVIEW_ORDER, review_dir / f"{department}.parquet")
        release_department(con, department)
    return parquet_files(links_dir), parquet_files(review_dir)


def combine_departments(
    con: duckdb.DuckDBPyConnection,
    ctx: RunContext,
    link_parts: list[Path],
    review_parts: list[Path],
) -> None:
    """The run's links and review folders from partitions' files (named by department),
    each department sorted as in the single run."""
    for parts, schema, order, folder in (
        (link_parts, LINKS_SCHEMA, LINK_ORDER, _fresh(ctx.links)),
        (review_parts, REVIEW_SCHEMA, REVIEW_ORDER, _fresh(ctx.review)),
    ):
        for department in sorted({p.stem for p in parts}):
            files = [str(p) for p in parts if p.stem == department]
            _write_sorted(con.read_parquet(files), schema, order, folder / f"{department}.parquet")


def link_all(ctx: RunContext, departments: list[str]) -> None:
    """Link each department against the roster into the run's links and review folders."""
    with link_connection(ctx.work / "tmp") as con:
        link_departments(con, ctx, {d: ctx.staged(d) for d in departments}, ctx.linked)
