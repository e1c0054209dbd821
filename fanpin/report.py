"""The run report: one self-contained HTML page per run, for the county data officer.

Why a static page: the officer opens it from a shared folder, often on a machine without
internet access, so everything is inline (CSS, SVG charts drawn here in Python); nothing is
fetched at view time and no script runs (a Content-Security-Policy forbids it outright).

Why only the manifest and the masked warnings frame: the report travels further than the
restricted tier, so it is built from aggregates alone. Every string that reaches the page is
escaped (town names and file names come from department files: untrusted), and any run of
15+ digits is masked in case an identity number slipped into a free-text field.

    python -m fanpin.report --manifest manifest.json --warnings warnings.parquet --out report.html
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import polars as pl

from transforms.worklists import LEVEL_LABELS

Manifest = Mapping[str, Any]

# --- vocabulary: codes → Chinese labels (display only; codes stay the stable interface) -------

LEVELS: tuple[tuple[str, str, str, str], ...] = tuple(
    # key, label (the towns' visit sheets use the same), fill, ink (text drawn on the fill)
    (key, LEVEL_LABELS[key], fill, ink)
    for key, fill, ink in (
        ("red", "#d7301f", "#ffffff"),
        ("orange", "#f28e2b", "#ffffff"),
        ("yellow", "#f2c744", "#3d3000"),
    )
)

REASONS: dict[str, tuple[str, str]] = {
    # code: (中文, kind) — kinds from policy.md: assist 帮扶 / verify 核查
    "DECEASED_MEMBER": ("成员死亡", "verify"),
    "MEDICAL_BURDEN": ("医疗支出负担重", "assist"),
    "SEVERE_ILLNESS": ("重病", "assist"),
    "SEVERE_DISABILITY": ("重度残疾", "assist"),
    "SUBSIDY_GAP": ("残疾人两项补贴应补未补", "assist"),
    "UNSAFE_HOUSING": ("住房安全", "assist"),
    "SINGLE_PERSON_DIBAO": ("可按单人户纳入低保", "assist"),
    "GRADUAL_EXIT": ("收入超标，适用渐退期", "verify"),
    "TEKUN_MINOR": ("特困未成年人保障至18周岁", "assist"),
    "INCOME_MARGIN": ("应认定为低保边缘或低保", "assist"),
}
KIND_COLORS = {"assist": "#3b6fb6", "verify": "#8e5ea2"}

DEPARTMENT_LABELS = {
    "roster": "民政",
    "health": "卫健",
    "medical": "医保",
    "housing": "住建",
    "disability": "残联",
}

METHODS: tuple[tuple[str, str, str], ...] = (
    # linked methods, strongest evidence first: key, label, fill
    ("id_exact", "身份证号一致", "#1b7837"),
    ("id_upgraded15", "15位证号升位", "#2f8f4e"),
    ("id_fuzzy", "证号近似", "#5aae61"),
    ("cert_id", "残疾证内含证号", "#7fbf7b"),
    ("head_id_member", "户主证号→成员", "#3c9d9b"),
    ("name_birth", "姓名+出生日期", "#66b8b6"),
    ("name_household", "姓名+户", "#98d1cf"),
    ("name_address", "姓名+村（住房地址）", "#b8e0dc"),
)
REVIEW = ("review", "待人工复核", "#e6a23c")
UNMATCHED = ("unmatched", "未匹配", "#c4ccd6")
OTHER_METHOD_COLOR = "#a6dba0"

RUN_STATUS = {
    "succeeded": ("成功", "ok"),
    "partial": ("部分完成", "warn"),
    "failed": ("失败", "bad"),
}

EXPECTATIONS = {
    "expect_column_to_exist": "列存在",
    "expect_column_values_to_not_be_null": "不为空",
    "expect_column_values_to_match_regex": "符合格式",
    "expect_column_values_to_be_in_set": "取值在允许范围内",
    "expect_column_values_to_be_between": "数值在范围内",
    "expect_column_values_to_be_unique": "不重复",
    "expect_compound_columns_to_be_unique": "组合不重复",
    "expect_table_row_count_to_be_between": "行数在范围内",
    "expect_column_values_to_match_strftime_format": "日期格式",
}
OBSERVED_LABELS = {
    "element_count": "总数",
    "unexpected_count": "不符合",
    "unexpected_percent": "不符合率",
    "missing_count": "缺失",
    "missing_percent": "缺失率",
    "observed_value": "观测值",
}

BEIJING = timezone(timedelta(hours=8), "CST")
TOP_TOWNS = 20  # a county has ~20-30 towns; beyond this the rest are folded into one bar

WARNING_SCHEMA: dict[str, pl.DataType] = {
    "town": pl.Utf8(),
    "category": pl.Utf8(),
    "risk_level": pl.Utf8(),
    "reason_codes": pl.List(pl.Utf8()),
    "status": pl.Utf8(),
}

# --- safe text -----------------------------------------------------------------------------

_LONG_DIGITS = re.compile(r"(\d{6})(\d{5,})(\d{3}[0-9Xx]|\d{4})")


def mask_long_numbers(text: str) -> str:
    """Mask any run of 15+ digits like an identity number (500222********1234).

    A safety net only: the report is built from aggregates, but free-text fields (error
    messages, held-back reasons, file names) are written by other code and by departments.
    """
    return _LONG_DIGITS.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)


def _t(value: object, default: str = "—") -> str:
    """Any value as safe HTML text: masked, then escaped (quotes too, so it is attribute-safe)."""
    if value is None or value == "":
        return default
    return html.escape(mask_long_numbers(str(value)), quote=True)


def _int(value: object) -> int:
    """A count from the manifest; anything that is not a number counts as 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value) if math.isfinite(value) else 0


def _n(value: object) -> str:
    """A count with thousands separators."""
    return f"{_int(value):,}"


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "—"


