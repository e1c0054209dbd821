"""The run manifest: what came in, what was checked, matched and warned, and how the run ended.

Built only from counts, file facts and messages, so it can go to `published/`
and into Prefect artifacts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl

from fanpin.context import RunContext

INPUT_FIELDS = (
    "department",
    "file",
    "bytes",
    "sha256",
    "encoding",
    "header_row",
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "error",
)


def input_rows(ingest: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per delivered file, with the contract's fields."""
    rows = []
    for department, result in sorted(ingest.items()):
        for item in result.get("files", []):
            row = {f: item.get(f) for f in INPUT_FIELDS}
            row["department"] = department
            rows.append(row)
    return rows


def department_rows(state: Any) -> list[dict[str, Any]]:
    """Per department: delivered tonight, held back and why, rows loaded and quarantined."""
    rows = []
    for department, schema in state.schemas.items():
        ingest = state.ingest.get(department, {})
        validation = state.validation.get(department, {})
        reasons = list(ingest.get("errors", [])) + list(validation.get("held_back_reasons", []))
        if ingest.get("status") == "no_delivery":
            reasons.append("no delivery tonight")
        files = ingest.get("files", [])
        rows.append(
            {
                "department": department,
                "label": schema.label,
                "delivered": ingest.get("status", "no_delivery") != "no_delivery",
                "held_back": ingest.get("status") == "failed" or bool(validation.get("held_back")),
                "reused": bool(ingest.get("reused")),
                "reasons": [str(r) for r in reasons],
                "rows_loaded": sum(int(f.get("rows_loaded") or 0) for f in files),
                "rows_quarantined": sum(int(f.get("rows_quarantined") or 0) for f in files),
            }
        )
    return rows


def run_status(departments: list[dict[str, Any]], failed: bool) -> str:
    """`failed`: nothing could be published; `partial`: a delivered extract was held back."""
    if failed:
        return "failed"
    return "partial" if any(d["held_back"] for d in departments) else "succeeded"


def build_manifest(
    ctx: RunContext,
    state: Any,
    *,
    warnings: dict[str, int],
    failed: bool,
    code_version: str,
    version: str | None = None,
    report_path: str | None = None,
    data_docs_path: str | None = None,
) -> dict[str, Any]:
    """Assemble the manifest dict (see the report and `published/runs`)."""
    departments = department_rows(state)
    return {
        "run_id": ctx.run_id,
        "version": version,
        "run_date": ctx.run_date.isoformat(),
        "status": run_status(departments, failed),
        "started_at": ctx.started_at,
        "finished_at": datetime.now(UTC).isoformat(),
        "code_version": code_version,
        "policy_profile": ctx.policy,
        "parameters": {
            "inbox": str(ctx.inbox),
            "output": str(ctx.output),
            "departments": state.requested,
            "dev_key": state.key_source == "development",
            "key_source": state.key_source,
        },
        "inputs": input_rows(state.ingest),
        "departments": departments,
        "validation": [state.validation[d] for d in sorted(state.validation)],
        "matching": state.matching,
        "warnings": warnings,
        "report_path": report_path,
        "data_docs_path": data_docs_path,
    }


def manifest_frame(manifest: dict[str, Any]) -> pl.DataFrame:
    """The one-row `published/runs` table: scalars as columns, nested parts as typed lists
    where their shape is fixed and as JSON text where it is not (expectation results)."""
    return pl.DataFrame(
        [
            {
                "run_id": manifest["run_id"],
                "version": manifest["version"],
                "status": manifest["status"],
                "started_at": manifest["started_at"],
                "finished_at": manifest["finished_at"],
                "code_version": manifest["code_version"],
                "policy_profile": manifest["policy_profile"],
                "parameters": manifest["parameters"],
                "inputs": manifest["inputs"],
                "departments": manifest["departments"],
                "matching": manifest["matching"],
                "warnings": manifest["warnings"],
                "validation_json": json.dumps(
                    manifest["validation"], ensure_ascii=False, default=str
                ),
                "report_path": manifest["report_path"],
            }
        ],
        strict=False,
    )


def quality_frame(validation: dict[str, dict[str, Any]]) -> pl.DataFrame:
    """`published/quality`: one row per department and expectation, counts only."""
    rows = []
    for department, result in sorted(validation.items()):
        for exp in result.get("expectations", []):
            observed = exp.get("observed") or {}
            rows.append(
                {
                    "department": department,
                    "expectation": str(exp.get("type")),
                    "column": exp.get("column"),
                    "severity": exp.get("severity"),
                    "success": bool(exp.get("success")),
                    "unexpected_count": observed.get("unexpected_count"),
                    "unexpected_percent": observed.get("unexpected_percent"),
                    "observed_value": None
                    if observed.get("observed_value") is None
                    else str(observed.get("observed_value")),
                }
            )
    schema = {
        "department": pl.Utf8,
        "expectation": pl.Utf8,
        "column": pl.Utf8,
        "severity": pl.Utf8,
        "success": pl.Boolean,
        "unexpected_count": pl.Int64,
        "unexpected_percent": pl.Float64,
        "observed_value": pl.Utf8,
    }
    return pl.DataFrame(rows, schema=schema, strict=False)
