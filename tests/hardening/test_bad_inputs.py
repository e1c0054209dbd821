"""Malformed department files (tests/data/bad/, made by make_bad_files.py) and what each must get.

Every case goes through `fanpin.ingest.ingest_department`, and the `ingest` fixture checks, for
every file, rows read = rows loaded + rows quarantined and that the staged and quarantine Parquet
files hold exactly those rows. docs/hardening.md is the same table in prose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fanpin.quality import validate_department
from fanpin.schema import load_schemas

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
Ingest = Callable[..., Any]  # the `ingest` fixture of conftest.py

RUN_DATE = dt.date(2026, 11, 30)
ANY = "<any column>"


@dataclass(frozen=True)
class Case:
    """One bad file and the outcome it must get."""

    department: str
    file: str
    status: str  # of the department, with this file alone in it
    counts: tuple[int, int, int]  # rows read, loaded, quarantined
    quarantined: tuple[tuple[int, str, str | None], ...] = ()  # (line, reason, column)
    message: str | None = None  # an error or note that must be reported (names the file)


CASES = [
    Case("medical", "truncated_mid_row.csv", "loaded", (4, 3, 1), ((5, "malformed_row", None),)),
    Case("medical", "truncated_mid_char.csv", "loaded", (4, 3, 1), ((5, "malformed_row", None),)),
    Case(
        "medical",
        "mixed_encodings.csv",
        "partial",
        (0, 0, 0),
        message="mixed_encodings.csv: unknown encoding",
    ),
    Case("medical", "semicolon_delimiter.csv", "loaded", (4, 4, 0)),
    Case("medical", "tab_delimiter.csv", "loaded", (4, 4, 0)),
    Case(
        "medical",
        "duplicated_header.csv",
        "loaded",
        (3, 3, 0),
        message="duplicate header: name at positions 2 and 9; the first is used",
    ),
    Case("medical", "header_only.csv", "loaded", (0, 0, 0), message="header only: no rows"),
    Case(
        "medical", "empty_0_bytes.csv", "loaded", (0, 0, 0), message="empty file (0 bytes): no rows"
    ),
    Case(
        "medical", "header_repeated_middle.csv", "loaded", (5, 4, 1), ((4, "not_a_record", None),)
    ),
    Case(
        "medical",
        "dates_future_and_before_1900.csv",
        "loaded",
        (4, 2, 2),
        ((3, "bad_date", "settled_on"), (4, "bad_date", "settled_on")),
    ),
    Case(
        "medical",
        "negative_and_absurd_amounts.csv",
        "loaded",
        (5, 3, 2),
        ((4, "bad_amount", "total_cost"), (5, "bad_amount", "total_cost")),
    ),
    Case("medical", "out_of_pocket_over_total.csv", "loaded", (4, 4, 0)),
    Case(
        "medical", "same_record_id_twice.csv", "loaded", (5, 4, 1), ((3, "duplicate_record", ANY),)
    ),
    Case("medical", "bad_identity_numbers.csv", "loaded", (5, 5, 0)),
    Case(
        "medical",
        "names_empty_and_40_chars.csv",
        "loaded",
        (4, 2, 2),
        ((2, "missing_value", "name"), (4, "missing_value", "name")),
    ),
    Case("medical", "control_chars.csv", "loaded", (3, 3, 0)),
    Case("medical", "zero_width_spaces.csv", "loaded", (3, 3, 0)),
    Case(
        "medical",
        "missing_required_column.csv",
        "failed",
        (0, 0, 0),
        message="missing_required_column.csv: required column 'out_of_pocket' not found"
        " (looked for: out_of_pocket, 个人负担, 个人自付)",
    ),
    Case("medical", "footer_totals.csv", "loaded", (4, 3, 1), ((5, "footer_row", None),)),
    Case("medical", "too_many_fields.csv", "loaded", (4, 3, 1), ((4, "malformed_row", None),)),
    Case("medical", "blank_lines_between.csv", "loaded", (2, 2, 0)),
    Case("medical", "bad_enum_value.csv", "loaded", (2, 1, 1), ((2, "bad_enum", "visit_type"),)),
    Case(
        "medical",
        "png_named_csv.csv",
        "partial",
        (0, 0, 0),
        message="png_named_csv.csv: unknown encoding",
    ),
    Case("medical", "excel_scientific_ids.csv", "loaded", (6, 6, 0)),
    Case("medical", "unbalanced_quote.csv", "loaded", (6, 5, 1), ((4, "malformed_row", None),)),
    Case(
        "medical",
        "multiline_quoted_fields.csv",
        "loaded",
        (7, 4, 3),
        ((5, "bad_enum", "visit_type"), (6, "malformed_row", None), (11, "bad_date", "settled_on")),
    ),
    Case("housing", "merged_cells.xlsx", "loaded", (4, 4, 0)),
    Case(
        "housing",
        "hidden_sheet_first.xlsx",
        "loaded",
        (3, 3, 0),
        message="sheet '旧表' is hidden and has a header row of housing too; not read",
    ),
    Case(
        "housing",
        "formulas_and_errors.xlsx",
        "loaded",
        (4, 3, 1),
        ((3, "missing_value", "appraised_on"),),
    ),
    Case(
        "housing",
        "damaged_truncated.xlsx",
        "partial",
        (0, 0, 0),
        message="damaged_truncated.xlsx: not a readable xlsx workbook",
    ),
    Case(
        "housing",
        "csv_named_xlsx.xlsx",
        "partial",
        (0, 0, 0),
        message="csv_named_xlsx.xlsx: not a readable xlsx workbook",
    ),
    Case(
        "roster",
        "bad_ids_and_hostile_towns.csv",
        "loaded",
        (8, 7, 1),
        ((4, "missing_value", "id_number"),),
    ),
]


def _match(
    actual: list[tuple[int, str, str | None]], expected: tuple[tuple[int, str, str | None], ...]
) -> bool:
    if len(actual) != len(expected):
        return False
    return all(
        a[:2] == e[:2] and (e[2] == ANY or a[2] == e[2])
        for a, e in zip(actual, expected, strict=True)
    )


def test_every_committed_bad_file_has_a_case() -> None:
    """Each file make_bad_files.py writes has a case (several_sheets.xlsx has its own test)."""
    on_disk = {f"{p.parent.name}/{p.name}" for p in BAD.glob("*/*") if p.is_file()}
    listed = {f"{c.department}/{c.file}" for c in CASES} | {"housing/several_sheets.xlsx"}
    assert on_disk == listed and len(listed) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_bad_file_gets_its_outcome(ingest: Ingest, case: Case) -> None:
    """Each bad file: the department status, read = loaded + quarantined, the exact reasons by
    line and column, and a message that names the file when the file is refused."""
    outcome = ingest(case.department, case.file)
    assert outcome.result.status == case.status, outcome.texts()
    if case.status == "failed":
        assert outcome.result.staged_path is None and not list(
            outcome.folder.parent.parent.glob("work/**/*.parquet*")
        )
    else:
        assert outcome.counts(case.file) == case.counts, outcome.texts()
        assert _match(outcome.reasons(case.file), case.quarantined), outcome.reasons(case.file)
    if case.status == "partial":
        assert outcome.file(case.file).error and outcome.file(case.file).error.startswith(case.file)
    if case.message:
        assert any(case.message in text for text in outcome.texts()), outcome.texts()


# ---------------------------------------------------------------- values, not just counts


@pytest.mark.parametrize("name", ["semicolon_delimiter.csv", "tab_delimiter.csv"])
def test_wrong_delimiters_are_detected_and_typed(ingest: Ingest, name: str) -> None:
    """Semicolon and tab files are accepted: the delimiter is detected and values typed."""
    # one file per folder: the two files hold the same records, so together the second
    # one's rows would rightly be duplicate_record
    outcome = ingest("medical", name)
    staged = outcome.staged.filter(pl.col("source_file") == name)
    assert staged["total_cost"].to_list() == [1000.0] * 4
    assert staged["id_valid"].all()


def test_bad_identity_numbers_stay_as_records_with_their_problem(ingest: Ingest) -> None:
    """Letters, 17 or 19 digits and Excel's 1.1E+17 stay in the record, flagged by problem."""
    staged = ingest("medical", "bad_identity_numbers.csv").staged.sort("source_line")
    assert staged["id_problem"].to_list() == ["chars", "length", "length", "length", None]
    assert staged["id_norm"].to_list()[:4] == [None] * 4


