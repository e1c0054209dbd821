"""Clean department records: who each record is about (`owner`), and what it says.

Background records are drawn at the volumes of `VolumeParams` (a third about roster people);
planted records (column `planted`, the scenario name) make sure every reason code of the
policy occurs, with its edge cases (a settlement on the first day outside the window, a
renovated house, a cancelled certificate). Amounts are integer cents so the truth is exact.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from fanpin.generator import vocab
from fanpin.generator.params import GeneratorParams
from fanpin.generator.population import Population

I64 = npt.NDArray[np.int64]
VISITS = ["门诊", "住院", "门诊慢特病"]
EVENTS = ["住院", "重大疾病", "慢性病", "死亡"]
GRADES = ["A", "B", "C", "D"]


def window_start(run_date: date, months: int) -> date:
    """First day NOT in the window: the window is (run_date - months, run_date]."""
    first_out: date = pl.select(pl.lit(run_date).dt.offset_by(f"-{months}mo")).item()
    return first_out


def _days_back(rng: np.random.Generator, run_date: date, low: int, high: int, n: int) -> pl.Series:
    """n dates between `high` and `low` days before the run date (inclusive)."""
    back = rng.integers(low, high + 1, n).astype("timedelta64[D]")
    return pl.Series(np.datetime64(run_date) - back).cast(pl.Date)


def _owners(
    rng: np.random.Generator,
    n: int,
    pop: Population,
    roster_share: float,
    heads_only: bool = False,
    replace: bool = True,
) -> I64:
    """Record owners: a `roster_share` of roster people (heads only if asked), then outsiders."""
    people = pop.people
    roster_pool = np.arange(pop.n_roster)
    if heads_only:
        roster_pool = people["head"].unique().drop_nulls().sort().to_numpy()
    outside_pool = np.arange(pop.n_roster, people.height)
    n_in = int(round(n * roster_share))
    pick_in = rng.choice(roster_pool, size=n_in, replace=replace or n_in > len(roster_pool))
    n_out = n - n_in
    pick_out = rng.choice(outside_pool, size=n_out, replace=replace or n_out > len(outside_pool))
    owners: I64 = np.concatenate([pick_in, pick_out]).astype(np.int64)
    return owners


def _costs(rng: np.random.Generator, visit: I64) -> tuple[I64, I64, I64]:
    """(total, fund, out-of-pocket) in cents; fund + out-of-pocket <= total."""
    n = len(visit)
    median = np.choose(visit, [150.0, 8000.0, 800.0])
    sigma = np.choose(visit, [0.8, 0.8, 0.7])
    total = np.clip(np.exp(np.log(median) + sigma * rng.standard_normal(n)), 5.0, 300000.0)
    share = np.choose(
        visit, [rng.uniform(0, 0.5, n), rng.uniform(0.5, 0.85, n), rng.uniform(0.5, 0.8, n)]
    )
    total_c = np.round(total * 100).astype(np.int64)
    fund_c = np.floor(total_c * share).astype(np.int64)
    assist = np.where(visit == 1, rng.uniform(0, 0.3, n), 0.0)
    oop_c = total_c - fund_c - np.floor((total_c - fund_c) * assist).astype(np.int64)
    return total_c, fund_c, oop_c


def _medical_frame(
    owner: I64,
    settled: pl.Series,
    visit: I64,
    costs: tuple[I64, I64, I64],
    rng: np.random.Generator,
    planted: str | None,
) -> pl.DataFrame:
    total, fund, oop = costs
    return pl.DataFrame(
        {
            "owner": owner,
            "settled_on": settled,
            "visit_type": pl.Series(VISITS).gather(visit),
            "total_cents": total,
            "fund_cents": fund,
            "oop_cents": oop,
            "institution": pl.Series(vocab.HOSPITALS).gather(
                rng.integers(0, len(vocab.HOSPITALS), len(owner))
            ),
            "planted": pl.Series([planted] * len(owner), dtype=pl.Utf8),
        }
    )


def _chosen_members(rng: np.random.Generator, pop: Population, share: float) -> I64:
    """One random member of each of a random `share` of the roster households."""
    hh = pop.households
    chosen = rng.random(hh.height) < share
    start = hh["start"].to_numpy()[chosen]
    size = hh["n_members"].to_numpy()[chosen]
    members: I64 = (start + np.floor(rng.random(len(start)) * size)).astype(np.int64)
    return members


def medical(
    rng: np.random.Generator, pop: Population, run_date: date, params: GeneratorParams
) -> pl.DataFrame:
    """医保 settlements: background plus planted inpatient pairs and heavy burdens."""
    vol = params.volume
    n = int(round(vol.medical_per_person * pop.n_roster))
    owner = _owners(rng, n, pop, vol.roster_share)
    visit = rng.choice(3, size=n, p=[0.75, 0.1, 0.15]).astype(np.int64)
    background = _medical_frame(
        owner,
        _days_back(rng, run_date, 0, vol.history_days, n),
        visit,
        _costs(rng, visit),
        rng,
        None,
    )
    ill = _chosen_members(rng, pop, params.plant.severe_illness / 2)
    pair = np.repeat(ill, 2)
    inpatient = np.ones(len(pair), dtype=np.int64)
    pairs = _medical_frame(
        pair,
        _days_back(rng, run_date, 0, 360, len(pair)),
        inpatient,
        _costs(rng, inpatient),
        rng,
        "severe_illness",
    )
    heavy = _chosen_members(rng, pop, params.plant.medical_burden)
    oop = rng.integers(800_000, 1_500_000, len(heavy)).astype(np.int64)
    fund = rng.integers(1_000_000, 4_000_000, len(heavy)).astype(np.int64)
    burden = _medical_frame(
        heavy,
        _days_back(rng, run_date, 0, 360, len(heavy)),
        np.ones(len(heavy), dtype=np.int64),
        (oop + fund, fund, oop),
        rng,
        "medical_burden",
    )
    edge = _chosen_members(rng, pop, params.plant.medical_burden / 3)
    first_out = window_start(run_date, params.policy.window_months)
    oop_e = np.full(len(edge), 900_000, dtype=np.int64)
    outside = _medical_frame(
        edge,
        pl.Series([first_out] * len(edge), dtype=pl.Date),
        np.ones(len(edge), dtype=np.int64),
        (oop_e * 2, oop_e, oop_e),
        rng,
        "window_edge",
    )
    return pl.concat([background, pairs, burden, outside])


def _health_frame(
    owner: I64, when: pl.Series, event: I64, rng: np.random.Generator, planted: str | None
) -> pl.DataFrame:
    codes = pl.DataFrame(
        [(e, c, d) for e in range(len(EVENTS)) for c, d in vocab.ICD[EVENTS[e]]],
        schema=["e", "diagnosis_code", "diagnosis"],
        orient="row",
    ).with_columns(k=pl.int_range(pl.len()).over("e"))
    counts = {e: len(vocab.ICD[EVENTS[e]]) for e in range(len(EVENTS))}
    frame = pl.DataFrame(
        {"owner": owner, "event_date": when, "e": event, "u": rng.random(len(owner))}
    )
    frame = frame.with_columns(
        k=(pl.col("u") * pl.col("e").replace_strict(counts, return_dtype=pl.Int64))
        .floor()
        .cast(pl.Int64)
    )
    frame = frame.join(codes, on=["e", "k"], how="left", maintain_order="left")
    return frame.select(
        "owner",
        "event_date",
        event_type=pl.Series(EVENTS).gather(frame["e"]),
        diagnosis_code="diagnosis_code",
        diagnosis="diagnosis",
        institution=pl.Series(vocab.HOSPITALS).gather(
            rng.integers(0, len(vocab.HOSPITALS), len(owner))
        ),
        planted=pl.Series([planted] * len(owner), dtype=pl.Utf8),
    )


def health(
    rng: np.random.Generator, pop: Population, run_date: date, params: GeneratorParams
) -> pl.DataFrame:
    """卫健 events: background plus planted deaths and major diseases."""
    vol = params.volume
    n = int(round(vol.health_per_person * pop.n_roster))
    owner = _owners(rng, n, pop, vol.roster_share)
    event = rng.choice(4, size=n, p=[0.55, 0.1, 0.33, 0.02]).astype(np.int64)
    background = _health_frame(
        owner, _days_back(rng, run_date, 0, vol.history_days, n), event, rng, None
    )
    dead = _chosen_members(rng, pop, params.plant.deceased)
    deaths = _health_frame(
        dead,
        _days_back(rng, run_date, 0, 700, len(dead)),
        np.full(len(dead), 3, dtype=np.int64),
        rng,
        "deceased",
    )
    ill = _chosen_members(rng, pop, params.plant.severe_illness / 2)
    major = _health_frame(
        ill,
        _days_back(rng, run_date, 0, 360, len(ill)),
        np.full(len(ill), 1, dtype=np.int64),
        rng,
        "severe_illness",
    )
    return pl.concat([background, deaths, major])


def _address(pop: Population, owner: I64, rng: np.random.Generator) -> pl.Series:
    """Address of the owner's home: county name, town, village, group and house number."""
    names = {c: v[0] for c, v in vocab.COUNTIES.items()}
    homes = pop.people[owner].select("county_code", "town", "village")
    group = pl.Series(rng.integers(1, 12, len(owner))).cast(pl.Utf8)
    number = pl.Series(rng.integers(1, 200, len(owner))).cast(pl.Utf8)
    return homes.select(
        pl.col("county_code").replace_strict(names, default="")
        + pl.col("town")
        + pl.col("village")
        + group
        + "组"
        + number
        + "号"
    ).to_series()


