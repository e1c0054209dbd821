"""The run report (fanpin.report) and its screenshot check (fanpin.screenshot)."""

from __future__ import annotations

import copy
import json
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fanpin import report, screenshot

DATA = Path(__file__).resolve().parents[1] / "data" / "report"
ID_PATTERN = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)|(?<!\d)\d{15}(?!\d)")


def load_manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def load_warnings() -> pl.DataFrame:
    return report.read_warnings(DATA / "warnings.ndjson")


def empty_warnings() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "household_id": pl.Utf8,
            "county_code": pl.Utf8,
            "town": pl.Utf8,
            "village": pl.Utf8,
            "category": pl.Utf8,
            "risk_score": pl.Int32,
            "risk_level": pl.Utf8,
            "reason_codes": pl.List(pl.Utf8),
            "status": pl.Utf8,
        }
    )


@pytest.fixture(scope="module")
def page() -> str:
    return report.build_html(load_manifest(), load_warnings())


# --- content -----------------------------------------------------------------------------------


def test_every_section_is_present(page: str) -> None:
    """The page has the header, KPI tiles, warnings, matching, quality, inputs and footer."""
    for heading in ("夜间运行报告", "预警户数", "预警分布", "数据匹配", "数据质量", "输入文件"):
        assert heading in page
    assert '<section class="kpis">' in page and "<footer>" in page


def test_charts_are_inline_svg_and_nothing_is_fetched(page: str) -> None:
    """Charts are inline SVG; the page has no script, no external URL, and a CSP forbidding both."""
    assert page.count("<svg") >= 6  # town, reason, donut, category, matching, quality meters
    assert "<script" not in page.lower()
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "default-src 'none'" in page


def test_header_shows_run_facts_and_dev_key_warning(page: str) -> None:
    """Run date, status, policy profile, code version, times and duration appear; dev key warned."""
    for fact in (
        "2026-11-30",
        "部分完成",
        "qijiang-2021",
        "0.1.0+g3b976ae",
        "02:00:03",
        "02:07:41",
    ):
        assert fact in page
    assert "7 分 38 秒" in page
    assert "开发密钥" in page


def test_kpis_carry_the_manifest_numbers(page: str) -> None:
    """Totals per level and status come from the manifest; link rate from the matching counts."""
    tiles = page.split('<section class="kpis">')[1].split("</section>")[0]
    for number in ("172", "23", "66", "83", "67", "105", "29"):
        assert f'<span class="tv">{number}</span>' in tiles
    # linked = all matching records except review and unmatched
    assert "24,921 / 27,683" in tiles and "90.0%" in tiles


def test_charts_carry_town_reason_and_match_figures(page: str) -> None:
    """Town and reason labels are Chinese, matching bars show counts and n= per department."""
    assert "古南街道" in page and "医疗支出负担重" in page and "MEDICAL_BURDEN" in page
    assert "n=20,181" in page and "17,402" in page
    assert "身份证号一致" in page and "待人工复核" in page


def test_quality_shows_failed_expectations_and_held_back_reasons(page: str) -> None:
    """A held-back department shows its status, failed expectations (numbers only) and reasons."""
    assert "暂缓使用 held back" in page
    assert "certificate_no" in page and "不符合 801" in page and "不符合率 18.21%" in page
    assert "残疾人证号格式校验未通过率" in page
    assert "8 / 10 通过" in page


def test_inputs_table_marks_missing_delivery_and_totals(page: str) -> None:
    """Every file is listed with its rows; an undelivered department is a marked row."""
    assert "医保结算_202611.csv" in page and "gb18030" in page
    assert page.count('<tr class="missing">') == 1 and "not delivered tonight" in page
    assert "<td>46,098</td>" in page  # rows read over all files


def test_data_docs_link_is_relative(page: str) -> None:
    """The GX Data Docs link points at the manifest's relative path."""
    assert 'href="gx/data_docs/index.html"' in page


