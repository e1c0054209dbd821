"""Prepare a staged department frame for Great Expectations (pure polars, no GX import).

GX 1.x validates pandas frames only. Converting a whole staged frame (tens of millions of rows,
twenty-odd columns, Python string objects) would cost more memory than the validation itself,
so this module narrows the frame to the columns a suite names, adds the few derived columns the
suites check, casts types into the shapes GX's pandas engine compares vectorised, and splits
large frames into chunks whose counts can be added up afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import polars as pl

# Derived column -> (source columns, expression). A suite may name a derived column as if it
# were staged; it is computed here only when every source column is present.
DERIVED_COLUMNS: Mapping[str, tuple[tuple[str, ...], pl.Expr]] = {
    # The validity of the identity numbers that were given: blank numbers become null, and GX's
    # `mostly` counts only non-null values, so the rate is "valid among non-blank". Departments
    # may leave the number blank (contract: optional), which is not a quality fault.
    "id_valid_nonblank": (
        ("id_valid", "id_problem"),
        pl.when(pl.col("id_problem").eq_missing(pl.lit("missing")))
        .then(pl.lit(None, dtype=pl.Boolean))
        .otherwise(pl.col("id_valid"))
        .alias("id_valid_nonblank"),
    ),
}

# Expectations about the columns a table has, not about its values: they run on an empty frame
# with the file's schema, so the columns they name need not be read.
SCHEMA_TYPES = frozenset({"expect_column_to_exist", "expect_table_columns_to_match_set"})

_COLUMN_KWARGS = ("column", "column_A", "column_B")
_LIST_KWARGS = ("column_list",)


def expectation_columns(kwargs: Mapping[str, object]) -> list[str]:
    """Columns one expectation reads, from its kwargs (single, pair and multi-column forms)."""
    names = [str(kwargs[key]) for key in _COLUMN_KWARGS if key in kwargs]
    for key in _LIST_KWARGS:
        value = kwargs.get(key)
        if isinstance(value, list):
            names.extend(str(item) for item in value)
    return names


def suite_columns(expectations: Sequence[Mapping[str, object]]) -> set[str]:
    """Every staged column whose values a suite checks, derived columns replaced by their
    sources; schema expectations (`SCHEMA_TYPES`) need the file's schema only.

    Reading only these from the staged Parquet keeps validation's memory to the columns it
    checks instead of the whole extract (a suite names nearly every column as "must exist").
    """
    named = {
        column
        for expectation in expectations
        if expectation.get("type") not in SCHEMA_TYPES
        for column in expectation_columns(expectation.get("kwargs", {}))  # type: ignore[arg-type]
    }
    sources = {s for name in named if name in DERIVED_COLUMNS for s in DERIVED_COLUMNS[name][0]}
    return (named - set(DERIVED_COLUMNS)) | sources


def available_columns(schema_names: Sequence[str]) -> set[str]:
    """Columns a frame with these names can offer: its own plus the derivable ones."""
    present = set(schema_names)
    derivable = {name for name, (sources, _) in DERIVED_COLUMNS.items() if set(sources) <= present}
    return present | derivable


def _pandas_friendly(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast columns into dtypes GX's pandas engine compares vectorised.

    Dates become nanosecond datetimes (GX compares datetime64[ns] columns vectorised against
    ISO-string bounds; polars' millisecond datetimes or object dates fall to a per-row Python
    path that also rejects string bounds). Small integers become Int64 so that GX sees a plain
    int/float column instead of int8 and takes the vectorised between-path.
    """
    casts: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date or isinstance(dtype, pl.Datetime):
            casts.append(pl.col(name).cast(pl.Datetime("ns")))
        elif dtype in (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32):
            casts.append(pl.col(name).cast(pl.Int64))
    return frame.with_columns(casts) if casts else frame


def select_for_validation(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """The named columns (present or derivable) of a staged frame, typed for GX's pandas engine.

    Columns that are neither present nor derivable are skipped: the caller reports the
    expectations that name them as failed without handing them to GX.
    """
    present = set(frame.columns)
    wanted = list(dict.fromkeys(columns))
    derived = [
        DERIVED_COLUMNS[name][1]
        for name in wanted
        if name not in present
        and name in DERIVED_COLUMNS
        and set(DERIVED_COLUMNS[name][0]) <= present
    ]
    widened = frame.with_columns(derived) if derived else frame
    keep = [name for name in wanted if name in widened.columns]
    return _pandas_friendly(widened.select(keep))


def chunk_count(rows: int, chunk_rows: int) -> int:
    """How many chunks a frame of `rows` rows is validated in (at least one)."""
    return max(1, -(-rows // max(1, chunk_rows)))


def iter_chunks(frame: pl.DataFrame, chunks: int, key: str | None) -> Iterator[pl.DataFrame]:
    """Split a frame into `chunks` parts whose per-part counts add up to whole-frame counts.

    With a key column the split is by hash of the key, so that all rows sharing a key value
    fall into the same part: a uniqueness expectation on that key then counts exactly the same
    duplicates per part as on the whole frame. Without a key, contiguous slices suffice.
    """
    if chunks <= 1:
        yield frame
        return
    if key is None or key not in frame.columns:
        size = -(-frame.height // chunks)
        for start in range(0, frame.height, size):
            yield frame.slice(start, size)
        return
    # The bucket is hashed once; each chunk is then a cheap filter on a small integer column.
    bucket = frame.get_column(key).hash(seed=0) % chunks
    for part in range(chunks):
        yield frame.filter(bucket == part)
