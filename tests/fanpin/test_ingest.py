"""Ingesting department folders end to end, with real quirk files (fanpin/ingest.py)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from fanpin import readers
from fanpin.ingest import IngestResult, ingest_department
from fanpin.schema import DepartmentSchema, load_schemas

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "ingest"
VALID_ID = "11010519491231002X"
MED_HEADER = "结算流水号,姓名,身份证号,结算日期,就诊类型,医疗总费用,统筹基金支付,个人负担\n"


@pytest.fixture(scope="module")
def schemas() -> dict[str, DepartmentSchema]:
    return load_schemas(ROOT / "schemas")


def _folder(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "inbox" / "dept"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(DATA / name, folder / name)
    return folder


def _run(folder: Path, schema: DepartmentSchema, tmp_path: Path) -> IngestResult:
    out = tmp_path / "work"
    return ingest_department(
        folder,
        schema,
        out / "staged" / f"{schema.department}.parquet",
        out / "quarantine" / f"{schema.department}.parquet",
    )


def _frames(result: IngestResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    assert result.staged_path is not None and result.quarantine_path is not None
    return pl.read_parquet(result.staged_path), pl.read_parquet(result.quarantine_path)


def _assert_invariant(result: IngestResult, staged: pl.DataFrame, quarantine: pl.DataFrame) -> None:
    for f in result.files:
        assert f.rows_read == f.rows_loaded + f.rows_quarantined
        assert staged.filter(pl.col("source_file") == f.file).height == f.rows_loaded
        assert quarantine.filter(pl.col("source_file") == f.file).height == f.rows_quarantined


def test_gb18030_csv_every_date_form_amounts_ids_and_footer(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """A GB18030 file is detected, transcoded and typed; bad rows are quarantined by line."""
    result = _run(_folder(tmp_path, "medical_gb18030.csv"), schemas["medical"], tmp_path)
    staged, quarantine = _frames(result)
    stats = result.files[0]
    assert (result.status, stats.encoding, stats.header_row) == ("loaded", "gb18030", 1)
    assert (stats.rows_read, stats.rows_loaded, stats.rows_quarantined) == (12, 7, 5)
    assert (
        len(stats.sha256 or "") == 64
        and stats.bytes == (DATA / "medical_gb18030.csv").stat().st_size
    )
    assert staged["settled_on"].to_list() == [dt.date(2021, 6, 29)] * 7
    assert staged["total_cost"].to_list()[:4] == [1234.5, 123.0, 2000.0, 300.0]
    assert staged["visit_type"].to_list()[:3] == ["住院", "门诊", "门诊慢特病"]
    # 15-digit, full-width and 18-digit spellings of one number all normalise to it
    assert staged["id_norm"].to_list()[:3] == [VALID_ID] * 3
    assert staged["id_upgraded"].to_list()[:3] == [False, True, False]
    assert staged["source_line"].to_list() == [2, 3, 4, 5, 6, 7, 8]
    assert staged["name"][1] == "李 四" and staged["name_norm"][1] == "李四"
    assert quarantine.select("source_line", "record_id", "reason", "column").rows() == [
        (9, "M008", "bad_date", "settled_on"),
        (10, "M009", "bad_enum", "visit_type"),
        (11, "M010", "missing_value", "name"),
        (12, "M011", "bad_amount", "total_cost"),
        (13, "合计", "footer_row", None),
    ]
    _assert_invariant(result, staged, quarantine)


def test_utf8_bom_title_line_malformed_rows_and_blank_line(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """BOM + title line: header on line 2; short/long rows are malformed_row with their lines."""
    result = _run(_folder(tmp_path, "medical_utf8_bom.csv"), schemas["medical"], tmp_path)
    staged, quarantine = _frames(result)
    stats = result.files[0]
    assert (stats.encoding, stats.header_row, stats.rows_read) == ("utf-8-sig", 2, 5)
    assert staged.select("record_id", "source_line").rows() == [
        ("B001", 3),
        ("B003", 6),
        ("B005", 8),
    ]
    assert quarantine.select("source_line", "reason").rows() == [
        (4, "malformed_row"),
        (7, "malformed_row"),
    ]
    assert "Expected Number of Columns: 10 Found: 7" in quarantine["detail"][0]
    assert "1 extra column(s) ignored" in stats.notes
    _assert_invariant(result, staged, quarantine)


def _disability_xlsx(path: Path) -> None:
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write(0, 0, "綦江区2021年残疾人名单")
    sheet.write_row(
        1,
        0,
        [
            "记录编号",
            "姓名",
            "身份证号",
            "残疾人证号",
            "残疾类别",
            "残疾等级",
            "发证日期",
            "证件状态",
            "备注",
        ],
    )
    sheet.write_row(2, 0, ["D1", "张三", VALID_ID, VALID_ID + "42", "肢体残疾", "二级"])
    sheet.write_datetime(2, 6, dt.datetime(2021, 6, 29), date_fmt)
    sheet.write_row(2, 7, ["有效", "x"])
    sheet.write_row(3, 0, ["D2", "李四", "", "", "视力", 3, 44377, "注销"])
    sheet.write_row(4, 0, ["D3", "王五", "", "", "智力", "五级", "2021/7/1", "有效"])
    sheet.write_row(6, 0, ["合计", "", "", "", "", "", "", "3人"])
    book.close()


def test_xlsx_title_row_date_cells_serials_and_footer(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """xlsx: header under a title row, date cells and serials are dates, lines are sheet rows."""
    folder = _folder(tmp_path)
    _disability_xlsx(folder / "残联.xlsx")
    result = _run(folder, schemas["disability"], tmp_path)
    staged, quarantine = _frames(result)
    stats = result.files[0]
    assert (stats.encoding, stats.header_row, stats.rows_read) == ("xlsx", 2, 4)
    assert staged["issued_on"].to_list() == [dt.date(2021, 6, 29), dt.date(2021, 6, 30)]
    assert staged["disability_grade"].to_list() == [2, 3]
    assert staged["cert_grade"].to_list() == [2, None]
    assert staged["source_line"].to_list() == [3, 4]
    assert quarantine.select("source_line", "reason", "column").rows() == [
        (5, "bad_grade", "disability_grade"),
        (7, "footer_row", None),
    ]
    _assert_invariant(result, staged, quarantine)


def test_missing_required_column_fails_the_department(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """Without 结算日期 the extract fails naming file, column and aliases; nothing is written."""
    folder = _folder(tmp_path)
    (folder / "m.csv").write_text(MED_HEADER.replace("结算日期,", "") + "M1,张三,,住院,1,1,0\n")
    result = _run(folder, schemas["medical"], tmp_path)
    assert result.status == "failed" and result.staged_path is None
    assert result.errors == [
        "m.csv: required column 'settled_on' not found (looked for: settled_on, 结算日期)"
    ]
    assert not list((tmp_path / "work").rglob("*.parquet*"))


def test_empty_and_header_only_files_contribute_no_rows(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """A 0-byte file and a header-only file load 0 rows with a note; outputs keep their schema."""
    folder = _folder(tmp_path)
    (folder / "a_empty.csv").write_bytes(b"")
    (folder / "b_header.csv").write_text(MED_HEADER, encoding="utf-8")
    result = _run(folder, schemas["medical"], tmp_path)
    staged, quarantine = _frames(result)
    assert result.status == "loaded"
    assert [f.notes for f in result.files] == [
        ["empty file (0 bytes): no rows"],
        ["header only: no rows"],
    ]
    assert staged.height == 0 and "id_norm" in staged.columns and "name_key" in staged.columns
    assert staged.schema["settled_on"] == pl.Date and quarantine.height == 0


def test_unreadable_files_fail_alone_and_the_rest_loads(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """Unknown encodings and a fake xlsx are file errors naming the file; the good file loads."""
    folder = _folder(
        tmp_path, "binary.csv", "medical_utf16_nobom.csv", "not_really.xlsx", "medical_utf8_bom.csv"
    )
    result = _run(folder, schemas["medical"], tmp_path)
    staged, quarantine = _frames(result)
    assert result.status == "partial"
    assert result.errors == [
        "binary.csv: unknown encoding (not UTF-8, UTF-8 with BOM, UTF-16 with BOM or GB18030/GBK)",
        "medical_utf16_nobom.csv: unknown encoding (not UTF-8, UTF-8 with BOM, UTF-16 with BOM"
        " or GB18030/GBK)",
        "not_really.xlsx: not a readable xlsx workbook (CalamineError)",
    ]
    assert set(staged["source_file"]) == {"medical_utf8_bom.csv"}
    _assert_invariant(result, staged, quarantine)


def test_several_files_are_one_extract(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """All files of the folder are concatenated; source_file is the bare file name."""
    folder = _folder(tmp_path, "medical_gb18030.csv", "medical_utf8_bom.csv")
    result = _run(folder, schemas["medical"], tmp_path)
    staged, quarantine = _frames(result)
    assert staged.height == 10 and quarantine.height == 7
    assert staged["source_file"].unique().sort().to_list() == [
        "medical_gb18030.csv",
        "medical_utf8_bom.csv",
    ]
    assert pq.ParquetFile(result.staged_path).metadata.row_group(0).column(0).compression == "ZSTD"
    _assert_invariant(result, staged, quarantine)


def test_duplicate_headers_first_wins_and_is_reported(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """Two columns named 姓名: the first is used and the file's notes say so."""
    folder = _folder(tmp_path)
    header = MED_HEADER.replace("个人负担\n", "个人负担,姓名\n")
    (folder / "m.csv").write_text(
        header + "M1,张三,,2021-06-29,住院,1,1,0,李四\n", encoding="utf-8"
    )
    result = _run(folder, schemas["medical"], tmp_path)
    staged, _ = _frames(result)
    assert staged["name"].to_list() == ["张三"]
    assert "duplicate header: name at positions 2 and 9; the first is used" in result.files[0].notes