def test_unsafe_data_docs_path_is_not_linked() -> None:
    """A data_docs_path with a scheme or an absolute path is not turned into a link."""
    for bad in ("javascript:alert(1)", "https://evil.example/x", "/etc/passwd"):
        manifest = {**load_manifest(), "data_docs_path": bad}
        assert "href=" not in report.build_html(manifest, empty_warnings())


def test_unbalanced_file_rows_are_flagged() -> None:
    """A file whose rows read differ from loaded + quarantined gets a ⚠ mark."""
    manifest = load_manifest()
    manifest["inputs"][0]["rows_read"] += 1
    assert "读取 ≠ 入库 + 隔离" in report.build_html(manifest, empty_warnings())


def test_utc_times_are_shown_in_beijing_time() -> None:
    """The manifest's UTC timestamps are shown as Beijing time; the duration is unaffected."""
    manifest = {
        **load_manifest(),
        "started_at": "2026-11-29T18:00:03+00:00",
        "finished_at": "2026-11-29T19:02:05.123456+00:00",
    }
    page = report.build_html(manifest, empty_warnings())
    assert "2026-11-30 02:00:03" in page and "2026-11-30 03:02:05" in page
    assert "1 小时 2 分 2 秒" in page


def test_reused_department_is_marked() -> None:
    """A department not delivered tonight whose previous extract was reused says so."""
    manifest = load_manifest()
    manifest["departments"][3]["reused"] = True
    assert "沿用上次已入库数据" in report.build_html(manifest, empty_warnings())


def test_failed_run_gets_a_banner() -> None:
    """A failed run says so and that the previous publication was kept."""
    manifest = {**load_manifest(), "status": "failed"}
    assert "运行失败" in report.build_html(manifest, empty_warnings())


# --- aggregates --------------------------------------------------------------------------------


def test_level_counts_per_town_sorted_and_folded() -> None:
    """Counts per town and level, biggest town first; towns past `top` fold into one row."""
    frame = pl.DataFrame(
        {
            "town": ["A", "A", "A", "B", "C", None],
            "risk_level": ["red", "yellow", "yellow", "orange", "red", "red"],
        }
    )
    counts = report.level_counts(frame, "town", "?", top=3)
    assert counts.to_dicts()[0] == {"town": "A", "red": 1, "orange": 0, "yellow": 2, "total": 3}
    assert counts.get_column("town").to_list() == ["A", "?", "其他 2 个"]
    assert counts.get_column("total").sum() == 6


def test_reason_counts_count_each_code_once_per_household() -> None:
    """A household with two reasons counts under both; no reasons count nothing."""
    frame = pl.DataFrame(
        {"reason_codes": [["SEVERE_ILLNESS", "MEDICAL_BURDEN"], ["MEDICAL_BURDEN"], []]}
    )
    assert report.reason_counts(frame).rows() == [("MEDICAL_BURDEN", 2), ("SEVERE_ILLNESS", 1)]


def test_conform_warnings_keeps_only_report_columns_and_row_count() -> None:
    """Missing columns become typed nulls without inventing rows; other columns are dropped."""
    assert report.conform_warnings(pl.DataFrame()).shape == (0, 5)
    frame = report.conform_warnings(pl.DataFrame({"town": ["A"], "name": ["张三"]}))
    assert frame.columns == ["town", "category", "risk_level", "reason_codes", "status"]
    assert frame.height == 1 and frame.schema["reason_codes"] == pl.List(pl.Utf8)


def test_axis_steps_are_whole_numbers() -> None:
    """Gridline steps are 1/2/5 x 10^k and never below 1, so tick labels do not repeat."""
    steps = [report._nice_step(m) for m in (1, 3, 6, 28, 67, 20181)]
    assert steps == [1, 1, 2, 10, 20, 5000]


def test_kpis_fall_back_to_frame_counts_without_manifest_totals() -> None:
    """With no `warnings` block in the manifest, totals are counted from the frame."""
    manifest = {k: v for k, v in load_manifest().items() if k != "warnings"}
    page = report.build_html(manifest, load_warnings())
    assert '<span class="tv">172</span>' in page and '<span class="tv">23</span>' in page


