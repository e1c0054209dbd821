"""The defects departments' data really has, applied to clean records, one label per record.

Labels are mutually exclusive so a benchmark can measure recall per defect. A defect only some
records can carry (lowercase x needs a check character X; a 15-digit id needs a birth in the
1900s) is drawn among the eligible records with a raised probability, so that its realized
share of all records stays close to its rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

import numpy as np
import numpy.typing as npt
import polars as pl

from fanpin.generator import identity, vocab
from fanpin.generator.params import NoiseRates
from fanpin.generator.population import Population

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

# Order matters: restricted defects are drawn first, then the ones every record can have.
LABELS = [
    "namesake",
    "wrong_name",
    "head_id",
    "cert_only",
    "id_lower_x",
    "id_15",
    "name_dot",
    "name_homophone",
    "name_traditional",
    "id_blank",
    "id_digit",
    "id_transpose",
    "id_fullwidth",
    "id_spaces",
    "name_space",
]
NO_CLUE = {"id_blank", "wrong_name", "cert_only"}
FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789X"}


def name_variants(people: pl.DataFrame) -> pl.DataFrame:
    """Each person's homophone and traditional spelling (equal to the name when none exists)."""
    pairs = vocab.HOMOPHONE_PAIRS
    src = [a for a, b in pairs] + [b for a, b in pairs]
    dst = [b for a, b in pairs] + [a for a, b in pairs]
    surname = pl.col("name").str.slice(0, pl.col("surname_len"))
    given = pl.col("name").str.slice(pl.col("surname_len"))
    return people.select(
        homophone=surname + given.str.replace_many(src, dst),
        traditional=pl.col("name").str.replace_many(
            list(vocab.TRADITIONAL), list(vocab.TRADITIONAL.values())
        ),
    )


def person_traits(pop: Population, variants: pl.DataFrame) -> dict[str, BOOL]:
    """Per person: which restricted defects a record about them can carry (computed once)."""
    people = pop.people
    birth_year = people["birth"].dt.year().to_numpy()
    names = people["name"]
    return {
        "on_roster": people["on_roster"].to_numpy(),
        "namesake": people["namesake_of"].is_not_null().to_numpy(),
        "member": (people["relation"] != "户主").fill_null(False).to_numpy(),
        "id_lower_x": pop.id_chars[:, 17] == ord("X"),
        "id_15": (birth_year >= 1900) & (birth_year <= 1999),
        "name_dot": people["dotted"].to_numpy(),
        "name_homophone": (variants["homophone"] != names).to_numpy(),
        "name_traditional": (variants["traditional"] != names).to_numpy(),
    }


def _eligibility(dept: str, owner: I64, traits: dict[str, BOOL]) -> dict[str, BOOL]:
    """Which records can carry each restricted defect."""
    on = traits["on_roster"][owner]
    out = {
        k: traits[k][owner]
        for k in (
            "namesake",
            "id_lower_x",
            "id_15",
            "name_dot",
            "name_homophone",
            "name_traditional",
        )
    }
    out["wrong_name"] = ~on
    out["head_id"] = on & traits["member"][owner]
    out["cert_only"] = np.full(len(owner), dept == "disability")
    return out


def draw_labels(
    rng: np.random.Generator, dept: str, owner: I64, traits: dict[str, BOOL], rates: NoiseRates
) -> pl.Series:
    """One label per record ('clean' when no defect)."""
    n = len(owner)
    label = np.full(n, -1, dtype=np.int64)
    eligible = _eligibility(dept, owner, traits)
    rate = asdict(rates)
    label[eligible["namesake"]] = 0
    for k, name in enumerate(LABELS[1:], start=1):
        free = (label < 0) & eligible.get(name, np.ones(n, dtype=bool))
        count = int(free.sum())
        if count == 0:
            continue
        share = rate[name] if dept == "disability" or name != "cert_only" else 0.0
        p = min(1.0, share * n / count)
        label[free & (rng.random(n) < p)] = k
    text = pl.Series(["clean", *LABELS])
    return text.gather(label + 1).alias("noise")


def _id_chars(
    rng: np.random.Generator,
    owner: I64,
    label: pl.Series,
    pop: Population,
) -> npt.NDArray[np.uint8]:
    """The id bytes each record carries before formatting (someone else's for two defects)."""
    chars = pop.id_chars[owner].copy()
    rows = {name: np.flatnonzero((label == name).to_numpy()) for name in LABELS}
    head = pop.people["head"].to_numpy()
    chars[rows["head_id"]] = pop.id_chars[head[owner[rows["head_id"]]].astype(np.int64)]
    other = rng.integers(0, pop.n_roster, len(rows["wrong_name"]))
    chars[rows["wrong_name"]] = pop.id_chars[other]
    identity.substitute_digit(chars, rows["id_digit"], rng)
    identity.transpose_adjacent(chars, rows["id_transpose"], rng)
    chars[rows["id_lower_x"], 17] = ord("x")
    return chars


def _patch(
    base: pl.Series,
    label: pl.Series,
    name: str,
    make: Callable[[pl.Series, npt.NDArray[np.int64]], pl.Series],
) -> None:
    """Replace, in place, the values of rows labelled `name` by make(their values, rows)."""
    rows = np.flatnonzero((label == name).to_numpy())
    if len(rows):
        base.scatter(rows, make(base.gather(rows), rows))