def test_roster_rows_with_broken_ids_stay_in_the_roster_flagged(ingest: Ingest) -> None:
    """A roster person with a broken id is still a person; a blank required id is quarantined."""
    staged = ingest("roster", "bad_ids_and_hostile_towns.csv").staged.sort("source_line")
    assert staged.filter(pl.col("source_line") <= 3)["id_problem"].to_list() == ["chars", "length"]
    assert staged.height == 7


def test_names_blank_are_quarantined_and_40_chars_are_kept(ingest: Ingest) -> None:
    """A 40-character name is kept whole; a blank or all-space name is a missing value."""
    staged = ingest("medical", "names_empty_and_40_chars.csv").staged
    assert "阿" * 40 in staged["name_norm"].to_list()


def test_zero_width_characters_are_removed_from_names_ids_and_keys(ingest: Ingest) -> None:
    """Zero-width spaces/joiners and BOMs inside cells do not survive into names, ids or record ids."""
    staged = ingest("medical", "zero_width_spaces.csv").staged.sort("source_line")
    assert staged["name_norm"].to_list() == ["张伟", "王芳", "刘洋"]
    assert staged["id_valid"].all()
    assert staged["record_id"].to_list() == ["YB0001", "YB0002", "YB0003"]


def test_control_characters_do_not_refuse_the_file_and_are_dropped_from_names(
    ingest: Ingest,
) -> None:
    """A stray BEL or unit separator in one cell is not "binary": the file loads, names are clean."""
    outcome = ingest("medical", "control_chars.csv")
    assert outcome.file("control_chars.csv").encoding == "utf-8"
    assert outcome.staged.sort("source_line")["name_norm"].to_list() == ["张伟", "王芳", "刘洋"]


