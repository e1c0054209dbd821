"""Counts for the manifest, the report and the dashboards' summary tables."""

from __future__ import annotations

import polars as pl


def match_summary(links: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Records per department, status and method, in a fixed order."""
    return (
        links.lazy()
        .group_by("department", "match_status", "match_method")
        .agg(records=pl.len())
        .sort("department", "match_status", "match_method")
        .collect()
    )


def warning_counts(warnings: pl.DataFrame, resolved: int) -> dict[str, int]:
    """Warnings by level and by status, plus the households whose reasons all cleared."""
    levels = warnings.get_column("risk_level").value_counts() if warnings.height else None
    by_level = dict(zip(levels["risk_level"], levels["count"], strict=True)) if levels is not None else {}
    statuses = warnings.get_column("status").value_counts() if warnings.height else None
    by_status = dict(zip(statuses["status"], statuses["count"], strict=True)) if statuses is not None else {}
    return {
        "total": warnings.height,
        "red": int(by_level.get("red", 0)),
        "orange": int(by_level.get("orange", 0)),
        "yellow": int(by_level.get("yellow", 0)),
        "new": int(by_status.get("new", 0)),
        "continuing": int(by_status.get("continuing", 0)),
        "resolved": resolved,
    }


def reason_counts(warnings: pl.DataFrame) -> pl.DataFrame:
    """Households per reason code."""
    return (
        warnings.select("household_id", "reason_codes")
        .explode("reason_codes")
        .group_by(code="reason_codes")
        .agg(households=pl.len())
        .sort("households", "code", descending=[True, False])
    )
