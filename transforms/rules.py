"""The reason codes of docs/policy.md as set-based rules over polars frames.

One function per code. Each takes the prepared `RuleInputs` (roster members and households with
the dibao standard in force on the run date, and each department's records joined to the roster
person they were linked to) and returns a lazy frame of reasons with `REASON_SCHEMA`:
one row per piece of evidence (household_id, code, person_ref, department, record_id, date,
amount, detail). Scoring (transforms.scoring) turns reasons into household warnings.

Only `linked` links count: a `review` or `unmatched` record is not evidence about anybody yet.
A department that was not delivered (missing from `records`, or a frame without columns)
makes the rules that depend on it return no reasons; saying so is the flow's business.
Every number comes from the `Profile`; nothing policy-specific is a literal here.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from fanpin.policy import CODE_ORDER, Profile

REASON_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Utf8(),
    "code": pl.Utf8(),
    "person_ref": pl.Utf8(),
    "department": pl.Utf8(),
    "record_id": pl.Utf8(),
    "date": pl.Date(),
    "amount": pl.Float64(),
    "detail": pl.Utf8(),
}

ROSTER_COLUMNS: tuple[str, ...] = (
    "household_id",
    "person_ref",
    "person_key",
    "relation",
    "id_birth",
    "county_code",
    "town",
    "village",
    "category",
    "area_type",
    "household_size",
    "monthly_income_per_capita",
    "enrolled_on",
    "living_subsidy",
    "nursing_subsidy",
)

#: The staged columns each rule reads, per department (docs/stages.md, schemas/<dept>.yaml).
RECORD_COLUMNS: dict[str, tuple[str, ...]] = {
    "health": ("record_id", "event_type", "event_date"),
    "medical": ("record_id", "settled_on", "visit_type", "total_cost", "out_of_pocket"),
    "housing": ("record_id", "appraised_on", "safety_grade"),
    "disability": ("record_id", "disability_type", "disability_grade", "issued_on", "status"),
}

HEAD = "户主"
DIBAO, TEKUN, MARGIN = "低保", "特困", "低保边缘"
LIVING_SUBSIDY_CATEGORIES = (DIBAO, TEKUN, MARGIN)
INCOME_MARGIN_CATEGORIES = ("易返贫致贫", "支出型困难")
MENTAL_TYPES = ("智力", "精神")
GRADE_WORDS = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
HOUSING_SEVERITY = {"A": 1, "B": 2, "C": 3, "D": 4}
UNSAFE_GRADES = ("C", "D")


@dataclass(frozen=True)
class RuleInputs:
    """What every rule reads, prepared once per run.

    `members`: one row per roster person (person_ref, household_id, id_birth, enrolled_on,
    subsidy flags) with its household's figures. `households`: one row per household, figures
    taken from the head (户主), plus `standard` (null when the profile has none for its county
    and area type on the run date: income rules then do not fire). `linked`: per department, its
    records with `person_ref` and `household_id` of the linked roster person, or None.
    """

    members: pl.LazyFrame
    households: pl.LazyFrame
    linked: Mapping[str, pl.LazyFrame | None]
    profile: Profile
    run_date: date
    window_start: date  # exclusive: the window is (window_start, run_date]


def months_before(day: date, months: int) -> date:
    """`day` minus calendar months, clamped to the month's end (2021-03-31 − 1 → 2021-02-28)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_on(birth: pl.Expr, run_date: date) -> pl.Expr:
    """Completed years on `run_date`; someone born on the run date's month-day has just turned."""
    birth_md = birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day().cast(pl.Int32)
    not_yet = (birth_md > run_date.month * 100 + run_date.day).cast(pl.Int32)
    return pl.lit(run_date.year, pl.Int32) - birth.dt.year().cast(pl.Int32) - not_yet


