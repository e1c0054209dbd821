"""Reason rules of docs/policy.md; each test cites the notice clause it checks.

"000" = 綦江民发〔2021〕96号, "003" = 攀民政〔2021〕61号 (shared/seeds). Run date 2022-06-30;
the sample profile's 农村 standard for 500110 is 496 (margin line 1.5x = 744).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fanpin.policy import Profile, load_profile
from transforms import rules

POLICIES = Path(__file__).resolve().parents[2] / "policies"
RUN = date(2022, 6, 30)

ROSTER_SCHEMA = {
    "household_id": pl.Utf8,
    "person_ref": pl.Utf8,
    "person_key": pl.Utf8,
    "name": pl.Utf8,
    "name_norm": pl.Utf8,
    "id_norm": pl.Utf8,
    "id_birth": pl.Date,
    "relation": pl.Utf8,
    "county_code": pl.Utf8,
    "town": pl.Utf8,
    "village": pl.Utf8,
    "category": pl.Utf8,
    "area_type": pl.Utf8,
    "household_size": pl.Int64,
    "monthly_income_per_capita": pl.Float64,
    "enrolled_on": pl.Date,
    "living_subsidy": pl.Boolean,
    "nursing_subsidy": pl.Boolean,
}
RECORD_SCHEMAS = {
    "health": {"record_id": pl.Utf8, "event_type": pl.Utf8, "event_date": pl.Date},
    "medical": {
        "record_id": pl.Utf8,
        "settled_on": pl.Date,
        "visit_type": pl.Utf8,
        "total_cost": pl.Float64,
        "fund_paid": pl.Float64,
        "out_of_pocket": pl.Float64,
    },
    "housing": {"record_id": pl.Utf8, "appraised_on": pl.Date, "safety_grade": pl.Utf8},
    "disability": {
        "record_id": pl.Utf8,
        "disability_type": pl.Utf8,
        "disability_grade": pl.Int8,
        "issued_on": pl.Date,
        "status": pl.Utf8,
    },
}
LINK_SCHEMA = {
    "department": pl.Utf8,
    "record_id": pl.Utf8,
    "person_ref": pl.Utf8,
    "household_id": pl.Utf8,
    "match_status": pl.Utf8,
}


def profile(name: str = "sample") -> Profile:
    return load_profile(name, POLICIES)


def rehome(rules_of: Profile, standards_of: Profile) -> Profile:
    """`rules_of`'s parameters with `standards_of`'s counties and standards (like sample.yaml)."""
    return dataclasses.replace(
        rules_of, counties=standards_of.counties, standards=standards_of.standards
    )


class World:
    """A tiny roster with department records and links, built per test."""

    def __init__(self) -> None:
        self.people: list[dict[str, Any]] = []
        self.records: dict[str, list[dict[str, Any]]] = {d: [] for d in RECORD_SCHEMAS}
        self.links: list[dict[str, Any]] = []

    def person(
        self,
        hh: str,
        ref: str,
        *,
        relation: str = "户主",
        category: str = "低保",
        income: float = 300.0,
        size: int = 1,
        county: str = "500110",
        area: str = "农村",
        birth: date | None = date(1970, 1, 1),
        enrolled: date = date(2020, 1, 1),
        living: bool | None = None,
        nursing: bool | None = None,
    ) -> World:
        self.people.append(
            {
                "household_id": hh,
                "person_ref": ref,
                "person_key": f"k-{ref}",
                "name": "张小丽",
                "name_norm": "张小丽",
                "id_norm": None,
                "id_birth": birth,
                "relation": relation,
                "county_code": county,
                "town": "古南街道",
                "village": "新城村",
                "category": category,
                "area_type": area,
                "household_size": size,
                "monthly_income_per_capita": income,
                "enrolled_on": enrolled,
                "living_subsidy": living,
                "nursing_subsidy": nursing,
            }
        )
        return self

    def record(self, dept: str, ref: str, match: str = "linked", **values: Any) -> World:
        rid = f"{dept[0].upper()}{len(self.records[dept]) + 1:03d}"
        self.records[dept].append({"record_id": rid, **values})
        hh = next(p["household_id"] for p in self.people if p["person_ref"] == ref)
        linked = match == "linked"
        self.links.append(
            {
                "department": dept,
                "record_id": rid,
                "person_ref": ref if linked else None,
                "household_id": hh if linked else None,
                "match_status": match,
            }
        )
        return self

    def health(self, ref: str, event_type: str, day: date, match: str = "linked") -> World:
        return self.record("health", ref, match, event_type=event_type, event_date=day)

    def medical(self, ref: str, day: date, oop: float, visit: str = "门诊") -> World:
        return self.record(
            "medical",
            ref,
            settled_on=day,
            visit_type=visit,
            total_cost=oop * 2,
            fund_paid=oop,
            out_of_pocket=oop,
        )

    def housing(self, ref: str, day: date, grade: str) -> World:
        return self.record("housing", ref, appraised_on=day, safety_grade=grade)

    def disability(
        self, ref: str, kind: str, grade: int, status: str = "有效", issued: date = date(2019, 5, 1)
    ) -> World:
        return self.record(
            "disability",
            ref,
            disability_type=kind,
            disability_grade=grade,
            issued_on=issued,
            status=status,
        )

    def frames(self) -> tuple[pl.DataFrame, dict[str, pl.DataFrame], pl.DataFrame]:
        roster = pl.DataFrame(self.people, schema=ROSTER_SCHEMA)
        recs = {d: pl.DataFrame(rows, schema=RECORD_SCHEMAS[d]) for d, rows in self.records.items()}
        return roster, recs, pl.DataFrame(self.links, schema=LINK_SCHEMA)

    def inputs(self, prof: Profile | None = None, run: date = RUN) -> rules.RuleInputs:
        roster, recs, links = self.frames()
        return rules.prepare_inputs(roster, recs, links, prof or profile(), run)

    def run(
        self,
        rule: Callable[[rules.RuleInputs], pl.LazyFrame],
        prof: Profile | None = None,
        run: date = RUN,
    ) -> pl.DataFrame:
        out = rule(self.inputs(prof, run)).collect()
        assert out.schema == pl.Schema(rules.REASON_SCHEMA)
        return out.sort("household_id", "person_ref", "record_id", nulls_last=True)


def households(out: pl.DataFrame) -> list[str]:
    return sorted(set(out["household_id"].to_list()))


# ------------------------------------------------------------------ helpers


def test_months_before_is_calendar_months_clamped_to_month_end() -> None:
    """The window start is run date − N calendar months; 03-31 − 1 month is 02-28."""
    assert rules.months_before(date(2022, 6, 30), 12) == date(2021, 6, 30)
    assert rules.months_before(date(2021, 3, 31), 1) == date(2021, 2, 28)
    assert rules.months_before(date(2024, 2, 29), 12) == date(2023, 2, 28)


def test_age_on_counts_a_birthday_on_the_run_date() -> None:
    """Age from the id birth date on the run date: born that month-day → has just turned."""
    births = pl.DataFrame({"b": [date(2006, 6, 30), date(2006, 7, 1), date(2004, 2, 29)]})
    ages = births.select(rules.age_on(pl.col("b"), RUN).alias("age"))["age"].to_list()
    assert ages == [16, 15, 18]


# ------------------------------------------------------------------ DECEASED_MEMBER


def test_deceased_member_fires_for_death_on_or_before_run_date() -> None:
    """000 (一)(七), 003 二(一): a 死亡 event on or before the run date → DECEASED_MEMBER."""
    w = World().person("H1", "p1").person("H2", "p2").person("H3", "p3")
    w.health("p1", "死亡", RUN).health("p2", "死亡", date(2022, 7, 1))
    w.health("p3", "住院", date(2022, 1, 1))
    out = w.run(rules.deceased_member)
    assert out["household_id"].to_list() == ["H1"]
    assert out.row(0, named=True) | {"detail": None} == {
        "household_id": "H1",
        "code": "DECEASED_MEMBER",
        "person_ref": "p1",
        "department": "health",
        "record_id": "H001",
        "date": RUN,
        "amount": None,
        "detail": None,
    }


def test_deceased_member_dated_before_enrolment_still_fires() -> None:
    """000 (七): a death before enrolled_on means the roster is wrong; it fires and says so."""
    w = World().person("H1", "p1", enrolled=date(2021, 3, 1))
    w.health("p1", "死亡", date(2020, 12, 1))
    out = w.run(rules.deceased_member)
    assert out["household_id"].to_list() == ["H1"]
    assert "名册有误" in out["detail"][0]


def test_deceased_member_of_tekun_household_mentions_funeral_subsidy() -> None:
    """000 (二): 特困人员丧葬费用按照 6 个月基本生活标准给予补贴 (months from the profile)."""
    w = World().person("H1", "p1", category="特困").health("p1", "死亡", date(2022, 1, 1))
    assert "6 个月基本生活标准" in w.run(rules.deceased_member)["detail"][0]


def test_only_linked_records_count() -> None:
    """Contract 2: a record in review or unmatched is evidence about nobody yet."""
    w = World().person("H1", "p1").health("p1", "死亡", RUN, match="review")
    assert w.run(rules.deceased_member).is_empty()


# ------------------------------------------------------------------ MEDICAL_BURDEN


def test_medical_burden_member_line_in_window() -> None:
    """000 (四)(五), 003 三(二): a member's out-of-pocket in the window ≥ the burden line (8000)."""
    w = World().person("H1", "p1", income=0).person("H2", "p2", income=0)
    w.medical("p1", date(2022, 1, 1), 5000).medical("p1", date(2022, 6, 1), 3000)
    w.medical("p2", date(2022, 1, 1), 7999.99)
    out = w.run(rules.medical_burden)
    assert out.select("household_id", "person_ref", "amount", "department").rows() == [
        ("H1", "p1", 8000.0, "medical")
    ]
    assert "8000" in out["detail"][0]


