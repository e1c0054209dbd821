"""Tests for transforms.identity: unit cases per problem code, and a property test against
`stdnum.cn.ric` on batches of generated numbers (valid, mistyped, old 15-digit, decorated)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

import polars as pl
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError

from transforms.identity import (
    PROBLEMS,
    birth_from_id,
    check_char,
    clean_id,
    id_columns,
    identity_frame,
    upgrade_15,
)

VALID = "360426199101010071"  # stdnum's own example
VALID_X = "11010519491231002X"
OLD15 = "360426910101007"  # the 15-digit form of VALID


def _ids(*values: str | None) -> pl.DataFrame:
    frame = pl.DataFrame({"id_number": list(values)}, schema={"id_number": pl.String})
    return frame.with_columns(id_columns())


# --- unit tests --------------------------------------------------------------------------


def test_valid_number_gives_all_columns() -> None:
    """A valid 18-digit number is its own norm, with birth date, sex and area code."""
    row = _ids(VALID).row(0, named=True)
    assert row["id_clean"] == row["id_norm"] == VALID
    assert row["id_valid"] is True
    assert row["id_problem"] is None
    assert row["id_upgraded"] is False
    assert row["id_birth"] == date(1991, 1, 1)
    assert row["id_sex"] == "M"
    assert row["id_area"] == "360426"


def test_check_character_x_and_female_sequence() -> None:
    """An X check character is valid; an even sequence digit means F."""
    row = _ids(VALID_X).row(0, named=True)
    assert row["id_valid"] is True
    assert row["id_sex"] == "F"
    assert row["id_birth"] == date(1949, 12, 31)


def test_fifteen_digit_number_is_upgraded() -> None:
    """360426910101007 becomes 360426199101010071 ("19" inserted, check char computed)."""
    row = _ids(OLD15).row(0, named=True)
    assert row["id_clean"] == row["id_norm"] == VALID
    assert row["id_upgraded"] is True
    assert row["id_valid"] is True
    assert row["id_birth"] == date(1991, 1, 1)


def test_fifteen_digit_number_with_bad_date_is_kept() -> None:
    """A 15-digit number whose date is not real stays 15 digits, problem birth_date."""
    row = _ids("360426911301007").row(0, named=True)
    assert row["id_clean"] == "360426911301007"
    assert row["id_upgraded"] is True
    assert row["id_problem"] == "birth_date"
    assert row["id_norm"] is None
    assert row["id_area"] == "360426"
    assert row["id_sex"] == "M"


def test_spaces_fullwidth_and_lowercase_x_are_cleaned() -> None:
    """Spaces (ASCII, full-width, zero-width, NBSP), full-width digits and x are cleaned."""
    fullwidth = "".join(chr(0xFF10 + int(c)) for c in VALID)
    frame = _ids(
        " 3604 26\u300019910101\u200b0071\u00a0",
        fullwidth,
        "11010519491231002x",
        "1101051949123100２ｘ",
    )
    assert frame["id_norm"].to_list() == [VALID, VALID, VALID_X, VALID_X]


def test_problem_missing() -> None:
    """Null, empty and whitespace-only values are `missing`, with a null id_clean."""
    frame = _ids(None, "", " \u3000\u200b")
    assert frame["id_problem"].to_list() == ["missing"] * 3
    assert frame["id_clean"].to_list() == [None] * 3
    assert frame["id_valid"].to_list() == [False] * 3
    assert frame["id_upgraded"].to_list() == [False] * 3


def test_problem_length() -> None:
    """A cleaned value of neither 15 nor 18 characters is `length`."""
    frame = _ids(VALID[:17], VALID + "1", "12345", OLD15[:14])
    assert frame["id_problem"].to_list() == ["length"] * 4
    assert frame["id_birth"].to_list() == [None] * 4


def test_problem_chars() -> None:
    """Letters (other than a final X) or signs in a 15/18-char value are `chars`."""
    frame = _ids(
        "36042619910101007A", "3604261991O1010071", "+60426199101010071", "36042691010100X"
    )
    assert frame["id_problem"].to_list() == ["chars"] * 4
    assert frame["id_upgraded"].to_list() == [False] * 4


def test_problem_birth_date() -> None:
    """A date that does not exist or lies outside 1900..2099 is `birth_date`."""
    bad = ["19901301", "19900230", "19000229", "18991231", "21000101", "19900100"]
    numbers = [f"110105{d}123" for d in bad]
    frame = _ids(*(n + ric.calc_check_digit(n + "0") for n in numbers))
    assert frame["id_problem"].to_list() == ["birth_date"] * len(bad)
    assert frame["id_birth"].to_list() == [None] * len(bad)


def test_problem_checksum_keeps_birth_date() -> None:
    """A wrong check character is `checksum`; birth, sex and area are still read."""
    row = _ids(VALID[:-1] + "2").row(0, named=True)
    assert row["id_problem"] == "checksum"
    assert row["id_norm"] is None
    assert row["id_birth"] == date(1991, 1, 1)
    assert row["id_area"] == "360426"


def test_leap_days() -> None:
    """29 February exists in 2000 and 1996 but not in 1900 or 2001."""
    births = [date(2000, 2, 29), date(1996, 2, 29), None, None]
    numbers = [f"110105{d}123" for d in ("20000229", "19960229", "19000229", "20010229")]
    frame = _ids(*(n + ric.calc_check_digit(n + "0") for n in numbers))
    assert frame["id_birth"].to_list() == births


def test_prefix_for_certificate_columns() -> None:
    """id_columns(col, prefix) reads another column and names the outputs with the prefix."""
    frame = pl.DataFrame({"certificate_no_18": [VALID]})
    out = frame.with_columns(id_columns("certificate_no_18", "cert_id_"))
    assert out["cert_id_norm"].to_list() == [VALID]
    assert {f"cert_id_{f}" for f in ("clean", "valid", "problem", "birth")} <= set(out.columns)


def test_columns_and_dtypes() -> None:
    """The eight id_* columns follow docs/stages.md, in a lazy query too."""
    lazy = pl.LazyFrame({"id_number": [VALID]}).with_columns(id_columns())
    assert lazy.collect_schema() == pl.Schema(
        {
            "id_number": pl.String,
            "id_clean": pl.String,
            "id_norm": pl.String,
            "id_valid": pl.Boolean,
            "id_problem": pl.String,
            "id_upgraded": pl.Boolean,
            "id_birth": pl.Date,
            "id_sex": pl.String,
            "id_area": pl.String,
        }
    )
    assert lazy.collect()["id_valid"].to_list() == [True]


def test_building_blocks() -> None:
    """clean_id, check_char, birth_from_id and upgrade_15 work as plain expressions."""
    frame = pl.DataFrame({"v": [" 3604261991010100７x", VALID[:17], OLD15, "abc", None]})
    out = frame.select(
        clean=clean_id(pl.col("v")),
        check=check_char(pl.col("v")),
        birth=birth_from_id(clean_id(pl.col("v"))),
        up=upgrade_15(pl.col("v")),
    )
    assert out["clean"].to_list() == ["36042619910101007X", VALID[:17], OLD15, "abc", None]
    assert out["check"].to_list() == [None, "1", None, None, None]
    assert out["birth"].to_list() == [date(1991, 1, 1), None, date(1991, 1, 1), None, None]
    assert out["up"].to_list() == [None, None, VALID, None, None]


def test_no_identity_data_is_needed_in_empty_frames() -> None:
    """An empty or all-null column gives typed empty / null columns."""
    empty = _ids()
    assert empty.height == 0 and "id_norm" in empty.columns
    assert identity_frame(pl.Series([None, None], dtype=pl.String))["id_problem"].to_list() == [
        "missing",
        "missing",
    ]


# --- property test against stdnum ---------------------------------------------------------

_WHITESPACE = [" ", "\t", "\u3000", "\u00a0", "\u200b", "\u200d", "\ufeff", "\u2009"]
_BAD_DATES = ["19901301", "19900230", "19000229", "18991231", "21000101", "19900100", "20230431"]


def _with_check(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def _oracle_clean(raw: str | None) -> str | None:
    """Reference cleaning in plain Python (the part stdnum does not do)."""
    if raw is None:
        return None
    table = {0xFF10 + i: str(i) for i in range(10)} | {0xFF58: "X", 0xFF38: "X", ord("x"): "X"}
    text = "".join(ch for ch in raw if ch not in _WHITESPACE).translate(table)
    return text or None


def _shaped18(text: str) -> bool:
    return (
        len(text) == 18
        and text[:17].isascii()
        and text[:17].isdigit()
        and text[17] in "0123456789X"
    )


def _stdnum_birth(text: str) -> date | None:
    try:
        birth = ric.get_birth_date(text)
    except (ValidationError, ValueError):
        return None
    return birth if 1900 <= birth.year <= 2099 else None


def _stdnum_is_valid(text: str) -> bool:
    try:
        return ric.is_valid(text)
    except KeyError:  # stdnum 2.2: an address code known only as a province escapes is_valid
        return False


def _oracle(raw: str | None) -> tuple[str | None, date | None, str | None]:
    """(norm, birth, problem) by stdnum.cn.ric; an unknown address code is not an error here."""
    text = _oracle_clean(raw)
    if text is None:
        return None, None, "missing"
    if len(text) == 15 and text.isascii() and text.isdigit():
        upgraded = _with_check(text[:6] + "19" + text[6:])
        text = upgraded if _stdnum_birth(upgraded) else text
    if len(text) not in (15, 18):
        return None, None, "length"
    if not _shaped18(text) and not (len(text) == 15 and text.isascii() and text.isdigit()):
        return None, None, "chars"
    birth = _stdnum_birth(text) if len(text) == 18 else None
    if birth is None:
        return None, None, "birth_date"
    if _stdnum_is_valid(text):
        return ric.compact(text), birth, None
    try:
        norm = ric.validate(text)
    except InvalidChecksum:
        return None, birth, "checksum"
    except (InvalidComponent, KeyError):  # the birth place, checked after date and checksum
        norm = ric.compact(text)
    return norm, birth, None


def _decorate(text: str, how: str, where: int) -> str:
    if how == "spaces":
        cut = where % (len(text) + 1)
        return " " + text[:cut] + _WHITESPACE[where % len(_WHITESPACE)] + text[cut:] + "\u3000"
    if how == "fullwidth":
        return "".join(chr(0xFF10 + int(c)) if c.isdigit() else "Ｘ" for c in text)
    if how == "lower":
        return text.lower()
    return text


_MUTATIONS: dict[str, Callable[[str, int, int], str]] = {
    "valid": lambda v, pos, w: v,
    "substitute": lambda v, pos, w: v[:pos] + str((int(v[pos]) + 1 + w % 9) % 10) + v[pos + 1 :],
    "transpose": lambda v, pos, w: v[:pos] + v[pos + 1] + v[pos] + v[pos + 2 :],
    "length": lambda v, pos, w: v[: w % 18] if w % 2 else v + v[: 1 + w % 4],
    "letter": lambda v, pos, w: v[:pos] + "ABOxZ"[w % 5] + v[pos + 1 :],
    "bad_date": lambda v, pos, w: _with_check(v[:6] + _BAD_DATES[w % len(_BAD_DATES)] + v[14:17]),
    "old15": lambda v, pos, w: v[:6] + v[8:17],
    "old15_bad": lambda v, pos, w: v[:6] + ("901301", "000229", "910230")[w % 3] + v[14:17],
    "blank": lambda v, pos, w: _WHITESPACE[w % len(_WHITESPACE)] * (w % 3),
}
"""How a valid number gets broken: (valid, position 0..16, random int) → text."""


_KINDS = ["valid", "valid", "substitute", "transpose", "length", "letter", "bad_date"]
_KINDS += ["old15", "old15_bad", "blank"]


# county codes stdnum knows (so that its full validation, birth place included, passes)
_AREAS = ["110105", "110108", "310104", "360426", "420102", "510104", "320102", "130102"]
_DECORATIONS = ["", "", "spaces", "fullwidth", "lower"]
BATCH = 500


def _case(kind: str, how: str, rnd: random.Random) -> str:
    """One generated number: a valid one, then mistyped as `kind`, then decorated as `how`."""
    birth = date(1900, 1, 1) + timedelta(days=rnd.randrange(73_049))  # up to 2099-12-31
    area = rnd.choice(_AREAS) if rnd.random() < 0.5 else str(rnd.randrange(100_000, 900_000))
    first17 = f"{area}{birth:%Y%m%d}{rnd.randrange(1000):03d}"
    where = rnd.randrange(10_000)
    mistyped = _MUTATIONS[kind](_with_check(first17), where % 17, where)
    return _decorate(mistyped, how, where)


@settings(
    max_examples=110,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    recipe=st.lists(
        st.tuples(st.sampled_from(_KINDS), st.sampled_from(_DECORATIONS)),
        min_size=BATCH,
        max_size=BATCH,
    ),
    rnd=st.randoms(use_true_random=True),
)
def test_agrees_with_stdnum_on_generated_batches(
    recipe: list[tuple[str, str]], rnd: random.Random
) -> None:
    """On every generated number, norm, birth date and problem code agree with stdnum."""
    batch = [_case(kind, how, rnd) for kind, how in recipe]
    out = pl.DataFrame({"id_number": batch}).select(id_columns())
    got = zip(out["id_norm"], out["id_birth"], out["id_problem"], strict=True)
    for raw, mine in zip(batch, got, strict=True):
        assert mine == _oracle(raw), repr(raw)
    assert set(out["id_problem"].drop_nulls()) <= set(PROBLEMS)