def prepare_inputs(
    roster: pl.LazyFrame | pl.DataFrame,
    records: Mapping[str, pl.LazyFrame | pl.DataFrame],
    links: pl.LazyFrame | pl.DataFrame,
    profile: Profile,
    run_date: date,
) -> RuleInputs:
    """Join the stage outputs once into what the rules read (see `RuleInputs`)."""
    roster_lf = _require(roster.lazy(), ROSTER_COLUMNS, "roster")
    households = _households(roster_lf, profile, run_date)
    members = roster_lf.select(
        "person_ref",
        "person_key",
        "household_id",
        "id_birth",
        "enrolled_on",
        pl.col("living_subsidy").cast(pl.Boolean),
        pl.col("nursing_subsidy").cast(pl.Boolean),
    ).join(
        households.select("household_id", "category", "monthly_income_per_capita", "standard"),
        on="household_id",
        how="left",
    )
    good_links = _require(
        links.lazy(), ("department", "record_id", "person_ref", "match_status"), "links"
    ).filter(pl.col("match_status") == "linked")
    linked = {dept: _link(records.get(dept), dept, good_links, members) for dept in RECORD_COLUMNS}
    start = months_before(run_date, profile.params.window_months)
    # Materialized once: every rule reads these, and re-planning the roster joins per rule
    # costs more than holding them (measured in bench/scoring.py).
    frames = pl.collect_all([households, members, *(f for f in linked.values() if f is not None)])
    households, members = frames[0].lazy(), frames[1].lazy()
    rest = iter(frames[2:])
    linked = {d: (None if f is None else next(rest).lazy()) for d, f in linked.items()}
    return RuleInputs(members, households, linked, profile, run_date, start)


def _require(lf: pl.LazyFrame, columns: tuple[str, ...], what: str) -> pl.LazyFrame:
    missing = [c for c in columns if c not in lf.collect_schema()]
    if missing:
        raise ValueError(f"{what} frame lacks columns: {', '.join(missing)}")
    return lf


def _households(roster: pl.LazyFrame, profile: Profile, run_date: date) -> pl.LazyFrame:
    """One row per household from its head (the first member when no 户主 is listed)."""
    standards = profile.standards_on(run_date)
    std = pl.LazyFrame(
        {
            "county_code": [k[0] for k in standards],
            "area_type": [k[1] for k in standards],
            "standard": list(standards.values()),
        },
        schema={"county_code": pl.Utf8, "area_type": pl.Utf8, "standard": pl.Float64},
    )
    return (
        roster.select(
            "household_id",
            "county_code",
            "town",
            "village",
            "category",
            "area_type",
            "household_size",
            pl.col("monthly_income_per_capita").cast(pl.Float64),
            (pl.col("relation") != HEAD).fill_null(True).alias("_not_head"),
            "person_ref",
        )
        .sort("household_id", "_not_head", "person_ref", nulls_last=True)
        .unique("household_id", keep="first", maintain_order=True)
        .drop("_not_head", "person_ref")
        .join(std, on=["county_code", "area_type"], how="left")
    )


def _link(
    frame: pl.LazyFrame | pl.DataFrame | None,
    dept: str,
    links: pl.LazyFrame,
    members: pl.LazyFrame,
) -> pl.LazyFrame | None:
    """A department's records with the linked person's person_ref and household_id."""
    if frame is None:
        return None
    lf = frame.lazy()
    schema = lf.collect_schema()
    if len(schema) == 0:
        return None
    lf = _require(lf, RECORD_COLUMNS[dept], dept)
    # (file, line) names one delivered row; the record id is the key only without them
    keys = _row_keys(schema, links.collect_schema()) or ["record_id"]
    dept_links = links.filter(pl.col("department") == dept).select(
        pl.col(k).cast(pl.Utf8) if k == "record_id" else pl.col(k) for k in (*keys, "person_ref")
    )
    extra = [k for k in keys if k != "record_id"]
    return (
        lf.select(*RECORD_COLUMNS[dept], *extra)
        .with_columns(pl.col("record_id").cast(pl.Utf8))
        .join(dept_links, on=keys, how="inner")
        .drop(extra)
        .join(members.select("person_ref", "household_id"), on="person_ref", how="inner")
    )


