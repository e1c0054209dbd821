"""Score the generator's data with every record linked to its true owner.

This isolates the scoring rules from linking: the warnings it yields must
equal the planted truth (`Dataset.reasons`) exactly. Used by the scoring test
and by `python -m bench.scoring_truth` at benchmark sizes.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fanpin.generator.dataset import Dataset

DEPARTMENTS = ("health", "medical", "housing", "disability")


def perfect_inputs(
    ds: Dataset,
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame], pl.DataFrame]:
    """Roster, records and links as the scoring stage sees them, with truth for the links.

    Records get a `source_file`/`source_line` like staged ones so that links identify a
    record exactly as the linker's do.
    """
    people = ds.people.head(ds.roster.height)
    roster = ds.roster.with_columns(
        person_ref=people["id_number"],
        person_key=people["id_number"],
        id_birth=people["birth"],
        living_subsidy=pl.col("living_subsidy") == "是",
        nursing_subsidy=pl.col("nursing_subsidy") == "是",
    )
    records = {
        d: ds.department(d).with_columns(
            source_file=pl.lit(f"{d}.csv"), source_line=pl.int_range(2, pl.len() + 2)
        )
        for d in DEPARTMENTS
    }
    lines = pl.concat(
        [
            f.select(pl.lit(d).alias("department"), "record_id", "source_file", "source_line")
            for d, f in records.items()
        ]
    )
    links = ds.links.join(lines, on=["department", "record_id"], how="left").select(
        "department",
        "record_id",
        "household_id",
        "source_file",
        "source_line",
        person_ref="true_person",
        match_status=pl.when(pl.col("true_person").is_not_null())
        .then(pl.lit("linked"))
        .otherwise(pl.lit("unmatched")),
    )
    return roster, records, links


def per_code_agreement(got: pl.DataFrame, want: pl.DataFrame) -> pl.DataFrame:
    """Per reason code: true, published, false positives, misses, precision and recall."""
    g = got.select("household_id", "code").unique().with_columns(g=pl.lit(True))
    w = want.select("household_id", "code").unique().with_columns(w=pl.lit(True))
    both = g.join(w, on=["household_id", "code"], how="full", coalesce=True)
    return (
        both.group_by("code")
        .agg(
            tp=(pl.col("g") & pl.col("w")).sum(),
            fp=(pl.col("g") & pl.col("w").is_null()).sum(),
            fn=(pl.col("w") & pl.col("g").is_null()).sum(),
        )
        .with_columns(
            precision=pl.col("tp") / (pl.col("tp") + pl.col("fp")),
            recall=pl.col("tp") / (pl.col("tp") + pl.col("fn")),
        )
        .sort("code")
    )


def warnings_under_perfect_links(ds: Dataset, profile: object, run_date: date) -> pl.DataFrame:
    """(household_id, code) pairs the rules raise when linking is perfect."""
    from transforms.scoring import score_households

    roster, records, links = perfect_inputs(ds)
    warnings = score_households(roster, records, links, profile, run_date)  # type: ignore[arg-type]
    return warnings.select("household_id", code="reason_codes").explode("code")
