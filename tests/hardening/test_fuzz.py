"""Property-based fuzzing of ingest: random bytes and random CSV shapes never crash it, and every
file reconciles (rows read = rows loaded + rows quarantined, and the Parquet files agree)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanpin.ingest import ingest_department
from fanpin.schema import DepartmentSchema, load_schemas

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = load_schemas(ROOT / "schemas")
MEDICAL = SCHEMAS["medical"]
HEADERS = sorted({h for c in MEDICAL.columns for h in c.header_names})
JUNK_HEADERS = [
    "",
    "序号",
    "备注",
    "合计",
    '"; DROP TABLE x; --',
    "c0",
    "source_line",
    "姓名 ",
    "\u200b姓名",
]
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "YB0001",
            "张伟",
            "500110196203040015",
            "2021-06-29",
            "2021年6月29日",
            "44376",
            "住院",
            "门诊",
            "1,234.50元",
            "-5",
            "１２３",
            "合计",
            "#N/A",
            "\u200b",
            "结算流水号",
            "NaN",
            "1e400",
            "0x10",
        ]
    ),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.text(alphabet=",;\t|\"'\r\n 张王", max_size=6),
)
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _ingest(schema: DepartmentSchema, name: str, data: bytes) -> None:
    """Ingest one file in a fresh folder; assert no crash and per-file reconciliation."""
    with tempfile.TemporaryDirectory(prefix="fanpin-fuzz-") as tmp:
        folder = Path(tmp) / "inbox" / schema.department
        folder.mkdir(parents=True)
        (folder / name).write_bytes(data)
        work = Path(tmp) / "work"
        result = ingest_department(folder, schema, work / "s.parquet", work / "q.parquet")
        assert result.status in ("loaded", "partial", "failed")
        if result.status == "failed":
            assert result.errors and all(name in e for e in result.errors)
            assert not list(work.glob("*"))
            return
        (stats,) = result.files
        assert stats.rows_read == stats.rows_loaded + stats.rows_quarantined
        assert stats.error is None or stats.error.startswith(name)
        staged, quarantine = (
            pl.read_parquet(work / "s.parquet"),
            pl.read_parquet(work / "q.parquet"),
        )
        assert (staged.height, quarantine.height) == (stats.rows_loaded, stats.rows_quarantined)
        assert quarantine["reason"].is_not_null().all()


@settings(FUZZ, max_examples=80)
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_random_bytes_never_crash_ingest(data: bytes, suffix: str) -> None:
    """Any bytes, named .csv or .xlsx: a result (never an exception), and it reconciles."""
    _ingest(MEDICAL, f"random{suffix}", data)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A CSV with a header from the schema's aliases and junk, rows of random cells, a random
    delimiter, quoting, line ending and encoding, maybe cut short at a random byte."""
    header = draw(st.lists(st.sampled_from(HEADERS + JUNK_HEADERS), min_size=1, max_size=12))
    width = len(header)
    rows = draw(
        st.lists(st.lists(CELLS, min_size=max(width - 2, 0), max_size=width + 2), max_size=12)
    )
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quote_all = draw(st.booleans())

    def cell(value: str) -> str:
        if quote_all or any(ch in value for ch in (delimiter, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value

    newline = draw(st.sampled_from(["\n", "\r\n"]))
    title = draw(st.sampled_from(["", "綦江区2021年医保结算明细" + newline]))
    text = title + "".join(delimiter.join(map(cell, r)) + newline for r in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


@FUZZ
@given(data=csv_files())
def test_random_csv_shapes_never_crash_ingest(data: bytes) -> None:
    """Random headers, cells (unicode, quotes, delimiters, newlines), delimiters and encodings:
    a result, never an exception, and rows read = loaded + quarantined."""
    _ingest(MEDICAL, "医保结算.csv", data)


@pytest.mark.parametrize("department", sorted(SCHEMAS))
def test_every_department_header_with_random_rows_reconciles(department: str) -> None:
    """Each department's canonical header over a few rows of junk reconciles too."""
    schema = SCHEMAS[department]
    header = ",".join(schema.column_names)
    rows = ["", ",,,", "合计,1,2", '"a,b",' * len(schema.column_names), "x" * 500]
    _ingest(schema, f"{department}.csv", (header + "\n" + "\n".join(rows) + "\n").encode())
