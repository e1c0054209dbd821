"""What the township staff and the dashboards get from the scored warnings.

The published warnings carry only pseudonymous person keys; the worklists
add each member's full name and identity number, because the staff who visit
need to know whose door to knock on.
"""

from __future__ import annotations

import polars as pl

WARNING_COLUMNS = [
    "household_id",
    "county_code",
    "town",
    "village",
    "category",
    "risk_score",
    "risk_level",
    "reason_codes",
    "reasons",
    "suggested_actions",
    "status",
    "first_seen",
]
LEVEL_ORDER = {"red": 0, "orange": 1, "yellow": 2}


def order_warnings(warnings: pl.DataFrame) -> pl.DataFrame:
    """Most urgent first, then by place and household: one stable order for every reader."""
    return warnings.sort(
        pl.col("risk_level").replace_strict(LEVEL_ORDER, default=9),
        pl.col("risk_score"),
        "county_code",
        "town",
        "village",
        "household_id",
        descending=[False, True, False, False, False, False],
    )


def published_warnings(warnings: pl.DataFrame) -> pl.DataFrame:
    """The dashboard table of the contract: no names, no identity numbers, only person keys."""
    return order_warnings(warnings).select(WARNING_COLUMNS)


def worklist(warnings: pl.DataFrame, roster: pl.DataFrame) -> pl.DataFrame:
    """Warnings with every roster member of the household named (head first)."""
    members = (
        roster.sort("household_id", pl.col("relation") != "户主", "source_line")
        .group_by("household_id", maintain_order=True)
        .agg(
            members=pl.struct(
                "person_key",
                "name",
                pl.coalesce("id_norm", "id_clean").alias("id_number"),
                "relation",
            )
        )
    )
    return order_warnings(
        warnings.select(WARNING_COLUMNS).join(members, on="household_id", how="left")
    )


def split_by_town(frame: pl.DataFrame) -> dict[tuple[str, str], pl.DataFrame]:
    """One frame per (county_code, town), so each town's folder can be handed to that town alone."""
    parts = frame.partition_by(["county_code", "town"], as_dict=True, maintain_order=True)
    return {(str(k[0]), str(k[1])): v for k, v in sorted(parts.items(), key=lambda kv: str(kv[0]))}
