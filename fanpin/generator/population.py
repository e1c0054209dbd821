"""The synthetic population: roster households with their members, and the people outside it.

Everything is drawn as whole columns. Ages follow the relation to the household head (children
younger than the head, parents older), the sex digit of every id matches the person's sex, and
every id number is unique and valid (the roster's own copy may be damaged: see `roster_id`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from fanpin.generator import identity, names, vocab
from fanpin.generator.params import GeneratorParams

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

CATEGORIES = ["低保", "特困", "低保边缘", "易返贫致贫", "支出型困难"]
CATEGORY_P = [0.5, 0.1, 0.15, 0.15, 0.1]
RELATIONS = ["户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "其他"]
SIZE_P = np.array([0.22, 0.26, 0.22, 0.16, 0.09, 0.05])
TEKUN_SIZE_P = np.array([0.85, 0.15, 0, 0, 0, 0])
COUNTY_CODES = list(vocab.COUNTIES)
COUNTY_P = np.array([vocab.COUNTIES[c][1] for c in COUNTY_CODES])
# Planted ages of 特困 heads: (full years, days since the last birthday; -1 = birthday tomorrow).
TEKUN_AGES = np.array([[16, -2], [17, -2], [16, 0], [18, 0], [18, -1], [15, -2], [16, -1]])


@dataclass(frozen=True)
class Population:
    """People (roster members first, then outsiders), their households and id byte matrix."""

    households: pl.DataFrame
    people: pl.DataFrame
    id_chars: npt.NDArray[np.uint8]
    n_roster: int


def _sizes(rng: np.random.Generator, tekun: BOOL, n_people: int) -> I64:
    """Household sizes whose sum is exactly n_people (the last household is cut short)."""
    general = rng.choice(6, size=len(tekun), p=SIZE_P) + 1
    alone = rng.choice(6, size=len(tekun), p=TEKUN_SIZE_P) + 1
    sizes = np.where(tekun, alone, general).astype(np.int64)
    ends = np.cumsum(sizes)
    k = int(np.searchsorted(ends, n_people)) + 1
    sizes = sizes[:k]
    sizes[-1] -= int(ends[k - 1]) - n_people
    return sizes


def _places(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """County, town, village and area type of n homes."""
    county = np.array(COUNTY_CODES)[rng.choice(len(COUNTY_CODES), size=n, p=COUNTY_P)]
    towns = pl.DataFrame(
        [(c, k, t) for c in COUNTY_CODES for k, t in enumerate(vocab.COUNTIES[c][2])],
        schema=["county_code", "k", "town"],
        orient="row",
    )
    counts = {c: len(vocab.COUNTIES[c][2]) for c in COUNTY_CODES}
    frame = pl.DataFrame(
        {
            "county_code": county,
            "u": rng.random(n),
            "v": rng.random(n),
            "w": rng.integers(0, len(vocab.VILLAGE_WORDS), n),
        }
    )
    n_towns = pl.col("county_code").replace_strict(counts, return_dtype=pl.Int64)
    frame = frame.with_columns(k=(pl.col("u") * n_towns).floor().cast(pl.Int64))
    frame = frame.join(towns, on=["county_code", "k"], how="left", maintain_order="left")
    street = pl.col("town").str.ends_with("街道")
    urban = pl.when(street).then(pl.col("v") < 0.75).otherwise(pl.col("v") < 0.08)
    village = pl.Series(vocab.VILLAGE_WORDS).gather(frame["w"])
    area = pl.when(urban).then(pl.lit("城市")).otherwise(pl.lit("农村"))
    return (
        frame.with_columns(area_type=area, village=village)
        .with_columns(
            village=pl.col("village")
            + pl.when(pl.col("area_type") == "城市").then(pl.lit("社区")).otherwise(pl.lit("村"))
        )
        .select("county_code", "town", "village", "area_type")
    )


def _income_factor(rng: np.random.Generator, category: I64, edge_share: float) -> F64:
    """Income per person as a multiple of the dibao standard, by category.

    低保 mostly below the standard (15% in the gradual-exit band), 特困 low or zero, 低保边缘 in
    the margin band, the two monitoring categories spread to 3x; a few exactly at 1.0x / 1.5x.
    """
    n = len(category)
    u = rng.random(n)
    band = 1.0 + 0.5 * (1.0 - u)  # (1.0, 1.5]
    dibao = np.where(rng.random(n) < 0.15, band, np.where(u < 0.1, 0.0, 0.95 * u))
    tekun = np.where(u < 0.3, 0.0, 0.6 * u)
    margin = np.where(rng.random(n) < 0.85, band, 1.5 + 0.5 * u)
    monitor = 0.6 + 2.4 * u
    hardship = 0.8 + 2.2 * u
    factor = np.choose(category, [dibao, tekun, margin, monitor, hardship])
    edge = rng.random(n) < edge_share
    return np.where(edge, np.where(rng.random(n) < 0.5, 1.0, 1.5), factor)


def _households(
    rng: np.random.Generator, n_people: int, run_date: date, params: GeneratorParams
) -> pl.DataFrame:
    """Roster households: where, category, income, sizes, enrolment date."""
    category = rng.choice(len(CATEGORIES), size=n_people, p=CATEGORY_P).astype(np.int64)
    sizes = _sizes(rng, category == 1, n_people)
    n = len(sizes)
    category = category[:n]
    places = _places(rng, n)
    std = (
        places.select(
            pl.struct("county_code", "area_type").map_batches(
                lambda s: _standards(s, params), return_dtype=pl.Float64
            )
        )
        .to_series()
        .to_numpy()
    )
    factor = _income_factor(rng, category, params.plant.income_edges)
    income_cents = np.round(factor * std * 100.0).astype(np.int64)
    extra = np.where(rng.random(n) < 0.12, rng.integers(1, 3, n), 0)
    enrolled = np.datetime64(run_date) - rng.integers(30, 2900, n).astype("timedelta64[D]")
    serial = pl.Series(np.arange(1, n + 1)).cast(pl.Utf8).str.zfill(8)
    return places.with_columns(
        household_id=places["county_code"] + serial,
        category=pl.Series(CATEGORIES).gather(category),
        n_members=pl.Series(sizes),
        household_size=pl.Series(sizes + extra),
        income_cents=pl.Series(income_cents),
        standard=pl.Series(std),
        enrolled_on=pl.Series(enrolled).cast(pl.Date),
        start=pl.Series(np.cumsum(sizes) - sizes),
    )


def _standards(keys: pl.Series, params: GeneratorParams) -> pl.Series:
    """Dibao standard of each (county_code, area_type) struct (small lookup table)."""
    table = params.policy.dibao_standards
    frame = keys.struct.unnest()
    lookup = pl.DataFrame(
        [(c, a, v) for (c, a), v in table.items()],
        schema=["county_code", "area_type", "standard"],
        orient="row",
    )
    return frame.join(lookup, on=["county_code", "area_type"], how="left", maintain_order="left")[
        "standard"
    ]


def _relations(rng: np.random.Generator, pos: I64, head_age: F64) -> I64:
    """Relation code per member from its position; parents only of younger heads, etc."""
    n = len(pos)
    second = rng.choice([1, 2, 3, 5, 6], size=n, p=[0.7, 0.17, 0.07, 0.04, 0.02])
    later = rng.choice([2, 4, 3, 5, 6], size=n, p=[0.62, 0.2, 0.1, 0.05, 0.03])
    rel = np.where(pos == 0, 0, np.where(pos == 1, second, later))
    rel = np.where((rel == 3) & (head_age >= 60), 2, rel)
    rel = np.where((rel == 4) & (head_age < 50), 2, rel)
    return rel.astype(np.int64)


def _member_ages(rng: np.random.Generator, rel: I64, head_age: F64) -> F64:
    """Age in years consistent with the relation to the head."""
    n = len(rel)
    offset = np.choose(
        rel,
        [
            np.zeros(n),
            rng.normal(-2.0, 3.0, n),
            -rng.uniform(20, 38, n),
            rng.uniform(20, 32, n),
            -rng.uniform(42, 62, n),
            rng.uniform(-10, 10, n),
            rng.uniform(-30, 20, n),
        ],
    )
    age = head_age + offset
    # Out-of-range ages are redrawn in a band, not clipped: a clip piles people on one birth day.
    age = np.where(age < 0.05, rng.uniform(0.05, 3.0, n), age)
    return np.where(age > 100.0, rng.uniform(90.0, 100.0, n), age)


def _members(
    rng: np.random.Generator, hh: pl.DataFrame, run_date: date, params: GeneratorParams
) -> pl.DataFrame:
    """One row per roster member with relation, sex, birth date and name."""
    sizes = hh["n_members"].to_numpy()
    hh_idx = np.repeat(np.arange(len(sizes)), sizes)
    pos = np.arange(len(hh_idx)) - np.repeat(hh["start"].to_numpy(), sizes)
    tekun = (hh["category"] == "特困").to_numpy()
    n_hh = len(sizes)
    head_age = np.where(tekun, 55 + 37 * rng.random(n_hh), 24 + 60 * rng.random(n_hh) ** 0.8)
    plant = tekun & (rng.random(n_hh) < params.plant.tekun_minor / CATEGORY_P[1])
    plant_kind = rng.integers(0, len(TEKUN_AGES), n_hh)
    head_age = np.where(plant, TEKUN_AGES[plant_kind, 0] + 0.5, head_age)
    rel = _relations(rng, pos, head_age[hh_idx])
    rel = np.where(plant[hh_idx] & (pos > 0), 5, rel)  # an orphan's household: siblings only
    age = _member_ages(rng, rel, head_age[hh_idx])
    birth = np.datetime64(run_date) - np.floor(age * 365.25).astype("timedelta64[D]")
    head_male = rng.random(n_hh) < 0.65
    male = np.where(
        rel == 0,
        head_male[hh_idx],
        np.where(rel == 1, ~head_male[hh_idx], rng.random(len(rel)) < 0.5),
    )
    frame = pl.DataFrame(
        {
            "hh": hh_idx,
            "member_no": pos,
            "rel": rel,
            "male": male,
            "birth": pl.Series(birth).cast(pl.Date),
            "planted_age": np.where(plant[hh_idx] & (pos == 0), plant_kind[hh_idx], -1),
        }
    )
    return frame.with_columns(birth=_planted_birth(run_date))


def _planted_birth(run_date: date) -> pl.Expr:
    """Birth date of planted 特困 minors: N full years plus or minus a day around the run date."""
    kind = pl.col("planted_age")
    years = pl.lit(pl.Series(TEKUN_AGES[:, 0])).gather(kind.clip(0))
    days = pl.lit(pl.Series(TEKUN_AGES[:, 1])).gather(kind.clip(0))
    exact = pl.lit(run_date).dt.offset_by(pl.format("-{}y", years))
    planted = exact - pl.duration(days=pl.when(days < -1).then(30).otherwise(days))
    return pl.when(kind >= 0).then(planted).otherwise(pl.col("birth"))


def _member_names(rng: np.random.Generator, hh: pl.DataFrame, m: pl.DataFrame) -> names.Names:
    """Family members share the head's surname (children, siblings, fathers); styles per home."""
    n_hh = hh.height
    county = hh["county_code"].to_numpy()
    yi_area = np.isin(county, ["510411", "510421"])
    u = rng.random(n_hh)
    style = np.where(u < 0.008, 1, np.where(yi_area & (u > 0.96), 2, 0)).astype(np.int8)
    head_surname = names.draw_surnames(rng, n_hh)
    hh_idx = m["hh"].to_numpy()
    rel = m["rel"].to_numpy()
    male = m["male"].to_numpy()
    own = names.draw_surnames(rng, len(hh_idx))
    inherits = np.isin(rel, [0, 2, 4, 5]) | ((rel == 3) & male)
    surname = np.where(inherits, head_surname[hh_idx], own)
    return names.build_names(rng, surname, male, style[hh_idx])


