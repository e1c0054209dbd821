"""Identity numbers (GB 11643-1999) built and damaged as byte matrices, one row per number.

Working on an (n, 18) uint8 matrix keeps every step vectorized: the checksum is one matrix
product, a digit substitution or a transposition is fancy indexing, and the strings are made
once at the end.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)
ZERO = ord("0")


def _digits(values: I64, width: int) -> U8:
    """Decimal digits of each value, most significant first, as an (n, width) matrix."""
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.copy()
    for k in range(width - 1, -1, -1):  # a loop over digit positions, not rows
        out[:, k] = rest % 10
        rest //= 10
    return out


def check_chars(body: U8) -> U8:
    """The check character (ASCII) for each row of 17 digit values (0..9, not ASCII)."""
    # float64 products are exact here (sums < 2**53) and use BLAS, unlike integer matmul.
    total = (body.astype(np.float64) @ WEIGHTS.astype(np.float64)).astype(np.int64)
    return CHECK_CHARS[total % 11]


def build_ids(area: I64, yyyymmdd: I64, seq: I64) -> U8:
    """Valid 18-char ids as an ASCII matrix from area code, birth date (yyyymmdd) and sequence."""
    body = np.concatenate([_digits(area, 6), _digits(yyyymmdd, 8), _digits(seq, 3)], axis=1)
    out = np.empty((len(area), 18), dtype=np.uint8)
    out[:, :17] = body + ZERO
    out[:, 17] = check_chars(body)
    return out


def to_strings(chars: U8) -> pl.Series:
    """ASCII matrix -> polars Utf8 series (one string per row; all rows the same width).

    Goes through an Arrow fixed-size-binary buffer: no per-row Python objects are made.
    """
    n, width = chars.shape
    buffer = pa.py_buffer(np.ascontiguousarray(chars))
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, buffer])
    series = pl.from_arrow(fixed.cast(pa.binary()).cast(pa.string()))
    assert isinstance(series, pl.Series)
    return series.alias("")


def unique_sequences(
    area: I64,
    yyyymmdd: I64,
    male: npt.NDArray[np.bool_],
    rng: np.random.Generator,
    stripe: tuple[int, int] = (0, 1),
) -> I64:
    """A 3-digit sequence per person so that (area, birth, sequence) is unique; odd for men.

    Within each (area, birth date, sex) group the members get consecutive slots from a random
    start, so up to 500 people per group never collide (groups are tens at national scale).
    `stripe=(i, k)` keeps to the i-th of k equal bands of the 500 slots: datasets generated
    with the same k and different i (a province made in chunks) share no id number, except
    for the people of a group larger than a band (the planted birthdays of 特困 minors pile
    a few hundred people on one date): those take the slots outside the band, unique within
    the dataset but possibly another chunk's.
    """
    index, bands = stripe
    if not 0 <= index < bands:
        raise ValueError(f"stripe {stripe}: need 0 <= index < bands")
    capacity = 500 // bands
    n = len(area)
    key = (area * 100_000_000 + yyyymmdd) * 2 + male.astype(np.int64)
    shuffle = rng.permutation(n)
    order = shuffle[np.argsort(key[shuffle], kind="stable")]
    sorted_key = key[order]
    new_group = np.empty(n, dtype=bool)
    new_group[:1] = True
    new_group[1:] = sorted_key[1:] != sorted_key[:-1]
    group = np.cumsum(new_group) - 1
    starts = np.flatnonzero(new_group)
    rank = np.arange(n) - starts[group]
    if n and int(rank.max()) >= 500:
        raise ValueError("more than 500 people share an area code, birth date and sex")
    base = rng.integers(0, capacity, len(starts))
    in_band = index * capacity + (base[group] + rank) % capacity
    outside = (index * capacity + rank) % 500  # rank >= capacity: past the band, wrapping
    slot = np.empty(n, dtype=np.int64)
    slot[order] = np.where(rank < capacity, in_band, outside)
    return slot * 2 + male.astype(np.int64)


def substitute_digit(chars: U8, rows: I64, rng: np.random.Generator) -> None:
    """Replace one of the first 17 digits of the given rows by another digit (in place)."""
    pos = rng.integers(0, 17, len(rows))
    delta = rng.integers(1, 10, len(rows)).astype(np.uint8)
    old = chars[rows, pos] - ZERO
    chars[rows, pos] = (old + delta) % 10 + ZERO


def transpose_adjacent(chars: U8, rows: I64, rng: np.random.Generator) -> None:
    """Swap two different adjacent digits among the first 17 of the given rows (in place)."""
    block = chars[rows, :17]
    differs = block[:, :-1] != block[:, 1:]
    score = rng.random(differs.shape) * differs
    pos = np.argmax(score, axis=1)
    left = chars[rows, pos].copy()
    chars[rows, pos] = chars[rows, pos + 1]
    chars[rows, pos + 1] = left


def to_fifteen(chars: U8) -> U8:
    """The old 15-digit form: drop the century '19' and the check character."""
    return np.concatenate([chars[:, :6], chars[:, 8:17]], axis=1)


def is_valid(id_number: str) -> bool:
    """Scalar check (tests and assertions only): 18 chars, valid date digits, right checksum."""
    if len(id_number) != 18 or not id_number[:17].isdigit():
        return False
    body = np.frombuffer(id_number[:17].encode(), dtype=np.uint8) - ZERO
    return bool(check_chars(body[None, :])[0] == ord(id_number[17]))
