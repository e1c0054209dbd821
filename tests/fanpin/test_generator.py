"""Tests of the synthetic data generator (fanpin.generator)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml
from stdnum.cn import ric

from fanpin.generator import Dataset, generate, write_inbox, write_truth
from fanpin.generator import truth as truth_mod
from fanpin.generator.noise import LABELS
from fanpin.generator.params import GeneratorParams, PolicyParams

RUN = date(2026, 11, 30)
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return generate(600, 7, RUN)


@pytest.fixture(scope="module")
def inbox(ds: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gen")
    write_inbox(ds, root / "inbox")
    write_truth(ds, root / "truth")
    return root


def _valid(id_number: str) -> bool:
    """Checksum and birth date by python-stdnum (its place-by-year check is not wanted here)."""
    if len(id_number) != 18 or not id_number[:17].isdigit():
        return False
    try:
        ric.get_birth_date(id_number)
    except Exception:
        return False
    return ric.calc_check_digit(id_number) == id_number[17]


def _records(ds: Dataset) -> pl.DataFrame:
    parts = [
        ds.department(d).select("record_id", "name", "id_number").with_columns(department=pl.lit(d))
        for d in ("health", "medical", "housing", "disability")
    ]
    return pl.concat(parts).join(ds.links, on=["department", "record_id"])


def test_same_seed_same_frames(ds: Dataset) -> None:
    """The same seed, size and run date give identical frames."""
    again = generate(600, 7, RUN)
    for name in ("roster", "health", "medical", "housing", "disability", "links", "reasons"):
        assert getattr(ds, name).equals(getattr(again, name)), name


def test_other_seed_other_data(ds: Dataset) -> None:
    """A different seed gives a different roster."""
    assert not generate(600, 8, RUN).roster.equals(ds.roster)


def test_same_seed_byte_identical_files(ds: Dataset, inbox: Path, tmp_path: Path) -> None:
    """Writing the same dataset twice gives byte-identical inbox and truth files."""
    write_inbox(generate(600, 7, RUN), tmp_path / "inbox")
    write_truth(ds, tmp_path / "truth")
    for sub in ("inbox", "truth"):
        first = sorted(p.relative_to(inbox) for p in (inbox / sub).rglob("*") if p.is_file())
        second = sorted(p.relative_to(tmp_path) for p in (tmp_path / sub).rglob("*") if p.is_file())
        assert first == second
        for rel in first:
            assert (inbox / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_id_stripes_never_share_an_id() -> None:
    """Datasets made with id_stripe (0, 3), (1, 3), (2, 3) share no identity number."""
    made = [generate(600, 7 + i, RUN, GeneratorParams(id_stripe=(i, 3))) for i in range(3)]
    ids = [set(d.people["id_number"].to_list()) for d in made]
    assert all(len(s) == d.people.height for s, d in zip(ids, made, strict=True))
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2]) and not (ids[0] & ids[2])
    assert all(all(_valid(i) for i in s) for s in ids)


def test_default_stripe_is_the_whole_range(ds: Dataset) -> None:
    """id_stripe (0, 1) draws exactly what the default generator draws (sample data unchanged)."""
    again = generate(600, 7, RUN, GeneratorParams(id_stripe=(0, 1)))
    assert again.people["id_number"].equals(ds.people["id_number"])


def test_volumes_and_roster_share(ds: Dataset) -> None:
    """About 8 records per roster person, 6 of them medical, a third about roster people."""
    total = sum(ds.department(d).height for d in ("health", "medical", "housing", "disability"))
    assert 7.5 <= total / ds.roster.height <= 9.0
    assert 5.8 <= ds.medical.height / ds.roster.height <= 6.5
    share = ds.links["true_person"].is_not_null().mean()
    assert share is not None and 0.3 <= float(share) <= 0.4  # type: ignore[arg-type]


def test_every_noise_label_occurs(ds: Dataset) -> None:
    """Every defect label occurs, and clean records are the majority."""
    labels = set(ds.links["noise"].unique().to_list())
    assert set(LABELS) <= labels
    assert (ds.links["noise"] == "clean").mean() > 0.6  # type: ignore[operator]


def test_roster_ids_valid_except_flagged(ds: Dataset) -> None:
    """Roster ids pass stdnum's checksum and birth date, except the few planted invalid ones."""
    valid = [_valid(s) for s in ds.roster["id_number"].to_list()]
    invalid = valid.count(False)
    assert 0 < invalid < 0.05 * len(valid)
    assert ds.roster["id_number"].n_unique() == ds.roster.height