def test_medical_burden_window_excludes_its_first_day() -> None:
    """Window = (run date − 12 months, run date]: 2021-06-30 is out, 2021-07-01 is in."""
    w = World().person("H1", "p1", income=0).person("H2", "p2", income=0)
    w.medical("p1", date(2021, 6, 30), 8000).medical("p2", date(2021, 7, 1), 8000)
    w.medical("p2", date(2022, 7, 1), 8000)  # after the run date: out too
    out = w.run(rules.medical_burden)
    assert out.select("household_id", "amount").rows() == [("H2", 8000.0)]


def test_medical_burden_household_share_of_income() -> None:
    """003 三(二) 刚性支出较大: household out-of-pocket ≥ 50% of 12 months' household income."""
    # income 300 x 2 people x 12 = 7200 → line 3600; H1 spends 3600, H2 3599, H3 has no income.
    w = World()
    for hh, spend in (("H1", 1800.0), ("H2", 1799.5)):
        w.person(hh, f"{hh}a", income=300, size=2).person(
            hh, f"{hh}b", relation="配偶", income=300, size=2
        )
        w.medical(f"{hh}a", date(2022, 2, 1), spend).medical(f"{hh}b", date(2022, 3, 1), 1800)
    w.person("H3", "H3a", income=0, size=2).medical("H3a", date(2022, 2, 1), 7000)
    out = w.run(rules.medical_burden)
    assert out.select("household_id", "person_ref", "amount").rows() == [("H1", None, 3600.0)]
    assert "7200" in out["detail"][0] and "50%" in out["detail"][0]