def _row_keys(records: pl.Schema, links: pl.Schema) -> list[str]:
    """`source_file`/`source_line` when both sides carry them (the stage outputs do).

    A link is about one delivered row: joined on the record id alone, an id that occurs n
    times in the records (a key repeated with other content is kept, see fanpin.ingest)
    would give n² rows and count each cost n times.
    """
    row = ["source_file", "source_line"]
    return row if all(c in records and c in links for c in row) else []


# ---------------------------------------------------------------- output helpers


def empty_reasons() -> pl.LazyFrame:
    """A reasons frame with no rows and the exact schema."""
    return pl.LazyFrame(schema=REASON_SCHEMA)


def _emit(
    lf: pl.LazyFrame,
    code: str,
    *,
    department: pl.Expr,
    detail: pl.Expr,
    person_ref: pl.Expr | None = None,
    record_id: pl.Expr | None = None,
    day: pl.Expr | None = None,
    amount: pl.Expr | None = None,
) -> pl.LazyFrame:
    """Project rule output onto REASON_SCHEMA (absent evidence fields become typed nulls)."""
    none = pl.lit(None)
    return lf.select(
        pl.col("household_id").cast(pl.Utf8),
        pl.lit(code, pl.Utf8).alias("code"),
        (none if person_ref is None else person_ref).cast(pl.Utf8).alias("person_ref"),
        department.cast(pl.Utf8).alias("department"),
        (none if record_id is None else record_id).cast(pl.Utf8).alias("record_id"),
        (none if day is None else day).cast(pl.Date).alias("date"),
        (none if amount is None else amount).cast(pl.Float64).alias("amount"),
        detail.cast(pl.Utf8).alias("detail"),
    )


def yuan(expr: pl.Expr) -> pl.Expr:
    """Money as text for details: whole yuan without decimals, otherwise two decimals."""
    whole = expr.round(0)
    return (
        pl.when(expr == whole)
        .then(whole.cast(pl.Int64).cast(pl.Utf8))
        .otherwise(expr.round(2).cast(pl.Utf8))
    )


def _num(value: float) -> str:
    """A profile figure (1.5, 2.0, 8000.0) as text: no trailing .0."""
    return f"{value:g}"


def _ymd(expr: pl.Expr) -> pl.Expr:
    return expr.dt.to_string("%Y-%m-%d")


def _dept(inp: RuleInputs, dept: str) -> pl.LazyFrame | None:
    return inp.linked.get(dept)


def _in_window(inp: RuleInputs, column: str) -> pl.Expr:
    """(run date − N months, run date]: the start day itself is outside."""
    return (pl.col(column) > inp.window_start) & (pl.col(column) <= inp.run_date)


def _grade_word(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int64).replace_strict(GRADE_WORDS, default="?级", return_dtype=pl.Utf8)


# ---------------------------------------------------------------- the rules


def deceased_member(inp: RuleInputs) -> pl.LazyFrame:
    """DECEASED_MEMBER: a 死亡 health event on or before the run date, whatever `enrolled_on`."""
    health = _dept(inp, "health")
    if health is None:
        return empty_reasons()
    deaths = health.filter(
        (pl.col("event_type") == "死亡") & (pl.col("event_date") <= inp.run_date)
    ).join(inp.members.select("person_ref", "enrolled_on", "category"), on="person_ref")
    funeral = inp.profile.params.tekun_funeral_months
    detail = pl.concat_str(
        pl.lit("卫健死亡登记 "),
        _ymd(pl.col("event_date")),
        pl.lit("，名册纳入时间 "),
        _ymd(pl.col("enrolled_on")).fill_null("不详"),
        pl.when(pl.col("event_date") < pl.col("enrolled_on"))
        .then(pl.lit("（死亡早于纳入时间：名册有误）"))
        .otherwise(pl.lit("")),
        pl.when(pl.col("category") == TEKUN)
        .then(pl.lit(f"；特困人员丧葬费用按 {funeral} 个月基本生活标准补贴"))
        .otherwise(pl.lit("")),
        pl.lit("：待遇须重新核定或停发"),
    )
    return _emit(
        deaths,
        "DECEASED_MEMBER",
        department=pl.lit("health"),
        detail=detail,
        person_ref=pl.col("person_ref"),
        record_id=pl.col("record_id"),
        day=pl.col("event_date"),
    )