def test_person_ids_match_birth_and_sex(ds: Dataset) -> None:
    """Every person's id is valid, unique, and carries their birth date and sex."""
    people = ds.people
    assert people["id_number"].n_unique() == people.height
    sample = people.sample(300, seed=1)
    for id_number, birth, male in sample.select("id_number", "birth", "male").iter_rows():
        assert _valid(id_number)
        assert ric.get_birth_date(id_number) == birth
        assert (int(id_number[16]) % 2 == 1) == male


def test_relations_have_consistent_ages(ds: Dataset) -> None:
    """Children and grandchildren are younger than the head; parents older."""
    roster = ds.people.filter(pl.col("on_roster"))
    heads = roster.filter(pl.col("relation") == "户主").select(
        "household_id", head_birth=pl.col("birth")
    )
    joined = roster.join(heads, on="household_id")
    young = joined.filter(pl.col("relation").is_in(["子女", "孙子女"]))
    old = joined.filter(pl.col("relation") == "父母")
    assert (young["birth"] > young["head_birth"]).all()
    assert (old["birth"] < old["head_birth"]).all()
    assert heads.height == roster["household_id"].n_unique()


def test_household_fields_are_uniform(ds: Dataset) -> None:
    """Category, area type, income and size are the same for the whole household."""
    per = ds.roster.group_by("household_id").agg(
        pl.col("category").n_unique(),
        pl.col("area_type").n_unique(),
        pl.col("monthly_income_per_capita").n_unique(),
        pl.len(),
        pl.col("household_size").first(),
    )
    assert (per["category"] == 1).all() and (per["area_type"] == 1).all()
    assert (per["monthly_income_per_capita"] == 1).all()
    assert (per["household_size"] >= per["len"]).all()
    assert (per["household_size"] > per["len"]).any()


def test_truth_links_point_into_the_roster(ds: Dataset) -> None:
    """One truth row per record; every true_person is a roster person of that household."""
    records = _records(ds)
    assert records.height == ds.links.height
    people = ds.people.filter(pl.col("on_roster")).select("id_number", "household_id")
    linked = ds.links.filter(pl.col("true_person").is_not_null())
    joined = linked.join(
        people, left_on="true_person", right_on="id_number", how="left", suffix="_p"
    )
    assert joined["household_id_p"].null_count() == 0
    assert (joined["household_id"] == joined["household_id_p"]).all()


def test_id_defects_are_what_they_say(ds: Dataset) -> None:
    """Clean ids are the true id; a digit defect differs in one place; 15-digit ids upgrade."""
    rec = _records(ds).filter(pl.col("true_person").is_not_null())
    for noise, id_number, true in rec.select("noise", "id_number", "true_person").iter_rows():
        if noise in ("clean", "name_space", "name_homophone", "name_traditional"):
            assert id_number == true
        elif noise == "id_digit":
            assert sum(a != b for a, b in zip(id_number, true, strict=True)) == 1
        elif noise == "id_15":
            upgraded = id_number[:6] + "19" + id_number[6:] + "0"
            assert ric.calc_check_digit(upgraded) + "" == true[17]
            assert upgraded[:17] == true[:17]
        elif noise == "id_lower_x":
            assert id_number == true[:17] + "x"