def _area_codes(rng: np.random.Generator, home: npt.NDArray[np.str_]) -> I64:
    """Id address codes: the home county for most, another real code for 20% (people move)."""
    others = np.array([int(c) for c, _ in vocab.OTHER_AREAS])
    p = np.array([w for _, w in vocab.OTHER_AREAS])
    other = others[rng.choice(len(others), size=len(home), p=p / p.sum())]
    return np.where(rng.random(len(home)) < 0.2, other, home.astype(np.int64))


def _outside(
    rng: np.random.Generator,
    roster: pl.DataFrame,
    n_out: int,
    run_date: date,
    namesake_share: float,
) -> pl.DataFrame:
    """People who are not on the roster; some are namesakes (same name and birth date)."""
    places = _places(rng, n_out)
    male = rng.random(n_out) < 0.5
    age = rng.uniform(0.05, 92.0, n_out)
    birth = np.datetime64(run_date) - np.floor(age * 365.25).astype("timedelta64[D]")
    yi_area = np.isin(places["county_code"].to_numpy(), ["510411", "510421"])
    u = rng.random(n_out)
    style = np.where(u < 0.008, 1, np.where(yi_area & (u > 0.96), 2, 0)).astype(np.int8)
    nm = names.build_names(rng, names.draw_surnames(rng, n_out), male, style)
    frame = places.with_columns(
        name=nm.name,
        surname_len=pl.Series(nm.surname_len),
        dotted=pl.Series(nm.dotted),
        male=pl.Series(male),
        birth=pl.Series(birth).cast(pl.Date),
        namesake_of=pl.lit(None, dtype=pl.Int64),
    )
    k = int(round(n_out * namesake_share))
    if k == 0 or roster.height == 0:
        return frame
    slots = rng.choice(n_out, size=k, replace=False)
    source = rng.choice(roster.height, size=k, replace=k > roster.height)
    copied = (
        roster[source]
        .select("name", "surname_len", "dotted", "male", "birth")
        .with_columns(namesake_of=pl.Series(source.astype(np.int64)))
    )
    keep = np.ones(n_out, dtype=bool)
    keep[slots] = False
    return pl.concat(
        [frame.filter(pl.Series(keep)), places[np.sort(slots)].hstack(copied)], how="vertical"
    )