def test_medical_burden_household_size_is_authoritative() -> None:
    """Contract 1: household_size may count people not on the roster; income uses it."""
    # one roster row, size 4: income 300 x 4 x 12 = 14400 → line 7200; spending 7000 is below.
    w = World().person("H1", "p1", income=300, size=4).medical("p1", date(2022, 2, 1), 7000)
    assert w.run(rules.medical_burden).is_empty()


# ------------------------------------------------------------------ SEVERE_ILLNESS


def test_severe_illness_major_disease_in_window() -> None:
    """000 (二) 重病患者: a 卫健 重大疾病 event in the window → SEVERE_ILLNESS."""
    w = World().person("H1", "p1").person("H2", "p2").person("H3", "p3")
    w.health("p1", "重大疾病", date(2022, 3, 1)).health("p2", "重大疾病", date(2021, 6, 30))
    w.health("p3", "慢性病", date(2022, 3, 1))
    out = w.run(rules.severe_illness)
    assert out.select("household_id", "record_id", "department").rows() == [
        ("H1", "H001", "health")
    ]


def test_severe_illness_two_inpatient_settlements() -> None:
    """000 (二), 003 二(一): one member with 2+ 住院 settlements in the window → SEVERE_ILLNESS."""
    w = World().person("H1", "p1").person("H2", "p2")
    w.medical("p1", date(2022, 1, 1), 100, "住院").medical("p1", date(2022, 5, 1), 100, "住院")
    w.medical("p2", date(2022, 1, 1), 100, "住院").medical("p2", date(2022, 5, 1), 100, "门诊")
    out = w.run(rules.severe_illness)
    assert out.select("household_id", "person_ref", "date", "amount").rows() == [
        ("H1", "p1", date(2022, 5, 1), 400.0)
    ]
    assert "住院结算 2 次" in out["detail"][0]


