"""Conform a raw department frame (all text, as read) to the staged frame and the quarantine frame.

Pure: header texts → canonical names, then one lazy pass that cleans and types every column,
adds the identity and name columns and decides, per row, whether it is a record at all (footer,
repeated header, blank row) and whether its required values are present and typable. A row with
a problem goes to quarantine with the first problem as `reason`/`column` and all of them in
`detail`; everything else is staged. One row in, exactly one row out (staged or quarantined), so
the per-file invariant "rows read = rows loaded + rows quarantined" holds by construction.

`detail` is built from column names and fixed texts only, never from cell values, so an
identity number or a name that landed in the wrong column can never leak into it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from fanpin.schema import ColumnSpec, DepartmentSchema
from transforms import parsing
from transforms.identity import id_columns, identity_frame
from transforms.names import name_columns, name_frame

FOOTER_WORDS = ("合计", "总计", "小计")
TEXT_TYPES = ("text", "name", "id_number", "certificate", "enum", "county_code")
KEPT_AS_TEXT = ("text", "name", "id_number", "certificate")  # staged as the cleaned text
HEADER_MIN_MATCHES = 2
DISTINCT_TYPES = ("date", "enum", "yesno", "grade", "county_code")
STAGED_EXTRA = ("source_file", "source_line")
ID_SUFFIXES = ("clean", "norm", "valid", "problem", "upgraded", "birth", "sex", "area")
CERT_COLUMNS = ("cert_id_clean", "cert_id_norm", "cert_id_valid", "cert_type", "cert_grade")
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "department": pl.Utf8(),
    "source_file": pl.Utf8(),
    "source_line": pl.Int64(),
    "record_id": pl.Utf8(),
    "reason": pl.Utf8(),
    "column": pl.Utf8(),
    "detail": pl.Utf8(),
}
_TYPED_DTYPE: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "amount": pl.Float64(),
    "int": pl.Int64(),
    "yesno": pl.Boolean(),
    "grade": pl.Int8(),
}
_BAD_REASON = {
    "date": ("bad_date", "not a date (yyyy-mm-dd, yyyy/m/d, yyyymmdd, yyyy年m月d日, Excel serial)"),
    "amount": ("bad_amount", "not an amount in yuan"),
    "int": ("bad_int", "not a whole number in the allowed range"),
    "enum": ("bad_enum", "not one of the allowed values"),
    "grade": ("bad_grade", "not a grade 1..4 (一级..四级)"),
    "county_code": ("bad_county_code", "not a 6-digit county code"),
    "yesno": ("bad_enum", "not yes/no (是/否)"),
}
_ZERO_WIDTH = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")


# ---------------------------------------------------------------- headers


def normalize_header(text: str | None) -> str:
    """Header text as compared: NFKC (full-width brackets/letters → ASCII), no whitespace at all
    (incl. full-width and zero-width), lower case (only English has case)."""
    if text is None:
        return ""
    return _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", str(text))).lower()


def header_lookup(schema: DepartmentSchema) -> dict[str, str]:
    """Normalized header text → canonical column, over canonical names and all aliases."""
    table: dict[str, str] = {}
    for col in schema.columns:
        for text in col.header_names:
            table.setdefault(normalize_header(text), col.name)
    return table


def header_score(cells: Sequence[str | None], schema: DepartmentSchema) -> int:
    """How many distinct schema columns a row of cells names (0 for a title row)."""
    lookup = header_lookup(schema)
    return len({lookup[k] for k in map(normalize_header, cells) if k in lookup})


def find_header_row(
    rows: Sequence[Sequence[str | None]], schema: DepartmentSchema, max_rows: int = 20
) -> int | None:
    """Index of the first of the first `max_rows` rows that names enough schema columns.

    "Enough" is half the required columns (at least two), so a title row such as
    `綦江区2021年残疾人名单` never qualifies but a header that lacks one required column is
    still found, and the missing column can then be reported by name.
    """
    required = sum(col.required for col in schema.columns)
    threshold = max(HEADER_MIN_MATCHES, (required + 1) // 2)
    for index, row in enumerate(rows[:max_rows]):
        if header_score(row, schema) >= threshold:
            return index
    return None


@dataclass(frozen=True)
class HeaderResolution:
    """How one file's header maps onto the schema."""

    positions: dict[str, int]  # canonical column → 0-based position in the file
    missing_required: tuple[ColumnSpec, ...]
    missing_optional: tuple[str, ...]
    duplicates: tuple[str, ...]  # notes: "<canonical> at positions 3 and 7; the first is used"
    ignored: tuple[int, ...]  # positions of extra columns

    @property
    def ok(self) -> bool:
        """All required columns were found."""
        return not self.missing_required


