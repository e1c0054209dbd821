"""Writing the generated world to an inbox the way the departments deliver it, and the truth.

`realistic` reproduces what arrives on a county data officer's desk (xlsx with title rows and
Chinese headers, GB18030 CSV, BOM CSV split by month with "1,234.50元" and four date styles,
a CSV with a 合计 footer). `fast` writes plain UTF-8 CSV with canonical headers for benchmarks.
Every choice is drawn from the seed, so the same dataset always gives the same bytes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
import xlsxwriter

from fanpin.generator import vocab
from fanpin.generator.dataset import DEPARTMENTS, Dataset
from fanpin.generator.rng import stream

Formats = Literal["realistic", "fast"]
ALL = ["roster", *DEPARTMENTS]

ROSTER_HEADERS = {
    "household_id": "户编号",
    "name": "姓名",
    "id_number": "身份证号码",
    "relation": "与户主关系",
    "county_code": "行政区划代码",
    "town": "乡镇（街道）",
    "village": "村（社区）",
    "category": "救助类别",
    "area_type": "城乡类别",
    "household_size": "家庭人口数",
    "monthly_income_per_capita": "家庭人均月收入",
    "enrolled_on": "纳入时间",
    "living_subsidy": "困难残疾人生活补贴",
    "nursing_subsidy": "重度残疾人护理补贴",
}
HEALTH_HEADERS = {
    "record_id": "记录编号",
    "name": "姓名",
    "id_number": "身份证号",
    "event_type": "事件类型",
    "event_date": "发生日期",
    "diagnosis_code": "诊断编码",
    "diagnosis": "诊断名称",
    "institution": "医疗机构",
}
MEDICAL_HEADERS = {
    "record_id": "结算流水号",
    "name": "姓名",
    "id_number": "身份证号码",
    "settled_on": "结算日期",
    "visit_type": "就诊类型",
    "total_cost": "医疗总费用",
    "fund_paid": "统筹基金支付",
    "out_of_pocket": "个人负担",
    "institution": "定点医疗机构",
}
HOUSING_HEADERS = {
    "record_id": "鉴定编号",
    "name": "户主姓名",
    "id_number": "户主身份证号",
    "appraised_on": "鉴定日期",
    "safety_grade": "鉴定等级",
    "address": "房屋地址",
}
HEADERS = {
    "roster": ROSTER_HEADERS,
    "health": HEALTH_HEADERS,
    "medical": MEDICAL_HEADERS,
    "housing": HOUSING_HEADERS,
}


def _fresh_dir(path: Path) -> Path:
    """The department folder, emptied of earlier generated files."""
    path.mkdir(parents=True, exist_ok=True)
    for old in [*path.glob("*.csv"), *path.glob("*.xlsx")]:
        old.unlink()
    return path


def _pick(rng: np.random.Generator, n: int, p: float) -> pl.Series:
    return pl.Series(rng.random(n) < p)


def _write_xlsx(path: Path, title: str, frame: pl.DataFrame, created: datetime) -> None:
    """One sheet: a merged title row, the header row, then the data (dates as date cells)."""
    workbook = xlsxwriter.Workbook(str(path))
    workbook.set_properties({"created": created, "author": "fanpin generator"})
    sheet = workbook.add_worksheet("Sheet1")
    bold = workbook.add_format({"bold": True, "align": "center", "font_size": 14})
    date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.merge_range(0, 0, 0, max(frame.width - 1, 1), title, bold)
    sheet.write_row(1, 0, frame.columns)
    for c, name in enumerate(frame.columns):
        is_date = frame.schema[name] == pl.Date
        values: list[Any] = frame[name].to_list()
        sheet.write_column(2, c, values, date_fmt if is_date else None)
        sheet.set_column(c, c, 20 if is_date or frame.schema[name] == pl.Utf8 else 12)
    workbook.close()


def _roster_realistic(ds: Dataset, folder: Path) -> None:
    """One xlsx per county; 攀枝花 counties write 特困 as 特困供养, 米易 writes 户主 as 本人."""
    created = datetime(ds.run_date.year, ds.run_date.month, ds.run_date.day)
    roster = ds.roster.with_columns(
        category=pl.when(
            pl.col("county_code").is_in(["510411", "510421"]) & (pl.col("category") == "特困")
        )
        .then(pl.lit("特困供养"))
        .otherwise(pl.col("category")),
        relation=pl.when((pl.col("county_code") == "510421") & (pl.col("relation") == "户主"))
        .then(pl.lit("本人"))
        .otherwise(pl.col("relation")),
    )
    for code, (county, _, _) in vocab.COUNTIES.items():
        part = roster.filter(pl.col("county_code") == code)
        if part.height == 0:
            continue
        part = part.with_row_index("序号", offset=1).rename(ROSTER_HEADERS)
        title = f"{county}{ds.run_date.year}年低收入人口名册"
        _write_xlsx(folder / f"{county}低收入人口名册.xlsx", title, part, created)


def _slash_date(col: str) -> pl.Expr:
    d = pl.col(col)
    return pl.format("{}/{}/{}", d.dt.year(), d.dt.month(), d.dt.day())


def _mixed_dates(col: str, choice: pl.Series) -> pl.Expr:
    """2021-06-29, 2021/6/29, 20210629 or 2021年6月29日, by the row's choice (0..3)."""
    d = pl.col(col)
    return (
        pl.when(choice == 0)
        .then(d.dt.to_string("%Y-%m-%d"))
        .when(choice == 1)
        .then(_slash_date(col))
        .when(choice == 2)
        .then(d.dt.to_string("%Y%m%d"))
        .otherwise(pl.format("{}年{}月{}日", d.dt.year(), d.dt.month(), d.dt.day()))
    )


