"""Header resolution and conforming raw rows to staged/quarantine (transforms/conform.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from fanpin.schema import DepartmentSchema, load_schemas
from transforms.conform import (
    conform,
    find_header_row,
    missing_column_message,
    normalize_header,
    resolve_headers,
    staged_columns,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
VALID_ID = "11010519491231002X"


@pytest.fixture(scope="module")
def schemas() -> dict[str, DepartmentSchema]:
    return load_schemas(SCHEMAS)


def _raw(rows: list[dict[str, str | None]], columns: list[str]) -> pl.DataFrame:
    data = {c: [r.get(c) for r in rows] for c in columns}
    frame = pl.DataFrame(data, schema={c: pl.Utf8 for c in columns})
    return frame.with_columns(
        pl.lit("f.csv").alias("source_file"), pl.int_range(2, frame.height + 2).alias("source_line")
    )


MED = [
    "record_id",
    "name",
    "id_number",
    "settled_on",
    "visit_type",
    "total_cost",
    "fund_paid",
    "out_of_pocket",
    "institution",
]


def _med(**over: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "record_id": "M1",
        "name": "张三",
        "id_number": VALID_ID,
        "settled_on": "2021-06-29",
        "visit_type": "住院",
        "total_cost": "100",
        "fund_paid": "80",
        "out_of_pocket": "20",
        "institution": "綦江区人民医院",
    }
    row.update(over)
    return row


def test_normalize_header_folds_width_spaces_and_case() -> None:
    """Full-width brackets, inner/full-width/zero-width spaces and English case are ignored."""
    assert normalize_header(" 乡镇（街道）\u3000") == normalize_header("乡镇(街道)")
    assert normalize_header("Record_ID\u200b") == "record_id"


def test_resolve_headers_chinese_aliases_extra_and_duplicates(
    schemas: dict[str, DepartmentSchema],
) -> None:
    """Aliases map to canonical names, extras are ignored, a duplicated header keeps the first."""
    headers = [
        "结算流水号",
        "姓名",
        "备注",
        "结算日期",
        "就诊类型",
        "总费用",
        "基金支付",
        "个人自付",
        "流水号",
    ]
    res = resolve_headers(headers, schemas["medical"])
    assert res.ok
    assert res.positions["record_id"] == 0 and res.positions["total_cost"] == 5
    assert res.ignored == (2,)
    assert res.duplicates == ("record_id at positions 1 and 9; the first is used",)
    assert set(res.missing_optional) == {"id_number", "institution"}


def test_missing_required_column_is_reported_with_aliases(
    schemas: dict[str, DepartmentSchema],
) -> None:
    """A header without 结算日期 misses settled_on; the message names file, column, aliases."""
    res = resolve_headers(
        ["结算流水号", "姓名", "就诊类型", "总费用", "基金支付", "个人负担"], schemas["medical"]
    )
    assert [c.name for c in res.missing_required] == ["settled_on"]
    msg = missing_column_message("m.csv", res.missing_required[0])
    assert msg == "m.csv: required column 'settled_on' not found (looked for: settled_on, 结算日期)"


def test_find_header_row_skips_title_rows(schemas: dict[str, DepartmentSchema]) -> None:
    """A title row and a blank row above the header are skipped; no header at all gives None."""
    rows = [
        ["綦江区2021年残疾人名单", None],
        [None, None],
        ["记录编号", "姓名", "残疾类别", "残疾等级"],
    ]
    assert find_header_row(rows, schemas["disability"]) == 2
    assert find_header_row([["a", "b"], ["1", "2"]], schemas["disability"]) is None


def test_conform_types_values_and_adds_identity_columns(
    schemas: dict[str, DepartmentSchema],
) -> None:
    """A clean row is staged typed, with id_* and name_* columns and its line."""
    out = conform(_raw([_med(total_cost="1,234.5元", name=" 张三 ")], MED), schemas["medical"])
    assert out.quarantine.height == 0
    row = out.staged.row(0, named=True)
    assert out.staged.columns == staged_columns(schemas["medical"])
    assert row["settled_on"] == date(2021, 6, 29) and row["total_cost"] == 1234.5
    assert row["name"] == "张三" and row["id_norm"] == VALID_ID and row["id_valid"] is True
    assert row["source_line"] == 2 and row["source_file"] == "f.csv"


def test_quarantine_reasons_columns_and_lines(schemas: dict[str, DepartmentSchema]) -> None:
    """Blank required, bad date, bad amount, bad enum and a 合计 row are quarantined by reason."""
    rows = [
        _med(record_id="M1", name=None),
        _med(record_id="M2", settled_on="2021-13-45"),
        _med(record_id="M3", total_cost="十元"),
        _med(record_id="M4", visit_type="急诊"),
        {"record_id": "合计", "total_cost": "400", "fund_paid": "320", "out_of_pocket": "80"},
        _med(record_id="M6"),
    ]
    out = conform(_raw(rows, MED), schemas["medical"])
    got = out.quarantine.select("source_line", "record_id", "reason", "column").rows()
    assert got == [
        (2, "M1", "missing_value", "name"),
        (3, "M2", "bad_date", "settled_on"),
        (4, "M3", "bad_amount", "total_cost"),
        (5, "M4", "bad_enum", "visit_type"),
        (6, "合计", "footer_row", None),
    ]
    assert out.staged["record_id"].to_list() == ["M6"]
    assert set(out.quarantine["department"]) == {"medical"}


def test_totals_row_without_key_is_a_footer(schemas: dict[str, DepartmentSchema]) -> None:
    """No record key, no person, but amounts: a footer row even without the word 合计."""
    rows = [{"total_cost": "400", "fund_paid": "320", "out_of_pocket": "80"}]
    out = conform(_raw(rows, MED), schemas["medical"])
    assert out.quarantine["reason"].to_list() == ["footer_row"]


def test_blank_and_repeated_header_rows_are_not_records(
    schemas: dict[str, DepartmentSchema],
) -> None:
    """An all-blank row and a second copy of the header are `not_a_record`."""
    rows = [
        {c: None for c in MED},
        {"record_id": "结算流水号", "name": "姓名", "settled_on": "结算日期"},
    ]
    out = conform(_raw(rows, MED), schemas["medical"])
    assert out.quarantine["reason"].to_list() == ["not_a_record", "not_a_record"]


def test_optional_untypable_value_is_null_and_row_kept(
    schemas: dict[str, DepartmentSchema],
) -> None:
    """An unreadable optional yes/no becomes null and the roster row is staged."""
    cols = [
        "household_id",
        "name",
        "id_number",
        "relation",
        "county_code",
        "town",
        "village",
        "category",
        "area_type",
        "household_size",
        "monthly_income_per_capita",
        "enrolled_on",
        "living_subsidy",
    ]
    row = dict(
        zip(
            cols,
            [
                "H1",
                "张三",
                VALID_ID,
                "本人",
                "500222",
                "古南街道",
                "新华社区",
                "低保",
                "城镇",
                "3",
                "５００",
                "2021年6月29日",
                "也许",
            ],
            strict=False,
        )
    )
    out = conform(_raw([row], cols), schemas["roster"])
    assert out.quarantine.height == 0
    staged = out.staged.row(0, named=True)
    assert staged["living_subsidy"] is None and staged["nursing_subsidy"] is None
    assert staged["relation"] == "户主" and staged["area_type"] == "城市"
    assert staged["household_size"] == 3 and staged["monthly_income_per_capita"] == 500.0


def test_detail_never_contains_identity_number_or_name(
    schemas: dict[str, DepartmentSchema],
) -> None:
    """Even when an id number or a name lands in a typed column, the detail does not echo it."""
    rows = [_med(settled_on=VALID_ID, total_cost="张三", visit_type="张三")]
    out = conform(_raw(rows, MED), schemas["medical"])
    detail = out.quarantine["detail"][0]
    assert VALID_ID not in detail and "张三" not in detail
    assert "settled_on" in detail and "total_cost" in detail and "visit_type" in detail


def test_certificate_columns(schemas: dict[str, DepartmentSchema]) -> None:
    """The certificate's first 18 chars give cert_id_*; chars 19/20 give type and grade."""
    cols = [
        "record_id",
        "name",
        "certificate_no",
        "disability_type",
        "disability_grade",
        "issued_on",
        "status",
    ]
    row = dict(
        zip(
            cols,
            ["D1", "张三", "11010519491231002x42", "肢体残疾", "二级", "20210629", "正常"],
            strict=True,
        )
    )
    out = conform(_raw([row], cols), schemas["disability"])
    staged = out.staged.row(0, named=True)
    assert staged["cert_id_norm"] == VALID_ID and staged["cert_id_valid"] is True
    assert (staged["cert_type"], staged["cert_grade"]) == (4, 2)
    assert staged["disability_type"] == "肢体" and staged["disability_grade"] == 2
    assert staged["status"] == "有效" and staged["id_number"] is None