def _housing_frame(
    pop: Population,
    owner: I64,
    when: pl.Series,
    grade: I64,
    rng: np.random.Generator,
    planted: str | None,
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "owner": owner,
            "appraised_on": when,
            "safety_grade": pl.Series(GRADES).gather(grade),
            "address": _address(pop, owner, rng),
            "planted": pl.Series([planted] * len(owner), dtype=pl.Utf8),
        }
    )


def housing(
    rng: np.random.Generator, pop: Population, run_date: date, params: GeneratorParams
) -> pl.DataFrame:
    """住建 appraisals (of household heads): background, unsafe, same-day ties, renovated."""
    vol = params.volume
    n = int(round(vol.housing_per_person * pop.n_roster))
    owner = _owners(rng, n, pop, vol.roster_share, heads_only=True)
    grade = rng.choice(4, size=n, p=[0.55, 0.33, 0.09, 0.03]).astype(np.int64)
    frames = [
        _housing_frame(pop, owner, _days_back(rng, run_date, 0, 3 * 365, n), grade, rng, None)
    ]
    heads = pop.households["start"].to_numpy()
    unsafe = heads[rng.random(len(heads)) < params.plant.unsafe_housing]
    when = _days_back(rng, run_date, 0, 700, len(unsafe))
    frames.append(
        _housing_frame(pop, unsafe, when, rng.integers(2, 4, len(unsafe)), rng, "unsafe_housing")
    )
    tie = unsafe[: len(unsafe) // 3]  # a B on the same latest day: the worst grade counts
    frames.append(
        _housing_frame(
            pop, tie, when[: len(tie)], np.ones(len(tie), dtype=np.int64), rng, "unsafe_housing_tie"
        )
    )
    fixed = heads[rng.random(len(heads)) < params.plant.renovated]
    frames.append(
        _housing_frame(
            pop,
            fixed,
            _days_back(rng, run_date, 800, 1000, len(fixed)),
            np.full(len(fixed), 3, dtype=np.int64),
            rng,
            "renovated",
        )
    )
    frames.append(
        _housing_frame(
            pop,
            fixed,
            _days_back(rng, run_date, 30, 200, len(fixed)),
            np.zeros(len(fixed), dtype=np.int64),
            rng,
            "renovated",
        )
    )
    return pl.concat(frames)


def _disability_frame(
    owner: I64,
    kind: I64,
    grade: I64,
    when: pl.Series,
    valid: npt.NDArray[np.bool_],
    planted: str | None,
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "owner": owner,
            "type_digit": kind.astype(np.int8),
            "grade": grade.astype(np.int8),
            "disability_type": pl.Series(vocab.DISABILITY_TYPES).gather(kind - 1),
            "issued_on": when,
            "status": pl.Series(np.where(valid, "有效", "注销"), dtype=pl.Utf8),
            "planted": pl.Series([planted] * len(owner), dtype=pl.Utf8),
        }
    )


