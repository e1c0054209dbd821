"""Chinese personal names drawn from weighted surnames and common given-name characters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from fanpin.generator import vocab

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Names:
    """Names plus what later noise needs: how long the surname is, whether it has a dot."""

    name: pl.Series
    surname_len: I64
    dotted: BOOL


SURNAME_TEXT = pl.Series([s for s, _ in vocab.SURNAMES], dtype=pl.Utf8)
SURNAME_P = np.array([w for _, w in vocab.SURNAMES]) / sum(w for _, w in vocab.SURNAMES)
SURNAME_LEN = np.array([len(s) for s, _ in vocab.SURNAMES], dtype=np.int64)


def draw_surnames(rng: np.random.Generator, n: int) -> I64:
    """Surname indexes following the census-like weights."""
    return rng.choice(len(SURNAME_P), size=n, p=SURNAME_P).astype(np.int64)


def _given(rng: np.random.Generator, male: BOOL) -> pl.Series:
    """Given names of 1 (30%) or 2 (70%) characters from the pool of the person's sex."""
    n = len(male)
    m_pool = pl.Series(vocab.GIVEN_MALE, dtype=pl.Utf8)
    f_pool = pl.Series(vocab.GIVEN_FEMALE, dtype=pl.Utf8)
    frame = pl.DataFrame(
        {
            "male": male,
            "m1": m_pool.gather(rng.integers(0, len(m_pool), n)),
            "m2": m_pool.gather(rng.integers(0, len(m_pool), n)),
            "f1": f_pool.gather(rng.integers(0, len(f_pool), n)),
            "f2": f_pool.gather(rng.integers(0, len(f_pool), n)),
            "two": rng.random(n) < 0.7,
        }
    )
    first = pl.when(pl.col("male")).then(pl.col("m1")).otherwise(pl.col("f1"))
    second = pl.when(pl.col("male")).then(pl.col("m2")).otherwise(pl.col("f2"))
    return frame.select(
        first + pl.when(pl.col("two")).then(second).otherwise(pl.lit(""))
    ).to_series()


def _pair_names(
    rng: np.random.Generator, n: int, first: list[str], second: list[str], sep: str
) -> pl.Series:
    """Two-part names (minority names), joined by `sep`."""
    a = pl.Series(first, dtype=pl.Utf8).gather(rng.integers(0, len(first), n))
    b = pl.Series(second, dtype=pl.Utf8).gather(rng.integers(0, len(second), n))
    return a + sep + b


def build_names(
    rng: np.random.Generator, surname: I64, male: BOOL, style: npt.NDArray[np.int8]
) -> Names:
    """Names from surname indexes; style 0 = Han, 1 = Uyghur-style with a dot, 2 = Yi."""
    n = len(surname)
    han = SURNAME_TEXT.gather(surname) + _given(rng, male)
    dot = _pair_names(rng, n, vocab.DOT_FIRST, vocab.DOT_SECOND, "·")
    yi = _pair_names(rng, n, vocab.YI_FIRST, vocab.YI_SECOND, "")
    name = (
        pl.DataFrame({"h": han, "d": dot, "y": yi, "s": style})
        .select(
            pl.when(pl.col("s") == 1)
            .then(pl.col("d"))
            .when(pl.col("s") == 2)
            .then(pl.col("y"))
            .otherwise(pl.col("h"))
        )
        .to_series()
        .alias("name")
    )
    surname_len = np.where(style == 0, SURNAME_LEN[surname], np.where(style == 2, 2, 0))
    return Names(name=name, surname_len=surname_len.astype(np.int64), dotted=style == 1)
