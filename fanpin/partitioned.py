"""The link and score stages cut into partitions that separate processes (or machines) run.

Linking decides every record from that record and the whole roster, and
nothing else (the linker's tables are all keyed by ``record_id``). So the
records (the big side) are split by a hash of ``record_id`` and every
partition gets the whole roster (a broadcast join: the roster is the small
side). Every candidate pair of a record meets in its record's partition.

Scoring decides every household from its roster members, the links to them
and the records behind those links. So the roster is split by a hash of
``household_id``, each link follows the household of its roster person and
each record follows its links.

A split is one pass in one process, written to the run's work folder: the
partition of a row is computed exactly once, and every partition task reads
only its own files. Tasks receive the run context and a partition number,
never frames; the work folder must therefore be shared storage when tasks
run on other machines (docs/scale-out.md). Each partition goes through the
same functions as the single-process run (``fanpin.linking.link_departments``,
``fanpin.stages.warnings_for``), and the parts are put together in the same
stable order (``fanpin.linking.combine_departments``,
``fanpin.stages.warnings_written``), so both paths write identical files.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from fanpin import stages
from fanpin.context import RunContext
from fanpin.linking import (
    LINKS_SCHEMA,
    combine_departments,
    link_connection,
    link_departments,
    scan_links,
)
from fanpin.store import parquet_files, write_frame
from transforms.blocking import quote_ident
from transforms.scoring import WARNING_SCHEMA

PART_COLUMN = "fanpin_part"
MAX_PARTITIONS = 4096
RECORD_KEY = "record_id"  # the linker's record key (schemas/<dept>.yaml: record_key)
HOUSEHOLD_KEY = "household_id"


def check_partitions(partitions: int) -> int:
    """A partition count a run can use: 1 (no split) up to MAX_PARTITIONS."""
    if isinstance(partitions, bool) or not isinstance(partitions, int):
        raise ValueError("partitions must be a whole number")
    if not 1 <= partitions <= MAX_PARTITIONS:
        raise ValueError(f"partitions must be between 1 and {MAX_PARTITIONS}")
    return partitions


def partition_sql(column: str, partitions: int) -> str:
    """The DuckDB expression of a key's partition, 0 .. partitions-1.

    DuckDB's ``hash()`` has no per-process seed (unlike Python's ``hash`` of a
    string), so every process with the same DuckDB version puts a key in the
    same partition (tests/flows/test_partitioned.py checks it across processes).
    A null key has a partition like any other value.
    """
    return f"CAST(hash({quote_ident(column)}) % {check_partitions(partitions)} AS INTEGER)"


def key_fingerprint(key: bytes) -> str:
    """A short, non-reversible tag of the hashing key, to check that every worker has the same."""
    return hmac.new(key, b"fanpin-key-fingerprint", hashlib.sha256).hexdigest()[:12]


# ------------------------------------------------------------------------------ layout


def _root(ctx: RunContext) -> Path:
    return ctx.work / "partitioned"


def _link_in(ctx: RunContext, department: str) -> Path:
    return _root(ctx) / "link-in" / department


def _link_out(ctx: RunContext, index: int) -> Path:
    return _root(ctx) / "link-out" / f"part-{index}"


def _score_in(ctx: RunContext, table: str) -> Path:
    return _root(ctx) / "score-in" / table


def _score_out(ctx: RunContext, index: int) -> Path:
    return _root(ctx) / "score-out" / f"part-{index}.parquet"


def _part_glob(folder: Path, index: int) -> Path | None:
    """The files of partition `index` of a split folder, as a glob; None when it has no rows."""
    part = folder / f"{PART_COLUMN}={index}"
    return part / "*.parquet" if any(part.glob("*.parquet")) else None


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _write_split(rel: duckdb.DuckDBPyRelation, folder: Path) -> None:
    """One pass over `rel` (which has PART_COLUMN), one folder per partition that has rows."""
    rel.write_parquet(str(_fresh(folder)), compression="zstd", partition_by=[PART_COLUMN])


# ------------------------------------------------------------------------------ linking


def split_records(ctx: RunContext, department: str, partitions: int) -> int:
    """Write a department's staged records as parts by hash of the record key; the row count."""
    con = duckdb.connect()
    try:
        rel = con.read_parquet(str(ctx.staged(department))).select(
            f"*, {partition_sql(RECORD_KEY, partitions)} AS {PART_COLUMN}"
        )
        _write_split(rel, _link_in(ctx, department))
        count = con.read_parquet(str(ctx.staged(department))).aggregate("count(*)")
        return int(count.fetchall()[0][0])
    finally:
        con.close()


def link_partition(ctx: RunContext, departments: list[str], index: int) -> list[list[str]]:
    """Link partition `index` of every department against the whole roster.

    Returns the written ``[links parts, review parts]`` (paths as text).
    """
    records = {}
    for department in departments:
        files = _part_glob(_link_in(ctx, department), index)
        if files is not None:
            records[department] = files
    with link_connection(_root(ctx) / "tmp" / f"part-{index}") as con:
        link_parts, review_parts = link_departments(con, ctx, records, _link_out(ctx, index))
    return [[str(p) for p in link_parts], [str(p) for p in review_parts]]