def _text_width(text: str, size: float) -> float:
    """Approximate rendered width: CJK glyphs are square, Latin ones about half as wide."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.58 for ch in text)


def _clip(text: str, size: float, max_width: float) -> str:
    """Shorten a label to fit a width, ending in an ellipsis."""
    if _text_width(text, size) <= max_width:
        return text
    while text and _text_width(text + "…", size) > max_width:
        text = text[:-1]
    return text + "…"


# --- charts (inline SVG) --------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One kind of segment in a stacked bar chart."""

    key: str
    label: str
    fill: str
    ink: str = "#ffffff"


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: its label, a small grey sublabel, and one value per series."""

    label: str
    sublabel: str
    values: tuple[float, ...]


CHART_W = 530  # viewBox width of a half-page chart: drawn at about 1:1 on a 1280 px screen
FULL_W = 1100
FONT = 13


def _nice_step(maximum: float, ticks: int = 5) -> float:
    """A 1/2/5 x 10^k step giving at most `ticks` gridlines up to `maximum` (at least 1: counts
    are whole numbers, so a 0.2 step would print the same label twice)."""
    raw = max(maximum / ticks, 1.0)
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _legend(series: Sequence[Series], width: float) -> tuple[str, float]:
    """Legend swatches laid out left to right, wrapping; returns (svg, height used)."""
    parts, x, y = [], 0.0, 0.0
    for s in series:
        item_w = 18 + _text_width(s.label, 12) + 16
        if x and x + item_w > width:
            x, y = 0.0, y + 20
        parts.append(
            f'<rect x="{x:.0f}" y="{y + 2:.0f}" width="12" height="12" rx="2" fill="{s.fill}"/>'
            f'<text x="{x + 17:.0f}" y="{y + 12:.0f}" class="lg">{_t(s.label)}</text>'
        )
        x += item_w
    return "".join(parts), y + 24


def _grid(x0: float, x1: float, top: float, bottom: float, scale: float, percent: bool) -> str:
    """Vertical gridlines with their tick labels under the plot."""
    if percent:
        ticks: list[float] = [0, 25, 50, 75, 100]
    else:
        step = _nice_step(scale)
        ticks = [step * i for i in range(int(scale / step) + 1)]
    out = []
    for tick in ticks:
        x = x0 + (x1 - x0) * tick / scale
        text = f"{tick:.0f}%" if percent else f"{tick:,.0f}"
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top:.0f}" y2="{bottom:.0f}" class="gl"/>'
            f'<text x="{x:.1f}" y="{bottom + 14:.0f}" class="tk">{text}</text>'
        )
    return "".join(out)


def _segments(bar: Bar, series: Sequence[Series], x0: float, y: float, unit: float) -> str:
    """The stacked rectangles of one bar, each with a hover title and, if it fits, its value."""
    out, x = [], x0
    total = sum(bar.values)
    for s, value in zip(series, bar.values, strict=True):
        if value <= 0:
            continue
        w = value * unit
        tip = f"{bar.label} · {s.label}: {value:,.0f}（{_pct(value, total)}）"
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="18" fill="{s.fill}">'
            f"<title>{_t(tip)}</title></rect>"
        )
        label = f"{value:,.0f}"
        if w >= _text_width(label, 11) + 6:
            out.append(
                f'<text x="{x + w / 2:.1f}" y="{y + 13:.1f}" class="sv" fill="{s.ink}">'
                f"{label}</text>"
            )
        x += w
    return "".join(out)


def stacked_hbars(
    bars: Sequence[Bar],
    series: Sequence[Series],
    *,
    percent: bool = False,
    title: str = "",
    width: float = CHART_W,
) -> str:
    """Horizontal stacked bars, labels on the left, totals on the right.

    With `percent`, every bar is scaled to its own total (shares), and the total count is
    written at the end as n=…; otherwise bars share one count scale.
    """
    if not bars:
        return '<p class="empty">无数据 · no data</p>'
    sub = any(b.sublabel for b in bars)
    row_h = 36.0 if sub else 28.0
    label_w = min(max(_text_width(b.label, FONT) for b in bars) + 14, width * 0.38)
    legend, top = _legend(series, width) if len(series) > 1 else ("", 4.0)
    x0, x1 = label_w, width - 70.0
    bottom = top + row_h * len(bars)
    scale = 100.0 if percent else max(max(sum(b.values) for b in bars), 1.0)
    if not percent:
        scale = math.ceil(scale / _nice_step(scale)) * _nice_step(scale)
    rows = [
        _bar_row(bar, series, i, top + i * row_h, row_h, (x0, x1, width), scale, percent, sub)
        for i, bar in enumerate(bars)
    ]
    height = bottom + 22
    return (
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{_t(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"{legend}{_grid(x0, x1, top, bottom, scale, percent)}{''.join(rows)}</svg>"
    )


def _bar_row(
    bar: Bar,
    series: Sequence[Series],
    index: int,
    y: float,
    row_h: float,
    frame: tuple[float, float, float],
    scale: float,
    percent: bool,
    sub: bool,
) -> str:
    """One labelled row of `stacked_hbars`; `frame` is (plot left, plot right, chart width)."""
    x0, x1, width = frame
    total = sum(bar.values)
    unit = ((x1 - x0) / (total if percent else scale)) if total else 0.0
    bar_y = y + (row_h - 18) / 2
    mid = y + row_h / 2
    label = _clip(bar.label, FONT, x0 - 12)
    text = (
        f'<text x="{x0 - 8:.0f}" y="{mid - 2 if sub else mid + 4.5:.1f}" class="bl">'
        f"{_t(label)}<title>{_t(bar.label)}</title></text>"
    )
    if sub:
        text += (
            f'<text x="{x0 - 8:.0f}" y="{mid + 12:.1f}" class="bs">{_t(bar.sublabel, "")}</text>'
        )
    end_x = x1 + 6 if percent else x0 + total * unit + 6
    end = f"n={total:,.0f}" if percent else f"{total:,.0f}"
    stripe = f'<rect x="0" y="{y:.1f}" width="{width:.0f}" height="{row_h}" class="zb"/>' * (
        index % 2
    )
    return (
        f"{stripe}{text}{_segments(bar, series, x0, bar_y, unit)}"
        f'<text x="{end_x:.1f}" y="{mid + 4.5:.1f}" class="bt">{end}</text>'
    )


def donut(parts: Sequence[tuple[str, float, str]], center: str, center_sub: str) -> str:
    """A ring chart of shares (label, value, colour), with a big number in the middle."""
    total = sum(v for _, v, _ in parts)
    cx, cy, r, w = 100.0, 100.0, 78.0, 26.0
    rings = [
        f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="#edf0f4" stroke-width="{w}"/>'
    ]
    start = -math.pi / 2
    for label, value, color in parts:
        if value <= 0 or total <= 0:
            continue
        sweep = 2 * math.pi * value / total
        rings.append(_arc(cx, cy, r, w, start, sweep, color, f"{label}: {value:,.0f}"))
        start += sweep
    legend = [
        f'<rect x="212" y="{52 + 30 * i}" width="14" height="14" rx="2" fill="{color}"/>'
        f'<text x="234" y="{64 + 30 * i}" class="lg">{_t(label)}</text>'
        f'<text x="420" y="{64 + 30 * i}" class="lgv">{value:,.0f}　{_pct(value, total)}</text>'
        for i, (label, value, color) in enumerate(parts)
    ]
    return (
        '<svg class="chart donut" viewBox="0 0 430 200" role="img" '
        f'aria-label="{_t(center_sub)}" xmlns="http://www.w3.org/2000/svg">'
        f"{''.join(rings)}"
        f'<text x="{cx}" y="{cy + 4}" class="dc">{_t(center)}</text>'
        f'<text x="{cx}" y="{cy + 24}" class="ds">{_t(center_sub)}</text>'
        f"{''.join(legend)}</svg>"
    )


def _arc(
    cx: float, cy: float, r: float, w: float, start: float, sweep: float, color: str, tip: str
) -> str:
    """One ring segment; a full ring is drawn as a circle (an SVG arc cannot close on itself)."""
    if sweep >= 2 * math.pi - 1e-9:
        return (
            f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="{color}" '
            f'stroke-width="{w}"><title>{_t(tip)}</title></circle>'
        )
    end = start + sweep
    x0, y0 = cx + r * math.cos(start), cy + r * math.sin(start)
    x1, y1 = cx + r * math.cos(end), cy + r * math.sin(end)
    large = 1 if sweep > math.pi else 0
    return (
        f'<path d="M{x0:.2f},{y0:.2f} A{r},{r} 0 {large} 1 {x1:.2f},{y1:.2f}" fill="none" '
        f'stroke="{color}" stroke-width="{w}"><title>{_t(tip)}</title></path>'
    )


def meter(passed: int, failed: int) -> str:
    """A small passed/failed bar for a table cell."""
    total = passed + failed
    if total <= 0:
        return ""
    w = 120.0 * passed / total
    return (
        '<svg class="meter" viewBox="0 0 120 10" width="120" height="10" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="120" height="10" rx="3" fill="#d7301f"/>'
        f'<rect width="{w:.1f}" height="10" rx="3" fill="#2f8f4e"/></svg>'
    )


# --- aggregates of the warnings frame (columnar) --------------------------------------------


def conform_warnings(warnings: pl.DataFrame) -> pl.DataFrame:
    """Only the columns the report reads, typed; missing ones become nulls.

    Selecting (rather than passing the frame through) also guarantees that names, identity
    numbers or household ids in an unmasked frame can never reach the page.
    """
    return warnings.select(
        [
            pl.col(name).cast(dtype)
            if name in warnings.columns
            else pl.repeat(None, warnings.height, dtype=dtype).alias(name)
            for name, dtype in WARNING_SCHEMA.items()
        ]
    )


def level_counts(
    warnings: pl.DataFrame, by: str, missing: str, top: int = TOP_TOWNS
) -> pl.DataFrame:
    """Warnings per value of `by` and per level, biggest first; values past `top` folded into
    one row (`其他 N 个`), so a county with 40 towns still gets a readable chart."""
    per_value = (
        warnings.with_columns(pl.col(by).fill_null(missing))
        .group_by(by)
        .agg([(pl.col("risk_level") == key).sum().cast(pl.Int64).alias(key) for key, *_ in LEVELS])
        .with_columns(total=pl.sum_horizontal([key for key, *_ in LEVELS]))
        .sort(["total", by], descending=[True, False])
    )
    if per_value.height <= top:
        return per_value
    rest = per_value.slice(top - 1)
    folded = rest.select(
        pl.lit(f"其他 {rest.height} 个").alias(by),
        *[pl.col(c).sum() for c in per_value.columns[1:]],
    )
    return pl.concat([per_value.head(top - 1), folded])


def reason_counts(warnings: pl.DataFrame) -> pl.DataFrame:
    """Households per reason code (a household with two reasons counts under both)."""
    return (
        warnings.select(pl.col("reason_codes").explode().alias("code"))
        .drop_nulls()
        .group_by("code")
        .len()
        .sort(["len", "code"], descending=[True, False])
    )


def frame_totals(warnings: pl.DataFrame) -> dict[str, int]:
    """Level and status counts from the frame: the fallback when the manifest lacks them."""
    row = warnings.select(
        pl.len().alias("total"),
        *[(pl.col("risk_level") == k).sum().alias(k) for k, *_ in LEVELS],
        *[(pl.col("status") == k).sum().alias(k) for k in ("new", "continuing")],
    ).row(0, named=True)
    return {k: int(v or 0) for k, v in row.items()}


# --- manifest helpers ------------------------------------------------------------------------


def _records(manifest: Manifest, key: str) -> list[Mapping[str, Any]]:
    """A list-of-objects section of the manifest, tolerating absence and junk entries."""
    value = manifest.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def department_order(manifest: Manifest) -> list[str]:
    """Departments in manifest order, then any seen only in inputs/validation/matching."""
    seen: dict[str, None] = {}
    for section in ("departments", "inputs", "validation", "matching"):
        for item in _records(manifest, section):
            if item.get("department"):
                seen.setdefault(str(item["department"]), None)
    return list(seen)


def department_label(manifest: Manifest, department: str) -> str:
    """中文 label of a department (卫健), from the manifest or the known five."""
    for item in _records(manifest, "departments"):
        if item.get("department") == department and item.get("label"):
            return str(item["label"])
    return DEPARTMENT_LABELS.get(department, department)


def _by_department(manifest: Manifest, key: str) -> dict[str, Mapping[str, Any]]:
    return {str(i.get("department")): i for i in _records(manifest, key)}


def match_table(manifest: Manifest) -> pl.DataFrame:
    """Records per department and segment (linked method, `review` or `unmatched`)."""
    frame = pl.DataFrame(
        [dict(item) for item in _records(manifest, "matching")],
        schema={
            "department": pl.Utf8,
            "match_status": pl.Utf8,
            "match_method": pl.Utf8,
            "records": pl.Int64,
        },
    )
    segment = (
        pl.when(pl.col("match_status") == "linked")
        .then(pl.col("match_method").fill_null("linked"))
        .otherwise(pl.col("match_status").fill_null("unmatched"))
    )
    return (
        frame.with_columns(segment=segment, records=pl.col("records").fill_null(0))
        .group_by("department", "segment")
        .agg(pl.col("records").sum())
    )


def match_series(table: pl.DataFrame) -> list[Series]:
    """Known methods in evidence order, then unknown linked methods, then review, unmatched."""
    present = set(table.get_column("segment").to_list())
    known = {key for key, _, _ in METHODS} | {REVIEW[0], UNMATCHED[0]}
    series = [Series(k, label, fill) for k, label, fill in METHODS if k in present]
    series += [Series(k, k, OTHER_METHOD_COLOR, "#1f2a1f") for k in sorted(present - known)]
    series += [Series(k, label, fill, "#222") for k, label, fill in (REVIEW, UNMATCHED)]
    return series


def _duration(started: object, finished: object) -> str:
    """`7 分 38 秒` from two ISO timestamps; a dash when either is missing or unparsable."""
    try:
        seconds = int(
            (
                datetime.fromisoformat(str(finished)) - datetime.fromisoformat(str(started))
            ).total_seconds()
        )
    except (TypeError, ValueError):
        return "—"
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{hours} 小时 " if hours else "") + f"{minutes} 分 {secs} 秒"


def _timestamp(value: object) -> str:
    """An ISO timestamp in Beijing time, `2026-11-30 02:00:03`: the manifest records UTC, the
    officer thinks in local time (a naive timestamp is shown as it is)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return str(value) if value else ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _safe_href(path: object) -> str | None:
    """A relative link target, percent-encoded; None for anything with a scheme or host."""
    if not isinstance(path, str) or not path.strip():
        return None
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or path.startswith(("/", "\\")):
        return None
    return quote(path, safe="/#.-_~")


