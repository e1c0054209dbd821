"""Benchmark: score_households on a synthetic province-sized roster with linked records.

`run(people=1_000_000)` builds a roster of about `people` persons (households of 1..6), department
records in the proportions below, links (95% linked), and times `score_households` with the sample
profile. Target: under 60 s for 1M roster people on the 2-core reference machine.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fanpin.policy import load_profile
from transforms.scoring import score_households

POLICIES = Path(__file__).resolve().parents[1] / "policies"
RUN_DATE = date(2022, 6, 30)
# records per roster person
SHARES = {"health": 0.10, "medical": 1.5, "housing": 0.35, "disability": 0.08}
COUNTIES = ["500110", "510402", "510411", "510421"]
CATEGORIES = ["低保", "特困", "低保边缘", "易返贫致贫", "支出型困难"]
RELATIONS = ["配偶", "子女", "父母", "孙子女"]


def _dates(rng: np.random.Generator, n: int, start: date, end: date) -> pl.Series:
    days = rng.integers(0, (end - start).days + 1, n)
    return pl.Series(np.datetime64(start) + days.astype("timedelta64[D]")).cast(pl.Date)


def _pick(rng: np.random.Generator, values: list[str], n: int) -> pl.Series:
    return pl.Series(
        np.asarray(values, dtype=object)[rng.integers(0, len(values), n)], dtype=pl.Utf8
    )


def _flags(rng: np.random.Generator, n: int) -> pl.Series:
    """是 / 否 / blank in equal parts (blank = not receiving)."""
    v = rng.integers(0, 3, n)
    return pl.Series(v == 0).set(pl.Series(v == 2), None)


def synthetic_roster(people: int, rng: np.random.Generator) -> pl.DataFrame:
    sizes = rng.integers(1, 7, people // 3 + 1)
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), people)) + 1]
    hh = np.repeat(np.arange(len(sizes)), sizes)[:people]
    first = np.r_[True, hh[1:] != hh[:-1]]
    n_hh = int(hh.max()) + 1
    hh_cols = pl.DataFrame(
        {
            "_hh": np.arange(n_hh),
            "county_code": _pick(rng, COUNTIES, n_hh),
            "area_type": _pick(rng, ["城市", "农村"], n_hh),
            "category": _pick(rng, CATEGORIES, n_hh),
            "household_size": sizes.astype(np.int64),
            "monthly_income_per_capita": rng.gamma(4.0, 160.0, n_hh).round(2),
            "enrolled_on": _dates(rng, n_hh, date(2015, 1, 1), date(2022, 1, 1)),
        }
    )
    idx = pl.Series(np.arange(people))
    roster = pl.DataFrame({"_hh": hh}).with_columns(
        pl.format("HH{}", pl.col("_hh").cast(pl.Utf8).str.zfill(7)).alias("household_id"),
        pl.format("P{}", idx.cast(pl.Utf8).str.zfill(8)).alias("person_ref"),
        pl.format("K{}", idx.cast(pl.Utf8).str.zfill(8)).alias("person_key"),
        pl.when(pl.Series(first))
        .then(pl.lit("户主"))
        .otherwise(_pick(rng, RELATIONS, people))
        .alias("relation"),
        _dates(rng, people, date(1935, 1, 1), date(2021, 12, 31)).alias("id_birth"),
        pl.lit("某镇").alias("town"),
        pl.lit("某村").alias("village"),
        _flags(rng, people).alias("living_subsidy"),
        _flags(rng, people).alias("nursing_subsidy"),
    )
    return roster.join(hh_cols, on="_hh", how="left").drop("_hh")


def synthetic_records(people: int, rng: np.random.Generator) -> dict[str, pl.DataFrame]:
    n = {d: int(people * s) for d, s in SHARES.items()}
    start, end = date(2020, 1, 1), date(2022, 12, 31)
    return {
        "health": pl.DataFrame(
            {
                "event_type": _pick(
                    rng, ["住院", "重大疾病", "慢性病", "死亡", "住院", "慢性病"], n["health"]
                ),
                "event_date": _dates(rng, n["health"], start, end),
            }
        ),
        "medical": pl.DataFrame(
            {
                "settled_on": _dates(rng, n["medical"], start, end),
                "visit_type": _pick(rng, ["住院", "门诊", "门诊", "门诊慢特病"], n["medical"]),
                "total_cost": rng.gamma(1.2, 3000.0, n["medical"]).round(2),
                "out_of_pocket": rng.gamma(1.2, 1200.0, n["medical"]).round(2),
            }
        ),
        "housing": pl.DataFrame(
            {
                "appraised_on": _dates(rng, n["housing"], start, end),
                "safety_grade": _pick(rng, ["A", "A", "B", "B", "C", "D"], n["housing"]),
            }
        ),
        "disability": pl.DataFrame(
            {
                "disability_type": _pick(
                    rng, ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"], n["disability"]
                ),
                "disability_grade": pl.Series(rng.integers(1, 5, n["disability"]), dtype=pl.Int8),
                "issued_on": _dates(rng, n["disability"], date(2010, 1, 1), end),
                "status": _pick(rng, ["有效"] * 9 + ["注销"], n["disability"]),
            }
        ),
    }


def synthetic_links(
    people: int, records: dict[str, pl.DataFrame], rng: np.random.Generator
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    out, links = {}, []
    for dept, frame in records.items():
        k = frame.height
        ids = pl.format(f"{dept[:2].upper()}{{}}", pl.Series(np.arange(k)).cast(pl.Utf8))
        out[dept] = frame.with_columns(ids.alias("record_id"))
        linked = rng.random(k) < 0.95
        links.append(
            pl.DataFrame(
                {
                    "department": [dept] * k,
                    "record_id": out[dept]["record_id"],
                    "person_ref": pl.Series(rng.integers(0, people, k)).cast(pl.Utf8).str.zfill(8),
                    "match_status": np.where(linked, "linked", "unmatched"),
                }
            ).with_columns(
                pl.when(pl.col("match_status") == "linked")
                .then(pl.concat_str(pl.lit("P"), pl.col("person_ref")))
                .alias("person_ref")
            )
        )
    return out, pl.concat(links)


def run(people: int = 1_000_000, seed: int = 20221, repeats: int = 1) -> dict[str, Any]:
    """Build the synthetic inputs, then time score_households (best of `repeats`)."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    roster = synthetic_roster(people, rng)
    records, links = synthetic_links(people, synthetic_records(people, rng), rng)
    build_s = time.perf_counter() - t0
    profile = load_profile("sample", POLICIES)
    timings = []
    for _ in range(repeats):
        t1 = time.perf_counter()
        warnings = score_households(roster, records, links, profile, RUN_DATE)
        timings.append(time.perf_counter() - t1)
    levels = dict(warnings.group_by("risk_level").len().iter_rows())
    return {
        "people": roster.height,
        "households": roster["household_id"].n_unique(),
        "records": {d: f.height for d, f in records.items()},
        "build_s": round(build_s, 2),
        "score_s": round(min(timings), 2),
        "warnings": warnings.height,
        "levels": levels,
        "reasons": int(warnings["reasons"].list.len().sum()),
        "target_s": 60,
    }


if __name__ == "__main__":
    import sys

    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