def test_one_row_in_one_row_out(schemas: dict[str, DepartmentSchema]) -> None:
    """Staged + quarantined rows equal the rows given, whatever their problems."""
    rows = [_med(), _med(name=None, settled_on="x", total_cost="y"), _med(record_id="小计")]
    out = conform(_raw(rows, MED), schemas["medical"])
    assert out.staged.height + out.quarantine.height == 3
    first = out.quarantine.row(0, named=True)
    assert first["reason"] == "missing_value" and first["column"] == "name"
    assert "settled_on" in first["detail"] and "total_cost" in first["detail"]


def test_invisible_characters_leave_text_cells_and_typed_cells_still_parse(
    schemas: dict[str, DepartmentSchema],
) -> None:
    """A zero-width space in the record id and name, a BEL in a date and an amount: the row is
    staged with `YB0002`, a clean name and the typed values."""
    row = _med(
        record_id="YB\u200b0002",
        name="张\x07三\u200d",
        settled_on="2021-06-29\u200b",
        total_cost="1\u200b00",
    )
    out = conform(_raw([row], MED), schemas["medical"])
    assert out.quarantine.height == 0
    staged = out.staged.row(0, named=True)
    assert (staged["record_id"], staged["name"], staged["name_norm"]) == ("YB0002", "张三", "张三")
    assert (staged["settled_on"], staged["total_cost"]) == (date(2021, 6, 29), 100.0)