def _amount(col: str, separated: pl.Series) -> pl.Expr:
    """Yuan with two decimals; where `separated`, with thousands separators and a trailing 元."""
    cents = (pl.col(col) * 100).round(0).cast(pl.Int64)
    yuan = cents // 100
    frac = (cents % 100).cast(pl.Utf8).str.zfill(2)
    low = (yuan % 1000).cast(pl.Utf8).str.zfill(3)
    mid = ((yuan // 1000) % 1000).cast(pl.Utf8).str.zfill(3)
    grouped = (
        pl.when(yuan >= 1_000_000)
        .then(pl.format("{},{},{}", yuan // 1_000_000, mid, low))
        .when(yuan >= 1000)
        .then(pl.format("{},{}", yuan // 1000, low))
        .otherwise(yuan.cast(pl.Utf8))
    )
    return (
        pl.when(separated)
        .then(pl.format("{}.{}元", grouped, frac))
        .otherwise(pl.format("{}.{}", yuan, frac))
    )


def _health_realistic(ds: Dataset, folder: Path, rng: np.random.Generator) -> None:
    """GB18030 CSV, Chinese headers, 2021/6/29 dates, 重大疾病 sometimes written 大病."""
    n = ds.health.height
    frame = ds.health.with_columns(
        event_date=_slash_date("event_date"),
        event_type=pl.when(_pick(rng, n, 0.2) & (pl.col("event_type") == "重大疾病"))
        .then(pl.lit("大病"))
        .otherwise(pl.col("event_type")),
    ).rename(HEALTH_HEADERS)
    (folder / "卫健事件登记.csv").write_bytes(frame.write_csv().encode("gb18030"))


def _medical_realistic(ds: Dataset, folder: Path, rng: np.random.Generator) -> None:
    """Monthly UTF-8-with-BOM CSV files; mixed dates and amount styles; 普通门诊 sometimes."""
    n = ds.medical.height
    style = pl.Series(rng.integers(0, 4, n))
    sep = _pick(rng, n, 0.6)
    frame = ds.medical.with_columns(
        month=pl.col("settled_on").dt.strftime("%Y%m"),
        settled_on=_mixed_dates("settled_on", style),
        total_cost=_amount("total_cost", sep),
        fund_paid=_amount("fund_paid", sep),
        out_of_pocket=_amount("out_of_pocket", sep),
        visit_type=pl.when(_pick(rng, n, 0.3) & (pl.col("visit_type") == "门诊"))
        .then(pl.lit("普通门诊"))
        .otherwise(pl.col("visit_type")),
    )
    for (month,), part in frame.partition_by("month", as_dict=True, maintain_order=True).items():
        body = part.drop("month").rename(MEDICAL_HEADERS).write_csv()
        (folder / f"医保结算_{month}.csv").write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))


def _housing_realistic(ds: Dataset, folder: Path, rng: np.random.Generator) -> None:
    """xlsx with a title row; grades written A级, C级危房 or a bare letter."""
    n = ds.housing.height
    g = pl.col("safety_grade")
    written = (
        pl.when(_pick(rng, n, 0.2))
        .then(g)
        .when(g.is_in(["C", "D"]) & _pick(rng, n, 0.6))
        .then(g + "级危房")
        .otherwise(g + "级")
    )
    frame = ds.housing.with_columns(safety_grade=written).rename(HOUSING_HEADERS)
    created = datetime(ds.run_date.year, ds.run_date.month, ds.run_date.day)
    _write_xlsx(
        folder / "农村住房安全鉴定台账.xlsx",
        f"{ds.run_date.year}年农村住房安全性鉴定台账",
        frame,
        created,
    )


def _disability_realistic(ds: Dataset, folder: Path, rng: np.random.Generator) -> None:
    """UTF-8 CSV with canonical English headers, 一级..四级 grades, a 合计 footer row."""
    n = ds.disability.height
    grades = pl.Series(vocab.CN_GRADES)
    frame = ds.disability.with_columns(
        disability_grade=grades.gather(ds.disability["disability_grade"].cast(pl.Int64) - 1),
        disability_type=pl.when(_pick(rng, n, 0.5))
        .then(pl.col("disability_type") + "残疾")
        .otherwise(pl.col("disability_type")),
        issued_on=pl.col("issued_on").dt.to_string("%Y-%m-%d"),
    )
    footer = pl.DataFrame({"record_id": ["合计"], "name": [f"共{n}人"]})
    frame = pl.concat([frame, footer], how="diagonal")
    (folder / "残疾人证信息.csv").write_text(frame.write_csv(), encoding="utf-8")


def _fast(ds: Dataset, root: Path) -> None:
    """Plain UTF-8 CSV per department, canonical headers, ISO dates."""
    for name in ALL:
        folder = _fresh_dir(root / name)
        ds.department(name).write_csv(folder / f"{name}.csv", float_precision=2)


def write_inbox(ds: Dataset, out_dir: str | Path, formats: Formats = "realistic") -> list[Path]:
    """Write the five department folders under `out_dir`; return the files written."""
    root = Path(out_dir)
    if formats == "fast":
        _fast(ds, root)
    elif formats == "realistic":
        _roster_realistic(ds, _fresh_dir(root / "roster"))
        _health_realistic(ds, _fresh_dir(root / "health"), stream(ds.seed, "files:health"))
        _medical_realistic(ds, _fresh_dir(root / "medical"), stream(ds.seed, "files:medical"))
        _housing_realistic(ds, _fresh_dir(root / "housing"), stream(ds.seed, "files:housing"))
        _disability_realistic(
            ds, _fresh_dir(root / "disability"), stream(ds.seed, "files:disability")
        )
    else:
        raise ValueError(f"unknown formats: {formats!r}")
    return sorted(p for name in ALL for p in (root / name).iterdir() if p.is_file())


def write_truth(ds: Dataset, truth_dir: str | Path) -> list[Path]:
    """truth/links.parquet and truth/reasons.parquet (zstd)."""
    root = Path(truth_dir)
    root.mkdir(parents=True, exist_ok=True)
    paths = [root / "links.parquet", root / "reasons.parquet"]
    ds.links.write_parquet(paths[0], compression="zstd")
    ds.reasons.write_parquet(paths[1], compression="zstd")
    return paths