def test_missing_or_empty_folder_is_no_delivery(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """No folder, or a folder without .csv/.xlsx, is `no_delivery`, not an error."""
    missing = _run(tmp_path / "nope", schemas["health"], tmp_path)
    folder = _folder(tmp_path)
    (folder / "readme.txt").write_text("x")
    empty = _run(folder, schemas["health"], tmp_path)
    for result in (missing, empty):
        assert result.status == "no_delivery" and not result.errors and result.staged_path is None
    assert "readme.txt: ignored (not .csv or .xlsx)" in empty.notes


def test_invalid_utf8_line_past_the_sample_is_quarantined(
    tmp_path: Path, schemas: dict[str, DepartmentSchema], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GBK line after a UTF-8 sample is a malformed_row on its line, not a failed file."""
    monkeypatch.setattr(readers, "SAMPLE_BYTES", 200)
    folder = _folder(tmp_path)
    good = "".join(f"M{i},张三,,2021-06-29,住院,1,1,0\n" for i in range(10))
    (folder / "m.csv").write_bytes(
        (MED_HEADER + good).encode()
        + "X1,李四,,2021-06-29,住院,1,1,0\n".encode("gb18030")
        + "M99,王五,,2021-06-29,住院,1,1,0\n".encode()
    )
    result = _run(folder, schemas["medical"], tmp_path)
    staged, quarantine = _frames(result)
    assert result.files[0].encoding == "utf-8"
    assert quarantine.select("source_line", "reason", "detail").rows() == [
        (12, "malformed_row", "invalid encoding: bytes that are not valid UTF-8")
    ]
    assert staged.select("record_id", "source_line").tail(1).rows() == [("M99", 13)]
    _assert_invariant(result, staged, quarantine)


def test_utf16_with_bom_tab_separated_is_read(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """Excel's "Unicode text" export (UTF-16 with BOM, tabs) is transcoded and read."""
    folder = _folder(tmp_path)
    text = MED_HEADER + "M1,张三,,2021-06-29,住院,1,1,0\n"
    (folder / "m.csv").write_text(text.replace(",", "\t"), encoding="utf-16")
    result = _run(folder, schemas["medical"], tmp_path)
    staged, _ = _frames(result)
    assert result.files[0].encoding == "utf-16"
    assert staged.select("record_id", "name", "source_line").rows() == [("M1", "张三", 2)]


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_bad_lines_after_plain_chunks_keep_exact_lines(
    tmp_path: Path,
    schemas: dict[str, DepartmentSchema],
    monkeypatch: pytest.MonkeyPatch,
    encoding: str,
) -> None:
    """Polars reads the plain chunks, DuckDB the rest: rejects and rows keep their lines."""
    monkeypatch.setattr(readers, "SAMPLE_BYTES", 200)
    monkeypatch.setattr("fanpin.ingest.FAST_CHUNK_BYTES", 64)
    folder = _folder(tmp_path)
    rows = "".join(f"M{i},张三,,2021-06-29,住院,1,1,0\n" for i in range(20))
    (folder / "m.csv").write_bytes(
        (MED_HEADER + rows + "\n" + "X1,李四,,2021-06-29,住院,1,1\n").encode(encoding)
        + b"X2,\xff,,2021-06-29,,1,1,0\n"
        + (rows.replace("张三", '"王,五"')).encode(encoding)
    )
    result = _run(folder, schemas["medical"], tmp_path)
    staged, quarantine = _frames(result)
    assert quarantine.select("source_line", "reason").rows() == [
        (23, "malformed_row"),
        (24, "malformed_row"),
    ]
    assert staged["source_line"].to_list() == list(range(2, 22)) + list(range(25, 45))
    assert staged["name"].tail(1).to_list() == ["王,五"]
    _assert_invariant(result, staged, quarantine)