def _settlements(medical: pl.LazyFrame, by: tuple[str, ...], cost: str) -> pl.LazyFrame:
    """Per group of settlements: the sum of `cost` in cents (`amount`: money, so the sum does
    not depend on the order of the rows), how many (`n`) and the latest day (`last`)."""
    return medical.group_by(*by).agg(
        pl.col(cost).sum().round(2).alias("amount"),
        pl.len().alias("n"),
        pl.col("settled_on").max().alias("last"),
    )


def medical_burden(inp: RuleInputs) -> pl.LazyFrame:
    """MEDICAL_BURDEN: per member, or per household with income, out-of-pocket in the window."""
    medical = _dept(inp, "medical")
    if medical is None:
        return empty_reasons()
    p = inp.profile.params
    spent = medical.filter(_in_window(inp, "settled_on"))
    window = f"（{inp.window_start + timedelta(days=1)}至{inp.run_date}）"
    per_member = _settlements(spent, ("household_id", "person_ref"), "out_of_pocket").filter(
        pl.col("amount") >= p.medical_burden_line
    )
    member_detail = pl.concat_str(
        pl.lit(f"{p.window_months}个月内{window}个人负担合计 "),
        yuan(pl.col("amount")),
        pl.lit(" 元（"),
        pl.col("n").cast(pl.Utf8),
        pl.lit(f" 笔结算），不低于医疗负担线 {_num(p.medical_burden_line)} 元"),
    )
    income_window = pl.col("monthly_income_per_capita") * pl.col("household_size") * p.window_months
    line = (income_window * p.household_medical_share).round(2)
    per_household = (
        _settlements(spent, ("household_id",), "out_of_pocket")
        .join(inp.households, on="household_id")
        .filter((pl.col("monthly_income_per_capita") > 0) & (pl.col("amount") >= line))
    )
    household_detail = pl.concat_str(
        pl.lit(f"家庭{p.window_months}个月内{window}个人负担合计 "),
        yuan(pl.col("amount")),
        pl.lit(" 元（"),
        pl.col("n").cast(pl.Utf8),
        pl.lit(" 笔结算），不低于家庭同期收入 "),
        yuan(income_window),
        pl.lit(f" 元的 {_num(p.household_medical_share * 100)}%"),
    )
    return pl.concat(
        [
            _emit(
                per_member,
                "MEDICAL_BURDEN",
                department=pl.lit("medical"),
                detail=member_detail,
                person_ref=pl.col("person_ref"),
                day=pl.col("last"),
                amount=pl.col("amount"),
            ),
            _emit(
                per_household,
                "MEDICAL_BURDEN",
                department=pl.lit("medical"),
                detail=household_detail,
                day=pl.col("last"),
                amount=pl.col("amount"),
            ),
        ]
    )


