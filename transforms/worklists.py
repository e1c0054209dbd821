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


# ---------------------------------------------------------------- the visit sheet (xlsx)

LEVEL_LABELS = {"red": "红色", "orange": "橙色", "yellow": "黄色"}
STATUS_LABELS = {"new": "新增", "continuing": "持续"}
# Filled in by the staff who visit: the closed loop (闭环) goes back to the data office.
VISIT_COLUMNS = ("走访日期", "核实情况", "处置结果", "走访人")


def _members_text(members: pl.DataFrame) -> pl.DataFrame:
    """Per household: the head's name and id and every member as `姓名（关系）身份证号`, one
    per line. `worklist` lists the head first (the first member when no one is 户主)."""
    line = pl.format(
        "{}（{}）{}",
        pl.col("name").fill_null(""),
        pl.col("relation").fill_null("-"),
        pl.col("id_number").fill_null(""),
    )
    return members.group_by("household_id", maintain_order=True).agg(
        pl.col("name").first().alias("户主"),
        pl.col("id_number").first().alias("户主身份证号"),
        line.str.join("\n").alias("家庭成员"),
    )


def _reasons_text(frame: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Per household: every reason as `标签（成员）：说明`, one per line, in the warning's order."""
    reasons = (
        frame.select("household_id", "reasons")
        .explode("reasons")
        .unnest("reasons")
        .with_row_index("__order")
    )
    names = (
        members.select("household_id", "person_key", pl.col("name").alias("__member"))
        .drop_nulls("person_key")
        .unique(["household_id", "person_key"], keep="first")
    )
    who = pl.when(pl.col("__member").is_not_null()).then(pl.format("（{}）", "__member"))
    line = pl.concat_str(
        pl.col("label").fill_null(pl.col("code")),
        who.otherwise(pl.lit("")),
        pl.lit("："),
        pl.col("detail").fill_null(""),
    )
    return (
        reasons.join(names, on=["household_id", "person_key"], how="left")
        .sort("__order")
        .group_by("household_id", maintain_order=True)
        .agg(line.drop_nulls().str.join("\n").alias("预警原因"))
    )


def visit_sheet(frame: pl.DataFrame) -> pl.DataFrame:
    """A town's worklist as the sheet its staff print and fill in: one row per household, in
    the worklist's order (most urgent first), Chinese headers, lists written out as text, and
    empty columns for the visit's result.

    `frame` is one town's part of `worklist` (county and town may be dropped already).
    """
    rows = frame.select(
        "household_id",
        pl.col("risk_level").replace_strict(LEVEL_LABELS, default=None).alias("预警等级"),
        pl.col("risk_score").alias("风险分值"),
        pl.col("status").replace_strict(STATUS_LABELS, default=None).alias("预警状态"),
        pl.col("first_seen").alias("首次预警日期"),
        pl.col("village").alias("村（社区）"),
        pl.col("category").alias("救助类别"),
        pl.col("suggested_actions").list.join("、").alias("建议措施"),
    )
    members = frame.select("household_id", "members").explode("members").unnest("members")
    sheet = rows.join(
        _members_text(members), on="household_id", how="left", maintain_order="left"
    ).join(_reasons_text(frame, members), on="household_id", how="left", maintain_order="left")
    return sheet.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("序号"),
        "预警等级",
        "风险分值",
        "预警状态",
        "首次预警日期",
        "村（社区）",
        pl.col("household_id").alias("户编号"),
        "救助类别",
        "户主",
        "户主身份证号",
        "家庭成员",
        "预警原因",
        "建议措施",
        *[pl.lit(None, pl.String).alias(c) for c in VISIT_COLUMNS],
    )
