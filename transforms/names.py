"""Vectorized normalization of Chinese personal names and a homophone (pinyin) key.

Hand-typed names differ in ways that are not spelling: stray spaces (ASCII, full-width,
zero-width), full-width letters, several middle-dot look-alikes in minority names
(阿依古丽·买买提), traditional characters (陳麗 for 陈丽). `normalize_name` removes those
differences; `pinyin_key` goes one step further and keys a name by its toneless pinyin,
so that homophones typed by ear (丽/莉, 明/铭) meet in one blocking key.

Both are a lookup in a character table built once per process (OpenCC for traditional
→ simplified, pypinyin for the readings; ~0.2 s in all), applied by `str.replace_many`
or a per-character `replace`, so a column is processed without any per-row Python.
Chinese names are read character by character, so a character-level conversion is right
here, with one guard: a character that is itself in GB 2312 (the simplified standard set,
e.g. 乾, 於, 後) is never converted, since in a name it is written that way on purpose.
"""

from __future__ import annotations

import functools

import opencc
import polars as pl
from pypinyin import Style, lazy_pinyin

from transforms.identity import WHITESPACE
from transforms.parsing import distinct_map

MIDDLE_DOT = "·"

# Look-alikes of the middle dot that separates the parts of a transliterated name.
_DOTS = [
    ".", "\u00b7", "\u0387", "\u2022", "\u2027", "\u2219", "\u22c5", "\u25cf",
    "\u30fb", "\uff0e", "\uff65",
]  # fmt: skip
# Control characters (a BEL typed into a name) and zero-width characters: never part of a name.
_INVISIBLE = [chr(c) for c in (*range(0x20), 0x7F, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)]
# CJK Unified Ideographs and Extension A.
_CJK = [chr(c) for c in range(0x4E00, 0xA000)] + [chr(c) for c in range(0x3400, 0x4DC0)]


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


@functools.cache
def simplified_table() -> dict[str, str]:
    """Traditional → simplified for every CJK character whose OpenCC t2s form is one other
    character (and that is not itself a GB 2312 character)."""
    converted = opencc.OpenCC("t2s").convert("\n".join(_CJK)).split("\n")
    return {
        t: s
        for t, s in zip(_CJK, converted, strict=True)
        if s != t and len(s) == 1 and not _in_gb2312(t)
    }


def _fold_table() -> dict[str, str]:
    """Control/zero-width characters and whitespace → nothing, dot look-alikes → ·,
    full-width ASCII → ASCII."""
    fold = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}
    return (
        fold
        | dict.fromkeys(_INVISIBLE, "")
        | dict.fromkeys(WHITESPACE, "")
        | dict.fromkeys(_DOTS, MIDDLE_DOT)
    )


@functools.cache
def _normalize_table() -> tuple[list[str], list[str]]:
    table = _fold_table() | simplified_table()
    return list(table), list(table.values())


@functools.cache
def pinyin_table() -> dict[str, str]:
    """Every CJK character → the toneless pinyin of its simplified form.

    pypinyin gives the most common reading of a character read alone (单 → dan,
    长 → chang); both sides of a match are keyed the same way, which is what counts.
    """
    simplified = simplified_table()
    targets = [simplified.get(c, c) for c in _CJK]
    readings = lazy_pinyin(targets, style=Style.NORMAL, errors="default")
    return {c: r for c, r in zip(_CJK, readings, strict=True) if r != c}


@functools.cache
def _key_table() -> tuple[list[str], list[str]]:
    table = _fold_table() | dict.fromkeys(_DOTS, "") | pinyin_table()
    return list(table), list(table.values())


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_bytes() > 0).then(expr)


def normalize_name(expr: pl.Expr) -> pl.Expr:
    """Name without whitespace, full-width folded, middle dots unified to ·, in simplified
    characters; blank → null. Idempotent."""
    patterns, replacements = _normalize_table()
    return _blank_to_null(expr.str.replace_many(patterns, replacements))


def pinyin_key(expr: pl.Expr) -> pl.Expr:
    """Toneless pinyin of the normalized name, syllables joined, dots dropped, lowercase.

    张丽 and 张莉 → `zhangli`; 陳麗 → `chenli`; Latin letters are kept, lowercased.
    Works on the raw or the normalized name alike (one table covers both), so callers
    need not normalize first; blank → null.
    """
    chars, readings = _key_table()
    # a hash lookup per character: replace_many would first build an Aho-Corasick
    # automaton over the ~27,000 patterns (50 ms per call); this is faster on big columns too
    spelled = expr.str.split("").list.eval(pl.element().replace(chars, readings)).list.join("")
    return _blank_to_null(spelled.str.to_lowercase())


def _name_frame(names: pl.Series) -> pl.DataFrame:
    return names.to_frame("v").select(
        normalize_name(pl.col("v")).alias("name_norm"), pinyin_key(pl.col("v")).alias("name_key")
    )


def name_frame(raw: pl.Series) -> pl.DataFrame:
    """`name_norm` and `name_key` of a Series of raw names, computed per distinct name."""
    return distinct_map(raw.cast(pl.String), _name_frame)


def name_columns(col: str = "name") -> list[pl.Expr]:
    """`name_norm` and `name_key` of a raw name column (docs/stages.md).

    Computed on the distinct names only and joined back: a county's records repeat a few
    tens of thousands of names, and the per-character pinyin lookup is the costly step.
    The list holds one expression that expands to the two columns.
    """

    def batch(raw: pl.Series) -> pl.Series:
        return name_frame(raw).to_struct(raw.name)

    schema = pl.Struct({"name_norm": pl.String(), "name_key": pl.String()})
    return [
        pl.col(col).map_batches(batch, return_dtype=schema, is_elementwise=True).struct.unnest()
    ]