def severe_illness(inp: RuleInputs) -> pl.LazyFrame:
    """SEVERE_ILLNESS: a 重大疾病 event, or N+ 住院 settlements of one member, in the window."""
    parts = [empty_reasons()]
    health = _dept(inp, "health")
    if health is not None:
        major = health.filter((pl.col("event_type") == "重大疾病") & _in_window(inp, "event_date"))
        parts.append(
            _emit(
                major,
                "SEVERE_ILLNESS",
                department=pl.lit("health"),
                detail=pl.concat_str(pl.lit("卫健重大疾病记录 "), _ymd(pl.col("event_date"))),
                person_ref=pl.col("person_ref"),
                record_id=pl.col("record_id"),
                day=pl.col("event_date"),
            )
        )
    medical = _dept(inp, "medical")
    if medical is not None:
        need = inp.profile.params.severe_illness_inpatient_count
        stays = _settlements(
            medical.filter((pl.col("visit_type") == "住院") & _in_window(inp, "settled_on")),
            ("household_id", "person_ref"),
            "total_cost",
        ).filter(pl.col("n") >= need)
        parts.append(
            _emit(
                stays,
                "SEVERE_ILLNESS",
                department=pl.lit("medical"),
                detail=pl.concat_str(
                    pl.lit(f"{inp.profile.params.window_months}个月内住院结算 "),
                    pl.col("n").cast(pl.Utf8),
                    pl.lit(f" 次（不少于 {need} 次），医疗总费用合计 "),
                    yuan(pl.col("amount")),
                    pl.lit(" 元"),
                ),
                person_ref=pl.col("person_ref"),
                day=pl.col("last"),
                amount=pl.col("amount"),
            )
        )
    return pl.concat(parts)


def _valid_certificates(inp: RuleInputs) -> pl.LazyFrame | None:
    """有效 certificates issued on or before the run date (注销 ones are no evidence)."""
    disability = _dept(inp, "disability")
    if disability is None:
        return None
    return disability.filter(
        (pl.col("status") == "有效") & (pl.col("issued_on") <= inp.run_date)
    ).with_columns(pl.col("disability_grade").cast(pl.Int64))


def _cert_text() -> pl.Expr:
    return pl.concat_str(
        pl.col("disability_type"), pl.lit("残疾"), _grade_word(pl.col("disability_grade"))
    )


def _grade34_mental() -> pl.Expr:
    return pl.col("disability_grade").is_in([3, 4]) & pl.col("disability_type").is_in(
        list(MENTAL_TYPES)
    )


def severe_disability(inp: RuleInputs) -> pl.LazyFrame:
    """SEVERE_DISABILITY: a valid certificate of grade 1/2, or grade 3/4 智力/精神."""
    certs = _valid_certificates(inp)
    if certs is None:
        return empty_reasons()
    severe = certs.filter(pl.col("disability_grade").is_in([1, 2]) | _grade34_mental())
    return _emit(
        severe,
        "SEVERE_DISABILITY",
        department=pl.lit("disability"),
        detail=pl.concat_str(pl.lit("残疾人证有效："), _cert_text()),
        person_ref=pl.col("person_ref"),
        record_id=pl.col("record_id"),
        day=pl.col("issued_on"),
    )


def subsidy_gap(inp: RuleInputs) -> pl.LazyFrame:
    """SUBSIDY_GAP: a valid certificate holder not receiving a subsidy they qualify for.

    A blank subsidy flag means not receiving. One reason per person and subsidy (their most
    severe certificate is the evidence).
    """
    certs = _valid_certificates(inp)
    if certs is None:
        return empty_reasons()
    held = certs.join(
        inp.members.select("person_ref", "category", "living_subsidy", "nursing_subsidy"),
        on="person_ref",
    )
    nursing_ok = pl.col("disability_grade").is_in([1, 2])
    if inp.profile.params.nursing_grade34_mental:
        nursing_ok = nursing_ok | _grade34_mental()
    living = held.filter(
        pl.col("category").is_in(list(LIVING_SUBSIDY_CATEGORIES))
        & ~pl.col("living_subsidy").fill_null(False)
    ).with_columns(pl.lit("困难残疾人生活补贴").alias("_subsidy"))
    nursing = held.filter(nursing_ok & ~pl.col("nursing_subsidy").fill_null(False)).with_columns(
        pl.lit("重度残疾人护理补贴").alias("_subsidy")
    )
    gaps = (
        pl.concat([living, nursing])
        .sort("person_ref", "_subsidy", "disability_grade", "record_id")
        .unique(["person_ref", "_subsidy"], keep="first", maintain_order=True)
    )
    return _emit(
        gaps,
        "SUBSIDY_GAP",
        department=pl.lit("disability"),
        detail=pl.concat_str(
            pl.lit("持有效残疾人证（"), _cert_text(), pl.lit("），未领取"), pl.col("_subsidy")
        ),
        person_ref=pl.col("person_ref"),
        record_id=pl.col("record_id"),
        day=pl.col("issued_on"),
    )