def _format_ids(
    rng: np.random.Generator,
    chars: npt.NDArray[np.uint8],
    label: pl.Series,
) -> pl.Series:
    """The id column as delivered: 18 or 15 digits, full-width, spaced, blank or broken.

    Only the labelled rows are rewritten (a few percent), so this stays cheap at 10M rows.
    """
    ids = identity.to_strings(chars).alias("id_number")
    broken = pl.Series(["", "无", "不详", "0"], dtype=pl.Utf8)

    def fifteen(_: pl.Series, rows: npt.NDArray[np.int64]) -> pl.Series:
        return identity.to_strings(identity.to_fifteen(chars[rows]))

    def damaged(s: pl.Series, rows: npt.NDArray[np.int64]) -> pl.Series:
        cut = pl.Series(rng.random(len(rows)) < 0.5)
        other = broken.gather(rng.integers(0, len(broken), len(rows)))
        return pl.select(pl.when(cut).then(s.str.slice(0, 16)).otherwise(other)).to_series()

    _patch(ids, label, "id_15", fifteen)
    _patch(ids, label, "cert_only", damaged)
    _patch(
        ids,
        label,
        "id_fullwidth",
        lambda s, _: s.str.replace_many(list(FULLWIDTH), list(FULLWIDTH.values())),
    )
    _patch(
        ids,
        label,
        "id_spaces",
        lambda s, _: s.str.slice(0, 6) + " " + s.str.slice(6, 8) + " " + s.str.slice(14),
    )
    blank = (label == "id_blank").to_numpy()
    return (
        pl.select(pl.when(pl.Series(blank)).then(None).otherwise(ids))
        .to_series()
        .alias("id_number")
    )


def _spaced(rng: np.random.Generator, name: pl.Series, cut: pl.Series) -> pl.Series:
    """A stray half- or full-width space inside, after or before the name."""
    n = len(name)
    sp = pl.Series([" ", "\u3000", "  "]).gather(rng.integers(0, 3, n))
    where = pl.Series(rng.integers(0, 3, n))
    frame = pl.DataFrame({"name": name, "cut": cut.clip(1), "sp": sp, "where": where})
    col = pl.col("name")
    return frame.select(
        pl.when(pl.col("where") == 0)
        .then(col.str.slice(0, pl.col("cut")) + pl.col("sp") + col.str.slice(pl.col("cut")))
        .when(pl.col("where") == 1)
        .then(col + pl.col("sp"))
        .otherwise(pl.col("sp") + col)
    ).to_series()


def _format_names(
    rng: np.random.Generator, owner: I64, label: pl.Series, pop: Population, variants: pl.DataFrame
) -> pl.Series:
    """The name column as delivered: homophones, traditional, other dots, stray spaces."""
    people = pop.people
    names = people["name"].gather(owner).alias("name")
    dots = pl.Series(vocab.DOT_VARIANTS)
    _patch(
        names, label, "name_homophone", lambda _, rows: variants["homophone"].gather(owner[rows])
    )
    _patch(
        names,
        label,
        "name_traditional",
        lambda _, rows: variants["traditional"].gather(owner[rows]),
    )
    _patch(
        names,
        label,
        "name_dot",
        lambda s, rows: pl.select(
            pl.lit(s).str.replace(
                "·", pl.lit(dots.gather(rng.integers(0, len(dots), len(rows)))), literal=True
            ),
        ).to_series(),
    )
    _patch(
        names,
        label,
        "name_space",
        lambda s, rows: _spaced(rng, s, people["surname_len"].gather(owner[rows])),
    )
    return names


def certificates(
    rng: np.random.Generator,
    owner: I64,
    type_digit: pl.Series,
    grade: pl.Series,
    label: pl.Series,
    pop: Population,
) -> pl.Series:
    """Certificate numbers from the holder's true id; 5% left blank (never for cert_only)."""
    base = identity.to_strings(pop.id_chars[owner])
    blank = (rng.random(len(owner)) < 0.05) & (label != "cert_only").to_numpy()
    frame = pl.DataFrame({"b": base, "t": type_digit, "g": grade, "blank": blank})
    return (
        frame.select(
            pl.when(pl.col("blank"))
            .then(None)
            .otherwise(pl.col("b") + pl.col("t").cast(pl.Utf8) + pl.col("g").cast(pl.Utf8))
        )
        .to_series()
        .alias("certificate_no")
    )


def apply_noise(
    rng: np.random.Generator,
    dept: str,
    clean: pl.DataFrame,
    pop: Population,
    variants: pl.DataFrame,
    traits: dict[str, BOOL],
    rates: NoiseRates,
) -> pl.DataFrame:
    """Add the delivered name / id_number (and certificate_no), the label and the clue flag."""
    owner = clean["owner"].to_numpy()
    label = draw_labels(rng, dept, owner, traits, rates)
    chars = _id_chars(rng, owner, label, pop)
    out = clean.with_columns(
        name=_format_names(rng, owner, label, pop, variants),
        id_number=_format_ids(rng, chars, label),
        noise=label,
    )
    clue = ~label.is_in(list(NO_CLUE))
    if dept == "disability":
        cert = certificates(rng, owner, clean["type_digit"], clean["grade"], label, pop)
        out = out.with_columns(certificate_no=cert)
        clue = clue | cert.is_not_null()
    return out.with_columns(clue=clue)
