"""Writing a town's visit sheet as .xlsx: the worklist as township staff open, print and fill in.

The Parquet worklists serve the data office's tools; the staff who knock on doors work in
Excel. The sheet (`transforms.worklists.visit_sheet`) is written under a title row, with
identity numbers as text (Excel would turn an 18-digit number into 5.0011E+17), wrapped
multi-line cells, frozen headers and a filter. Every cell value is written as a string or a
number, never as a formula or a link: names, villages and details come from department files
(`=HYPERLINK(...)` in a name cell stays text). The file is written aside and renamed, readable
by its owner only, and its bytes depend only on its content and the run date.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import xlsxwriter

from fanpin.store import OWNER_ONLY_FILE, make_dirs

SHEET_NAME = "走访清单"
SHEET_FILE = "走访清单.xlsx"
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


def sheet_title(county: str, town: str, run_date: dt.date, households: int) -> str:
    """The line above the table: whose list it is, of which night, how many households."""
    return f"{town}（{county}）返贫致贫风险预警走访清单 {run_date.isoformat()}，共 {households} 户"


def write_visit_sheet(sheet: pl.DataFrame, title: str, target: Path, run_date: dt.date) -> Path:
    """Write one town's visit sheet to `target` (owner-only, atomically); return the path."""
    make_dirs(target.parent, private=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        book = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
        # a fixed creation time (the run date) keeps reruns byte-identical
        book.set_properties(
            {"title": SHEET_NAME, "created": dt.datetime.combine(run_date, dt.time())}
        )
        page = book.add_worksheet(SHEET_NAME)
        page.write_string(0, 0, title, book.add_format({"bold": True, "font_size": 14}))
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        sheet.write_excel(
            workbook=book,
            worksheet=page,
            position=(2, 0),
            table_style="Table Style Light 9",
            column_widths={c: WIDTHS.get(c, VISIT_WIDTH) for c in sheet.columns},
            column_formats={c: wrap for c in WRAPPED if c in sheet.columns},
            dtype_formats={pl.Date: "yyyy-mm-dd"},
            autofit=False,
            freeze_panes=(3, 0),
        )
        page.set_landscape()
        page.fit_to_pages(1, 0)  # one page wide, as many pages long as it takes
        page.repeat_rows(2)  # the header row on every printed page
        book.close()
        tmp.chmod(OWNER_ONLY_FILE)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
