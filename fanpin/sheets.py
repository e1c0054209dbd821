"""Writing a town's visit sheet as .xlsx: the worklist as township staff open, print and fill in.

The Parquet worklists serve the data office's tools; the staff who knock on doors work in
Excel. The sheet (`transforms.worklists.visit_sheet`) is written under a title row, with
identity numbers as text (Excel would turn an 18-digit number into 5.0011E+17), wrapped
multi-line cells, a frozen header row repeated on every printed page, and a filter.

Two steps, so that no Python loop runs over the households (a province's generated night
warns a million of them; xlsxwriter writing them cell by cell took 100 s):
1. xlsxwriter writes the package with everything but the data rows: title, header, column
   widths and formats, frozen panes, filter, print setup. Its column formats give the style
   index each data cell needs.
2. The data rows are built as SpreadsheetML text by polars string expressions
   (`rows_xml`) and put into the sheet's `<sheetData>`.
Every value is written as text or a number, never as a formula or a link: names, villages
and details come from department files (`=HYPERLINK(...)` in a name cell stays text). The
file is written aside and renamed, readable by its owner only, and its bytes depend only on
its content and the run date.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import polars as pl
import xlsxwriter

from fanpin.store import atomic_file

SHEET_NAME = "走访清单"
SHEET_XML = "xl/worksheets/sheet1.xml"
HEADER_ROW = 3  # 1-based: the title on row 1, a blank row, the header, then the data
MAX_ROWS = 1_048_576  # Excel's limit
WIDTHS = {
    "序号": 6,
    "预警等级": 9,
    "风险分值": 9,
    "预警状态": 9,
    "首次预警日期": 12,
    "村（社区）": 12,
    "户编号": 16,
    "救助类别": 11,
    "户主": 10,
    "户主身份证号": 21,
    "家庭成员": 36,
    "预警原因": 60,
    "建议措施": 24,
}
VISIT_WIDTH = 14
WRAPPED = ("家庭成员", "预警原因", "建议措施")
# Never read a cell as a formula, a link or a number: the values are data, not instructions.
WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "in_memory": True,
}
_NOT_XML = r"[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]"  # characters XML 1.0 cannot hold
_COL_STYLE = re.compile(r'<col min="(\d+)" max="\d+"[^>]*? style="(\d+)"')


def sheet_title(county: str, town: str, run_date: dt.date, households: int) -> str:
    """The line above the table: whose list it is, of which night, how many households."""
    return f"{town}（{county}）返贫致贫风险预警走访清单 {run_date.isoformat()}，共 {households} 户"


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_all(_NOT_XML, "").str.replace_many(
        ["&", "<", ">"], ["&amp;", "&lt;", "&gt;"]
    )


def _cell(name: str, dtype: pl.DataType, letter: str, style: int, row: pl.Expr) -> pl.Expr:
    """One column's `<c>` element per row ("" for a null: the cell is left out)."""
    ref = [pl.lit(f'<c r="{letter}'), row, pl.lit(f'" s="{style}"')]
    if dtype.is_numeric():
        value = pl.col(name).cast(pl.String)
        return pl.concat_str([*ref, pl.lit("><v>"), value, pl.lit("</v></c>")])
    text = pl.col(name).dt.to_string("%Y-%m-%d") if dtype == pl.Date else pl.col(name)
    inline = pl.lit(' t="inlineStr"><is><t xml:space="preserve">')
    return pl.concat_str([*ref, inline, _text(text.cast(pl.String)), pl.lit("</t></is></c>")])


def rows_xml(sheet: pl.DataFrame, styles: dict[int, int], first_row: int) -> pl.Series:
    """The `<row>` elements of the data, one string per row, starting at sheet row `first_row`.

    `styles`: 0-based column → style index (0 when absent). Numbers are numeric cells, dates
    `yyyy-mm-dd` text, everything else inline text with `&`, `<`, `>` escaped.
    """
    row = pl.int_range(first_row, first_row + pl.len(), dtype=pl.Int64).cast(pl.String)
    cells = [
        _cell(name, dtype, column_letter(i), styles.get(i, 0), row).fill_null("")
        for i, (name, dtype) in enumerate(sheet.schema.items())
    ]
    xml = pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>")])
    return sheet.select(xml.alias("xml")).to_series()


def _template(sheet: pl.DataFrame, title: str, run_date: dt.date) -> bytes:
    """The package without data rows (see the module docstring, step 1)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, WORKBOOK_OPTIONS)
    # a fixed creation time (the run date) keeps reruns byte-identical
    book.set_properties({"title": SHEET_NAME, "created": dt.datetime.combine(run_date, dt.time())})
    page = book.add_worksheet(SHEET_NAME)
    header = book.add_format(
        {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7", "border": 1}
    )
    wrapped = book.add_format({"text_wrap": True, "valign": "top"})
    plain = book.add_format({"valign": "top"})
    page.write_string(0, 0, title, book.add_format({"bold": True, "font_size": 14}))
    page.write_row(HEADER_ROW - 1, 0, sheet.columns, header)
    for i, name in enumerate(sheet.columns):
        width = WIDTHS.get(name, VISIT_WIDTH)
        page.set_column(i, i, width, wrapped if name in WRAPPED else plain)
    last_row = HEADER_ROW - 1 + sheet.height
    page.freeze_panes(HEADER_ROW, 0)
    page.autofilter(HEADER_ROW - 1, 0, last_row, sheet.width - 1)
    page.set_landscape()
    page.set_paper(9)  # A4
    page.fit_to_pages(1, 0)  # one page wide, as many pages long as it takes
    page.repeat_rows(HEADER_ROW - 1)  # the header row on every printed page
    book.close()
    return out.getvalue()


def _sheet_parts(template: str, last_row: int, width: int) -> tuple[str, str, dict[int, int]]:
    """The template's sheet XML split around its data rows, and the column styles."""
    styles = {int(m.group(1)) - 1: int(m.group(2)) for m in _COL_STYLE.finditer(template)}
    template = re.sub(
        r'<dimension ref="[^"]*"/>',
        f'<dimension ref="A1:{column_letter(width - 1)}{last_row}"/>',
        template,
        count=1,
    )
    head, tail = template.split("</sheetData>", 1)
    return head, "</sheetData>" + tail, styles


def write_visit_sheet(sheet: pl.DataFrame, title: str, target: Path, run_date: dt.date) -> Path:
    """Write one town's visit sheet to `target` (owner-only, atomically); return the path."""
    if HEADER_ROW + sheet.height > MAX_ROWS:
        raise ValueError(f"{sheet.height} households do not fit in one Excel sheet")
    template = zipfile.ZipFile(io.BytesIO(_template(sheet, title, run_date)))
    head, tail, styles = _sheet_parts(
        template.read(SHEET_XML).decode("utf-8"), HEADER_ROW + sheet.height, sheet.width
    )
    rows = rows_xml(sheet, styles, HEADER_ROW + 1)
    with (
        atomic_file(target, private=True) as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in template.infolist():
            if info.filename == SHEET_XML:
                # a town's rows are tens of MB at most; level 1 deflates them 1.6x faster
                data = rows.str.join("").cast(pl.Binary).item()  # UTF-8, no second copy
                xml = head.encode("utf-8") + data + tail.encode("utf-8")
                out.writestr(info, xml, compresslevel=1)
            else:
                out.writestr(info, template.read(info))
    return target
