"""The link stage's reading and writing: staged Parquet in, links and review Parquet out.

The matching itself is `transforms.linker` (pure SQL steps on a DuckDB
connection); this module owns the connection, its memory limit and spill
folder, and the files.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from fanpin.context import RunContext
from fanpin.matching_config import load_matching_config
from fanpin.store import write_batches
from transforms.compare import warm_up
from transforms.linker import configure_connection, link_department, release_department

LINK_ORDER = "department, source_file, source_line, record_id"
REVIEW_ORDER = "department, record_id, candidate_rank, person_ref"
MEMORY_LIMIT = "6GB"
SLOWEST_STEPS = 5
log = logging.getLogger(__name__)
BATCH_ROWS = 500_000

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


def _write_sorted(
    con: duckdb.DuckDBPyConnection, parts: list[Path], schema: pa.Schema, order: str, target: Path
) -> int:
    """Concatenate the per-department parts in one stable order (reruns compare byte for byte)."""
    if not parts:
        return write_batches(schema, [], target, private=True)
    columns = ", ".join(f'"{name}"' for name in schema.names)
    rel = con.read_parquet([str(p) for p in parts]).select(columns).order(order)
    reader = rel.to_arrow_reader(BATCH_ROWS)
    return write_batches(schema, (b.cast(schema) for b in reader), target, private=True)


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
    con: duckdb.DuckDBPyConnection, ctx: RunContext, records: Mapping[str, Path], parts_dir: Path
) -> tuple[list[Path], list[Path]]:
    """Link each department's records (all of them, or one partition) against the whole roster.

    Writes one links part and one review part per department into `parts_dir`;
    the single run and every partition of the partitioned run go through here.
    """
    config = load_matching_config(ctx.config.matching)
    roster = con.read_parquet(str(ctx.staged("roster")))
    link_parts, review_parts = [], []
    for department, path in records.items():
        records_rel = con.read_parquet(str(path))
        timings: dict[str, float] = {}
        links, review = link_department(con, roster, records_rel, department, config, timings)
        slowest = sorted(timings.items(), key=lambda kv: -kv[1])[:SLOWEST_STEPS]
        log.debug("link %s: slowest steps (s) %s", department, slowest)
        link_parts.append(parts_dir / f"{department}.links.parquet")
        review_parts.append(parts_dir / f"{department}.review.parquet")
        links.write_parquet(str(link_parts[-1]), compression="zstd")
        review.write_parquet(str(review_parts[-1]), compression="zstd")
        release_department(con, department)
    return link_parts, review_parts


def write_link_outputs(
    con: duckdb.DuckDBPyConnection,
    ctx: RunContext,
    link_parts: list[Path],
    review_parts: list[Path],
) -> None:
    """links.parquet and review.parquet from parts, in the one stable order of both paths."""
    _write_sorted(con, link_parts, LINKS_SCHEMA, LINK_ORDER, ctx.links)
    _write_sorted(con, review_parts, REVIEW_SCHEMA, REVIEW_ORDER, ctx.review)


def link_all(ctx: RunContext, departments: list[str]) -> None:
    """Link each department against the roster; write links.parquet and review.parquet."""
    parts_dir = ctx.work / "linked" / "parts"
    shutil.rmtree(parts_dir, ignore_errors=True)
    parts_dir.mkdir(parents=True, mode=0o700)
    try:
        with link_connection(ctx.work / "tmp") as con:
            link_parts, review_parts = link_departments(
                con, ctx, {d: ctx.staged(d) for d in departments}, parts_dir
            )
            write_link_outputs(con, ctx, link_parts, review_parts)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