# --- page sections -----------------------------------------------------------------------------


def section_header(manifest: Manifest) -> str:
    """Title, run facts, and banners for a dev key or a failed run."""
    status = str(manifest.get("status") or "")
    status_label, status_class = RUN_STATUS.get(status, (status or "未知", "warn"))
    given = manifest.get("parameters")
    params: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    facts = [
        ("运行日期", "Run date", manifest.get("run_date")),
        ("政策配置", "Policy profile", manifest.get("policy_profile")),
        ("代码版本", "Code version", manifest.get("code_version")),
        ("开始（北京时间）", "Started", _timestamp(manifest.get("started_at"))),
        ("结束（北京时间）", "Finished", _timestamp(manifest.get("finished_at"))),
        ("用时", "Duration", _duration(manifest.get("started_at"), manifest.get("finished_at"))),
    ]
    if isinstance(params.get("departments"), list):
        facts.append(("仅运行部门", "Departments", "、".join(map(str, params["departments"]))))
    cells = "".join(
        f'<div class="fact"><span class="fk">{zh} <em>{en}</em></span>'
        f'<span class="fv">{_t(value)}</span></div>'
        for zh, en, value in facts
    )
    return (
        '<header class="top"><div class="title"><h1>返贫监测 · 夜间运行报告</h1>'
        '<p class="en">Return-to-poverty monitoring — nightly run report</p></div>'
        f'<div class="status {status_class}"><span>运行状态 Status</span>'
        f"<strong>{_t(status_label)}</strong><small>{_t(status, '')}</small></div></header>"
        f'<div class="facts">{cells}</div>{_banners(manifest, params, status)}'
    )