def combine_links(ctx: RunContext, parts: list[list[list[str]]]) -> list[dict[str, Any]]:
    """The links and review folders from every partition's files; the match summary."""
    link_parts = [Path(p) for links, _ in parts for p in links]
    review_parts = [Path(p) for _, review in parts for p in review]
    with link_connection(_root(ctx) / "tmp" / "combine") as con:
        combine_departments(con, ctx, link_parts, review_parts)
    shutil.rmtree(_root(ctx) / "link-in", ignore_errors=True)
    shutil.rmtree(_root(ctx) / "link-out", ignore_errors=True)
    return stages.links_written(ctx)


# ------------------------------------------------------------------------------ scoring


def split_for_scoring(ctx: RunContext, departments: list[str], partitions: int) -> None:
    """Roster by household; links with their roster person's household; records with their links.

    Only ``linked`` links are evidence (transforms.rules), so only they and
    their records are split. A link goes to every partition holding its
    person_ref, and a record to every partition holding one of its links:
    exactly the rows each partition's joins would have found in the whole.
    """
    con = duckdb.connect()
    try:
        con.read_parquet(str(ctx.staged("roster"))).select(
            f"*, {partition_sql(HOUSEHOLD_KEY, partitions)} AS {PART_COLUMN}"
        ).create_view("roster_in")
        _write_split(con.sql("SELECT * FROM roster_in"), _score_in(ctx, "roster"))
        _links_relation(con, ctx).create_view("links_in")
        con.execute(
            f"CREATE TEMP TABLE links_part AS SELECT l.*, r.{PART_COLUMN} FROM links_in l "
            f"JOIN (SELECT DISTINCT person_ref, {PART_COLUMN} FROM roster_in) r USING (person_ref) "
            "WHERE l.match_status = 'linked'"
        )
        _write_split(con.sql("SELECT * FROM links_part"), _score_in(ctx, "links"))
        for department in departments:
            _split_department_for_scoring(con, ctx, department)
    finally:
        con.close()


def _links_relation(con: duckdb.DuckDBPyConnection, ctx: RunContext) -> duckdb.DuckDBPyRelation:
    """The run's links (every department's file), or no rows when no department was linked."""
    files = parquet_files(ctx.links)
    if not files:
        return con.from_arrow(LINKS_SCHEMA.empty_table())
    return con.read_parquet([str(f) for f in files])


def _split_department_for_scoring(
    con: duckdb.DuckDBPyConnection, ctx: RunContext, department: str
) -> None:
    con.read_parquet(str(ctx.staged(department))).create_view("records_in", replace=True)
    rel = con.sql(
        f"SELECT x.*, k.{PART_COLUMN} FROM records_in x JOIN (SELECT DISTINCT "
        f"CAST(record_id AS VARCHAR) AS _key, {PART_COLUMN} FROM links_part "
        "WHERE department = $department) k ON CAST(x.record_id AS VARCHAR) = k._key",
        params={"department": department},
    )
    _write_split(rel, _score_in(ctx, department))


def _scan_part(folder: Path, index: int, whole: pl.LazyFrame) -> pl.LazyFrame:
    """A partition's files, or no rows with the schema of the whole when it has none."""
    files = _part_glob(folder, index)
    if files is None:
        return whole.head(0)
    return pl.scan_parquet(files, hive_partitioning=False)


def score_partition(
    ctx: RunContext, departments: list[str], index: int, key_check: str
) -> str | None:
    """Score the households of partition `index`; the written part (None: no households).

    `key_check` is the flow's ``key_fingerprint``: a worker with another
    hashing key would write person keys the published worklists do not share.
    """
    if key_fingerprint(stages.hash_key(ctx).value) != key_check:
        raise RuntimeError("this worker's hashing key differs from the flow's (FANPIN_HASH_KEY)")
    roster_files = _part_glob(_score_in(ctx, "roster"), index)
    if roster_files is None:
        return None
    roster = pl.read_parquet(roster_files, hive_partitioning=False)
    links = _scan_part(_score_in(ctx, "links"), index, scan_links(ctx))
    records = {
        d: _scan_part(_score_in(ctx, d), index, pl.scan_parquet(ctx.staged(d))) for d in departments
    }
    warnings = stages.warnings_for(ctx, roster, records, links)
    return str(write_frame(warnings, _score_out(ctx, index), private=True))


def combine_warnings(
    ctx: RunContext, departments: list[str], parts: list[str | None]
) -> dict[str, Any]:
    """warnings.parquet from the partitions' parts, in the single run's order (by household)."""
    frames = [pl.read_parquet(p) for p in parts if p is not None]
    warnings = (
        pl.concat(frames).sort(HOUSEHOLD_KEY) if frames else pl.DataFrame(schema=WARNING_SCHEMA)
    )
    result = stages.warnings_written(ctx, warnings, departments)
    shutil.rmtree(_root(ctx), ignore_errors=True)
    return result
