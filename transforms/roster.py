"""Roster-only derivations: the stable reference of each roster person."""

from __future__ import annotations

import polars as pl


def add_person_ref(roster: pl.DataFrame) -> pl.DataFrame:
    """Add `person_ref`: the normalized id when it is valid and unique in the roster,
    else `R:<household_id>:<name_norm>:<id_clean>` (what stays the same from one month's
    roster to the next), numbered only if even that repeats.

    Stable references keep `person_key` stable across runs, so dashboards can follow a
    person whose identity number is broken in the roster.
    """
    unique_id = pl.col("id_valid") & (pl.col("id_norm").count().over("id_norm") == 1)
    fallback = pl.concat_str(
        pl.lit("R:"),
        pl.col("household_id").fill_null(""),
        pl.lit(":"),
        pl.col("name_norm").fill_null(""),
        pl.lit(":"),
        pl.col("id_clean").fill_null(""),
    )
    ref = pl.when(unique_id).then(pl.col("id_norm")).otherwise(fallback)
    order = pl.int_range(pl.len()).over(ref, order_by=["source_file", "source_line"])
    return roster.with_columns(
        person_ref=pl.when(unique_id | (pl.len().over(ref) == 1))
        .then(ref)
        .otherwise(pl.concat_str(ref, pl.lit("#"), (order + 1).cast(pl.Utf8)))
    )
