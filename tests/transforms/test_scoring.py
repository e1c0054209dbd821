"""Household scoring of docs/policy.md "Score and level" and "Suggested actions"."""

from __future__ import annotations

import dataclasses
import importlib.util
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from fanpin.policy import Profile
from transforms import scoring

# The tiny-world builder lives with the rule tests; load it rather than copy it.
_spec = importlib.util.spec_from_file_location(
    "_rules_world", Path(__file__).with_name("test_rules.py")
)
assert _spec is not None and _spec.loader is not None
_world = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_world)
World: Any = _world.World
profile = _world.profile
rehome = _world.rehome
RUN: date = _world.RUN


def score(w: Any, prof: Profile | None = None) -> pl.DataFrame:
    roster, recs, links = w.frames()
    return scoring.score_households(roster, recs, links, prof or profile(), RUN)


def test_warnings_schema_is_the_stage_contract() -> None:
    """docs/stages.md: warnings columns and dtypes, also when nothing fired."""
    empty = score(World().person("H1", "p1", income=100))
    assert empty.is_empty()
    assert empty.schema == pl.Schema(scoring.WARNING_SCHEMA)
    some = score(World().person("H1", "p1").health("p1", "死亡", RUN))
    assert some.schema == pl.Schema(scoring.WARNING_SCHEMA)


def test_score_sums_distinct_code_weights() -> None:
    """Score = sum of the weights of the codes that fired; a code counts once per household."""
    w = World().person("H1", "p1", category="易返贫致贫", income=2000)
    w.health("p1", "重大疾病", date(2022, 1, 1)).health("p1", "重大疾病", date(2022, 2, 1))
    w.housing("p1", date(2021, 1, 1), "C")
    row = score(w).row(0, named=True)
    assert row["reason_codes"] == ["SEVERE_ILLNESS", "UNSAFE_HOUSING"]
    assert row["risk_score"] == 60 and row["risk_level"] == "red"  # 30 + 30: exactly red
    assert len(row["reasons"]) == 3


def test_score_is_capped_at_100() -> None:
    """The weighted sum is capped at 100."""
    w = World().person("H1", "p1", category="低保边缘", income=600)
    w.health("p1", "死亡", date(2022, 1, 1)).disability("p1", "肢体", 1)
    w.housing("p1", date(2021, 1, 1), "D").medical("p1", date(2022, 1, 1), 9000)
    row = score(w).row(0, named=True)
    assert sum(profile().codes[c].weight for c in row["reason_codes"]) > 100
    assert row["risk_score"] == 100


def test_levels_by_cut_offs() -> None:
    """red ≥ 60, orange ≥ 35, yellow below (profile cut-offs)."""
    w = World()
    w.person("H1", "p1", category="易返贫致贫", income=2000).medical(
        "p1", date(2022, 1, 1), 9000
    )  # 35
    w.person("H2", "p2", category="易返贫致贫", income=2000).housing(
        "p2", date(2021, 1, 1), "C"
    )  # 30
    out = score(w)
    assert out.select("household_id", "risk_score", "risk_level").rows() == [
        ("H1", 35, "orange"),
        ("H2", 30, "yellow"),
    ]


def test_deceased_member_is_at_least_orange() -> None:
    """A household with DECEASED_MEMBER is at least orange, even with a low weight."""
    base = profile()
    light = dataclasses.replace(base.codes["DECEASED_MEMBER"], weight=5)
    prof = dataclasses.replace(base, codes={**base.codes, "DECEASED_MEMBER": light})
    w = World().person("H1", "p1", category="易返贫致贫", income=2000)
    w.health("p1", "死亡", date(2022, 1, 1))
    row = score(w, prof).row(0, named=True)
    assert (row["risk_score"], row["risk_level"]) == (5, "orange")


