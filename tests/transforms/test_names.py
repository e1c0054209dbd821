"""Tests for transforms.names: name normalization and the pinyin homophone key."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.names import (
    name_columns,
    name_frame,
    normalize_name,
    pinyin_key,
    pinyin_table,
    simplified_table,
)


def _norm(*names: str | None) -> list[str | None]:
    frame = pl.DataFrame({"name": list(names)}, schema={"name": pl.String})
    return frame.select(normalize_name(pl.col("name")))["name"].to_list()


def _key(*names: str | None) -> list[str | None]:
    frame = pl.DataFrame({"name": list(names)}, schema={"name": pl.String})
    return frame.select(pinyin_key(pl.col("name")))["name"].to_list()


def test_traditional_to_simplified() -> None:
    """陳麗 → 陈丽, 鄭 → 郑, 鍾 → 钟."""
    assert _norm("陳麗", "鄭強", "鍾") == ["陈丽", "郑强", "钟"]


def test_gb2312_characters_are_not_converted() -> None:
    """Characters of the simplified standard set (乾, 於) stay as written."""
    assert _norm("乾坤", "於小明") == ["乾坤", "於小明"]


def test_whitespace_of_every_kind_is_removed() -> None:
    """' 张　丽 ' → 张丽; zero-width space, NBSP and tabs are removed too."""
    assert _norm(" 张　丽 ", "张\u200b丽", "\u00a0张\t丽\ufeff") == ["张丽"] * 3


def test_control_characters_are_removed() -> None:
    """A BEL or unit separator typed into a name is not part of it; nor is a word joiner."""
    assert _norm("张\x07伟", "王芳\x1f", "刘\u2060洋") == ["张伟", "王芳", "刘洋"]


def test_middle_dot_variants_are_unified() -> None:
    """•, ., ．, ・, ‧, ∙ and · between name parts all become ·."""
    variants = ["•", ".", "．", "・", "‧", "∙", "·", " · "]
    names = [f"阿依古丽{dot}买买提" for dot in variants]
    assert _norm(*names) == ["阿依古丽·买买提"] * len(variants)


def test_fullwidth_letters_are_folded() -> None:
    """Full-width Latin letters and digits become ASCII; case is kept in name_norm."""
    assert _norm("ＡＢｃ１") == ["ABc1"]


def test_compound_surname_is_preserved() -> None:
    """欧阳 and 司马 stay whole in the normalized name and in the key."""
    assert _norm("欧阳 娜娜", "司马光") == ["欧阳娜娜", "司马光"]
    assert _key("欧阳娜娜", "歐陽娜娜") == ["ouyangnana", "ouyangnana"]


def test_homophones_share_a_key() -> None:
    """张丽 and 张莉 (and 張麗, 张 莉) have the same key `zhangli`."""
    assert _key("张丽", "张莉", "張麗", "张 莉") == ["zhangli"] * 4
    assert _key("王明") == _key("王铭")


def test_key_drops_dots_and_lowercases_latin() -> None:
    """Dots are dropped from the key; Latin letters are kept, lowercased."""
    assert _key("阿依古丽•买买提", "Mary Smith") == ["ayigulimaimaiti", "marysmith"]


def test_null_and_blank() -> None:
    """A null name stays null; a blank one becomes null, in both columns."""
    frame = pl.DataFrame({"name": [None, "", " \u3000"]}, schema={"name": pl.String})
    out = frame.with_columns(name_columns())
    assert out["name_norm"].to_list() == [None] * 3
    assert out["name_key"].to_list() == [None] * 3


def test_name_columns_names_and_custom_column() -> None:
    """name_columns(col) adds name_norm and name_key from the given column."""
    out = pl.DataFrame({"head_name": ["陳麗"]}).with_columns(name_columns("head_name"))
    assert out.select("name_norm", "name_key").row(0) == ("陈丽", "chenli")


def test_tables_are_built_once_and_sane() -> None:
    """The tables are cached and map characters to one character / one syllable."""
    assert simplified_table() is simplified_table()
    assert all(len(s) == 1 for s in simplified_table().values())
    assert pinyin_table()["丽"] == pinyin_table()["莉"] == "li"


_ALPHABET = list("张王李陳麗鄭欧阳丽莉明铭乾於阿依古买提ＡＢｘ１aZ .·•．・") + [
    "\u3000",
    "\u200b",
    "\u00a0",
    "\t",
]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=_ALPHABET, max_size=8), min_size=50, max_size=50))
def test_normalization_is_idempotent_and_keys_agree(names: list[str]) -> None:
    """normalize(normalize(x)) = normalize(x), and key(normalize(x)) = key(x)."""
    frame = pl.DataFrame({"name": names}).with_columns(name_columns())
    again = frame.select(
        norm=normalize_name(pl.col("name_norm")), key=pinyin_key(pl.col("name_norm"))
    )
    assert again["norm"].to_list() == frame["name_norm"].to_list()
    assert again["key"].to_list() == frame["name_key"].to_list()


def test_name_frame_on_distinct_names_equals_the_expressions() -> None:
    """name_frame (per distinct name) gives the same columns as the plain expressions."""
    names = pl.Series("name", ["陳麗", None, "张 丽", "陳麗", "", "阿依古丽•买买提"] * 20)
    plain = names.to_frame().select(
        name_norm=normalize_name(pl.col("name")), name_key=pinyin_key(pl.col("name"))
    )
    assert name_frame(names).equals(plain)