def resolve_headers(headers: Sequence[str | None], schema: DepartmentSchema) -> HeaderResolution:
    """Map header cells to canonical columns: the first header naming a column wins."""
    lookup = header_lookup(schema)
    positions: dict[str, int] = {}
    duplicates: list[str] = []
    ignored: list[int] = []
    for pos, text in enumerate(headers):
        canonical = lookup.get(normalize_header(text))
        if canonical is None:
            ignored.append(pos)
        elif canonical in positions:
            duplicates.append(
                f"{canonical} at positions {positions[canonical] + 1} and {pos + 1};"
                " the first is used"
            )
        else:
            positions[canonical] = pos
    missing = [c for c in schema.columns if c.name not in positions]
    return HeaderResolution(
        positions=positions,
        missing_required=tuple(c for c in missing if c.required),
        missing_optional=tuple(c.name for c in missing if not c.required),
        duplicates=tuple(duplicates),
        ignored=tuple(ignored),
    )


def missing_column_message(file_name: str, col: ColumnSpec) -> str:
    """The message for a required column that no header names."""
    looked = ", ".join(col.header_names)
    return f"{file_name}: required column '{col.name}' not found (looked for: {looked})"


# ---------------------------------------------------------------- typing


def _parse(spec: ColumnSpec, raw: pl.Expr) -> pl.Expr:
    kind = spec.type
    if kind == "date":
        return parsing.parse_date(raw)
    if kind == "enum":
        return parsing.parse_enum(raw, spec.values, spec.synonyms)
    if kind == "yesno":
        return parsing.parse_yesno(raw)
    if kind == "grade":
        return parsing.parse_grade(raw)
    return parsing.parse_county_code(raw)


def typed_value(spec: ColumnSpec, raw: pl.Expr) -> pl.Expr:
    """The staged value of one cleaned text column, per its schema type.

    Dates, enums, yes/no, grades and county codes have few distinct values and costly
    fallback spellings, so they are parsed once per distinct value (`parsing.on_distinct`).
    """
    kind = spec.type
    if kind in DISTINCT_TYPES:
        dtype = _TYPED_DTYPE.get(kind, pl.Utf8())
        return parsing.on_distinct(raw, lambda e: _parse(spec, e), dtype)
    if kind == "amount":
        return parsing.parse_amount(raw)
    if kind == "int":
        return parsing.parse_int(raw, spec.min, spec.max)
    if kind == "certificate":
        return parsing.fold_width(raw).str.replace_all(r"\s", "").str.to_uppercase()
    return raw


def _problems(spec: ColumnSpec) -> list[tuple[pl.Expr, str, str]]:
    """(condition, reason, detail) for one column, in priority order."""
    raw = pl.col(spec.name)
    out: list[tuple[pl.Expr, str, str]] = []
    if spec.required:
        out.append((raw.is_null(), "missing_value", f"{spec.name}: required value is blank"))
    if spec.required and spec.type in _BAD_REASON:
        reason, text = _BAD_REASON[spec.type]
        if spec.type == "enum":
            text = f"not one of {'/'.join(spec.values)}"
        typed = pl.col(f"__typed_{spec.name}")
        out.append((raw.is_not_null() & typed.is_null(), reason, f"{spec.name}: {text}"))
    return out


def _footer(schema: DepartmentSchema, present: Sequence[str]) -> pl.Expr:
    """A totals row: a text cell starting with 合计/总计/小计, or no key and no person but amounts.

    Only text-like cells are looked at: a `合计` in a date or amount column would already fail
    typing there, and skipping those columns halves the cost of the check.
    """
    texts = [c.name for c in schema.columns if c.type in TEXT_TYPES and c.name in present]
    starts = [pl.col(c).str.starts_with(w) for c in texts for w in FOOTER_WORDS]
    footer = pl.any_horizontal(starts).fill_null(False) if starts else pl.lit(False)
    numeric = [c.name for c in schema.columns if c.type in ("amount", "int") and c.name in present]
    people = [c.name for c in schema.columns if c.type in ("name", "id_number")]
    if schema.record_key is not None and numeric:
        blank_key = pl.all_horizontal([pl.col(c).is_null() for c in (schema.record_key, *people)])
        totals = pl.any_horizontal([pl.col(c).is_not_null() for c in numeric])
        footer = footer | (blank_key & totals)
    return footer


