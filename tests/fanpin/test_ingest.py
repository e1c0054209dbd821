"""Ingesting department folders end to end, with real quirk files (fanpin/ingest.py)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from fanpin import ingest as ingest_module
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


# ---------------------------------------------------------------- hardening (docs/hardening.md)

MED_ROW = "{rid},张三,{id},2021-06-29,住院,{cost},1,0\n"


def _med(*rows: tuple[str, str]) -> str:
    return MED_HEADER + "".join(
        MED_ROW.format(rid=rid, id=VALID_ID, cost=cost) for rid, cost in rows
    )


def test_an_exact_repeat_is_a_duplicate_and_other_content_is_kept_with_a_note(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """M1 twice as is: the second is duplicate_record (detail points at line 2, no values);
    M2 twice with other amounts: both kept (GX counts them), the file notes a person must look."""
    folder = _folder(tmp_path)
    (folder / "m.csv").write_text(_med(("M1", "5"), ("M1", "5"), ("M2", "5"), ("M2", "7")))
    result = _run(folder, schemas["medical"], tmp_path)
    staged, quarantine = _frames(result)
    assert staged["source_line"].to_list() == [2, 4, 5]
    assert quarantine.select("source_line", "record_id", "reason").rows() == [
        (3, "M1", "duplicate_record")
    ]
    assert quarantine["detail"][0] == "exact duplicate of line 2 (same record, same content)"
    assert any(
        "record id repeated with different content on 2 row(s)" in n for n in result.files[0].notes
    )
    _assert_invariant(result, staged, quarantine)


def test_a_copy_of_a_file_is_quarantined_not_its_original(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """`x - 副本.csv` sorts after `x.csv` (names compared without suffix): its rows are the
    duplicates, the original loads, and the copy is noted as one."""
    folder = _folder(tmp_path)
    text = _med(("M1", "5"), ("M2", "6"))
    for name in ("x.csv", "x - 副本.csv"):
        (folder / name).write_text(text)
    result = _run(folder, schemas["medical"], tmp_path)
    staged, quarantine = _frames(result)
    assert [f.file for f in result.files] == ["x.csv", "x - 副本.csv"]
    assert set(staged["source_file"]) == {"x.csv"}
    assert quarantine["detail"].to_list() == [
        "exact duplicate of line 2 of x.csv (same record, same content)",
        "exact duplicate of line 3 of x.csv (same record, same content)",
    ]
    assert "same content (sha256) as x.csv: a copy" in result.files[1].notes
    _assert_invariant(result, staged, quarantine)


def test_duplicates_are_found_across_batches(
    tmp_path: Path, schemas: dict[str, DepartmentSchema], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repeat in a later polars piece (and in the DuckDB part) is found like one nearby."""
    monkeypatch.setattr(ingest_module, "FAST_CHUNK_BYTES", 64)
    folder = _folder(tmp_path)
    rows = [(f"M{i}", "5") for i in range(6)]
    text = (
        _med(*rows, ("M0", "5"))
        + 'M9,"张三",,2021-06-29,住院,1,1,0\n'
        + MED_ROW.format(rid="M3", id=VALID_ID, cost="5")
    )
    (folder / "m.csv").write_text(text)
    result = _run(folder, schemas["medical"], tmp_path)
    staged, quarantine = _frames(result)
    dups = quarantine.filter(pl.col("reason") == "duplicate_record")
    assert dups.select("source_line", "record_id").rows() == [(8, "M0"), (10, "M3")]
    assert staged.height == 7
    _assert_invariant(result, staged, quarantine)


