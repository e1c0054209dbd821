"""Typing of department cells (transforms/parsing.py)."""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms import parsing


def _apply(expr_fn, values):  # type: ignore[no-untyped-def]
    frame = pl.DataFrame({"v": values}, schema={"v": pl.Utf8})
    return frame.select(expr_fn(pl.col("v")).alias("out"))["out"].to_list()


def test_every_date_spelling_reads_as_the_same_date() -> None:
    """ISO, slashes, compact, 年月日, dots, Excel serial and datetime text all give 2021-06-29."""
    spellings = [
        "2021-06-29",
        "2021/6/29",
        "20210629",
        "2021年6月29日",
        "2021.6.29",
        "44376",
        "44376.75",
        "2021-06-29 08:30:00",
        "2021/06/29T08:30",
        "２０２１-０６-２９",
        " 2021-06-29 ",
    ]
    assert _apply(parsing.parse_date, spellings) == [date(2021, 6, 29)] * len(spellings)


def test_untypable_dates_are_null() -> None:
    """Impossible dates, 7 digits, words, out-of-range years and small numbers are not dates."""
    bad = ["2021-02-30", "2021629", "abc", "1800-01-01", "12345", "", None]
    assert _apply(parsing.parse_date, bad) == [None] * len(bad)


def test_amounts_with_yuan_separators_and_full_width_digits() -> None:
    """`1,234.50元`, `１２３`, `12 元`, `¥3,000`, `1，000` read as yuan; words do not."""
    got = _apply(
        parsing.parse_amount, ["1,234.50元", "１２３", " 12 元", "¥3,000", "1，000", "十元"]
    )
    assert got == [1234.5, 123.0, 12.0, 3000.0, 1000.0, None]


def test_int_accepts_excel_floats_and_enforces_range() -> None:
    """`3`, `3.0`, `４` are ints; `3.5`, `0` (below min 1) and `31` (above max 30) are not."""
    got = _apply(lambda e: parsing.parse_int(e, 1, 30), ["3", "3.0", "４", "3.5", "0", "31", "x"])
    assert got == [3, 3, 4, None, None, None, None]


def test_enum_maps_synonyms_case_width_and_spaces() -> None:
    """Synonyms, full-width letters, lower case and inner spaces map to the canonical value."""
    values, synonyms = ["A", "B", "C", "D"], {"C级": "C", "C级危房": "C", "D级": "D"}
    got = _apply(
        lambda e: parsing.parse_enum(e, values, synonyms),
        ["C", "c级危房", "Ｃ级", "D 级", "E", "A"],
    )
    assert got == ["C", "C", "C", "D", None, "A"]


def test_yesno() -> None:
    """是/否, Y/N, 1/0, true/false read as booleans; anything else is null."""
    got = _apply(parsing.parse_yesno, ["是", "否", "Y", "n", "1", "0", "TRUE", "false", "也许"])
    assert got == [True, False, True, False, True, False, True, False, None]


def test_grade_forms() -> None:
    """一级..四级, 1..4, 1级, `3.0` and `二级残疾` are grades; 5 and 五级 are not."""
    got = _apply(parsing.parse_grade, ["一级", "二级残疾", "3", "4级", "3.0", "５", "五级"])
    assert got == [1, 2, 3, 4, 3, None, None]


def test_county_code_is_six_digits() -> None:
    """A 6-digit code (also full-width or from an Excel number) passes; 5 digits do not."""
    got = _apply(parsing.parse_county_code, ["500222", "５００２２２", "500222.0", "50022", "abc"])
    assert got == ["500222", "500222", "500222", None, None]


def test_clean_text_trims_full_width_space_and_blanks_to_null() -> None:
    """Leading/trailing (full-width) spaces go; an all-space cell becomes null."""
    assert _apply(parsing.clean_text, ["\u3000张三 ", "   ", "", None]) == [
        "张三",
        None,
        None,
        None,
    ]


def test_clean_text_removes_control_and_zero_width_characters() -> None:
    """A BEL, a unit separator, zero-width spaces/joiners and BOMs vanish from any cell."""
    cells = ["YB\u200b0002", "\ufeff王芳\u200d", "张\x07伟", "\u2060\x1f", "a\u200cb"]
    got = _apply(parsing.clean_text, cells)
    assert got == ["YB0002", "王芳", "张伟", None, "ab"]


def test_fold_width_folds_full_width_ascii() -> None:
    """Full-width digits, letters and brackets become ASCII; Chinese text is untouched."""
    assert _apply(parsing.fold_width, ["１２３Ｘ（元）", "张三"]) == ["123X(元)", "张三"]


def test_distinct_map_equals_the_row_by_row_result_nulls_included() -> None:
    """distinct_map(s, f) equals f(s) row for row, for repeated values and nulls alike."""
    values = pl.Series("v", ["2021-06-29", None, "2021/6/29", "2021-06-29", "x", None] * 50)

    def derive(s: pl.Series) -> pl.DataFrame:
        return s.to_frame("v").select(
            d=parsing.parse_date(pl.col("v")), blank=pl.col("v").is_null()
        )

    assert parsing.distinct_map(values, derive).equals(derive(values))


def test_on_distinct_and_fast_or_slow_match_the_plain_parsers() -> None:
    """Parsing per distinct value, or slow-path-only-where-needed, changes no result."""
    dates = ["2021-06-29", "2021年6月29日", "44376", None, "bad", "2021-06-29"]
    on_distinct = _apply(lambda e: parsing.on_distinct(e, parsing.parse_date, pl.Date()), dates)
    assert on_distinct == _apply(parsing.parse_date, dates)
    amounts = ["1,234.5元", "12", None, "x", "１２"]
    mixed = _apply(parsing.parse_amount, amounts)
    assert mixed == [1234.5, 12.0, None, None, 12.0]
    assert _apply(parsing.parse_amount, ["1", "2"]) == [1.0, 2.0]  # no slow path at all


def test_typed_parsers_read_values_with_invisible_characters() -> None:
    """Dates, amounts, ints, enums, yes/no, grades and county codes ignore a zero-width space
    or a BEL (conform leaves those cells to the parsers' slow paths)."""
    assert (
        _apply(parsing.parse_date, ["2021-06-29\u200b", "\ufeff2021/6/29"])
        == [date(2021, 6, 29)] * 2
    )
    assert _apply(parsing.parse_amount, ["1\u200b000", "5\x07"]) == [1000.0, 5.0]
    assert _apply(lambda e: parsing.parse_int(e), ["3\u200d"]) == [3]
    assert _apply(lambda e: parsing.parse_enum(e, ["住院"], {}), ["住\u200b院"]) == ["住院"]
    assert _apply(parsing.parse_yesno, ["是\u2060"]) == [True]
    assert _apply(parsing.parse_grade, ["二级\u200b"]) == [2]
    assert _apply(parsing.parse_county_code, ["\u200b500110"]) == ["500110"]