def _not_a_record(schema: DepartmentSchema, present: Sequence[str]) -> pl.Expr:
    """A blank row (all cells empty) or a repeated header row (two cells equal their headers)."""
    if not present:
        return pl.lit(True)
    blank = pl.all_horizontal([pl.col(c).is_null() for c in present])
    echoes = [
        pl.col(c).is_in(list(schema.column(c).header_names)).fill_null(False).cast(pl.Int32)
        for c in present
    ]
    return blank | (pl.sum_horizontal(echoes) >= HEADER_MIN_MATCHES)


def _derived(spec: ColumnSpec) -> list[pl.Expr]:
    """Identity/name/certificate columns that docs/stages.md adds for special column types."""
    if spec.type == "id_number":
        return list(id_columns(spec.name, "id_"))
    if spec.type == "name":
        return list(name_columns(spec.name))
    return []


def _derived_frame(frame: pl.DataFrame, spec: ColumnSpec) -> pl.DataFrame | None:
    """`_derived` computed on the column directly: the same columns without the struct that
    the expression form packs and unpacks (a third of the cost of the identity columns)."""
    if spec.type == "id_number":
        return identity_frame(frame[spec.name], "id_")
    if spec.type == "name":
        return name_frame(frame[spec.name])
    return None


def _certificate(frame: pl.LazyFrame, spec: ColumnSpec) -> pl.LazyFrame:
    """cert_id_* from the first 18 chars of the certificate, type and grade from chars 19/20."""
    cert = pl.col(spec.name)
    frame = frame.with_columns(
        cert.str.slice(0, 18).alias("__cert_id"),
        cert.str.slice(18, 1).cast(pl.Int8, strict=False).alias("cert_type"),
        cert.str.slice(19, 1).cast(pl.Int8, strict=False).alias("cert_grade"),
    )
    return frame.with_columns(id_columns("__cert_id", "cert_id_"))


@dataclass(frozen=True)
class Conformed:
    """The staged and quarantined rows of one raw frame."""

    staged: pl.DataFrame
    quarantine: pl.DataFrame
    notes: tuple[str, ...] = field(default=())


def staged_columns(schema: DepartmentSchema) -> list[str]:
    """Column order of the staged frame for this schema."""
    cols: list[str] = list(schema.column_names)
    for spec in schema.columns:
        if spec.type == "id_number":
            cols += [f"id_{s}" for s in ID_SUFFIXES]
        elif spec.type == "name":
            cols += ["name_norm", "name_key"]
        elif spec.type == "certificate":
            cols += list(CERT_COLUMNS)
    return cols + list(STAGED_EXTRA)


def _first(
    problems: Sequence[tuple[pl.Expr, str, str | None, str]], values: Sequence[str | None]
) -> pl.Expr:
    """The value of the first problem whose condition holds (null when none does)."""
    expr: pl.Expr = pl.lit(None, pl.Utf8)
    for (cond, *_), value in reversed(list(zip(problems, values, strict=True))):
        expr = pl.when(cond).then(pl.lit(value, pl.Utf8)).otherwise(expr)
    return expr


def _reason_columns(schema: DepartmentSchema) -> list[pl.Expr]:
    """`__reason`/`__column`: the first problem of a row; `__detail`: all of them."""
    not_record = [
        (
            pl.col("__footer"),
            "footer_row",
            None,
            "footer row (合计/总计/小计, or totals without a record)",
        ),
        (pl.col("__not_record"), "not_a_record", None, "blank row or repeated header row"),
    ]
    checks = [(c, r, s.name, d) for s in schema.columns for c, r, d in _problems(s)]
    problems = not_record + checks
    reason = _first(problems, [r for _, r, _, _ in problems])
    column = _first(problems, [n for _, _, n, _ in problems])
    listed = [pl.when(c).then(pl.lit(d)) for c, _, _, d in checks]
    all_checks = (
        pl.concat_str(listed, separator="; ", ignore_nulls=True) if listed else pl.lit(None)
    )
    detail = (
        pl.when(pl.col("__footer"))
        .then(pl.lit(not_record[0][3]))
        .when(pl.col("__not_record"))
        .then(pl.lit(not_record[1][3]))
        .otherwise(all_checks)
    )
    return [reason.alias("__reason"), column.alias("__column"), detail.alias("__detail")]


