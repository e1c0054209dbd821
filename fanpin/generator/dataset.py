"""`generate()`: the whole synthetic world in memory, delivered frames plus the truth.

Truth `links` (one row per department record): department, record_id; true_person = the
roster person's true (valid) 18-char id, null when the record is about someone not on the
roster; household_id; roster_id = that person's id as the roster writes it (differs from
true_person for the ~1% invalid roster ids, which a linker reports as the cleaned raw id);
roster_id_valid; noise = the record's one defect label (see noise.LABELS, or `clean`);
clue = the record carries an identity clue about its subject (an id with at most one error,
a 15-digit id, the head's id with the member's name, or a certificate number); planted = the
scenario that added the record (null for background records).

Truth `reasons`: household_id, code — what a correct rule engine must raise (truth.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from fanpin.generator import noise, records, truth
from fanpin.generator.params import GeneratorParams
from fanpin.generator.population import Population, build_population
from fanpin.generator.rng import stream
from fanpin.schema import load_schema
from fanpin.settings import REPO_ROOT

DEPARTMENTS = ["health", "medical", "housing", "disability"]
DATE_COLUMN = {
    "health": "event_date",
    "medical": "settled_on",
    "housing": "appraised_on",
    "disability": "issued_on",
}
# The roster's canonical columns, in schema order: the schema file is the one place they live.
ROSTER_COLUMNS = list(load_schema(REPO_ROOT / "schemas" / "roster.yaml").column_names)
COLUMNS = {
    "health": [
        "record_id",
        "name",
        "id_number",
        "event_type",
        "event_date",
        "diagnosis_code",
        "diagnosis",
        "institution",
    ],
    "medical": [
        "record_id",
        "name",
        "id_number",
        "settled_on",
        "visit_type",
        "total_cost",
        "fund_paid",
        "out_of_pocket",
        "institution",
    ],
    "housing": ["record_id", "name", "id_number", "appraised_on", "safety_grade", "address"],
    "disability": [
        "record_id",
        "name",
        "id_number",
        "certificate_no",
        "disability_type",
        "disability_grade",
        "issued_on",
        "status",
    ],
}


@dataclass(frozen=True)
class Dataset:
    """Delivered frames (canonical column names, typed dates and amounts, noisy identities) and
    the truth: `links` (one row per department record) and `reasons` (household, code)."""

    run_date: date
    seed: int
    params: GeneratorParams
    roster: pl.DataFrame
    health: pl.DataFrame
    medical: pl.DataFrame
    housing: pl.DataFrame
    disability: pl.DataFrame
    links: pl.DataFrame
    reasons: pl.DataFrame
    people: pl.DataFrame = field(repr=False)  # clean identities, roster people first

    def department(self, name: str) -> pl.DataFrame:
        """The delivered frame of a department (roster included)."""
        frame: pl.DataFrame = getattr(self, name)
        return frame


def _in_date_order(rng: np.random.Generator, dept: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Records sorted by date, ties in random order (sorted before the wide text columns exist)."""
    days = frame[DATE_COLUMN[dept]].cast(pl.Int64).to_numpy() + 100_000  # positive
    key = (days << 32) + rng.integers(0, 1 << 32, frame.height)
    return frame[np.argsort(key)]


def _with_record_ids(dept: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Number the (date-ordered) records the way each bureau does."""
    when = pl.col(DATE_COLUMN[dept])
    seq = pl.int_range(1, pl.len() + 1).cast(pl.Utf8)
    year = when.dt.year().cast(pl.Utf8)
    ymd = (
        when.dt.year().cast(pl.Int64) * 10000
        + when.dt.month().cast(pl.Int64) * 100
        + when.dt.day().cast(pl.Int64)
    ).cast(pl.Utf8)
    record_id = {
        "health": pl.format("WJ{}{}", year, seq.str.zfill(7)),
        "medical": pl.format("YB{}{}", ymd, seq.str.zfill(8)),
        "housing": pl.format("JD{}-{}", year, seq.str.zfill(6)),
        "disability": pl.format("CL{}", seq.str.zfill(8)),
    }[dept]
    return frame.with_columns(record_id=record_id)


def _delivered(dept: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The department's canonical columns (amounts in yuan, grade as a small int)."""
    if dept == "medical":
        frame = frame.with_columns(
            total_cost=pl.col("total_cents") / 100,
            fund_paid=pl.col("fund_cents") / 100,
            out_of_pocket=pl.col("oop_cents") / 100,
        )
    if dept == "disability":
        frame = frame.with_columns(disability_grade=pl.col("grade"))
    return frame.select(COLUMNS[dept])


def _links(dept: str, frame: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """The truth row of each record: whose it is (null: not a roster person) and its defect."""
    owner = people.select(
        "household_id",
        "roster_id",
        true_person=pl.when(pl.col("on_roster")).then(pl.col("id_number")),
        roster_id_valid=pl.col("roster_id") == pl.col("id_number"),
    )[frame["owner"].to_numpy()]
    return (
        frame.select(pl.lit(dept).alias("department"), "record_id")
        .hstack(owner)
        .hstack(frame.select("noise", "clue", "planted"))
        .select(
            "department",
            "record_id",
            "true_person",
            "household_id",
            "roster_id",
            "roster_id_valid",
            "noise",
            "clue",
            "planted",
        )
    )


def _roster(pop: Population, subsidy: pl.DataFrame) -> pl.DataFrame:
    members = pop.people.head(pop.n_roster).hstack(subsidy)
    hh = pop.households.select(
        "household_id",
        "category",
        "household_size",
        "enrolled_on",
        monthly_income_per_capita=pl.col("income_cents") / 100,
    )
    return (
        members.join(hh, on="household_id", how="left", maintain_order="left")
        .with_columns(id_number=pl.col("roster_id"))
        .select(ROSTER_COLUMNS)
    )


def generate(
    people: int, seed: int, run_date: date, params: GeneratorParams | None = None
) -> Dataset:
    """Generate a roster of `people` persons, the department extracts and the truth."""
    params = params or GeneratorParams()
    pop = build_population(stream(seed, "population"), people, run_date, params)
    makers = {
        "health": records.health,
        "medical": records.medical,
        "housing": records.housing,
        "disability": records.disability,
    }
    clean = {d: makers[d](stream(seed, d), pop, run_date, params) for d in DEPARTMENTS}
    subsidy = records.subsidies(stream(seed, "subsidies"), pop, clean["disability"], params)
    roster_truth = (
        pop.people.head(pop.n_roster).select("person", "household_id", "birth").hstack(subsidy)
    )
    reasons = truth.reasons(clean, roster_truth, pop.households, run_date, params.policy)
    variants = noise.name_variants(pop.people)
    traits = noise.person_traits(pop, variants)
    frames: dict[str, pl.DataFrame] = {}
    links = []
    for d in DEPARTMENTS:
        ordered = _in_date_order(stream(seed, f"order:{d}"), d, clean.pop(d))  # frees the clean
        noisy = noise.apply_noise(
            stream(seed, f"noise:{d}"), d, ordered, pop, variants, traits, params.noise
        )
        noisy = _with_record_ids(d, noisy)
        frames[d] = _delivered(d, noisy)
        links.append(_links(d, noisy, pop.people))
    return Dataset(
        run_date=run_date,
        seed=seed,
        params=params,
        roster=_roster(pop, subsidy),
        health=frames["health"],
        medical=frames["medical"],
        housing=frames["housing"],
        disability=frames["disability"],
        links=pl.concat(links),
        reasons=reasons,
        people=pop.people,
    )
