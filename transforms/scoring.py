"""Household warnings from reasons: weights, capped score, level, labels, actions (docs/policy.md).

The score is the capped sum of the weights of the distinct codes that fired (a code counts once,
however many records back it: twelve settlements are one medical burden). The level comes from
the profile's cut-offs, raised to a code's `min_level` where it has one (DECEASED_MEMBER is at
least orange: a benefit that may be paid to a dead person must be checked within days).
Labels, kinds and suggested actions all come from the profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

from fanpin.policy import CODE_ORDER, LEVELS, Profile
from transforms.rules import all_reasons, prepare_inputs

REASON_STRUCT = pl.Struct(
    {
        "code": pl.Utf8,
        "label": pl.Utf8,
        "kind": pl.Utf8,
        "person_key": pl.Utf8,
        "department": pl.Utf8,
        "record_id": pl.Utf8,
        "date": pl.Date,
        "amount": pl.Float64,
        "detail": pl.Utf8,
    }
)

WARNING_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Utf8(),
    "county_code": pl.Utf8(),
    "town": pl.Utf8(),
    "village": pl.Utf8(),
    "category": pl.Utf8(),
    "area_type": pl.Utf8(),
    "risk_score": pl.Int32(),
    "risk_level": pl.Utf8(),
    "reason_codes": pl.List(pl.Utf8),
    "reasons": pl.List(REASON_STRUCT),
    "suggested_actions": pl.List(pl.Utf8),
}

_REASON_SORT = ["household_id", "_rank", "person_key", "department", "date", "record_id", "detail"]


def score_households(
    roster: pl.LazyFrame | pl.DataFrame,
    records: Mapping[str, pl.LazyFrame | pl.DataFrame],
    links: pl.LazyFrame | pl.DataFrame,
    profile: Profile,
    run_date: date,
) -> pl.DataFrame:
    """The warnings frame (docs/stages.md): one row per household with a reason, by household_id.

    `roster` is the staged roster with `person_key`; `records` the staged department frames
    (a department not delivered may be absent or an empty frame); `links` the links frame.
    """
    inp = prepare_inputs(roster, records, links, profile, run_date)
    reasons = all_reasons(inp).collect()  # read twice below: compute once
    return aggregate(reasons.lazy(), inp.households, inp.members, profile)


def code_table(profile: Profile) -> pl.LazyFrame:
    """Per code: fixed rank, label, kind, weight and minimum level rank (0 yellow .. 2 red)."""
    specs = [profile.codes[c] for c in CODE_ORDER]
    return pl.LazyFrame(
        {
            "code": list(CODE_ORDER),
            "_rank": list(range(len(CODE_ORDER))),
            "label": [s.label for s in specs],
            "kind": [s.kind for s in specs],
            "_weight": [s.weight for s in specs],
            "_min_level": [LEVELS.index(s.min_level) if s.min_level else 0 for s in specs],
        },
        schema={
            "code": pl.Utf8,
            "_rank": pl.Int32,
            "label": pl.Utf8,
            "kind": pl.Utf8,
            "_weight": pl.Int32,
            "_min_level": pl.Int32,
        },
    )


def action_table(profile: Profile) -> pl.LazyFrame:
    """Per code and action: the action label in the profile's order."""
    rows = [
        (code, rank, i, action)
        for rank, code in enumerate(CODE_ORDER)
        for i, action in enumerate(profile.codes[code].actions)
    ]
    return pl.LazyFrame(
        rows,
        schema={"code": pl.Utf8, "_rank": pl.Int32, "_arank": pl.Int32, "action": pl.Utf8},
        orient="row",
    )


def level_expr(score: pl.Expr, min_level: pl.Expr, profile: Profile) -> pl.Expr:
    """Level from the cut-offs, never below the strongest `min_level` of the codes that fired."""
    by_score = (
        pl.when(score >= profile.red_at)
        .then(2)
        .when(score >= profile.orange_at)
        .then(1)
        .otherwise(0)
    )
    rank = pl.max_horizontal(by_score, min_level)
    return rank.replace_strict(dict(enumerate(LEVELS)), return_dtype=pl.Utf8)


def aggregate(
    reasons: pl.LazyFrame,
    households: pl.LazyFrame,
    members: pl.LazyFrame,
    profile: Profile,
) -> pl.DataFrame:
    """Roll reasons up to households (see module docstring)."""
    codes = code_table(profile)
    fired = reasons.select("household_id", "code").unique().join(codes, on="code")
    per_household = fired.group_by("household_id").agg(
        pl.col("_weight").sum().clip(0, 100).cast(pl.Int32).alias("risk_score"),
        pl.col("_min_level").max().alias("_min_level"),
        pl.col("code").sort_by("_rank").alias("reason_codes"),
    )
    actions = (
        fired.select("household_id", "code")
        .join(action_table(profile), on="code")
        .sort("household_id", "_rank", "_arank")
        .group_by("household_id", maintain_order=True)
        .agg(pl.col("action").unique(maintain_order=True).alias("suggested_actions"))
    )
    evidence = (
        reasons.join(codes.select("code", "_rank", "label", "kind"), on="code")
        .join(members.select("person_ref", "person_key"), on="person_ref", how="left")
        .sort(_REASON_SORT, nulls_last=True)
        .group_by("household_id", maintain_order=True)
        .agg(pl.struct(*[f.name for f in REASON_STRUCT.fields]).alias("reasons"))
    )
    out = (
        per_household.join(households, on="household_id", how="left")
        .join(evidence, on="household_id", how="left")
        .join(actions, on="household_id", how="left")
        .with_columns(
            level_expr(pl.col("risk_score"), pl.col("_min_level"), profile).alias("risk_level")
        )
        .select([pl.col(c).cast(t) for c, t in WARNING_SCHEMA.items()])
        .sort("household_id")
    )
    return out.collect()