def _problem_flag(schema: DepartmentSchema) -> pl.Expr:
    """True when the row goes to quarantine (cheap: reasons are worked out on those rows only)."""
    conds = [c for s in schema.columns for c, _, _ in _problems(s)]
    return pl.any_horizontal(pl.col("__footer"), pl.col("__not_record"), *conds).fill_null(True)


def conform(raw: pl.DataFrame | pl.LazyFrame, schema: DepartmentSchema) -> Conformed:
    """Type and check a raw frame whose columns are canonical names (text) plus `source_file`
    and `source_line`; schema columns absent from `raw` are added as nulls.

    Control and zero-width characters are removed from the text-like cells here; the typed
    parsers remove them on their slow path (a cell the fast parse could not read), so the
    clean majority of dates and amounts pays nothing for that.

    Two steps: clean, type and flag every row; then the staged rows get their identity and
    name columns and the flagged rows their reasons. The costly identity/name work and the
    reason texts are computed only on the rows that need them.
    """
    frame = raw.lazy()
    names = frame.collect_schema().names()
    present = [c for c in schema.column_names if c in names]
    frame = frame.with_columns(
        [
            parsing.clean_text(
                pl.col(c).cast(pl.Utf8), schema.column(c).type in KEPT_AS_TEXT
            ).alias(c)
            for c in present
        ]
        + [pl.lit(None, pl.Utf8).alias(c) for c in schema.column_names if c not in names]
    )
    frame = frame.with_columns(
        *[typed_value(s, pl.col(s.name)).alias(f"__typed_{s.name}") for s in schema.columns],
        _footer(schema, present).alias("__footer"),
        _not_a_record(schema, present).alias("__not_record"),
    )
    done = frame.with_columns(_problem_flag(schema).alias("__problem")).collect()
    return Conformed(staged=_staged(done, schema), quarantine=_quarantine(done, schema))


def _staged(done: pl.DataFrame, schema: DepartmentSchema) -> pl.DataFrame:
    frame = done.filter(~pl.col("__problem")) if done["__problem"].any() else done
    frame = frame.with_columns([pl.col(f"__typed_{s.name}").alias(s.name) for s in schema.columns])
    for spec in schema.columns:
        if spec.type == "certificate":
            frame = _certificate(frame.lazy(), spec).collect()
    derived = [d for s in schema.columns if (d := _derived_frame(frame, s)) is not None]
    for part in derived:
        frame = frame.with_columns(part)
    casts = {s.name: _TYPED_DTYPE[s.type] for s in schema.columns if s.type in _TYPED_DTYPE}
    return frame.select(staged_columns(schema)).with_columns(
        *[pl.col(c).cast(t) for c, t in casts.items()], pl.col("source_line").cast(pl.Int64)
    )


def _quarantine(done: pl.DataFrame, schema: DepartmentSchema) -> pl.DataFrame:
    rows = done.lazy().filter(pl.col("__problem")).with_columns(_reason_columns(schema))
    key = schema.record_key
    record_id = pl.col(key) if key else pl.lit(None)
    return rows.select(
        pl.lit(schema.department).alias("department"),
        pl.col("source_file").cast(pl.Utf8),
        pl.col("source_line").cast(pl.Int64),
        record_id.cast(pl.Utf8).alias("record_id"),
        pl.col("__reason").alias("reason"),
        pl.col("__column").alias("column"),
        pl.col("__detail").alias("detail"),
    ).collect()


def empty_quarantine() -> pl.DataFrame:
    """A quarantine frame with no rows and the contract's columns."""
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def quarantine_rows(
    department: str,
    source_file: str,
    lines: Sequence[int],
    reasons: Sequence[str],
    details: Sequence[str],
) -> pl.DataFrame:
    """Quarantine rows for lines that never became frame rows (e.g. malformed CSV lines)."""
    n = len(lines)
    return pl.DataFrame(
        {
            "department": [department] * n,
            "source_file": [source_file] * n,
            "source_line": list(lines),
            "record_id": [None] * n,
            "reason": list(reasons),
            "column": [None] * n,
            "detail": list(details),
        },
        schema=QUARANTINE_SCHEMA,
    )