def test_head_id_and_wrong_name(ds: Dataset) -> None:
    """head_id carries the head's id with the member's name; wrong_name a roster id, no person."""
    rec = _records(ds)
    roster = ds.people.filter(pl.col("on_roster"))
    heads = roster.filter(pl.col("relation") == "户主").select("household_id", head_id="id_number")
    head_rows = rec.filter(pl.col("noise") == "head_id").join(heads, on="household_id")
    assert head_rows.height > 0
    assert (head_rows["id_number"] == head_rows["head_id"]).all()
    assert (head_rows["id_number"] != head_rows["true_person"]).all()
    wrong = rec.filter(pl.col("noise") == "wrong_name")
    assert wrong["true_person"].null_count() == wrong.height
    assert wrong["id_number"].is_in(roster["id_number"].implode()).all()
    assert not wrong.filter(pl.col("department") != "disability")["clue"].any()


def test_namesakes_share_name_and_birth(ds: Dataset) -> None:
    """A namesake has a roster person's name and birth date but another id."""
    people = ds.people
    ns = people.filter(pl.col("namesake_of").is_not_null())
    assert ns.height > 0
    src = people[ns["namesake_of"].to_numpy()]
    assert (ns["name"] == src["name"]).all() and (ns["birth"] == src["birth"]).all()
    assert (ns["id_number"] != src["id_number"]).all()


def test_certificates(ds: Dataset) -> None:
    """A certificate is the holder's id, type digit and grade digit; cert_only ids are broken."""
    dis = ds.disability.join(ds.links.filter(pl.col("department") == "disability"), on="record_id")
    types = ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"]
    for cert, kind, grade in (
        dis.select("certificate_no", "disability_type", "disability_grade").drop_nulls().iter_rows()
    ):
        assert len(cert) == 20 and _valid(cert[:18])
        assert cert[18] == str(types.index(kind) + 1) and cert[19] == str(grade)
    broken = dis.filter(pl.col("noise") == "cert_only")
    assert broken.height > 0
    assert not any(_valid(s or "") for s in broken["id_number"].to_list())
    owned = broken.filter(pl.col("true_person").is_not_null())
    assert (owned["certificate_no"].str.slice(0, 18) == owned["true_person"]).all()


def test_medical_amounts_consistent(ds: Dataset) -> None:
    """Out-of-pocket and fund paid never exceed the total cost."""
    m = ds.medical
    assert (m["out_of_pocket"] <= m["total_cost"]).all()
    assert (m["fund_paid"] + m["out_of_pocket"] <= m["total_cost"] + 1e-6).all()
    assert (m["settled_on"] <= RUN).all()


def test_all_reason_codes_planted(ds: Dataset) -> None:
    """Every reason code of the policy fires for some household, only for roster households."""
    assert set(ds.reasons["code"].unique().to_list()) == set(truth_mod.CODES)
    assert ds.reasons["household_id"].is_in(ds.roster["household_id"].implode()).all()


def test_planted_scenarios_fire(ds: Dataset) -> None:
    """Planted deaths, major illnesses and burdens fire their codes for their households."""
    planted = ds.links.filter(pl.col("true_person").is_not_null())
    for scenario, code in [
        ("deceased", "DECEASED_MEMBER"),
        ("medical_burden", "MEDICAL_BURDEN"),
        ("severe_illness", "SEVERE_ILLNESS"),
    ]:
        homes = planted.filter(pl.col("planted") == scenario)["household_id"].unique()
        fired = ds.reasons.filter(pl.col("code") == code)["household_id"]
        assert homes.len() > 0 and homes.is_in(fired.implode()).all(), scenario


