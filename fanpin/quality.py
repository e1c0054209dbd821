"""Data-quality validation of staged department extracts with Great Expectations 1.x.

One suite per department lives in `expectations/<department>.json` (GX 1.x suite JSON), so
adding a department is adding a file. Each expectation states its `severity` (GX's own field:
`critical` or `warning`); a failed critical expectation holds the department back.

The result is a plain JSON-serialisable dict for the run manifest. It carries counts and rates
only: GX is asked for SUMMARY results with no sample values, and only whitelisted numeric result
fields are copied out, so no identity number or name can reach the manifest. Data Docs are
rendered from these same dicts, so the HTML carries no data values either.

Scale: only the columns the suite names are converted to pandas, and frames above `chunk_rows`
are validated in hash-partitioned chunks whose counts are added up (see
`transforms.quality_prep.iter_chunks`). Schema expectations (column existence) run once on an
empty frame with every column.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import polars as pl

from transforms.quality_prep import (
    SCHEMA_TYPES,
    available_columns,
    chunk_count,
    expectation_columns,
    iter_chunks,
    select_for_validation,
)

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx  # noqa: E402  (analytics must be off before import)
from great_expectations.core import (  # noqa: E402
    ExpectationSuite,
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.data_context.types.resource_identifiers import (  # noqa: E402
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.execution_engine import pandas_execution_engine  # noqa: E402
from great_expectations.expectations.expectation_configuration import (  # noqa: E402
    ExpectationConfiguration,
)

logging.getLogger("great_expectations").setLevel(logging.WARNING)
# GX fingerprints every in-memory batch below 1 GB by hashing each cell (about a quarter of
# validation time on 1M-row chunks, measured by the province benchmark). The fingerprint only
# labels batch markers we never read, so switch it off.
pandas_execution_engine.HASH_THRESHOLD = 0

# Measured on 5M medical rows: 1M-row chunks take no longer than 2M or one piece, and keep
# the extra memory at a few hundred MiB instead of 1.3-1.8 GiB (bench/quality.py).
DEFAULT_CHUNK_ROWS = 1_000_000
SEVERITIES = ("critical", "warning")
# Expectations about the table's shape: validated once on a zero-row frame with every column.
# Counts safe to publish; anything else GX returns (sample values, index lists, rows) is dropped.
OBSERVED_KEYS = (
    "element_count",
    "missing_count",
    "unexpected_count",
    "unexpected_percent",
    "unexpected_percent_total",
    "missing_percent",
    "observed_value",
)
_ADDITIVE_KEYS = ("element_count", "missing_count", "unexpected_count")
# Ask GX for counts only: no sample values, no index lists, no unexpected rows.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 0,
    "exclude_unexpected_values": True,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}
_DOCS_SITE = "fanpin"
_DATASOURCE = "fanpin"


# ---------------------------------------------------------------- suites (data files)


def load_suite(suites_dir: Path, department: str) -> dict[str, Any]:
    """Read and check `<suites_dir>/<department>.json`; a bad suite fails loudly, before data."""
    path = suites_dir / f"{department}.json"
    suite: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if suite.get("name") != department:
        raise ValueError(f"suite {path.name}: name must be {department!r}")
    for index, expectation in enumerate(suite.get("expectations", [])):
        if expectation.get("severity") not in SEVERITIES:
            raise ValueError(
                f"suite {path.name}: expectation {index} needs severity in {SEVERITIES}"
            )
        if not isinstance(expectation.get("kwargs"), dict) or "type" not in expectation:
            raise ValueError(f"suite {path.name}: expectation {index} needs type and kwargs")
    return suite


def suite_departments(suites_dir: Path) -> list[str]:
    """Departments that have a suite file, i.e. that are validated."""
    return sorted(path.stem for path in suites_dir.glob("*.json"))


# ---------------------------------------------------------------- GX plumbing


def _context() -> Any:
    """A fresh in-memory GX context with progress bars off (they flood the nightly log)."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


