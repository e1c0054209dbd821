"""End-to-end tests of the nightly flow on the committed sample inbox.

The flow runs in-process against one temporary Prefect API; the crash tests
run the real CLI in subprocesses against that same API, and kill them with
SIGKILL at named checkpoints.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import fastexcel
import polars as pl
import pytest

from fanpin.publish import latest_version
from fanpin.settings import REPO_ROOT

SAMPLE = REPO_ROOT / "sample_data" / "inbox"
RUN_DATE = date(2026, 11, 30)
ID_PATTERN = re.compile(rb"\d{17}[\dXx]")
CONTRACT_WARNING_COLUMNS = {
    "household_id",
    "county_code",
    "town",
    "village",
    "category",
    "risk_score",
    "risk_level",
    "reason_codes",
    "reasons",
    "suggested_actions",
    "status",
    "first_seen",
}
CONTRACT_LINK_COLUMNS = {
    "department",
    "record_id",
    "id_number",
    "household_id",
    "match_status",
    "match_method",
    "match_score",
}


def _inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE, inbox)
    return inbox


def _run(inbox: Path, output: Path, run_date: date = RUN_DATE, **kw: Any) -> dict[str, Any]:
    from flows.nightly import nightly

    return nightly(inbox=inbox, output=output, run_date=run_date, policy="sample", **kw)


@pytest.fixture(scope="module")
def published(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run of the sample inbox, shared by the read-only checks."""
    tmp = tmp_path_factory.mktemp("run")
    manifest = _run(_inbox(tmp), tmp / "out")
    assert manifest["status"] == "succeeded", manifest["message"]
    return tmp / "out"


