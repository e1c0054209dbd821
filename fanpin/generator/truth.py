"""What SHOULD fire: the policy reason codes computed from the clean truth.

The rules read who each record is really about (`owner`), never the noisy identity columns,
so a perfect linker plus a correct rule engine reproduces this table exactly. The definitions
follow ../shared/spec/policy.md to the letter: "between a and b" is (a, b]; the window is
(run date - 12 months, run date]; ages come from the birth date on the run date; household
category and area type are the head's (identical for all members here).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fanpin.generator.params import PolicyParams
from fanpin.generator.records import window_start

CODES = [
    "DECEASED_MEMBER",
    "MEDICAL_BURDEN",
    "SEVERE_ILLNESS",
    "SEVERE_DISABILITY",
    "SUBSIDY_GAP",
    "UNSAFE_HOUSING",
    "SINGLE_PERSON_DIBAO",
    "GRADUAL_EXIT",
    "TEKUN_MINOR",
    "INCOME_MARGIN",
]
MENTAL = ["智力", "精神"]


def _on_roster(records: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Records about roster people, with the person's household."""
    return records.join(members, left_on="owner", right_on="person", how="inner")


def _in_window(column: str, run_date: date, policy: PolicyParams) -> pl.Expr:
    first_out = window_start(run_date, policy.window_months)
    return (pl.col(column) > first_out) & (pl.col(column) <= run_date)


def _households(frame: pl.DataFrame, code: str) -> pl.DataFrame:
    return frame.select("household_id").unique().with_columns(code=pl.lit(code))


def _severe_illness(
    health: pl.DataFrame, medical: pl.DataFrame, run_date: date, policy: PolicyParams
) -> pl.DataFrame:
    """Members (person, household) with a major disease or enough inpatient stays in the window."""
    major = health.filter(
        (pl.col("event_type") == "重大疾病") & _in_window("event_date", run_date, policy)
    )
    stays = (
        medical.filter(
            (pl.col("visit_type") == "住院") & _in_window("settled_on", run_date, policy)
        )
        .group_by("owner", "household_id")
        .len()
        .filter(pl.col("len") >= policy.severe_illness_inpatient_count)
    )
    return pl.concat([major.select("owner", "household_id"), stays.select("owner", "household_id")])


def _medical_burden(
    medical: pl.DataFrame, hh: pl.DataFrame, run_date: date, policy: PolicyParams
) -> pl.DataFrame:
    recent = medical.filter(_in_window("settled_on", run_date, policy))
    person = (
        recent.group_by("owner", "household_id")
        .agg(pl.col("oop_cents").sum())
        .filter(pl.col("oop_cents") >= round(policy.medical_burden_line * 100))
    )
    house = (
        recent.group_by("household_id")
        .agg(pl.col("oop_cents").sum())
        .join(hh, on="household_id")
        .filter(
            (pl.col("income_cents") > 0)
            & (
                pl.col("oop_cents")
                >= policy.household_medical_share
                * 12
                * pl.col("income_cents")
                * pl.col("household_size")
            )
        )
    )
    return pl.concat([person.select("household_id"), house.select("household_id")])


def _severe_disability(disability: pl.DataFrame) -> pl.DataFrame:
    return disability.filter(
        (pl.col("status") == "有效")
        & (
            (pl.col("grade") <= 2)
            | (pl.col("grade").is_in([3, 4]) & pl.col("disability_type").is_in(MENTAL))
        )
    )


def _subsidy_gap(
    disability: pl.DataFrame, roster: pl.DataFrame, hh: pl.DataFrame, policy: PolicyParams
) -> pl.DataFrame:
    valid = (
        disability.filter(pl.col("status") == "有效")
        .join(
            roster.select("person", "living_subsidy", "nursing_subsidy"),
            left_on="owner",
            right_on="person",
        )
        .join(hh.select("household_id", "category"), on="household_id")
    )
    living = pl.col("category").is_in(["低保", "特困", "低保边缘"]) & (
        pl.col("living_subsidy").fill_null("") != "是"
    )
    mental = pl.col("grade").is_in([3, 4]) & pl.col("disability_type").is_in(MENTAL)
    nursing_due = (pl.col("grade") <= 2) | (
        mental if policy.nursing_grade34_mental else pl.lit(False)
    )
    nursing = nursing_due & (pl.col("nursing_subsidy").fill_null("") != "是")
    return valid.filter(living | nursing)