def unsafe_housing(inp: RuleInputs) -> pl.LazyFrame:
    """UNSAFE_HOUSING: the household's latest appraisal (same-day ones at their worst) is C/D."""
    housing = _dept(inp, "housing")
    if housing is None:
        return empty_reasons()
    latest = (
        housing.filter(pl.col("appraised_on") <= inp.run_date)
        .with_columns(
            pl.col("safety_grade")
            .replace_strict(HOUSING_SEVERITY, default=0, return_dtype=pl.Int8)
            .alias("_severity"),
        )
        .filter(pl.col("appraised_on") == pl.col("appraised_on").max().over("household_id"))
        .with_columns(pl.len().over("household_id").alias("_same_day"))
        .sort(["household_id", "_severity", "record_id"], descending=[False, True, False])
        .unique("household_id", keep="first", maintain_order=True)
        .filter(pl.col("safety_grade").is_in(list(UNSAFE_GRADES)))
    )
    detail = pl.concat_str(
        pl.lit("最近一次房屋安全鉴定 "),
        _ymd(pl.col("appraised_on")),
        pl.lit("："),
        pl.col("safety_grade"),
        pl.lit("级危房"),
        pl.when(pl.col("_same_day") > 1)
        .then(pl.lit("（同日多份鉴定，按最差等级）"))
        .otherwise(pl.lit("")),
    )
    return _emit(
        latest,
        "UNSAFE_HOUSING",
        department=pl.lit("housing"),
        detail=detail,
        person_ref=pl.col("person_ref"),
        record_id=pl.col("record_id"),
        day=pl.col("appraised_on"),
    )


def _income_vs(multiple: float, label: str) -> pl.Expr:
    """'人均月收入 X 元，低保标准 S 元，<label> M 元（k 倍）' for roster-figure details."""
    return pl.concat_str(
        pl.lit("名册人均月收入 "),
        yuan(pl.col("monthly_income_per_capita")),
        pl.lit(" 元，低保标准 "),
        yuan(pl.col("standard")),
        pl.lit(f" 元，{label} "),
        yuan(pl.col("standard") * multiple),
        pl.lit(f" 元（{_num(multiple)} 倍）"),
    )


def _line(multiple: float) -> pl.Expr:
    """multiple × standard, in cents: comparisons at the boundary must not hinge on float noise."""
    return (pl.col("standard") * multiple).round(2)


def _income_between(low: float, high: float) -> pl.Expr:
    """Income per person above low × standard and at most high × standard."""
    income = pl.col("monthly_income_per_capita").round(2)
    return (income > _line(low)) & (income <= _line(high))


def single_person_dibao(inp: RuleInputs, severe: pl.LazyFrame) -> pl.LazyFrame:
    """SINGLE_PERSON_DIBAO: not 低保/特困, income in (1.0x, margin], a severely ill/disabled member.

    `severe` is the output of `severe_illness` and `severe_disability` (reused, not recomputed).
    """
    m = inp.profile.params.margin_multiple
    eligible = inp.households.filter(
        ~pl.col("category").is_in([DIBAO, TEKUN]) & _income_between(1.0, m)
    )
    people = (
        severe.filter(pl.col("person_ref").is_not_null())
        .with_columns(
            pl.col("code").replace_strict(
                {"SEVERE_ILLNESS": "重病", "SEVERE_DISABILITY": "重残"},
                default="重病",
                return_dtype=pl.Utf8,
            )
        )
        .group_by("household_id", "person_ref")
        .agg(pl.col("code").unique().sort().str.join("、").alias("_why"))
    )
    hits = eligible.join(people, on="household_id", how="inner")
    detail = pl.concat_str(
        _income_vs(m, "低保边缘线"),
        pl.lit("；成员"),
        pl.col("_why"),
        pl.lit("：可按“单人户”纳入低保"),
    )
    return _emit(
        hits,
        "SINGLE_PERSON_DIBAO",
        department=pl.lit("roster"),
        detail=detail,
        person_ref=pl.col("person_ref"),
        amount=pl.col("monthly_income_per_capita"),
    )