def _table(root: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(root / "latest" / name / "**" / "*.parquet", hive_partitioning=True)


def test_published_tables_have_the_contract_columns(published: Path) -> None:
    """Warnings, links and the run manifest exist with the contract's columns."""
    warnings = _table(published, "published/warnings")
    assert CONTRACT_WARNING_COLUMNS | {"run_date"} <= set(warnings.columns)
    assert warnings.height > 0 and set(warnings["risk_level"]) <= {"red", "orange", "yellow"}
    links = _table(published, "restricted/links")
    assert CONTRACT_LINK_COLUMNS | {"run_date"} <= set(links.columns)
    runs = _table(published, "published/runs")
    assert runs["status"].to_list() == ["succeeded"]


def test_published_tier_holds_no_identity_number_or_full_name(published: Path) -> None:
    """No valid 18-character id and no full roster name appears in any file under published/."""
    from stdnum.iso7064 import mod_11_2

    roster = pl.read_parquet(
        published / "work" / RUN_DATE.isoformat() / "staged" / "roster.parquet"
    )
    names = [n.encode() for n in roster["name_norm"].drop_nulls().unique() if len(n) >= 2]
    files = [p for p in (latest_version(published) / "published").rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for match in ID_PATTERN.findall(data):
            # format and check digit only: stdnum's area table would pass over 500110 ids
            assert not mod_11_2.is_valid(match.decode().upper()), f"{path.name} holds an id"
        leaked = [n for n in names if n in data]
        assert not leaked, f"{path.name} holds {len(leaked)} roster names"


def test_every_department_record_appears_once_in_links(published: Path) -> None:
    """Links hold one row per staged department record, whatever its status."""
    links = _table(published, "restricted/links")
    work = published / "work" / RUN_DATE.isoformat() / "staged"
    staged = sum(
        pl.read_parquet(work / f"{d}.parquet").height
        for d in ("health", "medical", "housing", "disability")
    )
    assert links.height == staged
    assert links.select("department", "source_file", "source_line").is_unique().all()


def test_worklists_are_split_by_county_and_town_and_carry_names(published: Path) -> None:
    """Each town gets its own folder; its rows name the members the staff will visit."""
    root = latest_version(published) / "restricted" / "worklists" / f"run_date={RUN_DATE}"
    towns = sorted(p for p in root.glob("county_code=*/town=*") if p.is_dir())
    assert len(towns) > 1
    part = pl.read_parquet(next(towns[0].glob("*.parquet")))
    assert part["members"].list.len().min() >= 1


def test_every_town_gets_a_visit_sheet_with_its_households(published: Path) -> None:
    """Beside the worklists, one .xlsx per town named `<county>_<town>.xlsx`, holding the
    town's households in the worklist's order."""
    version = latest_version(published)
    lists = version / "restricted" / "worklists" / f"run_date={RUN_DATE}"
    sheets = version / "restricted" / "visit_sheets" / f"run_date={RUN_DATE}"
    expected = {}
    for part in sorted(lists.glob("county_code=*/town=*/part-0.parquet")):
        county, town = (unquote(p.name.split("=", 1)[1]) for p in (part.parents[1], part.parent))
        expected[f"{county}_{town}.xlsx"] = pl.read_parquet(part)["household_id"].to_list()
    assert len(expected) > 1 and sorted(p.name for p in sheets.iterdir()) == sorted(expected)
    for name, households in expected.items():
        sheet = fastexcel.read_excel(sheets / name).load_sheet(0, header_row=2, dtypes="string")
        assert sheet.to_polars()["户编号"].to_list() == households, name


def test_rerun_with_the_same_inputs_publishes_identical_tables(
    prefect_harness: None, tmp_path: Path
) -> None:
    """Publishing the same inputs twice gives identical table contents, ordering included."""
    inbox = _inbox(tmp_path)
    _run(inbox, tmp_path / "a")
    _run(inbox, tmp_path / "b")
    for table in (
        "published/warnings",
        "restricted/links",
        "restricted/review",
        "restricted/quarantine",
        "published/quality",
        "published/matching",
    ):
        a, b = _table(tmp_path / "a", table), _table(tmp_path / "b", table)
        assert a.equals(b), table
    sheets = [
        sorted((latest_version(tmp_path / out) / "restricted" / "visit_sheets").rglob("*.xlsx"))
        for out in ("a", "b")
    ]
    assert sheets[0] and [p.read_bytes() for p in sheets[0]] == [p.read_bytes() for p in sheets[1]]


def test_second_date_marks_continuing_households(prefect_harness: None, tmp_path: Path) -> None:
    """A household warned on the previous run date is `continuing` with its first date kept."""
    inbox = _inbox(tmp_path)
    _run(inbox, tmp_path / "out", run_date=date(2026, 11, 29))
    manifest = _run(inbox, tmp_path / "out", run_date=RUN_DATE)
    assert manifest["warnings"]["continuing"] > 0
    warnings = _table(tmp_path / "out", "published/warnings").filter(pl.col("run_date") == RUN_DATE)
    continuing = warnings.filter(pl.col("status") == "continuing")
    assert (continuing["first_seen"] == date(2026, 11, 29)).all()


def test_missing_department_is_reported_and_the_run_goes_on(
    prefect_harness: None, tmp_path: Path
) -> None:
    """A department with no delivery tonight is said so in the manifest; the others publish."""
    inbox = _inbox(tmp_path)
    shutil.rmtree(inbox / "housing")
    manifest = _run(inbox, tmp_path / "out")
    housing = next(d for d in manifest["departments"] if d["department"] == "housing")
    assert housing["delivered"] is False
    assert manifest["status"] == "succeeded"
    assert latest_version(tmp_path / "out") is not None


def test_rerun_of_one_department_reuses_the_others(prefect_harness: None, tmp_path: Path) -> None:
    """`departments=[...]` re-ingests those and reuses tonight's staged files for the rest."""
    inbox = _inbox(tmp_path)
    _run(inbox, tmp_path / "out")
    manifest = _run(inbox, tmp_path / "out", departments=["medical"])
    reused = {d["department"]: d["reused"] for d in manifest["departments"]}
    assert reused["medical"] is False and reused["health"] is True


def _cli_env(kill_at: str | None) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    env.pop("FANPIN_KILL_AT", None)
    if kill_at:
        env["FANPIN_KILL_AT"] = kill_at
    return env


def _cli_cmd(inbox: Path, output: Path, run_date: date) -> list[str]:
    return [sys.executable, "-m", "fanpin.cli", "run", "--inbox", str(inbox),
            "--output", str(output), "--run-date", run_date.isoformat(), "--policy", "sample"]  # fmt: skip


def _cli(
    inbox: Path, output: Path, run_date: date, kill_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = _cli_cmd(inbox, output, run_date)
    return subprocess.run(cmd, env=_cli_env(kill_at), capture_output=True, text=True, timeout=300)


# One checkpoint per stage, and every step of the publication itself.
CHECKPOINTS = [
    "ingest:medical",
    "link:written",
    "score:written",
    "publish:written",
    "publish:before-rename",
    "publish:before-swap",
]


def test_a_run_killed_in_any_stage_leaves_the_previous_run_intact(
    prefect_harness: None, tmp_path: Path
) -> None:
    """SIGKILL at each stage: the previous published run stays complete; the next run publishes."""
    inbox, output = _inbox(tmp_path), tmp_path / "out"
    assert _cli(inbox, output, date(2026, 11, 29)).returncode == 0
    before = latest_version(output)
    expected = _table(output, "published/warnings")
    for checkpoint in CHECKPOINTS:
        killed = _cli(inbox, output, RUN_DATE, kill_at=checkpoint)
        assert killed.returncode == -signal.SIGKILL, (checkpoint, killed.stderr[-800:])
        assert latest_version(output) == before, checkpoint
        assert _table(output, "published/warnings").equals(expected), checkpoint
    done = _cli(inbox, output, RUN_DATE)
    assert done.returncode == 0, done.stderr[-500:]
    dates = _table(output, "published/warnings")["run_date"].unique().sort().to_list()
    assert dates == [date(2026, 11, 29), RUN_DATE]
    assert not list((output / "versions").glob(".staging-*"))


def test_two_runs_on_one_output_never_interleave(prefect_harness: None, tmp_path: Path) -> None:
    """While one run holds the output a second is refused with a clear message."""
    inbox, output = _inbox(tmp_path), tmp_path / "out"
    env = _cli_env(None) | {"FANPIN_PAUSE_AT": "start:locked=20"}
    cmd = _cli_cmd(inbox, output, RUN_DATE)
    first = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lock = output / ".fanpin.lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.2)
    second = _cli(inbox, output, RUN_DATE)
    assert second.returncode == 1
    assert "in use by the run of 2026-11-30" in second.stderr
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-500:]
    assert latest_version(output) is not None
    assert _table(output, "published/warnings").height > 0


def test_explain_prints_reasons_with_evidence_masked_by_default(
    published: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`fanpin explain` shows a warned household's reasons and masks members unless asked."""
    from fanpin.cli import main

    warnings = _table(published, "published/warnings")
    household = warnings.sort("risk_score", descending=True)["household_id"][0]
    command = ["explain", "--output", str(published), "--run-date", RUN_DATE.isoformat()]
    code = main([*command, "--household", household])
    text = capsys.readouterr().out
    assert code == 0 and household in text
    label = warnings.filter(pl.col("household_id") == household)["reasons"][0][0]["label"]
    assert label in text
    roster = pl.read_parquet(
        published / "work" / RUN_DATE.isoformat() / "staged" / "roster.parquet"
    )
    members = roster.filter(pl.col("household_id") == household)
    assert not any(n in text for n in members["name"].to_list() if len(n) > 1)
    assert main([*command, "--household", household, "--unmask"]) == 0
    assert members["name"][0] in capsys.readouterr().out