def _unsafe_housing(housing: pl.DataFrame, run_date: date) -> pl.DataFrame:
    seen = housing.filter(pl.col("appraised_on") <= run_date)
    last = pl.col("appraised_on").max().over("household_id")
    latest = seen.filter(pl.col("appraised_on") == last)
    return latest.filter(pl.col("safety_grade").is_in(["C", "D"]))


def _age(run_date: date) -> pl.Expr:
    birth = pl.col("birth")
    before = (birth.dt.month() > run_date.month) | (
        (birth.dt.month() == run_date.month) & (birth.dt.day() > run_date.day)
    )
    return run_date.year - birth.dt.year().cast(pl.Int32) - before.cast(pl.Int32)


def _income_rules(hh: pl.DataFrame, flagged: pl.DataFrame, policy: PolicyParams) -> pl.DataFrame:
    """GRADUAL_EXIT, INCOME_MARGIN and SINGLE_PERSON_DIBAO from the roster's own figures."""
    std = pl.col("standard") * 100
    inc = pl.col("income_cents")
    cat = pl.col("category")
    severe = pl.col("household_id").is_in(flagged["household_id"].implode())
    rules = {
        "GRADUAL_EXIT": (cat == "低保") & (inc > std) & (inc <= policy.gradual_exit_ceiling * std),
        "INCOME_MARGIN": cat.is_in(["易返贫致贫", "支出型困难"])
        & (inc <= policy.margin_multiple * std),
        "SINGLE_PERSON_DIBAO": ~cat.is_in(["低保", "特困"])
        & (inc > std)
        & (inc <= policy.margin_multiple * std)
        & severe,
    }
    return pl.concat([_households(hh.filter(rule), code) for code, rule in rules.items()])


def reasons(
    records: dict[str, pl.DataFrame],
    roster: pl.DataFrame,
    hh: pl.DataFrame,
    run_date: date,
    policy: PolicyParams,
) -> pl.DataFrame:
    """household_id, code for every reason that should fire (sorted, one row per pair).

    `records` are the clean department frames (with `owner`); `roster` is one row per roster
    person (person, household_id, birth, living_subsidy, nursing_subsidy); `hh` one row per
    household (household_id, category, income_cents, household_size, standard).
    """
    members = roster.select("person", "household_id")
    health = _on_roster(records["health"], members)
    medical = _on_roster(records["medical"], members)
    disability = _on_roster(records["disability"], members)
    housing = _on_roster(records["housing"], members)
    ill = _severe_illness(health, medical, run_date, policy)
    severe = _severe_disability(disability)
    dead = health.filter((pl.col("event_type") == "死亡") & (pl.col("event_date") <= run_date))
    tekun = roster.join(hh.select("household_id", "category"), on="household_id").filter(
        (pl.col("category") == "特困") & _age(run_date).is_in([16, 17])
    )
    parts = [
        _households(dead, "DECEASED_MEMBER"),
        _households(_medical_burden(medical, hh, run_date, policy), "MEDICAL_BURDEN"),
        _households(ill, "SEVERE_ILLNESS"),
        _households(severe, "SEVERE_DISABILITY"),
        _households(_subsidy_gap(disability, roster, hh, policy), "SUBSIDY_GAP"),
        _households(_unsafe_housing(housing, run_date), "UNSAFE_HOUSING"),
        _households(tekun, "TEKUN_MINOR"),
        _income_rules(
            hh, pl.concat([ill.select("household_id"), severe.select("household_id")]), policy
        ),
    ]
    return pl.concat(parts).unique().sort("household_id", "code")