def _tiny(**over: object) -> dict[str, object]:
    """Inputs for truth.reasons: one 低保 rural household in 500110 with one member (person 0)."""
    empty = {
        "health": pl.DataFrame(
            schema={"owner": pl.Int64, "event_type": pl.Utf8, "event_date": pl.Date}
        ),
        "medical": pl.DataFrame(
            schema={
                "owner": pl.Int64,
                "visit_type": pl.Utf8,
                "settled_on": pl.Date,
                "oop_cents": pl.Int64,
            }
        ),
        "housing": pl.DataFrame(
            schema={"owner": pl.Int64, "appraised_on": pl.Date, "safety_grade": pl.Utf8}
        ),
        "disability": pl.DataFrame(
            schema={
                "owner": pl.Int64,
                "status": pl.Utf8,
                "grade": pl.Int8,
                "disability_type": pl.Utf8,
            }
        ),
    }
    records = {k: over.get(k, v) for k, v in empty.items()}
    roster = pl.DataFrame(
        {
            "person": [0],
            "household_id": ["H"],
            "birth": [date(1960, 1, 1)],
            "living_subsidy": ["是"],
            "nursing_subsidy": ["是"],
        }
    )
    hh = pl.DataFrame(
        {
            "household_id": ["H"],
            "category": ["低保"],
            "income_cents": [30000],
            "household_size": [1],
            "standard": [496.0],
        }
    )
    return {
        "records": records,
        "roster": over.get("roster", roster),
        "hh": over.get("hh", hh),
        "run_date": RUN,
        "policy": PolicyParams(),
    }


def _codes(**over: object) -> set[str]:
    return set(truth_mod.reasons(**_tiny(**over))["code"].to_list())  # type: ignore[arg-type]


def test_truth_window_excludes_its_first_day() -> None:
    """A settlement exactly 12 months before the run date is outside the window."""
    med = pl.DataFrame(
        {
            "owner": [0, 0],
            "visit_type": ["住院", "住院"],
            "settled_on": [date(2025, 11, 30), date(2026, 11, 30)],
            "oop_cents": [900_000, 100],
        }
    )
    assert "SEVERE_ILLNESS" not in _codes(medical=med)
    assert "MEDICAL_BURDEN" not in _codes(medical=med)
    inside = med.with_columns(settled_on=pl.Series([date(2025, 12, 1), date(2026, 11, 30)]))
    assert {"SEVERE_ILLNESS", "MEDICAL_BURDEN"} <= _codes(medical=inside)


def test_truth_gradual_exit_is_above_one_at_most_ceiling() -> None:
    """GRADUAL_EXIT fires for income in (1.0x, 1.5x] of the standard, not at exactly 1.0x."""

    def hh(cents: int) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "household_id": ["H"],
                "category": ["低保"],
                "income_cents": [cents],
                "household_size": [1],
                "standard": [496.0],
            }
        )

    assert "GRADUAL_EXIT" not in _codes(hh=hh(49600))
    assert "GRADUAL_EXIT" in _codes(hh=hh(49601))
    assert "GRADUAL_EXIT" in _codes(hh=hh(74400))
    assert "GRADUAL_EXIT" not in _codes(hh=hh(74401))


def test_truth_latest_appraisal_worst_grade_of_the_day() -> None:
    """Same-day B and C count as C; a later A after a C clears the household."""
    tie = pl.DataFrame(
        {"owner": [0, 0], "appraised_on": [date(2026, 5, 1)] * 2, "safety_grade": ["B", "C"]}
    )
    fixed = pl.DataFrame(
        {
            "owner": [0, 0],
            "appraised_on": [date(2024, 5, 1), date(2026, 5, 1)],
            "safety_grade": ["D", "A"],
        }
    )
    assert "UNSAFE_HOUSING" in _codes(housing=tie)
    assert "UNSAFE_HOUSING" not in _codes(housing=fixed)


def test_truth_tekun_minor_age_on_run_date() -> None:
    """A 特困 member turning 16 on the run date is a minor to keep; one turning 18 is not."""
    hh = pl.DataFrame(
        {
            "household_id": ["H"],
            "category": ["特困"],
            "income_cents": [0],
            "household_size": [1],
            "standard": [496.0],
        }
    )

    def roster(birth: date) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "person": [0],
                "household_id": ["H"],
                "birth": [birth],
                "living_subsidy": [None],
                "nursing_subsidy": [None],
            },
            schema_overrides={"living_subsidy": pl.Utf8, "nursing_subsidy": pl.Utf8},
        )

    assert "TEKUN_MINOR" in _codes(hh=hh, roster=roster(date(2010, 11, 30)))
    assert "TEKUN_MINOR" not in _codes(hh=hh, roster=roster(date(2008, 11, 30)))
    assert "TEKUN_MINOR" in _codes(hh=hh, roster=roster(date(2008, 12, 1)))