def _banners(manifest: Manifest, params: Mapping[str, Any], status: str) -> str:
    out = []
    if params.get("dev_key"):
        out.append(
            '<div class="banner dev"><strong>⚠ 开发密钥</strong> 本次运行未配置 FANPIN_HASH_KEY，'
            "使用了开发密钥：person_key 仅供样例数据演示，不得用于生产或跨期比对。"
            "<em>Development hash key — sample data only.</em></div>"
        )
    if status == "failed":
        out.append(
            '<div class="banner bad"><strong>✖ 运行失败</strong> 本次结果未发布，'
            "已发布数据仍为上一次成功运行。<em>Run failed — previous publication kept.</em></div>"
        )
    departments = _records(manifest, "departments")
    not_delivered = [d for d in departments if d.get("delivered") is False]
    held_back = [d for d in departments if d.get("held_back") and d.get("delivered") is not False]
    if not_delivered:
        out.append(
            '<div class="banner warn"><strong>今晚未送达</strong> '
            f"{_labels(manifest, not_delivered)}"
            "：本次预警未使用这些部门的新数据。<em>Not delivered tonight.</em></div>"
        )
    if held_back:
        out.append(
            f'<div class="banner bad"><strong>暂缓使用</strong> {_labels(manifest, held_back)}'
            "：数据质量未达标，本次不用于预警（原因见“数据质量”）。<em>Held back.</em></div>"
        )
    return "".join(out)


