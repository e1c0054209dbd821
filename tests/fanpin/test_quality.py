"""Tests for fanpin.quality: GX suites from expectations/*.json over staged frames."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fanpin.quality import build_data_docs, load_suite, suite_departments, validate_department

SUITES = Path(__file__).resolve().parents[2] / "expectations"
RUN_DATE = date(2026, 11, 30)


def _staged(n: int) -> dict[str, list[Any]]:
    """Stage-contract columns every department frame carries."""
    return {
        "id_number": ["110105194912310021"] * n,
        "id_norm": [f"11010519491231{i:04d}" for i in range(n)],
        "id_valid": [True] * n,
        "id_problem": [None] * n,
        "name": ["张三"] * n,
        "name_norm": ["张三"] * n,
        "source_file": ["a.csv"] * n,
        "source_line": list(range(2, n + 2)),
    }


def medical_frame(n: int = 6) -> pl.DataFrame:
    """A clean staged medical frame."""
    return pl.DataFrame(
        {
            **_staged(n),
            "record_id": [f"M{i}" for i in range(n)],
            "settled_on": [date(2026, 1, 1 + i) for i in range(n)],
            "visit_type": ["住院", "门诊", "门诊慢特病"] * (n // 3) + ["门诊"] * (n % 3),
            "total_cost": [100.0] * n,
            "fund_paid": [60.0] * n,
            "out_of_pocket": [40.0] * n,
            "institution": [None] * n,
        },
        schema_overrides={"id_problem": pl.Utf8, "institution": pl.Utf8},
    )


def roster_frame(n: int = 20) -> pl.DataFrame:
    """A clean staged roster frame."""
    return pl.DataFrame(
        {
            **_staged(n),
            "household_id": [f"H{i // 2}" for i in range(n)],
            "relation": ["户主", "配偶"] * (n // 2),
            "county_code": ["500222"] * n,
            "town": ["古南街道"] * n,
            "village": ["桥河村"] * n,
            "category": ["低保"] * n,
            "area_type": ["农村"] * n,
            "household_size": pl.Series([2] * n, dtype=pl.Int64),
            "monthly_income_per_capita": [500.0] * n,
            "enrolled_on": [date(2020, 5, 1)] * n,
        },
        schema_overrides={"id_problem": pl.Utf8},
    )


def expectation(result: dict[str, Any], type_: str, column: str) -> dict[str, Any]:
    """The single result entry of one expectation type on one column."""
    found = [e for e in result["expectations"] if e["type"] == type_ and e["column"] == column]
    assert len(found) == 1
    return found[0]


def test_every_suite_file_loads_with_explicit_severities() -> None:
    """Each department has a suite whose expectations all state critical or warning."""
    assert suite_departments(SUITES) == ["disability", "health", "housing", "medical", "roster"]
    for department in suite_departments(SUITES):
        suite = load_suite(SUITES, department)
        assert suite["expectations"]
        assert {e["severity"] for e in suite["expectations"]} <= {"critical", "warning"}


def test_suite_without_severity_is_rejected(tmp_path: Path) -> None:
    """A suite expectation with no severity fails at load, before any data is touched."""
    bad = {"name": "x", "expectations": [{"type": "expect_column_to_exist", "kwargs": {}}]}
    (tmp_path / "x.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ValueError, match="severity"):
        load_suite(tmp_path, "x")


def test_clean_medical_frame_passes() -> None:
    """A clean frame passes every expectation and is not held back; the result is plain JSON."""
    result = validate_department(medical_frame(), "medical", SUITES, RUN_DATE)
    assert result["success"] is True
    assert result["held_back"] is False and result["held_back_reasons"] == []
    stats = result["statistics"]
    assert stats["evaluated"] == stats["successful"] == len(result["expectations"])
    assert json.loads(json.dumps(result)) == result


def test_clean_roster_frame_passes() -> None:
    """A clean roster passes its suite (enums, county code, household size, validity rate)."""
    result = validate_department(roster_frame(), "roster", SUITES, RUN_DATE)
    assert [e for e in result["expectations"] if not e["success"]] == []


def test_missing_required_column_holds_back_with_reason() -> None:
    """A missing required column holds the department back and the reason names the column."""
    result = validate_department(medical_frame().drop("visit_type"), "medical", SUITES, RUN_DATE)
    assert result["held_back"] is True
    assert any(
        "visit_type" in reason and "expect_column_to_exist" in reason
        for reason in result["held_back_reasons"]
    )
    in_set = expectation(result, "expect_column_values_to_be_in_set", "visit_type")
    assert in_set["success"] is False and in_set["observed"] == {"missing_columns": ["visit_type"]}


def test_values_frame_with_the_file_schema_gives_the_whole_frame_result() -> None:
    """Only the checked columns and the file's schema (what the stage reads) give the same
    result as the whole frame: a column named only as "must exist" need not be read."""
    from transforms.quality_prep import suite_columns

    whole = medical_frame()
    checked = suite_columns(load_suite(SUITES, "medical")["expectations"])
    narrow = whole.select([c for c in whole.columns if c in checked])
    assert "name" not in narrow.columns
    result = validate_department(narrow, "medical", SUITES, RUN_DATE, columns=whole.schema)
    assert result == validate_department(whole, "medical", SUITES, RUN_DATE)


def test_file_schema_without_a_column_fails_its_existence() -> None:
    """The file's schema decides the existence checks: a column it lacks fails there."""
    whole = medical_frame()
    schema = whole.drop("name").schema
    result = validate_department(whole, "medical", SUITES, RUN_DATE, columns=schema)
    exists = expectation(result, "expect_column_to_exist", "name")
    assert exists["success"] is False and result["held_back"] is True


