"""What towns get (transforms/worklists.py): ordered worklists and the visit sheet's rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from transforms.worklists import VISIT_COLUMNS, order_warnings, visit_sheet, worklist

DAY = dt.date(2026, 11, 30)
MEMBERS = pl.List(
    pl.Struct(
        {"person_key": pl.String, "name": pl.String, "id_number": pl.String, "relation": pl.String}
    )
)
REASONS = pl.List(
    pl.Struct(
        {
            "code": pl.String,
            "label": pl.String,
            "kind": pl.String,
            "person_key": pl.String,
            "department": pl.String,
            "record_id": pl.String,
            "date": pl.Date,
            "amount": pl.Float64,
            "detail": pl.String,
        }
    )
)


def _member(key: str | None, name: str, id_number: str | None, relation: str) -> dict[str, Any]:
    return {"person_key": key, "name": name, "id_number": id_number, "relation": relation}


def _reason(code: str, label: str, key: str | None, detail: str) -> dict[str, Any]:
    return {
        "code": code,
        "label": label,
        "kind": "assist",
        "person_key": key,
        "department": "medical",
        "record_id": None,
        "date": DAY,
        "amount": None,
        "detail": detail,
    }


def _worklist(rows: list[dict[str, Any]]) -> pl.DataFrame:
    base = {
        "county_code": "500222",
        "town": "古南街道",
        "village": "石龙村",
        "category": "低保",
        "reason_codes": [],
        "suggested_actions": ["入户核实"],
        "status": "new",
        "first_seen": DAY,
    }
    overrides = {"members": MEMBERS, "reasons": REASONS, "reason_codes": pl.List(pl.String)}
    return order_warnings(pl.DataFrame([{**base, **r} for r in rows], schema_overrides=overrides))


def _two_households() -> pl.DataFrame:
    return _worklist(
        [
            {
                "household_id": "H2",
                "risk_score": 30,
                "risk_level": "yellow",
                "status": "continuing",
                "members": [_member("k3", "李明", "500222197005051350", "户主")],
                "reasons": [_reason("DECEASED_MEMBER", "家庭成员死亡", "k3", "死亡证明")],
            },
            {
                "household_id": "H1",
                "risk_score": 80,
                "risk_level": "red",
                "suggested_actions": ["入户核实", "医疗救助"],
                "members": [  # head first, as `worklist` orders them
                    _member("k1", "张丽", "50022219800101123X", "户主"),
                    _member("k2", "王强", "500222198202021240", "配偶"),
                ],
                "reasons": [
                    _reason("SEVERE_ILLNESS", "大病", "k2", "住院 3 次"),
                    _reason("MEDICAL_BURDEN", "医疗支出负担重", None, "家庭负担 9000 元"),
                ],
            },
        ]
    )


def test_visit_sheet_has_one_row_per_household_most_urgent_first() -> None:
    """Red before yellow, numbered from 1; level and status in Chinese."""
    sheet = visit_sheet(_two_households())
    assert sheet["户编号"].to_list() == ["H1", "H2"]
    assert sheet["序号"].to_list() == [1, 2]
    assert sheet["预警等级"].to_list() == ["红色", "黄色"]
    assert sheet["预警状态"].to_list() == ["新增", "持续"]


def test_visit_sheet_names_the_head_and_lists_every_member() -> None:
    """户主 and its id have columns of their own; every member is on a line of its own."""
    row = visit_sheet(_two_households()).row(0, named=True)
    assert (row["户主"], row["户主身份证号"]) == ("张丽", "50022219800101123X")
    assert row["家庭成员"] == "张丽（户主）50022219800101123X\n王强（配偶）500222198202021240"


def test_visit_sheet_writes_each_reason_with_the_member_it_is_about() -> None:
    """A member's reason names the member; a household reason does not; the order is kept."""
    row = visit_sheet(_two_households()).row(0, named=True)
    assert row["预警原因"] == "大病（王强）：住院 3 次\n医疗支出负担重：家庭负担 9000 元"
    assert row["建议措施"] == "入户核实、医疗救助"


def test_visit_sheet_has_empty_columns_for_the_visit() -> None:
    """The closed loop's columns are there, empty, after the warning's columns."""
    sheet = visit_sheet(_two_households())
    assert sheet.columns[-len(VISIT_COLUMNS) :] == list(VISIT_COLUMNS)
    assert all(sheet[c].null_count() == sheet.height for c in VISIT_COLUMNS)


def test_a_household_without_a_head_is_named_by_its_first_member() -> None:
    """No member is 户主 (a roster gap): the first member stands in; an unknown relation is '-'."""
    frame = _worklist(
        [
            {
                "household_id": "H9",
                "risk_score": 50,
                "risk_level": "orange",
                "members": [_member("k9", "赵一", None, None)],  # type: ignore[arg-type]
                "reasons": [_reason("HOUSING_UNSAFE", "住房安全", None, "D级危房")],
            }
        ]
    )
    row = visit_sheet(frame).row(0, named=True)
    assert (row["户主"], row["家庭成员"], row["户主身份证号"]) == ("赵一", "赵一（-）", None)


def test_worklist_lists_the_head_first_whatever_the_roster_order() -> None:
    """Members come head first, then in roster order; the visit sheet relies on it."""
    roster = pl.DataFrame(
        {
            "household_id": ["H1", "H1", "H1"],
            "person_key": ["k3", "k2", "k1"],
            "name": ["王小", "王强", "张丽"],
            "id_norm": [None, "500222198202021240", "50022219800101123X"],
            "id_clean": ["5002222010", None, None],
            "relation": ["子女", "配偶", "户主"],
            "source_line": [2, 3, 4],
        }
    )
    warnings = _two_households().filter(pl.col("household_id") == "H1")
    members = worklist(warnings, roster)["members"][0]
    assert [m["name"] for m in members] == ["张丽", "王小", "王强"]
    assert members[1]["id_number"] == "5002222010"  # the cleaned id when it is not valid
