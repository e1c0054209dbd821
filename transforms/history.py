"""Warning history: which households are new, which continue, which cleared.

"New" means not warned in the previous published run (the latest run date
before this one), so a rerun of the same date compares with the day before,
not with itself.
"""

from __future__ import annotations

from datetime import date

import polars as pl


def apply_history(
    current: pl.DataFrame, previous: pl.DataFrame | None, run_date: date
) -> tuple[pl.DataFrame, int]:
    """Add `status` and `first_seen` to today's warnings; return them and the resolved count.

    `previous` holds the previous published run's warnings (`household_id`,
    `first_seen`), or None on the first run.
    """
    if previous is None or previous.is_empty():
        out = current.with_columns(status=pl.lit("new"), first_seen=pl.lit(run_date, dtype=pl.Date))
        return out, 0
    before = previous.select("household_id", pl.col("first_seen").alias("_prev_first_seen"))
    out = (
        current.join(before, on="household_id", how="left", maintain_order="left")
        .with_columns(
            status=pl.when(pl.col("_prev_first_seen").is_null())
            .then(pl.lit("new"))
            .otherwise(pl.lit("continuing")),
            first_seen=pl.coalesce("_prev_first_seen", pl.lit(run_date, dtype=pl.Date)),
        )
        .drop("_prev_first_seen")
    )
    resolved = before.join(current.select("household_id"), on="household_id", how="anti").height
    return out, resolved
