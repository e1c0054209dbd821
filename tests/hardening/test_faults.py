"""Faults: a full disk during publish, a file that disappears between listing and reading, a file
still being appended while it is read. Each leaves the published state consistent (latest on
the previous version, or on a complete new one) and is reported."""

from __future__ import annotations

import errno
import hashlib
import shutil
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fanpin import ingest as ingest_module
from fanpin import stages as stages_module
from fanpin import store as store_module
from fanpin.publish import Publication, cleanup_stale, latest_version, publish

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
Ingest = Callable[..., Any]  # the `ingest` fixture of conftest.py
D1, D2 = date(2026, 11, 29), date(2026, 11, 30)


def _publication(run_date: date, version: str, source: Path) -> Publication:
    """Frames in both tiers, a worklist per town and a file added by path (hard-linked)."""
    pub = Publication(run_date=run_date, version=version)
    pub.add(
        "published/warnings",
        pl.DataFrame({"household_id": ["H1", "H2"], "first_seen": [run_date] * 2}),
    )
    pub.add("published/runs", pl.DataFrame({"status": ["succeeded"]}))
    pub.add("restricted/links", pl.DataFrame({"record_id": ["r1", "r2"]}))
    for town in ("古南街道", "文龙街道"):
        pub.add(
            "restricted/worklists",
            pl.DataFrame({"household_id": ["H1"]}),
            f"county_code=500110/town={town}/part-0.parquet",
        )
    pub.add("report", source, "report.html")
    return pub