def _labels(manifest: Manifest, departments: Iterable[Mapping[str, Any]]) -> str:
    return _t("、".join(department_label(manifest, str(d.get("department"))) for d in departments))


def _tile(label: str, en: str, value: str, css: str = "", note: str = "") -> str:
    note_html = f"<small>{note}</small>" if note else ""
    return (
        f'<div class="tile {css}"><span class="tl">{label} <em>{en}</em></span>'
        f'<span class="tv">{value}</span>{note_html}</div>'
    )


def section_kpis(manifest: Manifest, warnings: pl.DataFrame) -> str:
    """The numbers an officer looks for first: how many warnings, how bad, how new, how linked."""
    counts = warning_counts(manifest, warnings)
    table = match_table(manifest)
    records = int(table.get_column("records").sum() or 0)
    linked = int(
        table.filter(~pl.col("segment").is_in([REVIEW[0], UNMATCHED[0]]))
        .get_column("records")
        .sum()
        or 0
    )
    total = _int(counts.get("total"))
    tiles = [
        _tile("预警户数", "Warnings", _n(total), "big"),
        *[
            _tile(
                f"{label}预警",
                key,
                _n(counts.get(key)),
                f"lv-{key}",
                _pct(_int(counts.get(key)), total),
            )
            for key, label, _, _ in LEVELS
        ],
        _tile("新增", "New", _n(counts.get("new")), "st-new"),
        _tile("持续", "Continuing", _n(counts.get("continuing")), "st-cont"),
        _tile("已解除", "Resolved", _n(counts.get("resolved")), "st-res", "上次有、本次无"),
        _tile(
            "记录关联率",
            "Records linked",
            _pct(linked, records),
            "link",
            f"{linked:,} / {records:,} 条部门记录",
        ),
    ]
    return f'<section class="kpis">{"".join(tiles)}</section>'


def _level_bars(counts: pl.DataFrame, by: str) -> list[Bar]:
    return [
        Bar(str(row[by]), "", tuple(float(row[key]) for key, *_ in LEVELS))
        for row in counts.iter_rows(named=True)
    ]


def _reason_bars(warnings: pl.DataFrame) -> list[Bar]:
    """One bar per reason code: 中文 label, the code beneath, coloured by kind (帮扶/核查)."""
    bars = []
    for code, n in reason_counts(warnings).iter_rows():
        label, kind = REASONS.get(str(code), (str(code), "assist"))
        bars.append(Bar(label, str(code), (0.0, float(n)) if kind == "verify" else (float(n), 0.0)))
    return bars


def _card(title: str, en: str, content: str, note: str = "") -> str:
    note_html = f'<p class="note">{note}</p>' if note else ""
    return f'<div class="card"><h3>{title} <em>{en}</em></h3>{content}{note_html}</div>'


def section_warnings(manifest: Manifest, warnings: pl.DataFrame) -> str:
    """Where the warnings are (town x level), why (reason codes), whether they are new, and
    which roster categories they fall in."""
    level_series = [Series(key, f"{label} {key}", fill, ink) for key, label, fill, ink in LEVELS]
    reason_series = [
        Series("assist", "帮扶 assist", KIND_COLORS["assist"]),
        Series("verify", "核查 verify", KIND_COLORS["verify"]),
    ]
    towns = _level_bars(level_counts(warnings, "town", "（未填乡镇）"), "town")
    categories = _level_bars(level_counts(warnings, "category", "（未填类别）"), "category")
    return (
        '<section><h2>预警分布 <em>Warnings</em></h2><div class="grid2">'
        + _card(
            "各乡镇预警（按等级）",
            "by town and level",
            stacked_hbars(towns, level_series, title="各乡镇预警"),
        )
        + _card(
            "预警原因",
            "by reason",
            stacked_hbars(_reason_bars(warnings), reason_series, title="预警原因"),
            "一户可有多个原因，各原因户数之和可大于预警户数。",
        )
        + _status_card(manifest, warnings)
        + _card(
            "救助类别（按等级）",
            "by roster category",
            stacked_hbars(categories, level_series, title="救助类别"),
        )
        + "</div></section>"
    )


def warning_counts(manifest: Manifest, warnings: pl.DataFrame) -> dict[str, Any]:
    """Totals per level and status: the manifest's figures, the frame's where it has none."""
    counts: dict[str, Any] = dict(frame_totals(warnings))
    reported = manifest.get("warnings")
    if isinstance(reported, Mapping):
        counts.update({k: v for k, v in reported.items() if v is not None})
    return counts


def _status_card(manifest: Manifest, warnings: pl.DataFrame) -> str:
    counts = warning_counts(manifest, warnings)
    parts = [
        ("新增 new", float(_int(counts.get("new"))), "#2b6cb0"),
        ("持续 continuing", float(_int(counts.get("continuing"))), "#94a3b8"),
    ]
    explain = (
        '<div class="explain">'
        "<p><strong>新增</strong>：上一次发布中没有预警的家庭，需尽快入户核实。</p>"
        "<p><strong>持续</strong>：上一次已预警、本次仍有原因的家庭，请跟进处置进度。</p>"
        f"<p><strong>已解除 {_n(counts.get('resolved'))} 户</strong>："
        "上一次预警、本次不再有原因（不在本次预警中）。</p></div>"
    )
    return _card(
        "新增与持续",
        "new vs continuing",
        donut(parts, _n(counts.get("total")), "户 households") + explain,
    )