def test_severe_illness_total_is_in_cents_and_whole_yuan_read_whole() -> None:
    """The summed cost is money: rounded to cents (a float sum of cents is not exact and
    depends on the order of the rows), and a whole sum reads without decimals."""
    w = World().person("H1", "p1")
    for oop, day in ((0.05, 1), (0.1, 2), (0.15, 3), (499.85, 4)):
        w.medical("p1", date(2022, 1, day), oop, "住院")
    out = w.run(rules.severe_illness)
    assert out["amount"].to_list() == [1000.3]
    w = World().person("H1", "p1")
    for oop, day in ((0.05, 1), (0.1, 2), (0.15, 3), (499.7, 4)):
        w.medical("p1", date(2022, 1, day), oop, "住院")
    assert "医疗总费用合计 1000 元" in w.run(rules.severe_illness)["detail"][0]


# ------------------------------------------------------------------ SEVERE_DISABILITY


def test_severe_disability_grades() -> None:
    """000 (二)(九): valid grade 1/2 of any type, or grade 3/4 智力/精神 → SEVERE_DISABILITY."""
    w = World()
    cases = [
        ("肢体", 2, True),
        ("肢体", 3, False),
        ("精神", 4, True),
        ("智力", 3, True),
        ("视力", 1, True),
        ("听力", 4, False),
    ]
    for i, (kind, grade, _) in enumerate(cases):
        w.person(f"H{i}", f"p{i}").disability(f"p{i}", kind, grade)
    out = w.run(rules.severe_disability)
    assert households(out) == [f"H{i}" for i, c in enumerate(cases) if c[2]]


def test_severe_disability_ignores_cancelled_certificate() -> None:
    """000 (九), 003 二(四) 应退尽退: a 注销 certificate is no evidence of disability."""
    w = World().person("H1", "p1").disability("p1", "肢体", 1, status="注销")
    assert w.run(rules.severe_disability).is_empty()


# ------------------------------------------------------------------ SUBSIDY_GAP


def test_subsidy_gap_living_subsidy_only_for_dibao_tekun_margin() -> None:
    """000 (九), 003 二(四): living subsidy for valid certificates in 低保/特困/低保边缘 homes."""
    w = World()
    for hh, cat in (("H1", "低保"), ("H2", "特困"), ("H3", "低保边缘"), ("H4", "易返贫致贫")):
        w.person(hh, f"{hh}p", category=cat, nursing=True).disability(f"{hh}p", "肢体", 4)
    w.person("H5", "H5p", living=True).disability("H5p", "肢体", 4)
    out = w.run(rules.subsidy_gap)
    assert households(out) == ["H1", "H2", "H3"]
    assert all(d.endswith("未领取困难残疾人生活补贴") for d in out["detail"])


def test_subsidy_gap_blank_nursing_flag_means_not_receiving() -> None:
    """003 二(四) 应补尽补: grade 1/2 with a blank nursing flag → nursing subsidy gap."""
    w = World().person("H1", "p1", category="易返贫致贫", nursing=None)
    w.disability("p1", "肢体", 1)
    w.person("H2", "p2", category="易返贫致贫", nursing=True).disability("p2", "肢体", 1)
    out = w.run(rules.subsidy_gap)
    assert out.select("household_id", "record_id").rows() == [("H1", "D001")]
    assert "重度残疾人护理补贴" in out["detail"][0]