def test_identical_roster_rows_are_duplicates(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """The roster has no record key: a row repeated whole is duplicate_record (no record id)."""
    header = (
        "户编号,姓名,身份证号,与户主关系,区县代码,乡镇,村,救助类别,城乡类别,家庭人口,"
        "家庭人均月收入,纳入时间\n"
    )
    row = f"H1,张三,{VALID_ID},户主,500110,古南街道,新城村,低保,农村,1,300,2020-01-01\n"
    folder = _folder(tmp_path)
    (folder / "r.csv").write_text(header + row + row.replace("张三", "张四") + row)
    result = _run(folder, schemas["roster"], tmp_path)
    staged, quarantine = _frames(result)
    assert staged.height == 2
    assert quarantine.select("source_line", "record_id", "reason").rows() == [
        (4, None, "duplicate_record")
    ]


def test_an_unclosed_quote_quarantines_its_line_and_the_rest_is_read_again(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """DuckDB folds every line after an unclosed quote into it: scanned again from the next line,
    lines 5-6 load, and a second unclosed quote on line 5 is handled the same way."""
    folder = _folder(tmp_path)
    lines = _med(("M1", "5"), ("M2", "5")).splitlines(keepends=True)
    broken = 'M3,"张三,,2021-06-29,住院,1,1,0\n'
    (folder / "m.csv").write_text(
        "".join(lines)
        + broken
        + broken.replace("M3", "M4")
        + _med(("M5", "5"), ("M6", "5")).split("\n", 1)[1]
    )
    result = _run(folder, schemas["medical"], tmp_path)
    staged, quarantine = _frames(result)
    assert staged["source_line"].to_list() == [2, 3, 6, 7]
    assert quarantine.select("source_line", "reason").rows() == [
        (4, "malformed_row"),
        (5, "malformed_row"),
    ]
    _assert_invariant(result, staged, quarantine)


def test_after_too_many_unclosed_quotes_the_rest_is_quarantined_line_by_line(
    tmp_path: Path, schemas: dict[str, DepartmentSchema], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each rescan costs a pass over the rest: past MAX_RESCANS the remaining lines are
    quarantined (blank lines skipped), so rows read still counts every line."""
    monkeypatch.setattr(ingest_module, "MAX_RESCANS", 1)
    folder = _folder(tmp_path)
    broken = 'M3,"张三,,2021-06-29,住院,1,1,0\n'
    (folder / "m.csv").write_text(
        MED_HEADER + broken * 3 + "\n" + _med(("M5", "5")).split("\n", 1)[1]
    )
    result = _run(folder, schemas["medical"], tmp_path)
    staged, quarantine = _frames(result)
    assert staged.height == 0
    assert quarantine["source_line"].to_list() == [2, 3, 4, 6]
    assert set(quarantine["reason"]) == {"malformed_row"}
    _assert_invariant(result, staged, quarantine)


def test_hidden_and_lock_files_are_skipped_with_a_note(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """`.x.csv` and `~$x.xlsx` are not read, and each is named in a note."""
    folder = _folder(tmp_path)
    (folder / ".x.csv").write_text(_med(("M1", "5")))
    (folder / "~$x.xlsx").write_bytes(b"lock")
    (folder / "m.csv").write_text(_med(("M1", "5")))
    result = _run(folder, schemas["medical"], tmp_path)
    assert [f.file for f in result.files] == ["m.csv"]
    assert {
        ".x.csv: skipped (hidden or lock file)",
        "~$x.xlsx: skipped (hidden or lock file)",
    } <= set(result.notes)


def test_a_file_that_cannot_be_opened_or_crashes_is_that_files_error(
    tmp_path: Path, schemas: dict[str, DepartmentSchema], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vanished file (ENOENT) and an unexpected exception are file errors; the rest loads."""
    folder = _folder(tmp_path)
    for name in ("a.csv", "b.csv", "c.csv"):
        (folder / name).write_text(_med((name, "5")))
    real_files, real_csv = ingest_module.delivered_files, ingest_module._ingest_csv

    def listed_then_deleted(path: Path) -> tuple[list[Path], list[str]]:
        files, notes = real_files(path)
        (path / "a.csv").unlink()
        return files, notes

    def odd(path: Path, *args: object) -> None:
        if path.name == "b.csv":
            raise ValueError("surprise")
        real_csv(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_module, "delivered_files", listed_then_deleted)
    monkeypatch.setattr(ingest_module, "_ingest_csv", odd)
    result = _run(folder, schemas["medical"], tmp_path)
    assert result.status == "partial"
    assert result.errors == [
        "a.csv: could not be read (ENOENT)",
        "b.csv: could not be read (ValueError)",
    ]
    staged, _ = _frames(result)
    assert staged["record_id"].to_list() == ["c.csv"]


def test_a_crash_leaves_no_temporary_files_and_stops_the_writer(
    tmp_path: Path, schemas: dict[str, DepartmentSchema], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception that escapes (MemoryError) removes the .tmp outputs and the writer thread."""
    import threading

    folder = _folder(tmp_path)
    (folder / "m.csv").write_text(_med(("M1", "5")))

    def no_memory(*args: object) -> None:
        raise MemoryError

    monkeypatch.setattr(ingest_module, "_ingest_csv", no_memory)
    with pytest.raises(MemoryError):
        _run(folder, schemas["medical"], tmp_path)
    assert not list((tmp_path / "work").rglob("*.tmp"))
    assert not [t for t in threading.enumerate() if t.name == "fanpin-parquet"]


def test_a_file_that_changes_while_read_is_an_error(
    tmp_path: Path, schemas: dict[str, DepartmentSchema], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Size or mtime differ after the read: the file's error says deliver it again; partial."""
    folder = _folder(tmp_path)
    (folder / "m.csv").write_text(_med(("M1", "5")))
    real = ingest_module._read_file

    def growing(path: Path, *args: object) -> None:
        real(path, *args)  # type: ignore[arg-type]
        with path.open("a") as fh:
            fh.write("M2,张")

    monkeypatch.setattr(ingest_module, "_read_file", growing)
    result = _run(folder, schemas["medical"], tmp_path)
    assert result.status == "partial"
    assert result.errors == ["m.csv: changed while it was being read; deliver it again"]


def test_outputs_are_owner_only(tmp_path: Path, schemas: dict[str, DepartmentSchema]) -> None:
    """staged/ and quarantine/ are 0700 and their Parquet files 0600 (ids and names)."""
    folder = _folder(tmp_path)
    (folder / "m.csv").write_text(_med(("M1", "5")))
    result = _run(folder, schemas["medical"], tmp_path)
    assert result.staged_path is not None and result.quarantine_path is not None
    for path in (result.staged_path, result.quarantine_path):
        assert (path.stat().st_mode & 0o777, path.parent.stat().st_mode & 0o777) == (0o600, 0o700)