def section_matching(manifest: Manifest) -> str:
    """Share of each department's records linked (by method), sent to review, or unmatched."""
    table = match_table(manifest)
    series = match_series(table)
    lookup = {(d, s): float(n) for d, s, n in table.iter_rows()}
    departments = [d for d in department_order(manifest) if any(k[0] == d for k in lookup)]
    bars = [
        Bar(
            f"{department_label(manifest, d)} {d}",
            "",
            tuple(lookup.get((d, s.key), 0.0) for s in series),
        )
        for d in departments
    ]
    rows = "".join(_match_row(manifest, d, lookup) for d in departments)
    table_html = (
        '<table class="num"><thead><tr><th>部门 Department</th><th>记录 records</th>'
        "<th>已关联 linked</th><th>待复核 review</th><th>未匹配 unmatched</th>"
        f"<th>关联率 rate</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    return (
        '<section><h2>数据匹配 <em>Record linkage</em></h2><div class="card">'
        "<h3>各部门记录匹配情况（按方式）<em>share of records, by method</em></h3>"
        f"{stacked_hbars(bars, series, percent=True, title='记录匹配', width=FULL_W)}"
        f"{table_html}</div></section>"
    )


def _match_row(manifest: Manifest, department: str, lookup: Mapping[tuple[str, str], float]) -> str:
    mine = {seg: n for (d, seg), n in lookup.items() if d == department}
    total = sum(mine.values())
    review, unmatched = mine.get(REVIEW[0], 0.0), mine.get(UNMATCHED[0], 0.0)
    linked = total - review - unmatched
    return (
        f"<tr><td>{_t(department_label(manifest, department))} <em>{_t(department)}</em></td>"
        f"<td>{total:,.0f}</td><td>{linked:,.0f}</td><td>{review:,.0f}</td>"
        f"<td>{unmatched:,.0f}</td><td><strong>{_pct(linked, total)}</strong></td></tr>"
    )


def section_quality(manifest: Manifest) -> str:
    """Great Expectations results per department, and which extracts were held back and why."""
    validations = _by_department(manifest, "validation")
    departments = _by_department(manifest, "departments")
    rows = "".join(
        _quality_row(manifest, d, validations.get(d), departments.get(d))
        for d in department_order(manifest)
    )
    href = _safe_href(manifest.get("data_docs_path"))
    docs = (
        f'<a class="docs" href="{href}">打开 GX 数据质量文档 Data Docs →</a>'
        if href
        else '<span class="muted">本次未生成 Data Docs</span>'
    )
    body = (
        "<table><thead><tr><th>部门 Department</th><th>状态 Status</th>"
        "<th>期望 Expectations</th><th>未通过项与暂缓原因 Failed / held back</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else '<p class="empty">无校验结果 · no validation results</p>'
    )
    return (
        "<section><h2>数据质量 <em>Data quality (Great Expectations)</em></h2>"
        f'<div class="card">{body}<p class="docs-line">{docs}</p></div></section>'
    )


def _quality_state(
    validation: Mapping[str, Any] | None, department: Mapping[str, Any] | None
) -> tuple[str, str]:
    """(label, css class) of a department's quality verdict."""
    if department is not None and department.get("delivered") is False:
        return "未送达 not delivered", "muted"
    if (department or {}).get("held_back") or (validation or {}).get("held_back"):
        return "暂缓使用 held back", "bad"
    if validation is None:
        return "未校验 not validated", "muted"
    if not validation.get("success"):
        return "有未通过项 failed checks", "warn"
    return "通过 passed", "ok"


def _quality_row(
    manifest: Manifest,
    department: str,
    validation: Mapping[str, Any] | None,
    info: Mapping[str, Any] | None,
) -> str:
    label, css = _quality_state(validation, info)
    stats = (validation or {}).get("statistics")
    stats = stats if isinstance(stats, Mapping) else {}
    passed, failed = _int(stats.get("successful")), _int(stats.get("unsuccessful"))
    evaluated = _int(stats.get("evaluated")) or passed + failed
    counts = (
        f"{meter(passed, failed)}<div>{passed:,} / {evaluated:,} 通过"
        + (f'，<span class="bad-t">{failed:,} 未通过</span>' if failed else "")
        + "</div>"
        if evaluated
        else "—"
    )
    expectations = [
        e for e in _records(validation or {}, "expectations") if e.get("success") is False
    ]
    reasons = (info or {}).get("reasons")
    items = [_expectation_item(e) for e in expectations]
    items += [
        f'<li class="reason">{_t(r)}</li>' for r in reasons or [] if isinstance(reasons, list)
    ]
    detail = f'<ul class="exp">{"".join(items)}</ul>' if items else "—"
    return (
        f"<tr><td>{_t(department_label(manifest, department))} <em>{_t(department)}</em></td>"
        f'<td><span class="pill {css}">{_t(label)}</span></td>'
        f"<td>{counts}</td><td>{detail}</td></tr>"
    )


def _number(value: float) -> str:
    """1,234 or 18.21 (at most two decimals, no trailing zeros)."""
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if math.isfinite(value) else "—"