def test_subsidy_gap_nursing_grade34_mental_depends_on_profile() -> None:
    """000 (九) 护理补贴覆盖至三级、四级智力和精神残疾人: 綦江 yes, 攀枝花 no (003 二(四))."""
    w = World().person("H1", "p1", category="易返贫致贫").disability("p1", "智力", 3)
    assert households(w.run(rules.subsidy_gap, profile("qijiang-2021"))) == ["H1"]
    assert w.run(rules.subsidy_gap, profile("panzhihua-2021")).is_empty()


def test_subsidy_gap_cancelled_certificate_gives_nothing() -> None:
    """003 二(四) 应退尽退: a 注销 certificate qualifies for no subsidy."""
    w = World().person("H1", "p1").disability("p1", "肢体", 1, status="注销")
    assert w.run(rules.subsidy_gap).is_empty()


def test_subsidy_gap_one_reason_per_person_and_subsidy() -> None:
    """Two valid certificates of one person give one reason per missing subsidy."""
    w = World().person("H1", "p1").disability("p1", "肢体", 2).disability("p1", "视力", 1)
    out = w.run(rules.subsidy_gap)
    assert out.height == 2
    assert sorted(out["record_id"].to_list()) == ["D002", "D002"]


# ------------------------------------------------------------------ UNSAFE_HOUSING


def test_unsafe_housing_latest_appraisal_c_or_d() -> None:
    """000 (四)/(十九) 住房专项救助: the latest appraisal on or before the run date is C or D."""
    w = World().person("H1", "p1").person("H2", "p2").person("H3", "p3")
    w.housing("p1", date(2021, 1, 1), "D")
    w.housing("p2", date(2021, 1, 1), "B")
    w.housing("p3", date(2021, 1, 1), "B").housing("p3", date(2022, 8, 1), "D")  # future: ignored
    out = w.run(rules.unsafe_housing)
    assert out.select("household_id", "record_id", "date").rows() == [
        ("H1", "H001", date(2021, 1, 1))
    ]


def test_unsafe_housing_c_superseded_by_later_a() -> None:
    """A C grade followed by a later A appraisal (renovated) no longer fires."""
    w = World().person("H1", "p1").housing("p1", date(2020, 1, 1), "C")
    w.housing("p1", date(2021, 1, 1), "A")
    assert w.run(rules.unsafe_housing).is_empty()


def test_unsafe_housing_same_day_counts_worst_grade() -> None:
    """Appraisals on the same latest day count at their worst grade."""
    w = World().person("H1", "p1").person("H1", "p2", relation="配偶")
    w.housing("p1", date(2021, 1, 1), "A").housing("p2", date(2021, 1, 1), "D")
    out = w.run(rules.unsafe_housing)
    assert out.select("record_id", "person_ref").rows() == [("H002", "p2")]
    assert "同日多份鉴定" in out["detail"][0]


# ------------------------------------------------------------------ SINGLE_PERSON_DIBAO


def single(w: World, prof: Profile | None = None) -> pl.DataFrame:
    inp = w.inputs(prof)
    severe = pl.concat([rules.severe_illness(inp), rules.severe_disability(inp)])
    return rules.single_person_dibao(inp, severe).collect().sort("household_id", "person_ref")


def test_single_person_dibao_income_between_standard_and_margin() -> None:
    """000 (二): 高于低保标准，但低于 1.5 倍 + 重残/重病 member → 单人户 (496 < income ≤ 744)."""
    w = World()
    for hh, income in (("H1", 496.0), ("H2", 496.01), ("H3", 744.0), ("H4", 744.01)):
        w.person(hh, f"{hh}a", category="低保边缘", income=income)
        w.person(hh, f"{hh}b", relation="子女", category="低保边缘", income=income)
        w.disability(f"{hh}b", "肢体", 1)
    out = single(w)
    assert out.select("household_id", "person_ref", "department").rows() == [
        ("H2", "H2b", "roster"),
        ("H3", "H3b", "roster"),
    ]
    assert "重残" in out["detail"][0] and "744" in out["detail"][0]


def test_single_person_dibao_needs_severe_member_and_non_dibao_household() -> None:
    """000 (二) 未纳入低保或特困供养范围 … 重残人员、重病患者: both conditions are needed."""
    w = World().person("H1", "p1", category="低保边缘", income=600)  # nobody severe
    w.person("H2", "p2", category="低保", income=600).disability("p2", "肢体", 1)
    w.person("H3", "p3", category="易返贫致贫", income=600).health(
        "p3", "重大疾病", date(2022, 1, 1)
    )
    out = single(w)
    assert out.select("household_id", "person_ref").rows() == [("H3", "p3")]
    assert "重病" in out["detail"][0]


