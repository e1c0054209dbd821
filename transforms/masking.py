"""Masking of names and identity numbers for the published tier (contract section 2).

Polars expressions, so the publisher masks whole columns at once and `explain` masks the same way:
identity numbers as `500222********1234` (address code and last four kept: enough for a data
officer to tell two records apart, not enough to reconstruct the number), names as `张*丽`.
"""

from __future__ import annotations

import polars as pl

MIDDLE_DOT = "·"
_STARS = "*" * 64


def _mask_name_part(part: pl.Expr) -> pl.Expr:
    """One part of a name: 3+ chars → first*last; 2 chars → first*; 1 char → *."""
    n = part.str.len_chars()
    return (
        pl.when(n >= 3)
        .then(pl.concat_str(part.str.slice(0, 1), pl.lit("*"), part.str.slice(-1, 1)))
        .when(n == 2)
        .then(pl.concat_str(part.str.slice(0, 1), pl.lit("*")))
        .when(n == 1)
        .then(pl.lit("*"))
        .otherwise(part)
    )


def mask_name(expr: pl.Expr) -> pl.Expr:
    """张小丽 → 张*丽, 张丽 → 张*, 阿依古丽·买买提 → 阿*丽·买*提 (each dot-separated part masked).

    Expects a normalized name (`name_norm`: middle dots unified to `·`); null stays null.
    """
    masked = (
        expr.str.split(MIDDLE_DOT).list.eval(_mask_name_part(pl.element())).list.join(MIDDLE_DOT)
    )
    return pl.when(expr.is_null()).then(pl.lit(None, pl.Utf8)).otherwise(masked)


def mask_id(expr: pl.Expr) -> pl.Expr:
    """500222199001011234 → 500222********1234: first 6 and last 4 kept, the rest starred.

    Any length: 11+ characters keep 6 + 4 (a 15-digit number → 6 + 5 stars + 4); shorter
    strings, which cannot be safely split, are all stars. Null stays null.
    """
    n = expr.str.len_chars()
    long = pl.concat_str(
        expr.str.slice(0, 6),
        pl.lit(_STARS).str.slice(0, (n - 10).cast(pl.Int64)),
        expr.str.slice(-4, 4),
    )
    short = pl.lit(_STARS).str.slice(0, n.cast(pl.Int64))
    return (
        pl.when(expr.is_null())
        .then(pl.lit(None, pl.Utf8))
        .when(n >= 11)
        .then(long)
        .otherwise(short)
    )