# --- safety -----------------------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script>'


def hostile_manifest() -> dict[str, Any]:
    manifest = copy.deepcopy(load_manifest())
    manifest["inputs"][0]["file"] = '"><img src=x onerror=alert(1)>.xlsx'
    manifest["inputs"][1]["error"] = HOSTILE
    manifest["inputs"][1]["encoding"] = HOSTILE
    manifest["departments"][4]["reasons"] = [HOSTILE]
    manifest["departments"][0]["label"] = HOSTILE
    manifest["validation"][3]["expectations"][0]["column"] = HOSTILE
    manifest["validation"][3]["expectations"][0]["severity"] = '" onmouseover="x'
    manifest["policy_profile"] = HOSTILE
    return manifest


def test_hostile_strings_render_as_text() -> None:
    """A town, file name or reason that is markup is escaped: no tag or attribute is injected."""
    warnings = load_warnings().with_columns(
        pl.when(pl.col("town") == "古南街道").then(pl.lit(HOSTILE)).otherwise(pl.col("town"))
    )
    page = report.build_html(hostile_manifest(), warnings)
    assert "<script" not in page and "<img" not in page and 'onmouseover="' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def roster() -> pl.DataFrame:
    return pl.read_csv(DATA / "roster.csv", infer_schema=False)


def test_no_identity_number_or_name_reaches_the_page() -> None:
    """Unmasked columns, GX sample values and error texts never put an ID or a name on the page."""
    people = roster()
    ids, names = people.get_column("id_number").to_list(), people.get_column("name").to_list()
    manifest = load_manifest()
    manifest["validation"][3]["expectations"][0]["observed"].update(
        {"partial_unexpected_list": ids + names, "unexpected_rows": [{"name": names[0]}]}
    )
    manifest["inputs"][1]["error"] = f"bad id {ids[0]} on line 7"
    manifest["departments"][4]["reasons"] = [f"证号 {ids[1]} 重复"]
    unmasked = (
        load_warnings()
        .head(len(ids))
        .with_columns(pl.Series("name", names), pl.Series("id_number", ids))
    )
    page = report.build_html(manifest, unmasked)
    assert not ID_PATTERN.search(page)
    assert not [n for n in names if n in page]
    assert "500222********1236" in page  # the error text survives, masked


def test_mask_long_numbers_keeps_ordinary_numbers() -> None:
    """Only runs of 15+ digits are masked; counts, dates and codes stay readable."""
    text = "read 18,342 rows; 20261130; code 500110; id 500222195803121236 / 500110650101221"
    masked = report.mask_long_numbers(text)
    assert "18,342" in masked and "20261130" in masked and "500110;" in masked
    assert "500222********1236" in masked and "500110*****1221" in masked


# --- robustness -------------------------------------------------------------------------------


def test_empty_manifest_and_frame_render(tmp_path: Path) -> None:
    """An empty manifest and a frame with no rows (or no columns) still give a complete page."""
    for frame in (empty_warnings(), pl.DataFrame()):
        out = report.render_report({}, frame, tmp_path / "r" / "report.html")
        page = out.read_text(encoding="utf-8")
        assert "无数据" in page and "无输入" in page and "本次未生成 Data Docs" in page
        assert "预警分布" in page and "</html>" in page


def test_zero_warnings_and_partial_lists_render() -> None:
    """Zero warnings, no matching, no validation and junk entries do not break the page."""
    manifest = {
        "run_date": "2026-12-01",
        "status": "succeeded",
        "warnings": {"total": 0, "red": 0, "orange": 0, "yellow": 0, "new": 0},
        "inputs": [{"department": "roster", "file": "r.csv"}, "junk"],
        "departments": [{"department": "health", "delivered": False}],
        "matching": [],
        "validation": None,
        "started_at": "not a time",
    }
    page = report.build_html(manifest, empty_warnings())
    assert "成功" in page and '<span class="tv">0</span>' in page
    assert "卫健" in page and '<tr class="missing">' in page


