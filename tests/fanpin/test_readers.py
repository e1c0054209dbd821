"""Reading files: encodings, transcoding, CSV layout and scans, xlsx sheets (fanpin/readers.py)."""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import xlsxwriter

from fanpin import readers
from fanpin.readers import FileReadError
from fanpin.schema import DepartmentSchema, load_schemas

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "ingest"
TEXT = "结算流水号,姓名\nM1,张三\n"
VALID_ID_18 = "11010519491231002X"


@pytest.fixture(scope="module")
def schemas() -> dict[str, DepartmentSchema]:
    return load_schemas(ROOT / "schemas")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (codecs.BOM_UTF8 + TEXT.encode(), "utf-8-sig"),
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("gb18030"), "gb18030"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
        (TEXT.encode("utf-16-le"), None),
        (bytes(range(256)), None),
    ],
)
def test_detect_encoding(raw: bytes, expected: str | None) -> None:
    """BOMs, strict UTF-8, then GB18030; BOM-less UTF-16 and binary are unknown."""
    assert readers.detect_encoding(raw, complete=True) == expected


def test_utf8_character_cut_at_the_sample_boundary_is_still_utf8() -> None:
    """A sample (or a whole truncated file) that ends inside a 3-byte character is UTF-8."""
    cut = TEXT.encode("utf-8")[:-2]  # ends inside 三
    assert readers.detect_encoding(cut, complete=False) == "utf-8"
    assert readers.detect_encoding(cut, complete=True) == "utf-8"


def test_a_bad_byte_before_the_end_is_not_excused_as_a_cut_character() -> None:
    """Only a character cut at the very end is allowed: an invalid byte inside is not UTF-8."""
    raw = TEXT.encode("utf-8")
    assert readers.detect_encoding(raw[:5] + b"\xff" + raw[5:], complete=True) != "utf-8"


def test_stray_control_characters_are_text_but_nul_or_many_are_binary() -> None:
    """A BEL in one name is still UTF-8 text; a NUL or controls in 1 of 20 chars is binary."""
    assert readers.detect_encoding((TEXT + "M2,王\x07芳\n").encode(), complete=True) == "utf-8"
    assert readers.detect_encoding((TEXT + "\x00").encode(), complete=True) is None
    assert readers.detect_encoding(("ab\x07" * 10).encode(), complete=True) is None


