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


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    if frame.is_empty():
        return {}
    counts = frame.get_column(column).value_counts()
    return {str(k): int(v) for k, v in zip(counts[column], counts["count"], strict=True)}


def warning_counts(warnings: pl.DataFrame, resolved: int) -> dict[str, int]:
    """Warnings by level and by status, plus the households whose reasons all cleared."""
    by_level = _counts(warnings, "risk_level")
    by_status = _counts(warnings, "status")
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