def test_render_report_writes_atomically(tmp_path: Path) -> None:
    """render_report returns the path it wrote and leaves no temporary file behind."""
    out = report.render_report(load_manifest(), load_warnings(), tmp_path / "report.html")
    assert out == tmp_path / "report.html" and out.stat().st_size > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_cli_renders_fixture(tmp_path: Path) -> None:
    """`python -m fanpin.report` renders a manifest + warnings file to HTML."""
    out = tmp_path / "report.html"
    argv = ["--manifest", str(DATA / "manifest.json"), "--warnings", str(DATA / "warnings.ndjson")]
    assert report.main([*argv, "--out", str(out)]) == 0
    assert "古南街道" in out.read_text(encoding="utf-8")


# --- screenshot: PNG check and command (no browser) --------------------------------------------


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


FILTERS: dict[int, Callable[[int, int, int], int]] = {
    0: lambda a, b, c: 0,
    1: lambda a, b, c: a,
    2: lambda a, b, c: b,
    3: lambda a, b, c: (a + b) // 2,
    4: _paeth,
}


def encode_png(rows: list[bytes], width: int, filters: list[int]) -> bytes:
    """A tiny RGB PNG encoder, one filter type per row, to test the decoder against."""
    raw, prior = bytearray(), bytes(len(rows[0]))
    for line, kind in zip(rows, filters, strict=True):
        raw.append(kind)
        for i, x in enumerate(line):
            a = line[i - 3] if i >= 3 else 0
            c = prior[i - 3] if i >= 3 else 0
            raw.append((x - FILTERS[kind](a, prior[i], c)) & 0xFF)
        prior = line

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


def test_png_decoder_undoes_every_filter() -> None:
    """Rows filtered with None, Sub, Up, Average and Paeth decode back to the original pixels."""
    width = 7
    rows = [
        bytes((x * 37 + y * 91 + k * 13) % 256 for x in range(width) for k in range(3))
        for y in range(5)
    ]
    png = encode_png(rows, width, [0, 1, 2, 3, 4])
    assert screenshot.decode_rows(png) == (width, 5, 3, rows)


def test_check_png_rejects_a_blank_picture() -> None:
    """A single-colour screenshot (a blank page) fails the check, whatever its size."""
    rows = [b"\xff" * 3 * 400 for _ in range(300)]
    with pytest.raises(screenshot.ScreenshotError, match="blank"):
        screenshot.check_png(encode_png(rows, 400, [0] * 300))


def test_check_png_accepts_a_busy_picture() -> None:
    """A large picture with many colours passes and reports its dimensions."""
    width, height = 200, 160
    rows = [
        bytes((x * 7 + y * 3 + k * 50) * (x ^ y) % 256 for x in range(width) for k in range(3))
        for y in range(height)
    ]
    stats = screenshot.check_png(encode_png(rows, width, [0] * height))
    assert stats["width"] == width and stats["height"] == height and stats["colours"] >= 16


def test_chromium_command_is_headless_offline_and_fresh(tmp_path: Path) -> None:
    """The command carries the agreed flags, a fresh profile dir and the report's file:// URL."""
    cmd = screenshot.chromium_command(
        Path("/usr/bin/chromium"),
        tmp_path / "r.html",
        tmp_path / "o.png",
        tmp_path / "p",
        (1280, 2000),
    )
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,2000",
        f"--user-data-dir={tmp_path / 'p'}",
        f"--screenshot={tmp_path / 'o.png'}",
    ):
        assert flag in cmd
    assert cmd[-1] == (tmp_path / "r.html").as_uri()


def test_missing_chromium_prints_the_install_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without /usr/bin/chromium the command prints `apt-get install -y chromium` and fails."""
    monkeypatch.setattr(screenshot, "CHROMIUM", tmp_path / "no-chromium")
    assert screenshot.main([str(tmp_path / "r.html"), str(tmp_path / "o.png")]) != 0
    assert "apt-get install -y chromium" in capsys.readouterr().err
