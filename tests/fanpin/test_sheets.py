"""The town's visit sheet as .xlsx (fanpin/sheets.py): readable, safe, private, reproducible."""

from __future__ import annotations

import datetime as dt
import stat
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import fastexcel
import polars as pl

from fanpin.sheets import SHEET_NAME, rows_xml, sheet_title, write_visit_sheet

DAY = dt.date(2026, 11, 30)


def _sheet() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "序号": [1, 2],
            "首次预警日期": [DAY, DAY],
            "户主": ["张丽", '=HYPERLINK("http://x","点我")'],
            "户主身份证号": ["500222198001011234", "50022219800101123X"],
            "家庭成员": ["张丽（户主）500222198001011234\n王强（配偶）", "-"],
            "走访日期": pl.Series([None, None], dtype=pl.String),
        }
    )


def _read(path: Path) -> pl.DataFrame:
    return (
        fastexcel.read_excel(path).load_sheet(SHEET_NAME, header_row=2, dtypes="string").to_polars()
    )


def test_the_sheet_reads_back_under_its_title_with_ids_as_text(tmp_path: Path) -> None:
    """Title on row 1, headers on row 3; 18-digit ids come back digit for digit, not as 5E+17."""
    path = write_visit_sheet(
        _sheet(), sheet_title("500222", "古南街道", DAY, 2), tmp_path / "s.xlsx", DAY
    )
    title = fastexcel.read_excel(path).load_sheet(SHEET_NAME, header_row=None, n_rows=1)
    assert (
        title.to_polars().row(0)[0]
        == "古南街道（500222）返贫致贫风险预警走访清单 2026-11-30，共 2 户"
    )
    back = _read(path)
    assert back.columns == _sheet().columns
    assert back["户主身份证号"].to_list() == ["500222198001011234", "50022219800101123X"]
    assert back["家庭成员"][0] == "张丽（户主）500222198001011234\n王强（配偶）"


def test_a_cell_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    """A name cell `=HYPERLINK(...)` from a department file is written as text, never a formula."""
    path = write_visit_sheet(_sheet(), "t", tmp_path / "s.xlsx", DAY)
    with zipfile.ZipFile(path) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml")
        assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml
        rels = [n for n in archive.namelist() if n.endswith(".rels")]
        assert not any(b"hyperlink" in archive.read(n) for n in rels)
    assert _read(path)["户主"][1] == '=HYPERLINK("http://x","点我")'


def test_the_sheet_is_owner_only_and_written_atomically(tmp_path: Path) -> None:
    """Mode 0600, in an owner-only folder, with no temporary file left beside it."""
    path = write_visit_sheet(_sheet(), "t", tmp_path / "town" / "s.xlsx", DAY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["s.xlsx"]


def test_the_same_sheet_gives_the_same_bytes(tmp_path: Path) -> None:
    """Rerunning a date rewrites the sheet byte for byte (the creation time is the run date)."""
    a = write_visit_sheet(_sheet(), "t", tmp_path / "a.xlsx", DAY)
    b = write_visit_sheet(_sheet(), "t", tmp_path / "b.xlsx", DAY)
    assert a.read_bytes() == b.read_bytes()


def test_a_second_reader_sees_the_same_cells_and_the_sheet_setup(tmp_path: Path) -> None:
    """openpyxl (not calamine) opens it: values and types, frozen header, filter, print setup."""
    import openpyxl

    path = write_visit_sheet(_sheet(), "标题", tmp_path / "s.xlsx", DAY)
    with zipfile.ZipFile(path) as archive:  # every part is well-formed XML
        for name in archive.namelist():
            if name.endswith((".xml", ".rels")):
                ElementTree.fromstring(archive.read(name))
    page = openpyxl.load_workbook(path)[SHEET_NAME]
    assert page["A1"].value == "标题"
    assert [c.value for c in page[3]] == _sheet().columns
    assert [c.value for c in page[4]][:4] == [1, "2026-11-30", "张丽", "500222198001011234"]
    assert page["D5"].value == "50022219800101123X" and page["D5"].data_type == "s"
    assert page.freeze_panes == "A4" and page.auto_filter.ref == "A3:F5"
    assert page.page_setup.orientation == "landscape" and page.print_title_rows == "$3:$3"
    assert page["E4"].alignment.wrap_text and page.max_row == 5


def test_rows_xml_escapes_markup_and_drops_what_xml_cannot_hold() -> None:
    """`<`, `>` and `&` are escaped, control characters removed, nulls leave the cell out."""
    frame = pl.DataFrame({"a": ["<b>&\x07x"], "n": pl.Series([None], dtype=pl.Int64)})
    xml = rows_xml(frame, {0: 2}, 4).item()
    assert xml == (
        '<row r="4"><c r="A4" s="2" t="inlineStr"><is><t xml:space="preserve">'
        "&lt;b&gt;&amp;x</t></is></c></row>"
    )
