"""The text a data officer reads for one household (`fanpin explain`): pure, no IO.

It answers "why is this household on my list, and on what authority": the household's place and
figures (income against the standard in force on the run date), its members (masked unless the
officer asks for full identities: restricted use only), and each reason with its evidence and the
clauses of the notices behind it, quoted from the profile so the text stays true to the policy
the run used.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import polars as pl

from fanpin.policy import Profile
from transforms.masking import mask_id, mask_name

DEPARTMENT_LABELS = {
    "health": "卫健",
    "medical": "医保",
    "housing": "住建",
    "disability": "残联",
    "roster": "民政名册",
}
KIND_LABELS = {"assist": "帮扶", "verify": "核查"}
LEVEL_LABELS = {"red": "红", "orange": "橙", "yellow": "黄"}
RELATION_ORDER = ["户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "其他"]


def explain_household(
    household_id: str,
    roster: pl.DataFrame | pl.LazyFrame,
    warnings: pl.DataFrame,
    profile: Profile,
    run_date: date,
    *,
    unmask: bool = False,
) -> str:
    """Explain one household: header, members, reasons with evidence and clauses, actions.

    `roster` is the staged roster (with person_key), `warnings` the scored warnings frame of the
    same run. Names and ids are masked (张*丽, 500222********1234) unless `unmask=True`.
    """
    members = _members(roster, household_id, unmask)
    if members.is_empty():
        raise ValueError("household is not in the roster of this run")
    warning = warnings.filter(pl.col("household_id") == household_id)
    lines = _header(household_id, members, profile, run_date)
    lines += _member_lines(members)
    if warning.is_empty():
        lines += ["", "本次运行未对该户预警。"]
        return "\n".join(lines) + "\n"
    row = warning.row(0, named=True)
    who = {
        m["person_key"]: f"{m['relation']} {m['shown_name']}" for m in members.iter_rows(named=True)
    }
    level = row["risk_level"]
    lines += [
        "",
        f"预警等级：{LEVEL_LABELS.get(level, level)}（{level}），风险分 {row['risk_score']}/100",
        "预警原因：",
    ]
    for i, reason in enumerate(row["reasons"], start=1):
        lines += _reason_lines(i, reason, who, profile)
    lines += ["", "建议措施：" + "、".join(row["suggested_actions"])]
    return "\n".join(lines) + "\n"


def _members(roster: pl.DataFrame | pl.LazyFrame, household_id: str, unmask: bool) -> pl.DataFrame:
    """The household's roster rows, head first, with the name and id as they may be shown."""
    lf = roster.lazy().filter(pl.col("household_id") == household_id)
    cols = lf.collect_schema()
    name = pl.col("name_norm") if "name_norm" in cols else pl.col("name")
    ident = pl.col("id_norm")
    if "id_clean" in cols:
        ident = ident.fill_null(pl.col("id_clean"))
    shown_name = name if unmask else mask_name(name)
    shown_id = ident if unmask else mask_id(ident)
    return (
        lf.with_columns(
            shown_name.fill_null("（无姓名）").alias("shown_name"),
            shown_id.fill_null("（无身份证号）").alias("shown_id"),
            pl.col("relation")
            .replace_strict(
                {r: i for i, r in enumerate(RELATION_ORDER)},
                default=len(RELATION_ORDER),
                return_dtype=pl.Int8,
            )
            .alias("_rel"),
        )
        .sort("_rel", "person_ref", nulls_last=True)
        .collect()
    )


def _header(
    household_id: str, members: pl.DataFrame, profile: Profile, run_date: date
) -> list[str]:
    head = members.row(0, named=True)
    county = head["county_code"]
    standard = profile.standards_on(run_date).get((county, head["area_type"]))
    income = head["monthly_income_per_capita"]
    lines = [
        f"户 {household_id}（运行日期 {run_date.isoformat()}，"
        f"政策 {profile.name}：{profile.region}）",
        f"地址：{profile.counties.get(county, '未知区县')}（{county}）"
        f" {head['town']} {head['village']}",
        f"类别：{head['category']}；城乡：{head['area_type']}；家庭人口 {head['household_size']}",
    ]
    if standard is None:
        lines.append(f"人均月收入 {_money(income)} 元；本政策无该区县、城乡类别在用的低保标准")
    else:
        ratio = "" if income is None else f"，为标准的 {income / standard:.2f} 倍"
        lines.append(
            f"人均月收入 {_money(income)} 元；低保标准 {_money(standard)} 元{ratio}；"
            f"低保边缘线 {_money(standard * profile.params.margin_multiple)} 元"
            f"（{profile.params.margin_multiple:g} 倍）"
        )
    return lines


def _member_lines(members: pl.DataFrame) -> list[str]:
    lines = ["", f"成员（名册 {members.height} 人）："]
    for m in members.iter_rows(named=True):
        lines.append(f"  {m['relation']} {m['shown_name']} {m['shown_id']}")
    return lines


def _reason_lines(
    i: int, reason: Mapping[str, Any], who: Mapping[str, str], profile: Profile
) -> list[str]:
    spec = profile.codes[reason["code"]]
    person = who.get(reason["person_key"], "全户") if reason["person_key"] else "全户"
    evidence = [DEPARTMENT_LABELS.get(reason["department"], reason["department"])]
    if reason["record_id"]:
        evidence.append(f"记录 {reason['record_id']}")
    if reason["date"]:
        evidence.append(f"日期 {reason['date'].isoformat()}")
    if reason["amount"] is not None:
        evidence.append(f"金额 {_money(reason['amount'])} 元")
    lines = [
        f"{i}. {reason['label']}（{reason['code']}，{KIND_LABELS.get(reason['kind'], '')}）"
        f" — {person}",
        "   证据：" + "，".join(evidence),
        f"   说明：{reason['detail']}",
    ]
    lines += [f"   依据：{c.ref} “{c.text}”" for c in spec.clauses]
    return lines


def _money(value: float | None) -> str:
    if value is None:
        return "不详"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