def disability(
    rng: np.random.Generator, pop: Population, run_date: date, params: GeneratorParams
) -> pl.DataFrame:
    """残联 certificates: one per person in the background, plus planted severe ones."""
    vol = params.volume
    n = int(round(vol.disability_per_person * pop.n_roster))
    owner = _owners(rng, n, pop, vol.roster_share, replace=False)
    kind = rng.choice(7, size=n, p=[0.12, 0.18, 0.03, 0.4, 0.1, 0.12, 0.05]) + 1
    grade = rng.choice(4, size=n, p=[0.1, 0.2, 0.3, 0.4]) + 1
    frames = [
        _disability_frame(
            owner, kind, grade, _days_back(rng, run_date, 30, 3650, n), rng.random(n) < 0.9, None
        )
    ]
    severe = _chosen_members(rng, pop, params.plant.severe_disability)
    k = len(severe)
    mental = rng.random(k) < 0.4
    kind_s = np.where(mental, rng.integers(5, 7, k), rng.integers(1, 8, k))
    grade_s = np.where(mental, rng.integers(3, 5, k), rng.integers(1, 3, k))
    frames.append(
        _disability_frame(
            severe,
            kind_s,
            grade_s,
            _days_back(rng, run_date, 30, 2000, k),
            rng.random(k) < 0.85,
            "severe_disability",
        )
    )
    return pl.concat(frames)