def test_bad_enum_value_fails_with_count() -> None:
    """An enum value outside the suite's set fails the critical check with its row count."""
    frame = medical_frame().with_columns(
        pl.when(pl.col("source_line") == 3)
        .then(pl.lit("急诊"))
        .otherwise("visit_type")
        .alias("visit_type")
    )
    result = validate_department(frame, "medical", SUITES, RUN_DATE)
    entry = expectation(result, "expect_column_values_to_be_in_set", "visit_type")
    assert entry["success"] is False and entry["severity"] == "critical"
    assert entry["observed"]["unexpected_count"] == 1
    assert result["held_back"] is True


def test_out_of_pocket_above_total_cost_is_counted_as_warning() -> None:
    """Rows paying more out of pocket than the total bill are counted; a warning, not a hold."""
    frame = medical_frame().with_columns(
        pl.when(pl.col("source_line") <= 3)
        .then(150.0)
        .otherwise(pl.col("out_of_pocket"))
        .alias("out_of_pocket")
    )
    result = validate_department(frame, "medical", SUITES, RUN_DATE)
    entry = expectation(
        result, "expect_column_pair_values_a_to_be_greater_than_b", "total_cost,out_of_pocket"
    )
    assert entry["success"] is False and entry["observed"]["unexpected_count"] == 2
    assert result["held_back"] is False and result["success"] is False


def test_dates_after_run_date_are_counted() -> None:
    """The run date (a suite parameter) is the upper bound of date ranges."""
    frame = medical_frame().with_columns(
        pl.when(pl.col("source_line") == 2)
        .then(date(2026, 12, 1))
        .otherwise("settled_on")
        .alias("settled_on")
    )
    result = validate_department(frame, "medical", SUITES, RUN_DATE)
    entry = expectation(result, "expect_column_values_to_be_between", "settled_on")
    assert entry["observed"]["unexpected_count"] == 1
    assert entry["kwargs"]["max_value"].startswith("2026-11-30")


def test_roster_validity_below_threshold_holds_back() -> None:
    """Roster below 95% valid identity numbers is held back; at 95% it is not."""

    def with_invalid(count: int) -> pl.DataFrame:
        return roster_frame(20).with_columns((pl.col("source_line") > 1 + count).alias("id_valid"))

    held = validate_department(with_invalid(2), "roster", SUITES, RUN_DATE)
    assert held["held_back"] is True
    assert held["held_back_reasons"] == [
        "critical expectation expect_column_values_to_be_in_set failed on column id_valid"
    ]
    assert validate_department(with_invalid(1), "roster", SUITES, RUN_DATE)["held_back"] is False


