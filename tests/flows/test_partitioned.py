"""The partitioned run (fanpin.partitioned, flows.partitioned) against the single-process run.

The end-to-end test starts its own local Dask cluster of two worker processes
and hands the flow its address, the way a real cluster is used, so that it
can also check that the partitions really ran on both workers.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from fanpin.context import RunContext
from fanpin.partitioned import PART_COLUMN, check_partitions, partition_sql, split_records
from fanpin.settings import REPO_ROOT

SAMPLE = REPO_ROOT / "sample_data" / "inbox"
RUN_DATE = date(2026, 11, 30)
COMPARED = (
    "restricted/links",
    "restricted/review",
    "published/warnings",
    "published/matching",
    "restricted/worklists",
)
KEYS = ["110101199003070019", "R:H0001:张三:", "", "户-0042", "x" * 40]

_PARTITIONS_SCRIPT = """
import json, sys, duckdb
from fanpin.partitioned import partition_sql
keys = json.loads(sys.argv[1])
con = duckdb.connect()
con.execute("CREATE TABLE t AS SELECT unnest(?) AS k", [keys])
print(json.dumps([r[0] for r in con.execute(f"SELECT {partition_sql('k', 7)} FROM t").fetchall()]))
"""


def _partitions_in_new_process(keys: list[str]) -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", _PARTITIONS_SCRIPT, json.dumps(keys)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    return list(json.loads(out.stdout))


def test_a_key_falls_in_the_same_partition_in_every_process() -> None:
    """DuckDB's hash() is unseeded: two fresh interpreters put every key in the same partition."""
    keys = KEYS + [f"rec-{i}" for i in range(200)]
    first, second = _partitions_in_new_process(keys), _partitions_in_new_process(keys)
    assert first == second
    assert set(first) == set(range(7))


def test_partition_count_must_be_a_sane_whole_number() -> None:
    """0, negatives, floats and absurd counts are refused before anything runs."""
    assert check_partitions(1) == 1
    for bad in (0, -2, 2.5, True, 10_000):
        with pytest.raises(ValueError):
            check_partitions(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        partition_sql("record_id", 0)


def test_split_puts_every_record_in_exactly_one_partition(tmp_path: Path) -> None:
    """The parts of a split hold every staged row once, null keys included, with all columns."""
    ctx = RunContext(
        inbox=tmp_path / "inbox", output=tmp_path / "out", run_date=RUN_DATE, policy="sample"
    )
    staged = pl.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(500)] + [None],
            "source_line": list(range(501)),
            "event_date": [date(2026, 1, 1)] * 501,
        }
    )
    ctx.staged("health").parent.mkdir(parents=True)
    staged.write_parquet(ctx.staged("health"))
    assert split_records(ctx, "health", 4) == 501
    parts = {
        int(d.name.split("=")[1]): pl.read_parquet(d / "*.parquet", hive_partitioning=False)
        for d in (ctx.work / "partitioned" / "link-in" / "health").glob(f"{PART_COLUMN}=*")
    }
    assert len(parts) == 4 and min(p.height for p in parts.values()) > 0
    together = pl.concat(parts.values()).sort("source_line")
    assert together.equals(staged)


def test_every_linker_aggregate_of_a_department_is_per_record() -> None:
    """Each GROUP BY / PARTITION BY of the record steps starts with record_id (partition-safe)."""
    from transforms.linker import MatchingConfig, link_steps

    clause = re.compile(r"(?:GROUP|PARTITION) BY\s+([\w.]+)")
    for department in ("health", "disability"):
        steps = link_steps(
            department, MatchingConfig(), "record_id", "", True, roster_prefix="lk_roster_"
        )
        keys = [(s.name, k) for s in steps for k in clause.findall(s.sql)]
        assert keys
        wrong = [(name, k) for name, k in keys if k.split(".")[-1] != "record_id"]
        assert not wrong, f"a cross-record aggregate breaks record partitioning: {wrong}"


def _table(root: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(root / "latest" / name / "**" / "*.parquet", hive_partitioning=True)


def test_partitioned_run_on_two_dask_workers_publishes_what_the_single_run_does(
    prefect_harness: None, tmp_path: Path
) -> None:
    """Links, review, warnings, matching and worklists of both paths are equal, row for row."""
    from distributed import Client, LocalCluster, get_task_stream

    from flows.nightly import nightly
    from flows.partitioned import LOCAL_CLUSTER, nightly_partitioned

    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE, inbox)
    single = nightly(inbox=inbox, output=tmp_path / "single", run_date=RUN_DATE, policy="sample")
    with LocalCluster(**LOCAL_CLUSTER) as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        assert len(client.scheduler_info()["workers"]) >= 2
        with get_task_stream(client) as stream:
            fanned = nightly_partitioned(
                inbox=inbox,
                output=tmp_path / "parts",
                run_date=RUN_DATE,
                policy="sample",
                partitions=3,
                cluster_address=cluster.scheduler_address,
            )
    assert single["status"] == fanned["status"] == "succeeded", fanned["message"]
    assert len({t["worker"] for t in stream.data}) >= 2, "the partitions ran on one worker only"
    assert single["warnings"] == fanned["warnings"] and single["matching"] == fanned["matching"]
    for table in COMPARED:
        a, b = _table(tmp_path / "single", table), _table(tmp_path / "parts", table)
        assert a.height > 0, table
        assert a.equals(b), table
    work = tmp_path / "parts" / "work" / RUN_DATE.isoformat()
    assert not (work / "partitioned").exists() and not (work / "tmp").exists()