def test_truth_subsidy_gap_and_mental_grade_three() -> None:
    """A valid grade-3 智力 certificate is severe and, without nursing subsidy, a gap."""
    cert = pl.DataFrame(
        {"owner": [0], "status": ["有效"], "grade": [3], "disability_type": ["智力"]},
        schema_overrides={"grade": pl.Int8},
    )
    roster = pl.DataFrame(
        {
            "person": [0],
            "household_id": ["H"],
            "birth": [date(1960, 1, 1)],
            "living_subsidy": ["是"],
            "nursing_subsidy": [None],
        },
        schema_overrides={"nursing_subsidy": pl.Utf8},
    )
    assert {"SEVERE_DISABILITY", "SUBSIDY_GAP"} <= _codes(disability=cert, roster=roster)
    cancelled = cert.with_columns(status=pl.lit("注销"))
    assert not {"SEVERE_DISABILITY", "SUBSIDY_GAP"} & _codes(disability=cancelled, roster=roster)


def test_file_formats(inbox: Path) -> None:
    """GB18030 health CSV, BOM medical CSVs, xlsx with a title row, disability footer."""
    health = next((inbox / "inbox" / "health").glob("*.csv")).read_bytes()
    health.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        health.decode("utf-8")
    medical = sorted((inbox / "inbox" / "medical").glob("*.csv"))
    assert len(medical) > 3 and all(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in medical)
    text = "".join(p.read_text(encoding="utf-8-sig") for p in medical)
    assert "元" in text and "年" in text and "/" in text
    for folder in ("roster", "housing"):
        book = next((inbox / "inbox" / folder).glob("*.xlsx"))
        raw = pl.read_excel(book, read_options={"header_row": None})
        assert raw.row(1)[1] is not None and raw.row(0)[1] is None  # title, then headers
    roster = pl.read_excel(
        next((inbox / "inbox" / "roster").glob("*.xlsx")), read_options={"header_row": 1}
    )
    assert roster.schema["纳入时间"] == pl.Date
    footer = (inbox / "inbox" / "disability").glob("*.csv").__next__().read_text("utf-8")
    assert footer.strip().splitlines()[-1].startswith("合计")


def test_headers_are_schema_aliases(inbox: Path) -> None:
    """Every header a department file uses is a canonical name or an alias in schemas/."""
    for dept in ("roster", "health", "medical", "housing", "disability"):
        schema = yaml.safe_load((SCHEMAS / f"{dept}.yaml").read_text(encoding="utf-8"))
        known = {c["name"] for c in schema["columns"]} | {
            a for c in schema["columns"] for a in c.get("aliases", [])
        }
        for path in (inbox / "inbox" / dept).iterdir():
            if path.suffix == ".xlsx":
                header = pl.read_excel(path, read_options={"header_row": 1}).columns
            else:
                enc = "gb18030" if dept == "health" else "utf-8-sig"
                header = path.read_bytes().decode(enc).splitlines()[0].split(",")
            assert set(header) - {"序号"} <= known, (dept, set(header) - known)


def test_fast_format(ds: Dataset, tmp_path: Path) -> None:
    """The fast format is one plain UTF-8 CSV per department with canonical headers."""
    write_inbox(ds, tmp_path, formats="fast")
    medical = pl.read_csv(
        tmp_path / "medical" / "medical.csv",
        schema_overrides={"id_number": pl.Utf8},
        try_parse_dates=True,
    )
    assert medical.columns == ds.medical.columns
    assert medical.height == ds.medical.height
    assert medical.schema["settled_on"] == pl.Date