def test_department_validity_counts_only_given_numbers() -> None:
    """Blank department ids do not count against the validity rate; broken given ones do."""
    blanks = medical_frame().with_columns(
        pl.lit(False).alias("id_valid"), pl.lit("missing").alias("id_problem")
    )
    result = validate_department(blanks, "medical", SUITES, RUN_DATE)
    assert result["held_back"] is False
    broken = blanks.with_columns(pl.lit("checksum").alias("id_problem"))
    assert validate_department(broken, "medical", SUITES, RUN_DATE)["held_back"] is True


def test_chunked_validation_counts_equal_whole_frame() -> None:
    """Chunked validation adds up to the same counts, duplicates across chunks included."""
    frame = medical_frame(30).with_columns(
        pl.when(pl.col("source_line") % 7 == 0)
        .then(pl.lit("M1"))
        .otherwise("record_id")
        .alias("record_id"),
        pl.when(pl.col("source_line") % 5 == 0)
        .then(pl.lit(None))
        .otherwise("visit_type")
        .alias("visit_type"),
    )
    whole = validate_department(frame, "medical", SUITES, RUN_DATE)
    chunked = validate_department(frame, "medical", SUITES, RUN_DATE, chunk_rows=7)

    def counts(result: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [
            (
                e["type"],
                e["column"],
                e["success"],
                e["observed"].get("unexpected_count"),
                e["observed"].get("missing_count"),
            )
            for e in result["expectations"]
        ]

    assert counts(chunked) == counts(whole)
    unique = expectation(chunked, "expect_column_values_to_be_unique", "record_id")
    assert unique["observed"]["unexpected_count"] == 5


def test_no_data_values_in_results_or_data_docs(tmp_path: Path) -> None:
    """Bad identity numbers, names and values appear neither in the result JSON nor the HTML."""
    secrets = ["11010519491231002X", "500222199913", "欧阳秘密", "秘密类型", "SECRET-R7"]
    frame = medical_frame().with_columns(
        pl.lit(secrets[0]).alias("id_number"),
        pl.lit(secrets[1]).alias("id_norm"),
        pl.lit(False).alias("id_valid"),
        pl.lit("checksum").alias("id_problem"),
        pl.lit(secrets[2]).alias("name"),
        pl.lit(secrets[2]).alias("name_norm"),
        pl.lit(secrets[3]).alias("visit_type"),
        pl.lit(secrets[4]).alias("record_id"),
        pl.lit(-5.0).alias("fund_paid"),
    )
    roster = roster_frame().with_columns(
        pl.lit(secrets[1]).alias("id_norm"),
        pl.lit(secrets[3]).alias("relation"),
        pl.lit(secrets[1]).alias("county_code"),
    )
    results = [
        validate_department(frame, "medical", SUITES, RUN_DATE),
        validate_department(roster, "roster", SUITES, RUN_DATE),
    ]
    assert all(r["held_back"] for r in results)
    index = build_data_docs(results, tmp_path / "docs")
    assert index.is_file()
    pages = [p for p in (tmp_path / "docs").rglob("*.html")]
    assert len(pages) == 3  # index + one validation page per department
    texts = [json.dumps(results, ensure_ascii=False)] + [p.read_text("utf-8") for p in pages]
    for text in texts:
        for secret in secrets:
            assert secret not in text
    medical_page = next(p for p in pages if p.name == "fanpin-medical.html")
    assert "visit_type" in medical_page.read_text("utf-8")


def test_data_docs_from_a_folder_of_result_files(tmp_path: Path) -> None:
    """Data Docs build from the run's folder of <department>.json results, one page each."""
    results = tmp_path / "quality"
    results.mkdir()
    result = validate_department(medical_frame(), "medical", SUITES, RUN_DATE)
    (results / "medical.json").write_text(json.dumps(result, ensure_ascii=False), "utf-8")
    index = build_data_docs(results, tmp_path / "docs")
    assert index == tmp_path / "docs" / "index.html"
    assert "validations/medical/2026-11-30" in index.read_text("utf-8")