def subsidies(
    rng: np.random.Generator, pop: Population, disability: pl.DataFrame, params: GeneratorParams
) -> pl.DataFrame:
    """The roster's two subsidy columns (是/否/blank), mostly paid where due, sometimes not.

    One row per roster person (in person order): living_subsidy, nursing_subsidy.
    """
    valid = disability.filter((pl.col("status") == "有效") & (pl.col("owner") < pop.n_roster))
    mental = pl.col("grade").is_in([3, 4]) & pl.col("type_digit").is_in([5, 6])
    due = (pl.col("grade") <= 2) | (
        mental if params.policy.nursing_grade34_mental else pl.lit(False)
    )
    holders = valid.group_by("owner").agg(nursing_due=due.any())
    n = pop.n_roster
    frame = pl.DataFrame(
        {"person": np.arange(n, dtype=np.int64), "u": rng.random(n), "v": rng.random(n)}
    ).join(holders, left_on="person", right_on="owner", how="left", maintain_order="left")
    yes = pl.lit("是")
    no = pl.lit("否")
    blank = pl.lit(None, dtype=pl.Utf8)
    u = pl.col("u")
    v = pl.col("v")
    holder = pl.col("nursing_due").is_not_null()
    living = (
        pl.when(holder & (u < 0.75))
        .then(yes)
        .when(holder & (u < 0.85))
        .then(no)
        .when(holder)
        .then(blank)
        .when(u < 0.1)
        .then(no)
        .otherwise(blank)
    )
    nursing = (
        pl.when(pl.col("nursing_due") & (v < 0.7))
        .then(yes)
        .when(pl.col("nursing_due") & (v < 0.85))
        .then(no)
        .when(v < 0.12)
        .then(no)
        .otherwise(blank)
    )
    return frame.select(living_subsidy=living, nursing_subsidy=nursing)
