"""Hostile input: SQL and quotes in headers and file names, path tricks in parameters, town names
and profiles; none of it may reach SQL unquoted or a path outside the configured folders."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from fanpin import cli, report
from fanpin.policy import PolicyError, load_profile
from fanpin.publish import Publication, partition_value, publish

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
Ingest = Callable[..., Any]  # the `ingest` fixture of conftest.py
SQL = ('"; DROP TABLE x; --', "' OR 1=1", "'c0': 'VARCHAR'}); DROP TABLE raw; --")
# A quoted cell forces the DuckDB reader (the polars fast path takes only quote-free chunks).
FOOTER = (BAD / "medical" / "footer_totals.csv").read_bytes().replace(b"YB0001", b'"YB0001"')


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v

    return "".join(",".join(map(cell, r)) + "\n" for r in [header, *rows]).encode("utf-8")


# ---------------------------------------------------------------- headers and file names


def test_sql_in_column_headers_is_just_an_extra_column(ingest: Ingest) -> None:
    """Headers holding SQL (and a header named like the scan's own columns) are ignored extras."""
    head = [
        "结算流水号",
        "姓名",
        "身份证号",
        "结算日期",
        "就诊类型",
        "医疗总费用",
        "统筹基金支付",
        "个人负担",
    ]
    row = ["张伟", "", "2021-06-29", "住院", "10", "5", "5"]
    data = _csv(
        [*head, *SQL, "c0", "source_line"],
        [['"YB1"', *row, "x", "y", "z", "w", "v"], ["YB2", *row, "", "", "", "", ""]],
    )
    outcome = ingest("medical", ("医保.csv", data))
    assert outcome.counts("医保.csv") == (2, 2, 0)
    assert outcome.staged["source_line"].to_list() == [2, 3]
    assert "5 extra column(s) ignored" in outcome.file("医保.csv").notes


HOSTILE_NAMES = [
    '"; DROP TABLE x; --.csv',
    "' OR 1=1.csv",
    "'; DROP TABLE raw; --.csv",
    "%2F..%2F..%2Fevil.csv",
    "  spaces  in name .csv",
    "new\nline.csv",
    "医保[1].csv",
    "a*?.csv",
    "$path {x}.csv",
    "-rf.csv",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_file_names_load_as_plain_names(ingest: Ingest, name: str, tmp_path: Path) -> None:
    """A file name with quotes, SQL, %2F, spaces, a newline or glob characters is read through
    DuckDB as a parameter: rows load, the name is recorded as given, nothing is written elsewhere."""
    before = {p for p in tmp_path.parent.iterdir()}
    outcome = ingest("medical", (name, FOOTER))
    assert outcome.counts(name) == (4, 3, 1)
    assert set(outcome.staged["source_file"]) == {name}
    assert outcome.reasons(name) == [(5, "footer_row", None)]
    assert {p for p in tmp_path.parent.iterdir()} == before
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*")}
    assert written == {"inbox", "work"}


def test_a_hidden_csv_is_not_dropped_silently(ingest: Ingest) -> None:
    """A file whose name starts with a dot is skipped like an editor's temp file, but said so."""
    outcome = ingest("medical", (".医保结算_202501.csv", FOOTER))
    assert any(".医保结算_202501.csv" in note for note in outcome.texts()), outcome.texts()


# ---------------------------------------------------------------- run parameters


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return inbox, tmp_path / "out"


BAD_ARGS = [
    (["--policy", "../../etc/passwd"], "--policy '../../etc/passwd' is not a profile name"),
    (["--policy", "/etc/passwd"], "--policy '/etc/passwd' is not a profile name"),
    (["--policy", "sample; rm -rf /"], "is not a profile name"),
    (["--run-date", "2026-02-30"], "--run-date '2026-02-30' is not a date of the form YYYY-MM-DD"),
    (["--run-date", "2026-11-30; DROP TABLE x"], "is not a date of the form YYYY-MM-DD"),
    (["--run-date", "../../2026-11-30"], "is not a date of the form YYYY-MM-DD"),
    (["--run-date", "1900-01-01"], "--run-date 1900-01-01 is outside the range a run can have"),
    (["--departments", "medical,../roster"], "--departments: not a department name: '../roster'"),
    (["--departments", "medical;drop"], "not a department name"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_ARGS, ids=[" ".join(a) for a, _ in BAD_ARGS])
def test_bad_run_parameters_are_refused_in_one_line(
    dirs: tuple[Path, Path], extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Path tricks and impossible dates: exit 2, one line on stderr, nothing created."""
    inbox, output = dirs
    argv = [
        "run",
        "--inbox",
        str(inbox),
        "--output",
        str(output),
        "--run-date",
        "2026-11-30",
        *extra,
    ]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fanpin: ") and message in err[0], err
    assert not output.exists()


def test_inbox_that_is_not_a_folder_and_output_inside_inbox_are_refused(
    dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--inbox ../../nowhere` and an output inside the inbox: exit 2 with one line each."""
    inbox, _ = dirs
    assert (
        cli.main(
            [
                "run",
                "--inbox",
                str(inbox / ".." / ".." / "nowhere-xyz"),
                "--output",
                "o",
                "--run-date",
                "2026-11-30",
            ]
        )
        == 2
    )
    assert (
        cli.main(
            [
                "run",
                "--inbox",
                str(inbox),
                "--output",
                str(inbox / "out"),
                "--run-date",
                "2026-11-30",
            ]
        )
        == 2
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].endswith("is not a folder") and "nowhere-xyz" in lines[0]
    assert lines[1] == "fanpin: --output must not contain or be inside --inbox"
    assert not (inbox / "out").exists()


def test_explain_refuses_an_impossible_date(capsys: pytest.CaptureFixture[str]) -> None:
    """`fanpin explain --run-date 2026-02-30` exits 2 with one line."""
    assert cli.main(["explain", "--household", "H1", "--run-date", "2026-02-30"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# ---------------------------------------------------------------- policy profiles


def _profile_with(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    data = yaml.safe_load((ROOT / "policies" / "sample.yaml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "sample.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d.update({"exec": "rm -rf /"}), "'exec' is unexpected"),
        (
            lambda d: d["parameters"].update({"__class__": 1}),
            "'parameters.__class__' is unexpected",
        ),
        (
            lambda d: d["parameters"]["margin_multiple"].update({"eval": "1+1"}),
            "'parameters.margin_multiple.eval' is unexpected",
        ),
    ],
    ids=["top", "parameters", "nested"],
)
def test_profile_with_an_unexpected_key_is_refused_naming_it(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], key: str
) -> None:
    """A profile with a key the loader does not know is refused; the message names the key."""
    with pytest.raises(PolicyError, match=key.replace(".", r"\.").replace("_", "_")):
        load_profile(_profile_with(tmp_path, change), ROOT / "policies")


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/etc/passwd", "sample/../sample", "SAMPLE", ""]
)
def test_profile_names_never_reach_the_file_system(name: str) -> None:
    """A profile named by a path is refused before any file is opened."""
    with pytest.raises(PolicyError, match="plain name"):
        load_profile(name, ROOT / "policies")


def test_yaml_tags_in_a_profile_are_not_executed(tmp_path: Path) -> None:
    """A `!!python/object` tag is a YAML error (safe_load), not code."""
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['touch pwned']\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_profile(path, ROOT / "policies")
    assert not (Path.cwd() / "pwned").exists()


# ---------------------------------------------------------------- town names: paths and HTML


TOWNS = [
    "../../x",
    "..",
    ".",
    "/etc",
    "a/b\\c",
    "<script>alert(1)</script>",
    '"; DROP TABLE x; --',
    "%2e%2e%2f",
    "",
    "古南街道",
    "阿" * 40,
    "新\n山",
]


@pytest.mark.parametrize("town", TOWNS)
def test_partition_value_keeps_a_town_inside_the_worklists_folder(
    tmp_path: Path, town: str
) -> None:
    """Any town name makes one path component under worklists/, short enough to create."""
    root = tmp_path / "worklists"
    folder = root / f"county_code={partition_value('500110')}" / f"town={partition_value(town)}"
    folder.mkdir(parents=True)
    (folder / "part-0.parquet").write_bytes(b"x")
    assert folder.resolve().parent.parent == root.resolve()
    assert "/" not in partition_value(town) and len(f"town={partition_value(town)}".encode()) <= 255


def test_long_town_names_stay_distinct() -> None:
    """Two long town names that differ only at the end get different partition folders."""
    assert partition_value("阿" * 40 + "甲") != partition_value("阿" * 40 + "乙")


def test_hostile_towns_publish_inside_their_version(tmp_path: Path) -> None:
    """Worklists for hostile towns are published inside versions/<v>/restricted/worklists."""
    pub = Publication(run_date=date(2026, 11, 30), version="v1")
    for town in TOWNS:
        sub = f"county_code=500110/town={partition_value(town)}/part-0.parquet"
        pub.add("restricted/worklists", pl.DataFrame({"household_id": ["H1"]}), sub)
    final = publish(tmp_path, pub, "{}")
    root = (
        final / "restricted" / "worklists" / "run_date=2026-11-30" / "county_code=500110"
    ).resolve()
    files = [p.resolve() for p in tmp_path.rglob("part-0.parquet")]
    assert len(files) == len(TOWNS) and all(p.parent.parent == root for p in files)


def test_hostile_towns_and_file_names_render_escaped_in_the_report() -> None:
    """Town names and file names from department files appear escaped in the report HTML."""
    manifest = json.loads(
        (ROOT / "tests" / "data" / "report" / "manifest.json").read_text(encoding="utf-8")
    )
    manifest["inputs"][0]["file"] = "<img src=x onerror=alert(2)>.csv"
    warnings = report.read_warnings(ROOT / "tests" / "data" / "report" / "warnings.ndjson")
    warnings = warnings.with_columns(
        pl.when(pl.int_range(pl.len()) % 2 == 0)
        .then(pl.lit("<script>alert(1)</script>"))
        .otherwise(pl.col("town"))
        .alias("town")
    )
    page = report.build_html(manifest, warnings)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;.csv" in page