# GX's suite-parameter parser (pyparsing) is not thread-safe, and the flow validates the
# departments in parallel threads: one validation at a time inside GX.
_GX_LOCK = threading.Lock()


def _gx_validate(
    context: Any,
    frame: Any,
    name: str,
    expectations: Sequence[Mapping[str, Any]],
    parameters: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Validate one pandas frame; one result per expectation, in suite order (serialised)."""
    with _GX_LOCK:
        return _gx_validate_unlocked(context, frame, name, expectations, parameters)


def _gx_validate_unlocked(
    context: Any,
    frame: Any,
    name: str,
    expectations: Sequence[Mapping[str, Any]],
    parameters: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """GX returns results in its own order, so they are matched back by the ids GX assigns."""
    suite = context.suites.add(
        ExpectationSuite(name=name, expectations=[dict(e) for e in expectations])
    )
    order = {exp.id: index for index, exp in enumerate(suite.expectations)}
    source = context.data_sources.add_pandas(name)
    batch_definition = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
    # A validation definition loads the batch once; Batch.validate loads (and fingerprints by
    # hashing every cell) a second time, which was two thirds of the time on large frames.
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
    )
    run = definition.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=dict(parameters),
        result_format=RESULT_FORMAT,
    )
    results: list[dict[str, Any]] = [{} for _ in order]
    for result in run.results:
        results[order[result.expectation_config.id]] = _summarise(result)
    context.validation_definitions.delete(name)
    context.suites.delete(name)
    context.data_sources.delete(name)
    return results


def _summarise(result: ExpectationValidationResult) -> dict[str, Any]:
    """Whitelisted counts of one GX result, plus the kwargs as GX resolved them."""
    raw = result.result or {}
    observed = {key: raw[key] for key in OBSERVED_KEYS if _is_number(raw.get(key))}
    if result.exception_info and result.exception_info.get("raised_exception", True) is not False:
        observed["error"] = "validation raised an exception"
    config = result.expectation_config
    kwargs = {k: v for k, v in (config.kwargs if config else {}).items() if k != "batch_id"}
    return {"success": bool(result.success), "observed": observed, "kwargs": kwargs}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value))


# ---------------------------------------------------------------- combining chunk counts


def _combine(parts: Sequence[Mapping[str, Any]], mostly: float) -> dict[str, Any]:
    """Add up the counts of one map expectation over chunks and decide success as GX does.

    GX's rule: rows considered are the non-null ones (all rows for not-null checks); success
    when none are considered, else when the unexpected share leaves at least `mostly`.
    """
    if len(parts) == 1:
        return dict(parts[0])
    observed_parts = [part["observed"] for part in parts]
    if any("error" in obs or "unexpected_count" not in obs for obs in observed_parts):
        errored = {"error": "not combinable over chunks or raised an exception"}
        return {"success": False, "observed": errored, "kwargs": parts[0]["kwargs"]}
    totals = {key: sum(int(obs.get(key, 0)) for obs in observed_parts) for key in _ADDITIVE_KEYS}
    has_missing = all("missing_count" in obs for obs in observed_parts)
    considered = totals["element_count"] - (totals["missing_count"] if has_missing else 0)
    unexpected = totals["unexpected_count"]
    success = considered == 0 or (considered - unexpected) / considered >= mostly
    observed: dict[str, Any] = {
        "element_count": totals["element_count"],
        "unexpected_count": unexpected,
        "unexpected_percent": 100.0 * unexpected / considered if considered else 0.0,
    }
    if has_missing and totals["element_count"]:
        observed["missing_count"] = totals["missing_count"]
        observed["missing_percent"] = 100.0 * totals["missing_count"] / totals["element_count"]
        observed["unexpected_percent_total"] = 100.0 * unexpected / totals["element_count"]
    return {"success": success, "observed": observed, "kwargs": parts[0]["kwargs"]}


# ---------------------------------------------------------------- validation


def _missing_column_result(expectation: Mapping[str, Any], missing: list[str]) -> dict[str, Any]:
    """A failed result for an expectation whose column is absent, without bothering GX."""
    kwargs = dict(expectation["kwargs"])
    return {"success": False, "observed": {"missing_columns": missing}, "kwargs": kwargs}


def _validate_rows(
    df: pl.DataFrame,
    department: str,
    expectations: Sequence[Mapping[str, Any]],
    parameters: Mapping[str, Any],
    chunk_rows: int,
) -> list[dict[str, Any]]:
    """Row-level expectations over the named columns only, chunked above `chunk_rows`."""
    offered = available_columns(df.columns)
    runnable = [e for e in expectations if set(expectation_columns(e["kwargs"])) <= offered]
    columns = [c for e in runnable for c in expectation_columns(e["kwargs"])]
    parts: list[list[dict[str, Any]]] = [[] for _ in runnable]
    if runnable:
        narrow = select_for_validation(df, columns)
        key = next(
            (
                e["kwargs"]["column"]
                for e in runnable
                if e["type"] == "expect_column_values_to_be_unique"
            ),
            None,
        )
        context = _context()
        chunks = chunk_count(narrow.height, chunk_rows)
        for number, chunk in enumerate(iter_chunks(narrow, chunks, key)):
            name = f"{department}-rows-{number}"
            chunk_results = _gx_validate(context, chunk.to_pandas(), name, runnable, parameters)
            for index, result in enumerate(chunk_results):
                parts[index].append(result)
    combined = iter(
        _combine(part, float(e["kwargs"].get("mostly", 1.0)))
        for part, e in zip(parts, runnable, strict=True)
    )
    results = []
    for expectation in expectations:
        missing = [c for c in expectation_columns(expectation["kwargs"]) if c not in offered]
        results.append(_missing_column_result(expectation, missing) if missing else next(combined))
    return results


def _validate_schema(
    schema: pl.Schema,
    department: str,
    expectations: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Schema expectations on a zero-row frame with every column: no data is converted."""
    if not expectations:
        return []
    empty = pl.DataFrame(schema=schema).to_pandas()
    return _gx_validate(_context(), empty, f"{department}-schema", expectations, {})


def _entry(expectation: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """One manifest line: what was expected, how severe, whether it held, the counts."""
    columns = expectation_columns(expectation["kwargs"])
    return {
        "type": expectation["type"],
        "column": ",".join(columns) if columns else None,
        "kwargs": _jsonable(result["kwargs"]),
        "severity": expectation["severity"],
        "success": bool(result["success"]),
        "observed": _jsonable(result["observed"]),
    }


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so dates and numpy scalars become plain values."""
    return json.loads(json.dumps(value, default=str))


def _hold_back_reasons(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """One reason per failed critical expectation: type and column, never a value."""
    return [
        f"critical expectation {e['type']} failed on column {e['column']}"
        for e in entries
        if e["severity"] == "critical" and not e["success"]
    ]


def validate_department(
    df: pl.DataFrame,
    department: str,
    suites_dir: Path,
    run_date: date,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    columns: pl.Schema | None = None,
) -> dict[str, Any]:
    """Validate one staged department frame against its suite; counts-only result for the manifest.

    `run_date` fills the suite parameter `run_date` (upper bound of date ranges: nothing can
    have happened after the run). A department failing any critical expectation is held back.
    `columns`: the schema of the whole staged file, for the schema expectations, when `df`
    holds only the columns whose values are checked (`quality_prep.suite_columns`).
    """
    suite = load_suite(suites_dir, department)
    expectations = suite["expectations"]
    schema = [e for e in expectations if e["type"] in SCHEMA_TYPES]
    rows = [e for e in expectations if e["type"] not in SCHEMA_TYPES]
    # A datetime string, not a date: GX parses string bounds against datetime64 columns, while
    # a bare date bound meets a datetime bound from the suite and cannot be compared with it.
    parameters = {"run_date": datetime.combine(run_date, time()).isoformat()}
    schema_results = iter(_validate_schema(columns or df.schema, department, schema))
    row_results = iter(_validate_rows(df, department, rows, parameters, chunk_rows))
    entries = [
        _entry(e, next(schema_results if e["type"] in SCHEMA_TYPES else row_results))
        for e in expectations
    ]
    reasons = _hold_back_reasons(entries)
    successful = sum(e["success"] for e in entries)
    return {
        "department": department,
        "run_date": run_date.isoformat(),
        "rows": df.height,
        "success": successful == len(entries),
        "held_back": bool(reasons),
        "held_back_reasons": reasons,
        "statistics": {
            "evaluated": len(entries),
            "successful": successful,
            "unsuccessful": len(entries) - successful,
        },
        "expectations": entries,
    }


# ---------------------------------------------------------------- Data Docs


def _gx_result(result: Mapping[str, Any]) -> tuple[ValidationResultIdentifier, Any]:
    """Rebuild a GX suite validation result from a manifest dict (counts only), with its key."""
    department = str(result["department"])
    run_day = date.fromisoformat(str(result["run_date"]))
    run_id = RunIdentifier(
        run_name=run_day.isoformat(),
        run_time=datetime.combine(run_day, time(), tzinfo=UTC),
    )
    batch_id = f"{_DATASOURCE}-{department}"
    results = [
        ExpectationValidationResult(
            success=entry["success"],
            expectation_config=ExpectationConfiguration(
                type=entry["type"],
                kwargs=entry["kwargs"],
                severity=entry["severity"],
                meta={"severity": entry["severity"]},
            ),
            result={k: v for k, v in entry["observed"].items() if k in OBSERVED_KEYS},
        )
        for entry in result["expectations"]
    ]
    stats = result["statistics"]
    evaluated = int(stats["evaluated"])
    suite_result = ExpectationSuiteValidationResult(
        success=bool(result["success"]),
        results=results,
        suite_name=department,
        statistics={
            "evaluated_expectations": evaluated,
            "successful_expectations": int(stats["successful"]),
            "unsuccessful_expectations": int(stats["unsuccessful"]),
            "success_percent": 100.0 * int(stats["successful"]) / evaluated if evaluated else None,
        },
        meta={
            "run_id": run_id,
            "active_batch_definition": {
                "datasource_name": _DATASOURCE,
                "data_connector_name": "fluent",
                "data_asset_name": department,
                "batch_identifiers": {},
            },
            "batch_spec": {},
            "held_back": bool(result["held_back"]),
        },
        batch_id=batch_id,
    )
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=department),
        run_id=run_id,
        batch_identifier=batch_id,
    )
    return key, suite_result


def _read_results(results: Path | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Result dicts, given directly or as a folder of `<department>.json` result files."""
    if isinstance(results, Path):
        return [
            json.loads(path.read_text(encoding="utf-8")) for path in sorted(results.glob("*.json"))
        ]
    return list(results)


def build_data_docs(results: Path | Iterable[Mapping[str, Any]], out_dir: Path) -> Path:
    """Render GX Data Docs for this run's validation results into `out_dir`; returns index.html.

    `results` are `validate_department` dicts, or a folder holding them as JSON files. The
    pages are built from these dicts, not from GX's raw results, so they show exactly what the
    manifest holds (counts, rates, expectation settings) and never a data value. An ephemeral
    context keeps nothing outside `out_dir`; its default site is dropped so GX does not write a
    second copy into a temporary folder.
    """
    loaded = _read_results(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    context = _context()
    for site in list(context.list_data_docs_sites()):
        _drop_site(context, site)
    context.add_data_docs_site(
        _DOCS_SITE,
        {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(out_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    for result in loaded:
        key, suite_result = _gx_result(result)
        context.validation_results_store.set(key, suite_result)
    context.build_data_docs(site_names=[_DOCS_SITE])
    return out_dir / "index.html"


def _drop_site(context: Any, site: str) -> None:
    """Remove a Data Docs site GX configured by default, and the temp folder it reserved."""
    base = context.list_data_docs_sites()[site].get("store_backend", {}).get("base_directory")
    context.delete_data_docs_site(site)
    if base and Path(base).is_dir() and not any(Path(base).iterdir()):
        shutil.rmtree(base, ignore_errors=True)