def test_single_person_dibao_margin_differs_by_profile() -> None:
    """000 (二) 1.5 倍 vs 003 三(一) 2 倍: income 900 of 农村 530 fires only at 2x (1060)."""
    w = World().person("H1", "p1", category="低保边缘", income=900, county="510402")
    w.disability("p1", "肢体", 1)
    pzh = profile("panzhihua-2021")
    assert single(w, rehome(profile("qijiang-2021"), pzh)).is_empty()
    assert single(w, pzh)["household_id"].to_list() == ["H1"]


# ------------------------------------------------------------------ GRADUAL_EXIT


def test_gradual_exit_dibao_income_above_standard_within_ceiling() -> None:
    """000 (二) 超过但低于低保标准 1.5 倍的 … 6 个月渐退期: 496 < income ≤ 744 for 低保."""
    w = World()
    for hh, income in (("H1", 496.0), ("H2", 500.0), ("H3", 744.0), ("H4", 744.5)):
        w.person(hh, f"{hh}a", income=income)
    w.person("H5", "H5a", category="低保边缘", income=600)
    out = w.run(rules.gradual_exit)
    assert out.select("household_id", "person_ref", "amount").rows() == [
        ("H2", None, 500.0),
        ("H3", None, 744.0),
    ]
    assert "6 个月渐退期" in out["detail"][0]


def test_gradual_exit_months_come_from_the_profile() -> None:
    """003 二(一) 不超过 12 个月的救助渐退期: 攀枝花's detail says 12 months, 綦江's 6."""
    w = World().person("H1", "p1", income=700, county="510402")
    pzh = profile("panzhihua-2021")
    assert "12 个月渐退期" in w.run(rules.gradual_exit, pzh)["detail"][0]
    qj = rehome(profile("qijiang-2021"), pzh)
    assert "6 个月渐退期" in w.run(rules.gradual_exit, qj)["detail"][0]


def test_income_rules_do_not_fire_without_a_standard() -> None:
    """A county the profile has no standard for cannot be compared: no income reason."""
    w = World().person("H1", "p1", income=500, county="510402")
    assert w.run(rules.gradual_exit, profile("qijiang-2021")).is_empty()


def test_standard_in_force_on_run_date_is_used() -> None:
    """docs/policy.md: a run uses the standard in force on its run date (latest effective_from)."""
    base = profile()
    newer = dataclasses.replace(base.standards[0], amount=520.0, effective_from=date(2022, 7, 1))
    prof = dataclasses.replace(base, standards=(*base.standards, newer))
    assert newer.county_code == "500110" and newer.area_type == "农村"
    w = World().person("H1", "p1", income=510)
    assert households(w.run(rules.gradual_exit, prof)) == ["H1"]  # 496 in force on 06-30
    assert w.run(rules.gradual_exit, prof, run=date(2022, 7, 1)).is_empty()  # 520 from 07-01


# ------------------------------------------------------------------ TEKUN_MINOR


def test_tekun_minor_aged_16_or_17() -> None:
    """000 (二) 特困救助供养的未成年人年龄从 16 周岁延长至 18 周岁: ages 16 and 17 fire."""
    w = World().person("H1", "head", category="特困", birth=date(1960, 1, 1))
    births = {
        "turns16": date(2006, 6, 30),
        "is15": date(2006, 7, 1),
        "is17": date(2004, 7, 1),
        "turns18": date(2004, 6, 30),
        "noid": None,
    }
    for ref, born in births.items():
        w.person("H1", ref, relation="子女", category="特困", birth=born)
    w.person("H2", "dibao16", category="低保", birth=date(2006, 1, 1))
    out = w.run(rules.tekun_minor)
    assert out.select("person_ref").to_series().to_list() == ["is17", "turns16"]
    assert "16 周岁" in out.filter(pl.col("person_ref") == "turns16")["detail"][0]