def test_unbalanced_quote_does_not_swallow_the_lines_after_it(ingest: Ingest) -> None:
    """An unclosed quote on line 4 quarantines that line; lines 5-7 are not silently lost."""
    outcome = ingest("medical", "unbalanced_quote.csv")
    seen = set(outcome.staged["source_line"]) | set(outcome.quarantine["source_line"])
    assert seen == {2, 3, 4, 5, 6, 7}


def test_rows_after_a_field_with_line_breaks_keep_their_own_lines(ingest: Ingest) -> None:
    """Quoted fields running over two and three lines (one holding a blank line) are one record
    each; every row and every quarantined line after them is named by the line it starts on."""
    outcome = ingest("medical", "multiline_quoted_fields.csv")
    staged = dict(zip(outcome.staged["record_id"], outcome.staged["source_line"], strict=True))
    assert staged == {"YB0001": 2, "YB0002": 3, "YB0005": 8, "YB0007": 12}
    assert outcome.staged.filter(pl.col("record_id") == "YB0002")["institution"].to_list() == [
        "綦江区中医院\n（古南分院）"
    ]
    quarantined = sorted(
        zip(outcome.quarantine["source_line"], outcome.quarantine["reason"], strict=True)
    )
    assert quarantined == [(5, "bad_enum"), (6, "malformed_row"), (11, "bad_date")]


def test_formula_cells_give_their_values_and_error_cells_are_blank(ingest: Ingest) -> None:
    """=DATE(...) and =IF(...) cells give their cached values; #N/A in an optional id is no id."""
    staged = ingest("housing", "formulas_and_errors.xlsx").staged.sort("source_line")
    assert staged["appraised_on"].to_list() == [dt.date(2021, 6, 29)] * 3
    assert staged["safety_grade"].to_list() == ["C", "C", "D"]
    assert staged.filter(pl.col("source_line") == 4)["id_problem"].to_list() == ["missing"]


def test_merged_cells_give_their_value_to_every_row_they_span(ingest: Ingest) -> None:
    """A date merged over four rows and a grade merged over two: every row gets the value."""
    staged = ingest("housing", "merged_cells.xlsx").staged.sort("source_line")
    assert staged["appraised_on"].to_list() == [dt.date(2021, 6, 29)] * 4
    assert staged["safety_grade"].to_list() == ["D", "D", "C", "C"]


def test_a_second_data_sheet_is_read_or_reported(ingest: Ingest) -> None:
    """Sheets 1月 and 2月 both hold records: both are loaded, or the unread one is named in a note."""
    outcome = ingest("housing", "several_sheets.xlsx")
    stats = outcome.file("several_sheets.xlsx")
    assert "sheet '填表说明' has no header row; skipped" in stats.notes
    assert stats.rows_loaded == 5 or any("2月" in n for n in stats.notes), stats.notes


# ---------------------------------------------------------------- what the GX suite counts


@pytest.fixture(scope="module")
def suites() -> Path:
    return ROOT / "expectations"


def _failed(result: dict[str, object]) -> dict[tuple[str, str | None], int]:
    return {
        (e["type"], e["column"]): e["observed"]["unexpected_count"]  # type: ignore[index]
        for e in result["expectations"]  # type: ignore[attr-defined]
        if not e["success"]
    }


def test_out_of_pocket_over_total_is_loaded_and_counted(ingest: Ingest, suites: Path) -> None:
    """The row is loaded (it is evidence), the pair expectation counts it, nothing is held back."""
    staged = ingest("medical", "out_of_pocket_over_total.csv").staged
    result = validate_department(staged, "medical", suites, RUN_DATE)
    assert not result["held_back"]
    assert _failed(result) == {
        ("expect_column_pair_values_a_to_be_greater_than_b", "total_cost,out_of_pocket"): 1
    }


