"""The link stage's reading and writing: staged Parquet in, links and review Parquet out.

The matching itself is `transforms.linker` (pure SQL steps on a DuckDB
connection); this module owns the connection, its memory limit and spill
folder, and the files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow as pa

from fanpin.context import RunContext
from fanpin.matching_config import load_matching_config
from fanpin.store import write_batches
from transforms.compare import warm_up
from transforms.linker import configure_connection, link_department

LINK_ORDER = "department, source_file, source_line, record_id"
REVIEW_ORDER = "department, record_id, candidate_rank, person_ref"
MEMORY_LIMIT = "6GB"
BATCH_ROWS = 500_000

LINKS_SCHEMA = pa.schema([
    ("department", pa.string()), ("record_id", pa.string()), ("person_ref", pa.string()),
    ("id_number", pa.string()), ("household_id", pa.string()), ("match_status", pa.string()),
    ("match_method", pa.string()), ("match_score", pa.float64()), ("source_file", pa.string()),
    ("source_line", pa.int64()),
])
REVIEW_SCHEMA = pa.schema([
    ("department", pa.string()), ("record_id", pa.string()), ("candidate_rank", pa.int64()),
    ("person_ref", pa.string()), ("id_number", pa.string()), ("household_id", pa.string()),
    ("match_method", pa.string()), ("match_score", pa.float64()), ("why", pa.string()),
])


def _write_sorted(
    con: duckdb.DuckDBPyConnection, parts: list[Path], schema: pa.Schema, order: str, target: Path
) -> int:
    """Concatenate the per-department parts in one stable order (reruns compare byte for byte)."""
    if not parts:
        return write_batches(schema, [], target, private=True)
    columns = ", ".join(f'"{name}"' for name in schema.names)
    rel = con.read_parquet([str(p) for p in parts]).select(columns).order(order)
    reader = rel.fetch_record_batch(BATCH_ROWS)
    return write_batches(schema, (b.cast(schema) for b in reader), target, private=True)


def link_all(ctx: RunContext, departments: list[str]) -> None:
    """Link each department against the roster; write links.parquet and review.parquet."""
    parts_dir = ctx.work / "linked" / "parts"
    shutil.rmtree(parts_dir, ignore_errors=True)
    parts_dir.mkdir(parents=True, mode=0o700)
    spill = ctx.work / "tmp"
    spill.mkdir(parents=True, exist_ok=True, mode=0o700)
    con = duckdb.connect()
    try:
        configure_connection(con, memory_limit=MEMORY_LIMIT, temp_directory=str(spill))
        warm_up(con)
        config = load_matching_config(ctx.config.matching)
        roster = con.read_parquet(str(ctx.staged("roster")))
        link_parts, review_parts = [], []
        for department in departments:
            records = con.read_parquet(str(ctx.staged(department)))
            links, review = link_department(con, roster, records, department, config)
            link_parts.append(parts_dir / f"{department}.links.parquet")
            review_parts.append(parts_dir / f"{department}.review.parquet")
            links.write_parquet(str(link_parts[-1]), compression="zstd")
            review.write_parquet(str(review_parts[-1]), compression="zstd")
        _write_sorted(con, link_parts, LINKS_SCHEMA, LINK_ORDER, ctx.links)
        _write_sorted(con, review_parts, REVIEW_SCHEMA, REVIEW_ORDER, ctx.review)
    finally:
        con.close()
        shutil.rmtree(parts_dir, ignore_errors=True)
        shutil.rmtree(spill, ignore_errors=True)