def _expectation_item(expectation: Mapping[str, Any]) -> str:
    """One failed expectation. Only numeric observations are shown: GX puts sample values
    (partial_unexpected_list, which can hold identity numbers and names) in the same dict."""
    kind = str(expectation.get("type") or "")
    observed = expectation.get("observed")
    numbers = [
        f"{OBSERVED_LABELS.get(str(k), str(k))} {_number(v)}"
        + ("%" if str(k).endswith("percent") else "")
        for k, v in (observed.items() if isinstance(observed, Mapping) else [])
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    severity = str(expectation.get("severity") or "")
    return (
        f"<li><strong>{_t(EXPECTATIONS.get(kind, kind))}</strong> · "
        f"<code>{_t(expectation.get('column'), '表')}</code>"
        + (f' <span class="sev {_t(severity)}">{_t(severity)}</span>' if severity else "")
        + (f'<br><span class="obs">{_t("；".join(numbers))}</span>' if numbers else "")
        + f'<br><span class="gx">{_t(kind, "")}</span></li>'
    )


def section_inputs(manifest: Manifest) -> str:
    """Files received per department and what became of their rows; missing deliveries marked."""
    inputs = _records(manifest, "inputs")
    delivered = {
        str(d.get("department")): d.get("delivered") for d in _records(manifest, "departments")
    }
    rows = []
    for department in department_order(manifest):
        files = [i for i in inputs if str(i.get("department")) == department]
        if not files or delivered.get(department) is False:
            rows.append(_missing_row(manifest, department))
        rows += [_input_row(manifest, f, i == 0, len(files)) for i, f in enumerate(files)]
    totals = [
        sum(_int(i.get(k)) for i in inputs)
        for k in ("rows_read", "rows_loaded", "rows_quarantined")
    ]
    foot = (
        f'<tfoot><tr><td colspan="5">合计 Total（{len(inputs)} 个文件）</td>'
        + "".join(f"<td>{v:,}</td>" for v in totals)
        + "<td></td></tr></tfoot>"
    )
    body = "".join(rows) or '<tr><td colspan="9" class="empty">无输入 · no inputs</td></tr>'
    return (
        '<section><h2>输入文件 <em>Inputs received</em></h2><div class="card">'
        '<table class="inputs"><thead><tr><th>部门 Department</th><th>文件 File</th>'
        "<th>大小 Size</th><th>编码 Encoding</th><th>表头行 Header row</th><th>读取 read</th>"
        "<th>入库 loaded</th><th>隔离 quarantined</th><th>SHA-256</th></tr></thead>"
        f"<tbody>{body}</tbody>{foot}</table>"
        '<p class="note">每个文件：读取行数 = 入库行数 + 隔离行数；不相等时标 ⚠。'
        "隔离明细见 quarantine 表。</p>"
        "</div></section>"
    )


def _missing_row(manifest: Manifest, department: str) -> str:
    """A department with no file tonight; says so when the previous run's extract was reused."""
    reused = bool(_by_department(manifest, "departments").get(department, {}).get("reused"))
    what = "沿用上次已入库数据 · <em>reused</em>" if reused else "该部门文件夹缺失或为空"
    return (
        f'<tr class="missing"><td>{_t(department_label(manifest, department))} '
        f"<em>{_t(department)}</em></td>"
        f'<td colspan="8">今晚未送达 — {what} · <em>not delivered tonight</em></td></tr>'
    )


def _size(num_bytes: object) -> str:
    value = float(_int(num_bytes))
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return ""


def _input_row(manifest: Manifest, item: Mapping[str, Any], first: bool, span: int) -> str:
    department = str(item.get("department"))
    read, loaded, quarantined = (
        _int(item.get(k)) for k in ("rows_read", "rows_loaded", "rows_quarantined")
    )
    unbalanced = (
        ' <span class="bad-t" title="读取 ≠ 入库 + 隔离">⚠</span>'
        if read != loaded + quarantined
        else ""
    )
    error = f'<div class="err">✖ {_t(item.get("error"))}</div>' if item.get("error") else ""
    dept_cell = (
        f'<td rowspan="{span}">{_t(department_label(manifest, department))} '
        f"<em>{_t(department)}</em></td>"
        if first
        else ""
    )
    digest = str(item.get("sha256") or "")[:12]
    row_class = ' class="errrow"' if error else ""
    return (
        f"<tr{row_class}>{dept_cell}"
        f'<td class="file">{_t(item.get("file"))}{error}</td>'
        f"<td>{_size(item.get('bytes'))}</td><td>{_t(item.get('encoding'))}</td>"
        f'<td>{_t(item.get("header_row"))}</td><td class="r">{read:,}</td>'
        f'<td class="r">{loaded:,}</td><td class="r{" q" if quarantined else ""}">'
        f"{quarantined:,}{unbalanced}</td>"
        f'<td><code title="{_t(item.get("sha256"))}">{_t(digest)}</code></td></tr>'
    )


def section_footer(manifest: Manifest) -> str:
    return (
        f"<footer><span>run_id {_t(manifest.get('run_id'))}</span>"
        "<span>本报告仅由运行清单与脱敏预警汇总生成，不含身份证号与姓名。"
        "No identity numbers or names.</span></footer>"
    )


# --- page ------------------------------------------------------------------------------------

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f3f5f8;color:#1f2933;
 font:14px/1.5 "Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px 28px 40px}
em{font-style:normal;color:#7b8794;font-size:.85em;font-weight:400}
h1{margin:0;font-size:26px;letter-spacing:.02em}
h2{font-size:19px;margin:30px 0 12px;padding-left:10px;border-left:4px solid #2b6cb0}
h3{font-size:15px;margin:0 0 10px}
.top{display:flex;justify-content:space-between;align-items:center;gap:20px}
.title .en{margin:2px 0 0;color:#7b8794}
.status{display:flex;flex-direction:column;align-items:flex-end;padding:8px 18px;border-radius:10px}
.status span{font-size:12px;opacity:.8}.status strong{font-size:22px}.status small{opacity:.7}
.status.ok{background:#e3f4e8;color:#1b6b34}.status.warn{background:#fdf1dc;color:#8a5a00}
.status.bad{background:#fde4e1;color:#a4261b}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:1px;margin-top:16px;background:#d9dee5;
 border:1px solid #d9dee5;border-radius:10px;overflow:hidden}
.fact{background:#fff;padding:8px 12px;display:flex;flex-direction:column}
.fk{font-size:12px;color:#52606d}.fv{font-weight:600;font-size:15px;word-break:break-all}
.banner{margin-top:12px;padding:10px 14px;border-radius:8px;border:1px solid}
.banner em{margin-left:6px}
.banner.dev{background:#fff4e5;border-color:#f0b25a;color:#7a4b00}
.banner.bad{background:#fde4e1;border-color:#e58f86;color:#8f1f15}
.banner.warn{background:#fff9db;border-color:#e9cf6a;color:#6b5600}
.kpis{display:grid;grid-template-columns:1.4fr repeat(7,1fr);gap:12px;margin-top:20px}
.tile{background:#fff;border-radius:10px;padding:12px 14px;border-top:4px solid #cbd2d9;
 box-shadow:0 1px 2px rgba(15,23,42,.06);display:flex;flex-direction:column}
.tl{font-size:12.5px;color:#52606d}.tv{font-size:28px;font-weight:700;line-height:1.2;margin-top:4px}
.tile small{color:#7b8794;font-size:12px}
.tile.big{border-top-color:#1f2933}.tile.big .tv{font-size:38px}
.lv-red{border-top-color:#d7301f}.lv-red .tv{color:#c0261a}
.lv-orange{border-top-color:#f28e2b}.lv-orange .tv{color:#c96a0e}
.lv-yellow{border-top-color:#f2c744}.lv-yellow .tv{color:#a07d00}
.st-new{border-top-color:#2b6cb0}.st-new .tv{color:#2b6cb0}.st-cont{border-top-color:#94a3b8}
.st-res{border-top-color:#38a169}.st-res .tv{color:#2f855a}
.link{border-top-color:#1b7837}.link .tv{color:#1b7837}
.card{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 2px rgba(15,23,42,.06)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px;align-items:start}
.explain p{margin:6px 0;color:#3e4c59}
svg.chart{width:100%;height:auto;display:block}
svg.donut{max-width:430px;margin:4px auto 8px}
.chart text{font-family:inherit}
.lg{font-size:12px;fill:#3e4c59}.lgv{font-size:12px;fill:#1f2933;text-anchor:end;font-weight:600}
.gl{stroke:#e4e7eb;stroke-width:1}.tk{font-size:10.5px;fill:#7b8794;text-anchor:middle}
.bl{font-size:13px;fill:#1f2933;text-anchor:end}.bs{font-size:10px;fill:#7b8794;text-anchor:end}
.bt{font-size:12px;fill:#3e4c59;font-weight:600}.sv{font-size:11px;text-anchor:middle}
.zb{fill:#f7f9fb}
.dc{font-size:30px;font-weight:700;text-anchor:middle;fill:#1f2933}
.ds{font-size:12px;text-anchor:middle;fill:#7b8794}
table{width:100%;border-collapse:collapse;margin-top:12px;font-size:13px}
th{text-align:left;font-weight:600;color:#52606d;background:#f5f7fa;padding:7px 8px;
 border-bottom:1px solid #d9dee5}
td{padding:7px 8px;border-bottom:1px solid #edf0f3;vertical-align:top}
table.num td:not(:first-child),table.num th:not(:first-child){text-align:right}
td.r,table.inputs th:nth-child(n+6):nth-child(-n+8){text-align:right}
table.inputs tr:not(.missing) td[rowspan]{background:#fbfcfd;font-weight:600}
tfoot td{font-weight:700;border-top:2px solid #d9dee5;text-align:right}
tfoot td:first-child{text-align:left}
tr.missing td{background:#fff9db;color:#6b5600;font-weight:600}
.err{color:#a4261b;font-size:12px}.q{color:#a05a00;font-weight:600}
.file{word-break:break-all}
code{font-family:"DejaVu Sans Mono",monospace;font-size:12px;color:#52606d}
.pill{display:inline-block;padding:2px 10px;border-radius:999px;font-size:12.5px;font-weight:600;
 white-space:nowrap}
.pill.ok{background:#e3f4e8;color:#1b6b34}.pill.warn{background:#fdf1dc;color:#8a5a00}
.pill.bad{background:#fde4e1;color:#a4261b}.pill.muted{background:#eef1f4;color:#616e7c}
.bad-t{color:#a4261b;font-weight:600}
.meter{display:block;margin:4px 0 3px}
ul.exp{margin:0;padding-left:18px}ul.exp li{margin-bottom:5px}
li.reason{color:#a4261b;font-weight:600}
.sev{font-size:11px;padding:0 6px;border-radius:4px;background:#eef1f4}
.sev.critical{background:#fde4e1;color:#a4261b}.sev.warning{background:#fdf1dc;color:#8a5a00}
.obs{color:#3e4c59;font-size:12px}.gx{color:#9aa5b1;font-size:11px}
.note{color:#7b8794;font-size:12px;margin:8px 0 0}
.empty{color:#7b8794;text-align:center;padding:24px 0}
.muted{color:#7b8794}
.docs-line{margin:14px 0 0}
a.docs{display:inline-block;padding:7px 14px;border-radius:6px;background:#2b6cb0;color:#fff;
 text-decoration:none;font-weight:600}
footer{margin-top:30px;color:#7b8794;font-size:12px;display:flex;justify-content:space-between;gap:20px}
@media print{body{background:#fff}.card,.tile{box-shadow:none;border:1px solid #d9dee5}}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def build_html(manifest: Manifest, warnings: pl.DataFrame) -> str:
    """The whole page as one string (pure: no IO), so it can be tested without a browser."""
    frame = conform_warnings(warnings)
    body = "".join(
        [
            section_header(manifest),
            section_kpis(manifest, frame),
            section_warnings(manifest, frame),
            section_matching(manifest),
            section_quality(manifest),
            section_inputs(manifest),
            section_footer(manifest),
        ]
    )
    title = f"返贫监测运行报告 {manifest.get('run_date') or ''}".strip()
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_t(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def render_report(manifest: dict[str, Any], warnings: pl.DataFrame, out_path: Path) -> Path:
    """Write the run report to `out_path` (atomically: a reader never sees half a page)."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    tmp.write_text(build_html(manifest, warnings), encoding="utf-8")
    os.replace(tmp, out_path)
    return out_path


def read_warnings(path: Path) -> pl.DataFrame:
    """The warnings frame from Parquet, or from NDJSON (the readable form test fixtures use)."""
    if path.suffix in {".ndjson", ".jsonl"}:
        return pl.read_ndjson(path)
    return pl.read_parquet(path)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fanpin.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--manifest", type=Path, required=True, help="manifest JSON of the run")
    parser.add_argument(
        "--warnings", type=Path, required=True, help="masked warnings (.parquet/.ndjson)"
    )
    parser.add_argument("--out", type=Path, required=True, help="HTML file to write")
    args = parser.parse_args(list(argv) if argv is not None else None)
    manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
    written = render_report(manifest, read_warnings(args.warnings), args.out)
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