def test_csv_layout_treats_an_unsplittable_line_as_no_header(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """A carriage return inside quotes on the first line does not crash the header search."""
    path = tmp_path / "m.csv"
    path.write_bytes(b'fund_paid\n,"\r"\n')
    assert readers.csv_layout(path, "utf-8", schemas["medical"]) is None


def test_tail_lines_counts_lines_and_blank_lines(tmp_path: Path) -> None:
    """The copy after k lines holds the rest; its lines and blank lines are counted anew."""
    src, dst = tmp_path / "a.csv", tmp_path / "b.csv"
    src.write_bytes(b"1\n2\n\n3\n\n4")
    count = readers.tail_lines(src, dst, 2)
    assert dst.read_bytes() == b"\n3\n\n4"
    assert (count.lines, count.blank_lines) == (4, [1, 3])


def test_sniff_encoding_names_the_file(tmp_path: Path) -> None:
    """An unknown encoding raises FileReadError naming the file."""
    with pytest.raises(FileReadError, match=r"medical_utf16_nobom\.csv: unknown encoding"):
        readers.sniff_encoding(DATA / "medical_utf16_nobom.csv")
    with pytest.raises(FileReadError, match=r"binary\.csv: unknown encoding"):
        readers.sniff_encoding(DATA / "binary.csv")


def test_transcode_streams_gb18030_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 7-byte chunks every multibyte char is split somewhere; the output is still exact."""
    monkeypatch.setattr(readers, "CHUNK_BYTES", 7)
    text = "姓名,金额\n张三,１２３元\n\n𠀀李四,5\n"  # 𠀀 is a 4-byte GB18030 sequence
    src, dst = tmp_path / "gb.csv", tmp_path / "utf8.csv"
    src.write_bytes(text.encode("gb18030"))
    facts = readers.transcode_to_utf8(src, dst, "gb18030")
    assert dst.read_text(encoding="utf-8") == text
    assert facts.size == src.stat().st_size and facts.blank_lines == [3]
    assert facts.sha256 == readers.file_sha256(src)


def test_transcode_fails_on_an_invalid_byte(tmp_path: Path) -> None:
    """A byte that is not GB18030 fails the file with its name and the offset."""
    src = tmp_path / "bad.csv"
    src.write_bytes("姓名\n".encode("gb18030") + b"\xff\xff\n")
    with pytest.raises(FileReadError, match=r"bad\.csv: invalid gb18030 byte near offset 5"):
        readers.transcode_to_utf8(src, tmp_path / "out.csv", "gb18030")


def test_hash_and_scan_finds_blank_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blank lines (also CRLF ones) are found wherever the chunk boundaries fall."""
    path = tmp_path / "a.csv"
    path.write_bytes(b"h\r\n\r\na\r\n\nb\n\n")
    for size in (1, 2, 3, 64):
        monkeypatch.setattr(readers, "CHUNK_BYTES", size)
        facts = readers.hash_and_scan(path)
        assert facts.blank_lines == [2, 4, 6] and facts.size == 12


def test_good_row_lines_shift_past_skipped_lines() -> None:
    """Rows after a rejected or blank line move down by one line per skipped line."""
    lines = readers.good_row_lines(4, header_line=2, skipped=[4, 6, 7])
    assert lines.tolist() == [3, 5, 8, 9]
    assert readers.good_row_lines(0, 1, [5]).tolist() == []
    assert isinstance(lines, np.ndarray)


def test_csv_layout_finds_header_below_title_and_delimiter(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """A title line is skipped and a tab delimiter detected."""
    path = tmp_path / "t.csv"
    path.write_text("医保结算明细\n结算流水号\t姓名\t结算日期\t就诊类型\n", encoding="utf-8")
    layout = readers.csv_layout(path, "utf-8", schemas["medical"])
    assert layout is not None
    assert (layout.header_line, layout.delimiter) == (2, "\t")
    assert layout.headers == ("结算流水号", "姓名", "结算日期", "就诊类型")


def test_scan_csv_rejects_malformed_lines_with_their_numbers(
    schemas: dict[str, DepartmentSchema],
) -> None:
    """Short and long rows are rejected with line numbers; good rows keep theirs."""
    path = DATA / "medical_utf8_bom.csv"
    layout = readers.csv_layout(path, "utf-8-sig", schemas["medical"])
    assert layout is not None and layout.header_line == 2
    facts = readers.hash_and_scan(path)
    with readers.scan_csv(path, layout, facts.blank_lines) as scan:
        assert scan.rows == 3
        assert [(line, kind) for line, kind, _, _ in scan.rejects] == [
            (4, "MISSING COLUMNS"),
            (7, "TOO MANY COLUMNS"),
        ]
        assert scan.source_line.tolist() == [3, 6, 8]
        assert sum(b.num_rows for b in scan.batches) == 3


def _workbook(path: Path) -> None:
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("名单")
    date_fmt = book.add_format({"num_format": "yyyy年m月d日"})
    sheet.write(0, 0, "綦江区2021年残疾人名单")
    headers = ["记录编号", "姓名", "身份证号", "残疾类别", "残疾等级", "发证日期", "证件状态"]
    sheet.write_row(2, 0, headers)
    sheet.write_row(3, 0, ["D1", "张三", "11010519491231002X", "肢体", "二级"])
    sheet.write_datetime(3, 5, dt.datetime(2021, 6, 29), date_fmt)
    sheet.write(3, 6, "有效")
    sheet.write_row(4, 0, ["D2", "李四", "", "视力", 3, 44377, "有效"])
    book.close()


def test_read_xlsx_skips_title_and_keeps_sheet_rows(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """The header is found under a title row; cells are text; lines are sheet rows."""
    path = tmp_path / "d.xlsx"
    _workbook(path)
    table = readers.read_xlsx(path, schemas["disability"])
    assert (table.sheet, table.header_row) == ("名单", 3)
    assert table.headers[:2] == ("记录编号", "姓名")
    frame = table.frame
    assert frame["c0"].to_list() == ["D1", "D2"]
    assert frame["c5"][0].startswith("2021-06-29") and frame["c5"][1] == "44377"
    assert frame["c4"].to_list() == ["二级", "3"]
    assert table.frame["source_line"].to_list() == [4, 5]


def test_unreadable_xlsx_names_the_file(schemas: dict[str, DepartmentSchema]) -> None:
    """A file that is not really an xlsx raises FileReadError naming it."""
    with pytest.raises(FileReadError, match=r"not_really\.xlsx: not a readable xlsx"):
        readers.read_xlsx(DATA / "not_really.xlsx", schemas["disability"])


def _fast(tmp_path: Path, data: bytes, size: int, encoding: str = "utf-8") -> readers.FastCsv:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    layout = readers.CsvLayout(",", 1, ("a", "b", "c"))
    return readers.FastCsv(readers.csv_chunks(path, encoding, layout, tmp_path, size), layout)


@pytest.mark.parametrize("size", [8, 1 << 20])
def test_fast_csv_numbers_rows_by_line_and_drops_blank_lines(tmp_path: Path, size: int) -> None:
    """Quote-free chunks keep every row's line; blank lines (also first in a chunk) are skipped."""
    fast = _fast(tmp_path, b"a,b,c\n\n1,2,3\n\n4,,6\r\n\r\n7,8,9\n\n", size)
    rows = [r for frame in fast.frames() for r in frame.rows()]
    assert rows == [("1", "2", "3", 3), ("4", None, "6", 5), ("7", "8", "9", 7)]
    assert (fast.rest, fast.blank_lines) == (None, [2, 4, 6, 8])


@pytest.mark.parametrize(
    "bad", [b"4,5\n", b"4,5,6,7\n", b'4,"5",6\n', b"4,\xff,6\n", b"4,5\r,6\n", b"  \n"]
)
def test_fast_csv_stops_at_the_first_chunk_that_is_not_simple(tmp_path: Path, bad: bytes) -> None:
    """Short/long lines, quotes, invalid UTF-8, a lone CR: the rest is left for DuckDB."""
    fast = _fast(tmp_path, b"a,b,c\n1,2,3\n" + bad + b"7,8,9\n", 8)
    assert [f.rows() for f in fast.frames()] == [[("1", "2", "3", 2)]]
    assert fast.rest is not None and fast.rest_line == 3
    assert b"".join(fast.rest) == bad + b"7,8,9\n"


def test_gb18030_chunks_are_transcoded_and_bad_bytes_passed_through(tmp_path: Path) -> None:
    """GB18030 pieces become UTF-8; an undecodable byte stays, so the piece is not simple."""
    text = "a,b,c\n张三,𠀀,1\n".encode("gb18030") + b"\xff,x,y\n"
    fast = _fast(tmp_path, text, 8, "gb18030")
    assert [f.rows() for f in fast.frames()] == [[("张三", "𠀀", "1", 2)]]
    assert fast.rest is not None and b"".join(fast.rest) == b"\xff,x,y\n"


def test_merged_cells_fill_every_cell_of_their_range(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """A title merged across, a date merged down three rows, a grade down two: all filled."""
    path = tmp_path / "h.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("台账")
    sheet.merge_range("A1:E1", "綦江区住房安全鉴定台账")
    sheet.write_row(1, 0, ["鉴定编号", "户主姓名", "户主身份证号", "鉴定日期", "鉴定等级"])
    for row in range(2, 5):
        sheet.write_row(row, 0, [f"Z{row}", "王芳", VALID_ID_18])
    sheet.merge_range("D3:D5", "2021-06-29")
    sheet.merge_range("E3:E4", "D级")
    sheet.write(4, 4, "C级")
    book.close()
    assert readers.merged_ranges(path, 0) == [(0, 0, 0, 4), (2, 3, 4, 3), (2, 4, 3, 4)]
    frame = readers.read_xlsx(path, schemas["housing"]).frame
    assert frame["c3"].to_list() == ["2021-06-29"] * 3
    assert frame["c4"].to_list() == ["D级", "D级", "C级"]


def test_fill_merged_respects_a_frame_that_starts_right_of_column_a() -> None:
    """fastexcel starts the frame at the first used column: ranges are shifted to it."""
    frame = pl.DataFrame({"x": ["a", None, None], "y": ["b", None, "c"]})
    filled = readers.fill_merged(frame, [(0, 2, 1, 2), (0, 3, 1, 3)], first_column=2)
    assert filled.rows() == [("a", "b"), ("a", "b"), (None, "c")]


def test_a_second_sheet_with_a_header_is_named_in_a_note(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """Sheets 1月 and 2月 both have headers: 1月 is read, 2月 is named, never silently lost."""
    path = tmp_path / "d.xlsx"
    book = xlsxwriter.Workbook(path)
    for name in ("1月", "2月"):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, ["记录编号", "姓名", "身份证号", "残疾类别", "残疾等级"])
        sheet.write_row(1, 0, ["D1", "张三", VALID_ID_18, "肢体", "二级"])
    book.close()
    table = readers.read_xlsx(path, schemas["disability"])
    assert table.sheet == "1月"
    assert any("sheet '2月'" in note and "not read" in note for note in table.notes)


def _disability_book(path: Path, sheets: list[tuple[str, bool]]) -> None:
    """A workbook with one record sheet per (name, hidden); record ids are D<sheet number>."""
    book = xlsxwriter.Workbook(path)
    for number, (name, hidden) in enumerate(sheets, start=1):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, ["记录编号", "姓名", "身份证号", "残疾类别", "残疾等级"])
        sheet.write_row(1, 0, [f"D{number}", "张三", VALID_ID_18, "肢体", "二级"])
        if hidden:
            sheet.hide()
        else:
            sheet.activate()
    book.close()


def test_a_visible_sheet_is_read_before_a_hidden_one(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """A hidden sheet with a header before the visible one: the visible one is read, the
    hidden one is named in a note."""
    path = tmp_path / "d.xlsx"
    _disability_book(path, [("旧表", True), ("台账", False)])
    table = readers.read_xlsx(path, schemas["disability"])
    assert (table.sheet, table.frame["c0"].to_list()) == ("台账", ["D2"])
    assert any("sheet '旧表' is hidden" in note and "not read" in note for note in table.notes)


def test_a_hidden_sheet_is_read_when_no_visible_sheet_has_a_header(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """Only a hidden sheet holds the header: it is read, and a note says it was hidden."""
    path = tmp_path / "d.xlsx"
    book = xlsxwriter.Workbook(path)
    book.add_worksheet("说明").write(0, 0, "本表由残联每月报送")
    data = book.add_worksheet("数据")
    data.write_row(0, 0, ["记录编号", "姓名", "身份证号", "残疾类别", "残疾等级"])
    data.write_row(1, 0, ["D1", "张三", VALID_ID_18, "肢体", "二级"])
    data.hide()
    book.close()
    table = readers.read_xlsx(path, schemas["disability"])
    assert (table.sheet, table.frame["c0"].to_list()) == ("数据", ["D1"])
    assert any("sheet '数据' is hidden; read because" in note for note in table.notes)


def test_of_two_hidden_sheets_the_first_is_read_and_a_visible_one_wins_over_both(
    tmp_path: Path, schemas: dict[str, DepartmentSchema]
) -> None:
    """Hidden 1, hidden 2, visible 3: sheet 3 is read and both hidden ones are named."""
    path = tmp_path / "d.xlsx"
    _disability_book(path, [("a", True), ("b", True), ("c", False)])
    table = readers.read_xlsx(path, schemas["disability"])
    assert (table.sheet, table.frame["c0"].to_list()) == ("c", ["D3"])
    named = [n for n in table.notes if "is hidden and has a header row" in n]
    assert len(named) == 2 and "'a'" in named[0] and "'b'" in named[1], table.notes


def test_scan_csv_reports_a_rejected_line_that_swallowed_the_next_ones(tmp_path: Path) -> None:
    """A quote left open on line 3 takes lines 4-5 with it: the reject is marked as spanning."""
    path = tmp_path / "q.csv"
    path.write_bytes(b'a,b,c\n1,2,3\n4,"5,6\n7,8,9\n10,11,12\n')
    layout = readers.CsvLayout(",", 1, ("a", "b", "c"))
    with readers.scan_csv(path, layout, []) as scan:
        assert (scan.rows, [r[0] for r in scan.rejects], scan.spanning) == (1, [3], [3])


@pytest.mark.parametrize("block", [3, 7, 1 << 20])
def test_record_starts_follow_quotes_across_lines_and_blocks(tmp_path: Path, block: int) -> None:
    """A record starts after a newline outside quotes; doubled quotes keep the balance, and
    the answer does not depend on where the file is cut into blocks."""
    from fanpin.readers import record_starts

    path = tmp_path / "q.csv"
    path.write_bytes(b'h1,h2\na,"x\ny"\n\nb,"say ""hi""\n!"\nc,d\n')
    # lines: 1 header, 2-3 record a, 4 blank, 5-6 record b, 7 record c (8: after the end)
    assert record_starts(path, block_bytes=block).tolist() == [1, 2, 4, 5, 7, 8]