def _snapshot(output: Path) -> dict[str, str]:
    """Path → sha256 of every file the `latest` pointer shows, plus the pointers themselves."""
    current = latest_version(output)
    assert current is not None
    files = {
        str(p.relative_to(current)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(current.rglob("*"))
        if p.is_file()
    }
    return {**files, "<latest>": current.name, "<LATEST>": (output / "LATEST").read_text().strip()}


class DiskFull:
    """Counts the files fanpin.store finishes (every Parquet and text file publish writes); the
    n-th raises ENOSPC once its temporary file is on disk, like a disk that fills up mid-run."""

    def __init__(self, fail_at: int | None) -> None:
        self.fail_at = fail_at
        self.calls = 0

    def wrap(self, real: Callable[..., None]) -> Callable[..., None]:
        def finish(tmp: Path, *args: Any, **kwargs: Any) -> None:
            self.calls += 1
            if self.calls == self.fail_at:
                raise OSError(errno.ENOSPC, "No space left on device")
            real(tmp, *args, **kwargs)

        return finish


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> Callable[[int | None], DiskFull]:
    def install(fail_at: int | None) -> DiskFull:
        fault = DiskFull(fail_at)
        monkeypatch.setattr(store_module, "_finish", fault.wrap(store_module._finish))
        return fault

    return install


def _count_writes(tmp_path: Path, disk_full: Callable[[int | None], DiskFull]) -> int:
    probe_out = tmp_path / "probe"
    report = tmp_path / "report.html"
    report.write_text("<html></html>")
    publish(probe_out, _publication(D1, "v0", report), "{}")
    fault = disk_full(None)
    publish(probe_out, _publication(D2, "v1", report), "{}")
    return fault.calls


def test_a_full_disk_at_any_write_of_publish_leaves_a_consistent_latest(
    tmp_path: Path, disk_full: Callable[[int | None], DiskFull], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC at each write of publish in turn: publish raises it; `latest` and `LATEST` both
    show the previous version byte for byte, or both a complete new one; nothing half-written
    stays behind; the next publish succeeds."""
    report = tmp_path / "report.html"
    report.write_text("<html></html>")
    writes = _count_writes(tmp_path, disk_full)
    assert writes >= 8
    monkeypatch.undo()
    for fail_at in range(1, writes + 1):
        output = tmp_path / f"out{fail_at}"
        publish(output, _publication(D1, "v1", report), "{}")
        before = _snapshot(output)
        disk_full(fail_at)
        with pytest.raises(OSError) as info:
            publish(output, _publication(D2, "v2", report), "{}")
        monkeypatch.undo()
        assert info.value.errno == errno.ENOSPC
        after = _snapshot(output)
        new = latest_version(output)
        assert after == before or (
            new is not None and new.name == "v2" and after["<LATEST>"] == "versions/v2"
        ), fail_at
        assert not list((output / "versions").glob(".staging-*")), fail_at
        assert not [p for p in output.rglob("*.tmp")], fail_at
        cleanup_stale(output)
        publish(output, _publication(D2, "v3", report), "{}")
        assert latest_version(output).name == "v3"  # type: ignore[union-attr]


# ---------------------------------------------------------------- files that move under ingest


def test_a_file_that_disappears_after_listing_is_reported_and_the_others_load(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file deleted between listing and reading: that file's error names it, the other file
    loads, the department is `partial`, no temporary output is left behind."""
    real = ingest_module.delivered_files

    def listed_then_deleted(folder: Path) -> tuple[list[Path], list[str]]:
        files, notes = real(folder)
        (folder / "b_gone.csv").unlink()
        return files, notes

    monkeypatch.setattr(ingest_module, "delivered_files", listed_then_deleted)
    src = BAD / "medical" / "footer_totals.csv"
    outcome = ingest("medical", ("a_stays.csv", src), ("b_gone.csv", src))
    assert outcome.result.status == "partial"
    assert outcome.counts("a_stays.csv") == (4, 3, 1)
    error = outcome.file("b_gone.csv").error or ""
    assert error.startswith("b_gone.csv: ") and outcome.result.errors == [error]
    work = outcome.folder.parent.parent / "work"
    assert not list(work.rglob("*.tmp"))


def test_a_file_appended_while_read_is_reported_or_described_exactly(
    ingest: Ingest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file growing during the read: either its error/notes say it changed while being read,
    or its bytes and sha256 in the manifest are those of exactly the bytes whose rows loaded."""
    good = (BAD / "medical" / "bad_enum_value.csv").read_bytes()
    extra = good.splitlines(keepends=True)[2].replace(b"YB0002", b"YB0099")
    half = extra[: len(extra) // 2]
    real_batch, real_sha = ingest_module._conform_batch, ingest_module.readers.file_sha256
    done = threading.Event()
    target: list[Path] = []

    def conform_batch(frame: pl.DataFrame, *args: Any, **kwargs: Any) -> None:
        if not done.is_set():
            with target[0].open("ab") as fh:
                fh.write(extra + half)
            done.set()
        real_batch(frame, *args, **kwargs)

    def slow_sha(path: Path) -> str:
        done.wait(5)
        return real_sha(path)

    def deliver(path: Path) -> None:
        path.write_bytes(good)
        target.append(path)

    monkeypatch.setattr(ingest_module, "_conform_batch", conform_batch)
    monkeypatch.setattr(ingest_module.readers, "file_sha256", slow_sha)
    outcome = ingest("medical", ("医保结算_202611.csv", deliver))
    stats = outcome.file("医保结算_202611.csv")
    flagged = any(
        "changed while" in t or "being delivered" in t for t in [stats.error or "", *stats.notes]
    )
    if not flagged:
        lines_read = stats.rows_read
        consumed = b"".join(good.splitlines(keepends=True)[: 1 + lines_read])
        assert (stats.bytes, stats.sha256) == (len(consumed), hashlib.sha256(consumed).hexdigest())
    assert outcome.result.status == "partial" or not flagged


# ---------------------------------------------------------------- one case through the whole flow


def test_flow_with_a_full_disk_at_publish_keeps_the_previous_run_and_says_why(
    debug_flow_run: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CLI run of the next date hits ENOSPC while publishing: exit 1 with one line naming the
    error; `latest` still shows the previous run byte for byte; no staging folder is left."""
    from fanpin import cli

    output = tmp_path / "out"
    shutil.copytree(debug_flow_run.output, output, symlinks=True)
    before = _snapshot(output)
    fault = DiskFull(None)
    real_publish = stages_module.publish_version

    def publish_on_a_filling_disk(*args: Any, **kwargs: Any) -> Path:
        fault.fail_at = fault.calls + 3  # the third file publish writes
        return real_publish(*args, **kwargs)

    monkeypatch.setattr(store_module, "_finish", fault.wrap(store_module._finish))
    monkeypatch.setattr(stages_module, "publish_version", publish_on_a_filling_disk)
    monkeypatch.delenv("FANPIN_DEBUG", raising=False)
    code = cli.main(
        [
            "run",
            "--inbox",
            str(debug_flow_run.inbox),
            "--output",
            str(output),
            "--run-date",
            "2026-11-28",
            "--policy",
            "sample",
        ]
    )
    assert code == 1 and fault.fail_at is not None and fault.calls == fault.fail_at
    ours = [line for line in capsys.readouterr().err.splitlines() if line.startswith("fanpin:")]
    assert ours == ["fanpin: OSError: [Errno 28] No space left on device"]
    assert _snapshot(output) == before
    assert not list((output / "versions").glob(".staging-*"))