def test_reasons_carry_labels_kinds_evidence_and_person_key() -> None:
    """Each reason: code, 中文 label, kind, member person_key, department, record, date, amount."""
    w = World().person("H1", "p1").health("p1", "死亡", date(2022, 1, 1))
    w.person("H1", "p2", relation="子女", birth=date(2000, 1, 1))
    reason = score(w)["reasons"][0][0]
    assert reason == {
        "code": "DECEASED_MEMBER",
        "label": "成员死亡",
        "kind": "verify",
        "person_key": "k-p1",
        "department": "health",
        "record_id": "H001",
        "date": date(2022, 1, 1),
        "amount": None,
        "detail": reason["detail"],
    }


def test_actions_follow_code_order_without_duplicates() -> None:
    """Suggested actions: the profile's actions of the fired codes, in code order, deduplicated."""
    w = World().person("H1", "p1", category="易返贫致贫", income=2000)
    w.health("p1", "死亡", date(2022, 1, 1)).medical("p1", date(2022, 1, 1), 9000)
    row = score(w).row(0, named=True)
    assert row["suggested_actions"] == ["入户核实", "停发或调整待遇", "医疗救助", "临时救助"]


def test_same_household_differs_between_qijiang_and_panzhihua() -> None:
    """000 vs 003: margin 1.5x/2x, nursing for grade 3/4 智力, 6 vs 12 months' gradual exit."""
    pzh = profile("panzhihua-2021")
    qj = rehome(profile("qijiang-2021"), pzh)  # same county standards; the rules differ
    w = World().person("H1", "p1", category="支出型困难", income=900, county="510402")
    w.person("H2", "p2", category="易返贫致贫", income=5000, county="510402")
    w.disability("p2", "智力", 3, issued=date(2020, 1, 1))
    w.person(
        "H2",
        "p2b",
        relation="配偶",
        category="易返贫致贫",
        income=5000,
        county="510402",
        nursing=True,
    )
    w.person("H3", "p3", category="低保", income=700, county="510402")
    a, b = score(w, qj), score(w, pzh)
    assert a.select("household_id", "reason_codes").rows() == [
        ("H2", ["SEVERE_DISABILITY", "SUBSIDY_GAP"]),
        ("H3", ["GRADUAL_EXIT"]),
    ]
    assert b.select("household_id", "reason_codes").rows() == [
        ("H1", ["INCOME_MARGIN"]),
        ("H2", ["SEVERE_DISABILITY"]),
        ("H3", ["GRADUAL_EXIT"]),
    ]
    assert "启动渐退（6个月）" in a["suggested_actions"][1]
    assert "启动渐退（不超过12个月）" in b["suggested_actions"][2]


def test_output_is_deterministic_and_sorted() -> None:
    """Rows sorted by household_id; shuffled input rows give the identical frame."""
    w = World()
    for hh in ("H3", "H1", "H2"):
        w.person(hh, f"{hh}a", category="低保边缘", income=600)
        w.person(hh, f"{hh}b", relation="子女", category="低保边缘", income=600)
        w.disability(f"{hh}b", "肢体", 1).disability(f"{hh}a", "精神", 3)
        w.medical(f"{hh}a", date(2022, 1, 1), 4000).medical(f"{hh}a", date(2022, 2, 1), 4000)
    roster, recs, links = w.frames()
    first = scoring.score_households(roster, recs, links, profile(), RUN)
    shuffled = {d: f.sample(fraction=1.0, shuffle=True, seed=7) for d, f in recs.items()}
    again = scoring.score_households(roster.reverse(), shuffled, links.reverse(), profile(), RUN)
    assert first["household_id"].to_list() == ["H1", "H2", "H3"]
    assert first.equals(again)


def test_agrees_with_the_generators_truth_under_perfect_links() -> None:
    """With every record linked to its true owner, the codes equal fanpin.generator's truth."""
    from fanpin.generator.dataset import generate
    from fanpin.generator.evaluation import warnings_under_perfect_links

    run = date(2026, 11, 30)
    ds = generate(2000, 20261129, run)
    got = warnings_under_perfect_links(ds, profile(), run)
    assert got.sort("household_id", "code").equals(
        ds.reasons.select("household_id", "code").sort("household_id", "code")
    )
    assert got.height > 100
