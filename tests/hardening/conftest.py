"""Shared setup of the hardening suite: the bad files, an ingest runner that checks reconciliation,
and one in-process run of the sample flow that several modules inspect.

The files under tests/data/bad/ are made by tests/data/bad/make_bad_files.py (committed output).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from fanpin.ingest import FileStats, IngestResult, ingest_department
from fanpin.schema import DepartmentSchema, load_schemas

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
SAMPLE = ROOT / "sample_data" / "inbox"
FLOW_RUN_DATE = date(2026, 11, 27)  # a date no other test module runs the flow for


@dataclass
class Outcome:
    """What ingest did with one department folder, with the per-file invariant already checked."""

    result: IngestResult
    folder: Path
    staged: pl.DataFrame = field(default_factory=pl.DataFrame)
    quarantine: pl.DataFrame = field(default_factory=pl.DataFrame)

    def file(self, name: str) -> FileStats:
        """The stats of one delivered file, by bare name."""
        return next(f for f in self.result.files if f.file == name)

    def counts(self, name: str) -> tuple[int, int, int]:
        """(rows read, rows loaded, rows quarantined) of one file."""
        stats = self.file(name)
        return stats.rows_read, stats.rows_loaded, stats.rows_quarantined

    def reasons(self, name: str) -> list[tuple[int, str, str | None]]:
        """(line, reason, column) of the file's quarantined rows, by line."""
        if self.quarantine.is_empty():
            return []
        rows = self.quarantine.filter(pl.col("source_file") == name).sort("source_line")
        return [tuple(r) for r in rows.select("source_line", "reason", "column").rows()]  # type: ignore[misc]

    def texts(self) -> list[str]:
        """Every message ingest produced: errors, notes and quarantine details."""
        out = [*self.result.errors, *self.result.notes]
        for stats in self.result.files:
            out += [stats.error or "", *stats.notes]
        if not self.quarantine.is_empty():
            out += [d for d in self.quarantine["detail"].to_list() if d]
        return out


def check_reconciled(outcome: Outcome) -> None:
    """rows read = loaded + quarantined per file, and the Parquet files hold exactly those rows."""
    for stats in outcome.result.files:
        assert stats.rows_read == stats.rows_loaded + stats.rows_quarantined, stats.file
        if outcome.result.staged_path is not None:
            staged = outcome.staged.filter(pl.col("source_file") == stats.file).height
            quarantined = outcome.quarantine.filter(pl.col("source_file") == stats.file).height
            assert (staged, quarantined) == (stats.rows_loaded, stats.rows_quarantined), stats.file


def run_ingest(folder: Path, schema: DepartmentSchema, work: Path) -> Outcome:
    """Ingest `folder` into `work`, read back the outputs and check reconciliation."""
    result = ingest_department(
        folder,
        schema,
        work / "staged" / f"{schema.department}.parquet",
        work / "quarantine" / f"{schema.department}.parquet",
    )
    outcome = Outcome(result=result, folder=folder)
    if result.staged_path is not None and result.quarantine_path is not None:
        outcome.staged = pl.read_parquet(result.staged_path)
        outcome.quarantine = pl.read_parquet(result.quarantine_path)
    check_reconciled(outcome)
    return outcome


FileSpec = str | tuple[str, bytes | Path | Callable[[Path], None]]
Ingest = Callable[..., Outcome]


@pytest.fixture(scope="session")
def schemas() -> dict[str, DepartmentSchema]:
    return load_schemas(ROOT / "schemas")


@pytest.fixture
def ingest(tmp_path: Path, schemas: dict[str, DepartmentSchema]) -> Ingest:
    """`ingest(dept, "file.csv", ("target name", bytes_or_path_or_maker), ...)` → checked Outcome.

    A plain name is copied from tests/data/bad/<dept>/; a pair names the file in the inbox and
    gives its bytes, a file to copy, or a function that makes it in place.
    """

    def run(department: str, *files: FileSpec) -> Outcome:
        folder = tmp_path / "inbox" / department
        folder.mkdir(parents=True, exist_ok=True)
        for spec in files:
            name, content = (spec, BAD / department / spec) if isinstance(spec, str) else spec
            if callable(content):
                content(folder / name)  # makes the file itself (e.g. a sparse 2 GiB file)
                continue
            data = content.read_bytes() if isinstance(content, Path) else content
            (folder / name).write_bytes(data)
        return run_ingest(folder, schemas[department], tmp_path / "work")

    return run


# ---------------------------------------------------------------- one run of the sample flow


@dataclass
class FlowRun:
    """The sample flow run at DEBUG level: its output, manifest, log lines and flow-run id."""

    output: Path
    inbox: Path
    manifest: dict[str, object]
    log_lines: list[str]
    flow_run_name: str


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += " | " + repr(record.exc_info[1])
        self.lines.append(f"{record.name}: {text}")


LOGGERS = (
    "",
    "prefect",
    "prefect.flow_runs",
    "prefect.task_runs",
    "fanpin",
    "flows",
    "great_expectations",
    "py.warnings",
    "duckdb",
)


def _warm_up_great_expectations() -> None:
    """Validate once in this thread before the flow validates five departments in parallel.

    GX's suite-parameter parser (pyparsing) is built lazily and is not thread-safe: the first
    concurrent uses race (`push_first() missing 1 required positional argument: 'toks'`) and
    a department is held back as "validation crashed". Until fanpin.quality serialises or
    warms it up itself (see docs/hardening.md), the flow tests warm it up here.
    """
    from fanpin.quality import validate_department

    frame = pl.DataFrame({"settled_on": [date(2021, 6, 29)]})  # the suite's $PARAMETER bound
    validate_department(frame, "medical", ROOT / "expectations", FLOW_RUN_DATE)


@pytest.fixture(scope="session")
def debug_flow_run(
    prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FlowRun]:
    """Run the whole sample flow in-process with every logger at DEBUG, capturing every record.

    The inbox is the sample plus two bad files (a PNG named .csv, a medical file whose identity
    numbers sit in the date column), so the error paths log too.
    """
    import uuid

    from flows.nightly import nightly

    tmp = tmp_path_factory.mktemp("debug-run")
    inbox = tmp / "inbox"
    shutil.copytree(SAMPLE, inbox)
    shutil.copy(BAD / "medical" / "png_named_csv.csv", inbox / "health" / "scan.csv")
    (inbox / "medical" / "ids_in_date_column.csv").write_bytes(
        (BAD / "medical" / "bad_identity_numbers.csv")
        .read_bytes()
        .replace(b"2021-06-29", b"500110196203040015")
    )
    _warm_up_great_expectations()
    capture = _Capture()
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).addHandler(capture)
        logging.getLogger(name).setLevel(logging.DEBUG)
    name = f"hardening-{uuid.uuid4().hex[:8]}"
    try:
        manifest = nightly.with_options(flow_run_name=name)(
            inbox=inbox, output=tmp / "out", run_date=FLOW_RUN_DATE, policy="sample"
        )
    finally:
        for logger_name, level in saved.items():
            logging.getLogger(logger_name).removeHandler(capture)
            logging.getLogger(logger_name).setLevel(level)
    yield FlowRun(
        output=tmp / "out",
        inbox=inbox,
        manifest=manifest,
        log_lines=capture.lines,
        flow_run_name=name,
    )