def test_household_category_is_the_heads() -> None:
    """docs/policy.md: a household's category and area type are those of its head (户主)."""
    w = World().person("H1", "kid", relation="子女", category="特困", birth=date(2006, 1, 1))
    w.person("H1", "head", category="低保", birth=date(1970, 1, 1))
    assert w.run(rules.tekun_minor).is_empty()


# ------------------------------------------------------------------ INCOME_MARGIN


def test_income_margin_recognise_margin_or_assess_dibao() -> None:
    """003 三(一) 低于城乡低保标准2倍 认定低保边缘: at most the line; at most 1.0x → assess 低保."""
    w = World()
    for hh, income in (("H1", 496.0), ("H2", 497.0), ("H3", 744.0), ("H4", 744.01)):
        w.person(hh, f"{hh}a", category="易返贫致贫", income=income)
    w.person("H5", "H5a", category="支出型困难", income=100)
    w.person("H6", "H6a", category="低保边缘", income=100)
    out = w.run(rules.income_margin)
    assert households(out) == ["H1", "H2", "H3", "H5"]
    detail = dict(zip(out["household_id"], out["detail"], strict=True))
    assert detail["H1"].endswith("评估纳入低保") and detail["H2"].endswith("应认定为低保边缘家庭")


def test_income_margin_line_differs_by_profile() -> None:
    """000 (二) 1.5x vs 003 三(一) 2x: income 900 in a 530 county is a margin case only at 2x."""
    w = World().person("H1", "p1", category="支出型困难", income=900, county="510402")
    pzh = profile("panzhihua-2021")
    assert households(w.run(rules.income_margin, pzh)) == ["H1"]
    assert w.run(rules.income_margin, rehome(profile("qijiang-2021"), pzh)).is_empty()


# ------------------------------------------------------------------ inputs


def test_missing_or_empty_department_fires_nothing() -> None:
    """Contract 1: a department not delivered tonight means its rules do not fire."""
    w = World().person("H1", "p1").health("p1", "死亡", RUN)
    roster, recs, links = w.frames()
    for records in ({}, {"health": pl.DataFrame()}):
        inp = rules.prepare_inputs(roster, records, links, profile(), RUN)
        assert rules.all_reasons(inp).collect().is_empty()


def test_department_frame_missing_a_column_is_refused() -> None:
    """A delivered frame without a column a rule reads is a contract breach, named."""
    w = World().person("H1", "p1")
    roster, _, links = w.frames()
    bad = {"housing": pl.DataFrame({"record_id": ["x"], "appraised_on": [RUN]})}
    with pytest.raises(ValueError, match="safety_grade"):
        rules.prepare_inputs(roster, bad, links, profile(), RUN)


def test_all_reasons_in_code_order() -> None:
    """all_reasons concatenates every code's reasons in the fixed code order."""
    w = World().person("H1", "p1", category="低保边缘", income=600)
    w.health("p1", "死亡", date(2022, 1, 1)).disability("p1", "肢体", 1)
    codes = rules.all_reasons(w.inputs()).collect()["code"].to_list()
    assert codes == [
        "DECEASED_MEMBER",
        "SEVERE_DISABILITY",
        "SUBSIDY_GAP",
        "SUBSIDY_GAP",
        "SINGLE_PERSON_DIBAO",
    ]


def test_a_repeated_record_id_is_joined_to_its_links_row_by_row() -> None:
    """Records and links carrying source_file/source_line join on them too: an id delivered twice
    (other content, both kept by ingest) gives two linked rows, not four (n² double counting)."""
    world = World().person("H1", "p1").medical("p1", date(2022, 5, 1), 100.0)
    world.medical("p1", date(2022, 5, 2), 200.0)
    roster, recs, links = world.frames()
    rows = {"source_file": ["m.csv", "m.csv"], "source_line": [2, 3]}
    medical = (
        recs["medical"]
        .with_columns(record_id=pl.lit("M001"))
        .with_columns(pl.Series(k, v) for k, v in rows.items())
    )
    medical_links = links.with_columns(record_id=pl.lit("M001")).with_columns(
        pl.Series(k, v) for k, v in rows.items()
    )
    inp = rules.prepare_inputs(roster, {**recs, "medical": medical}, medical_links, profile(), RUN)
    linked = inp.linked["medical"]
    assert linked is not None
    assert sorted(linked.collect()["out_of_pocket"].to_list()) == [100.0, 200.0]