def gradual_exit(inp: RuleInputs) -> pl.LazyFrame:
    """GRADUAL_EXIT: a 低保 household with income in (1.0x, ceiling]: taper, do not cut."""
    p = inp.profile.params
    hits = inp.households.filter(
        (pl.col("category") == DIBAO) & _income_between(1.0, p.gradual_exit_ceiling)
    )
    detail = pl.concat_str(
        _income_vs(p.gradual_exit_ceiling, "渐退上限"),
        pl.lit(f"；收入超过低保标准：给予 {p.gradual_exit_months} 个月渐退期，不应立即停发"),
    )
    return _emit(
        hits,
        "GRADUAL_EXIT",
        department=pl.lit("roster"),
        detail=detail,
        amount=pl.col("monthly_income_per_capita"),
    )


def tekun_minor(inp: RuleInputs) -> pl.LazyFrame:
    """TEKUN_MINOR: a member of a 特困 household aged 16 or 17 (profile) on the run date."""
    p = inp.profile.params
    age = age_on(pl.col("id_birth"), inp.run_date)
    hits = (
        inp.members.filter(pl.col("category") == TEKUN)
        .with_columns(age.alias("_age"))
        .filter(pl.col("_age").is_in(list(p.tekun_minor_ages)))
    )
    detail = pl.concat_str(
        pl.lit("特困供养未成年人，"),
        pl.col("_age").cast(pl.Utf8),
        pl.lit(f" 周岁：应保障至年满 {p.tekun_support_until_age} 周岁"),
    )
    return _emit(
        hits,
        "TEKUN_MINOR",
        department=pl.lit("roster"),
        detail=detail,
        person_ref=pl.col("person_ref"),
    )


def income_margin(inp: RuleInputs) -> pl.LazyFrame:
    """INCOME_MARGIN: 易返贫致贫/支出型困难 with income at most the margin line."""
    m = inp.profile.params.margin_multiple
    income = pl.col("monthly_income_per_capita").round(2)
    hits = inp.households.filter(
        pl.col("category").is_in(list(INCOME_MARGIN_CATEGORIES)) & (income <= _line(m))
    )
    detail = pl.concat_str(
        _income_vs(m, "低保边缘线"),
        pl.when(income <= _line(1.0))
        .then(pl.lit("；不高于低保标准：评估纳入低保"))
        .otherwise(pl.lit("；不高于低保边缘线：应认定为低保边缘家庭")),
    )
    return _emit(hits, "INCOME_MARGIN", department=pl.lit("roster"), detail=detail, amount=income)


SIMPLE_RULES: dict[str, Callable[[RuleInputs], pl.LazyFrame]] = {
    "DECEASED_MEMBER": deceased_member,
    "MEDICAL_BURDEN": medical_burden,
    "SEVERE_ILLNESS": severe_illness,
    "SEVERE_DISABILITY": severe_disability,
    "UNSAFE_HOUSING": unsafe_housing,
    "SUBSIDY_GAP": subsidy_gap,
    "GRADUAL_EXIT": gradual_exit,
    "TEKUN_MINOR": tekun_minor,
    "INCOME_MARGIN": income_margin,
}


def all_reasons(inp: RuleInputs) -> pl.LazyFrame:
    """Every reason of every code, concatenated in the fixed code order."""
    frames = {code: rule(inp) for code, rule in SIMPLE_RULES.items()}
    severe = pl.concat([frames["SEVERE_ILLNESS"], frames["SEVERE_DISABILITY"]])
    frames["SINGLE_PERSON_DIBAO"] = single_person_dibao(inp, severe)
    return pl.concat([frames[code] for code in CODE_ORDER])