def build_population(
    rng: np.random.Generator, n_people: int, run_date: date, params: GeneratorParams
) -> Population:
    """Households, roster members and outsiders, with unique valid ids for everyone."""
    hh = _households(rng, n_people, run_date, params)
    m = _members(rng, hh, run_date, params)
    nm = _member_names(rng, hh, m)
    head_person = hh["start"].to_numpy()[m["hh"].to_numpy()]
    roster = m.with_columns(
        hh.select("household_id", "county_code", "town", "village", "area_type")[
            m["hh"].to_numpy()
        ],
        relation=pl.Series(RELATIONS).gather(m["rel"]),
        head=pl.Series(head_person),
        name=nm.name,
        surname_len=pl.Series(nm.surname_len),
        dotted=pl.Series(nm.dotted),
        on_roster=pl.lit(True),
        namesake_of=pl.lit(None, dtype=pl.Int64),
    )
    n_out = int(round(n_people * params.volume.outside_people_per_roster_person))
    out = _outside(rng, roster, n_out, run_date, params.volume.namesake_share).with_columns(
        on_roster=pl.lit(False)
    )
    people = pl.concat([roster.drop("hh", "rel", "planted_age"), out], how="diagonal_relaxed")
    people = people.with_row_index("person").with_columns(pl.col("person").cast(pl.Int64))
    chars = _ids(rng, people, params.id_stripe)
    people = people.with_columns(id_number=identity.to_strings(chars))
    people = people.with_columns(roster_id=_roster_ids(rng, chars, people, params))
    return Population(households=hh, people=people, id_chars=chars, n_roster=roster.height)


