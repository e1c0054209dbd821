"""Benchmark: GX validation of a large staged medical frame (time and memory).

`run(rows=5_000_000)` builds a synthetic staged medical frame in polars (vectorised, with a
few per-mille faults so that failing expectations have counts to compute), then validates it
chunked (DEFAULT_CHUNK_ROWS per chunk) and, for comparison, in one piece, and builds Data Docs.
Memory is the peak resident set size above the level before each step, sampled every 50 ms.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import psutil

from fanpin.quality import DEFAULT_CHUNK_ROWS, build_data_docs, validate_department

SUITES = Path(__file__).resolve().parents[1] / "expectations"
RUN_DATE = date(2026, 11, 30)
T = TypeVar("T")


def medical_frame(rows: int, seed: int = 7) -> pl.DataFrame:
    """A staged medical frame shaped like the stage contract, with sparse faults."""
    i = pl.int_range(0, rows, eager=True).alias("i")
    frame = (
        pl.DataFrame(i)
        .with_columns(
            pl.format("YB{}", pl.col("i")).alias("record_id"),
            pl.format("张{}", pl.col("i") % 5000).alias("name"),
            pl.format("5002221980{}", (pl.col("i") % 100_000_000).cast(pl.Utf8).str.zfill(8)).alias(
                "id_number"
            ),
            (pl.lit(date(2020, 1, 1)) + pl.duration(days=pl.col("i") % 2000)).alias("settled_on"),
            pl.when(pl.col("i") % 1000 == 0)
            .then(pl.lit("急诊"))
            .otherwise(pl.col("i").mod(3).replace_strict([0, 1, 2], ["住院", "门诊", "门诊慢特病"]))
            .alias("visit_type"),
            ((pl.col("i").hash(seed) % 100_000).cast(pl.Float64) / 10.0).alias("total_cost"),
        )
        .with_columns(
            (pl.col("total_cost") * 0.6).alias("fund_paid"),
            pl.when(pl.col("i") % 2000 == 0)
            .then(pl.col("total_cost") + 1.0)
            .otherwise(pl.col("total_cost") * 0.4)
            .alias("out_of_pocket"),
            (pl.col("i") % 50 != 0).alias("id_valid"),
            pl.when(pl.col("i") % 50 == 0)
            .then(pl.lit("checksum"))
            .otherwise(None)
            .alias("id_problem"),
            pl.col("name").alias("name_norm"),
            pl.lit("medical_2026_11.csv").alias("source_file"),
            (pl.col("i") + 2).alias("source_line"),
            pl.lit(None, dtype=pl.Utf8).alias("institution"),
        )
    )
    # A few repeated record ids, so that uniqueness has something to count across chunks.
    return frame.with_columns(
        pl.when(pl.col("i") % 100_000 == 1)
        .then(pl.lit("YB0"))
        .otherwise("record_id")
        .alias("record_id")
    ).drop("i")


def _measured(step: Callable[[], T]) -> tuple[T, float, float]:
    """Run `step`; return its value, seconds, and peak RSS above the starting level in MiB."""
    process = psutil.Process()
    start_rss = process.memory_info().rss
    peak = [start_rss]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    value = step()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return value, round(seconds, 2), round((peak[0] - start_rss) / 2**20, 1)


def _counts(result: dict[str, Any]) -> dict[str, Any]:
    return {
        f"{e['type']}:{e['column']}": e["observed"].get("unexpected_count")
        for e in result["expectations"]
        if not e["success"]
    }


def run(
    rows: int = 5_000_000, chunk_rows: int = DEFAULT_CHUNK_ROWS, compare_unchunked: bool = True
) -> dict[str, Any]:
    """Validate a synthetic medical frame of `rows` rows; report seconds and peak MiB."""
    frame, build_s, build_mib = _measured(lambda: medical_frame(rows))
    report: dict[str, Any] = {
        "rows": rows,
        "frame_mib": round(frame.estimated_size() / 2**20, 1),
        "build_frame_s": build_s,
        "rss_before_mib": round(psutil.Process().memory_info().rss / 2**20, 1),
    }
    chunked, seconds, mib = _measured(
        lambda: validate_department(frame, "medical", SUITES, RUN_DATE, chunk_rows=chunk_rows)
    )
    report["chunked"] = {"chunk_rows": chunk_rows, "seconds": seconds, "peak_extra_mib": mib}
    if compare_unchunked:
        whole, seconds, mib = _measured(
            lambda: validate_department(frame, "medical", SUITES, RUN_DATE, chunk_rows=rows + 1)
        )
        report["unchunked"] = {"seconds": seconds, "peak_extra_mib": mib}
        report["same_counts"] = _counts(whole) == _counts(chunked)
    with tempfile.TemporaryDirectory() as folder:
        _, seconds, _ = _measured(lambda: build_data_docs([chunked], Path(folder)))
    report["data_docs_s"] = seconds
    report["held_back"] = chunked["held_back"]
    report["failed"] = _counts(chunked)
    return report


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    print(json.dumps(run(rows=size), ensure_ascii=False, indent=2))