def test_future_dates_and_negative_amounts_are_counted_not_held(
    ingest: Ingest, suites: Path
) -> None:
    """A 2099 settlement date and negative amounts load and are counted as warnings."""
    dates = validate_department(
        ingest("medical", "dates_future_and_before_1900.csv").staged, "medical", suites, RUN_DATE
    )
    assert _failed(dates) == {("expect_column_values_to_be_between", "settled_on"): 1}
    amounts = validate_department(
        ingest("medical", "negative_and_absurd_amounts.csv").staged, "medical", suites, RUN_DATE
    )
    failed = _failed(amounts)
    assert failed[("expect_column_values_to_be_between", "total_cost")] == 1
    assert not amounts["held_back"]


def test_excel_scientific_ids_hold_the_department_back_with_a_message(
    ingest: Ingest, suites: Path
) -> None:
    """5 of 6 ids mangled by Excel (5.0011E+17): the critical id expectation holds medical back."""
    result = validate_department(
        ingest("medical", "excel_scientific_ids.csv").staged, "medical", suites, RUN_DATE
    )
    assert result["held_back"]
    assert result["held_back_reasons"] == [
        "critical expectation expect_column_values_to_be_in_set failed on column id_valid_nonblank"
    ]


def test_repeated_record_id_with_different_content_is_counted(ingest: Ingest, suites: Path) -> None:
    """YB0002 twice with different amounts: both kept, the uniqueness warning counts them."""
    lines = (BAD / "medical" / "same_record_id_twice.csv").read_bytes().splitlines(keepends=True)
    outcome = ingest("medical", ("repeated_key.csv", b"".join(lines[:2] + lines[3:])))
    assert outcome.counts("repeated_key.csv") == (4, 4, 0)
    result = validate_department(outcome.staged, "medical", suites, RUN_DATE)
    assert _failed(result).get(("expect_column_values_to_be_unique", "record_id")) == 2
    assert not result["held_back"]


def test_same_file_delivered_twice_quarantines_the_copy(ingest: Ingest) -> None:
    """Two identical files in one folder: same sha256 reported, the copy's rows are duplicate_record
    (loading both would count every medical cost twice, or four times after the record join)."""
    src = BAD / "medical" / "footer_totals.csv"
    outcome = ingest("medical", ("医保结算_202501.csv", src), ("医保结算_202501 - 副本.csv", src))
    first, copy = outcome.file("医保结算_202501.csv"), outcome.file("医保结算_202501 - 副本.csv")
    assert first.sha256 == copy.sha256
    assert outcome.counts("医保结算_202501.csv") == (4, 3, 1)
    assert outcome.counts("医保结算_202501 - 副本.csv") == (4, 0, 4)
    assert {r for _, r, _ in outcome.reasons("医保结算_202501 - 副本.csv")} == {
        "duplicate_record",
        "footer_row",
    }


# ---------------------------------------------------------------- size and disguise


def _sparse_2gib(path: Path) -> None:
    with path.open("wb") as fh:
        fh.truncate(2 << 30)


def test_two_gigabyte_file_of_nuls_named_csv_is_refused_fast(ingest: Ingest) -> None:
    """A 2 GiB sparse file of NULs named .csv: refused from its first MiB, size reported."""
    outcome = ingest("medical", ("医保结算_巨大.csv", _sparse_2gib))
    stats = outcome.file("医保结算_巨大.csv")
    assert outcome.result.status == "partial" and stats.bytes == 2 << 30
    assert stats.error == (
        "医保结算_巨大.csv: unknown encoding (not UTF-8, UTF-8 with BOM, UTF-16 with BOM or GB18030/GBK)"
    )


def test_png_beside_good_files_does_not_stop_the_others(ingest: Ingest) -> None:
    """A PNG named .csv in a folder with a good file: that file errors, the good one loads."""
    outcome = ingest("medical", "png_named_csv.csv", "footer_totals.csv")
    assert outcome.result.status == "partial"
    assert outcome.counts("footer_totals.csv") == (4, 3, 1)
    assert outcome.result.errors == [outcome.file("png_named_csv.csv").error]


def test_schema_loader_refuses_a_broken_schema_naming_the_file(tmp_path: Path) -> None:
    """A schema with an unknown column type fails at load time, naming the file."""
    for path in (ROOT / "schemas").glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    bad = tmp_path / "medical.yaml"
    bad.write_text(
        bad.read_text(encoding="utf-8").replace("type: amount", "type: money", 1), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="medical.yaml"):
        load_schemas(tmp_path)