def _ids(
    rng: np.random.Generator, people: pl.DataFrame, stripe: tuple[int, int] = (0, 1)
) -> npt.NDArray[np.uint8]:
    """Unique valid id numbers for all people, as an (n, 18) byte matrix."""
    area = _area_codes(rng, people["county_code"].to_numpy())
    ymd = (
        people.select(
            pl.col("birth").dt.year().cast(pl.Int64) * 10000
            + pl.col("birth").dt.month().cast(pl.Int64) * 100
            + pl.col("birth").dt.day().cast(pl.Int64)
        )
        .to_series()
        .to_numpy()
    )
    male = people["male"].to_numpy()
    seq = identity.unique_sequences(area, ymd, male, rng, stripe)
    return identity.build_ids(area, ymd, seq)


def _roster_ids(
    rng: np.random.Generator,
    chars: npt.NDArray[np.uint8],
    people: pl.DataFrame,
    params: GeneratorParams,
) -> pl.Series:
    """The id as the roster writes it: a few are invalid (wrong check character or 17 chars).

    Both damages keep the birth digits, so an age computed from the roster's id stays right.
    """
    on = people["on_roster"].to_numpy()
    bad = on & (rng.random(len(on)) < params.noise.roster_invalid_id)
    written = chars.copy()
    alphabet = np.frombuffer(b"0123456789X", dtype=np.uint8)
    shift = rng.integers(1, 11, len(on))
    pos = np.searchsorted(alphabet, written[:, 17], sorter=np.argsort(alphabet))
    order = np.argsort(alphabet)
    wrong = alphabet[order][(pos + shift) % 11]
    written[bad, 17] = wrong[bad]
    text = identity.to_strings(written)
    short = bad & (rng.random(len(on)) < 0.3)
    frame = pl.DataFrame({"t": text, "short": short, "on": on})
    return (
        frame.select(
            pl.when(~pl.col("on"))
            .then(None)
            .when(pl.col("short"))
            .then(pl.col("t").str.slice(0, 17))
            .otherwise(pl.col("t"))
        )
        .to_series()
        .alias("roster_id")
    )
