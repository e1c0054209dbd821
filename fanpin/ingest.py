"""Ingest one department folder: every CSV/xlsx in it → `staged/<dept>.parquet` + quarantine.

Glue between `fanpin.readers` (bytes → text cells) and `transforms.conform` (text → typed rows
or quarantine rows). Files are processed one after the other and in batches, and written with
pyarrow's ParquetWriter (zstd), so memory is bounded by the batch size, not the extract size.
Reading ahead, conforming and writing run in overlapping threads (see `_load_csv`).

Failure policy (contract section 1):
- no folder, or no .csv/.xlsx in it → status `no_delivery` (not an error, nothing written);
- a file that cannot be read at all (unknown encoding, damaged xlsx, no header row) → that
  file's `error` is set, the other files are still loaded, status `partial`; the flow decides
  whether to hold the department back;
- a required column missing from any file → the whole extract fails (status `failed`), its
  message names the file, the column and the aliases looked for; nothing is written;
- a line that cannot be split into the header's fields, or whose bytes are not valid in the
  file's encoding (UTF-8 or GB18030), is quarantined as `malformed_row` on its line;
- an empty file (0 bytes or a header only) contributes 0 rows and a note.
Outputs are written to `*.tmp` and renamed when the department is complete, so a failed
department never leaves a half-written Parquet behind.
"""

from __future__ import annotations

import contextlib
import os
import queue
import tempfile
import threading
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from fanpin import readers
from fanpin.readers import FileReadError
from fanpin.schema import DepartmentSchema
from transforms.conform import (
    Conformed,
    HeaderResolution,
    conform,
    missing_column_message,
    quarantine_rows,
    resolve_headers,
)

SUFFIXES = (".csv", ".xlsx")
BATCH_ROWS = 500_000
FAST_CHUNK_BYTES = 16 << 20  # ~150K rows per batch: less page-fault churn and RSS than 48 MiB
# The contract says Parquet is zstd everywhere; level 1 is the cheapest (lz4 would save a
# further ~15% of the write for files 1.7x the size).
COMPRESSION = "zstd"
COMPRESSION_LEVEL: int | None = 1
T = TypeVar("T")
UTF8_NATIVE = ("utf-8", "utf-8-sig")


class ExtractError(Exception):
    """The department's extract as a whole is unusable (e.g. a required column is missing)."""


@dataclass
class FileStats:
    """What the manifest records about one delivered file."""

    file: str
    bytes: int = 0
    sha256: str | None = None
    encoding: str | None = None
    header_row: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def add(self, loaded: int, quarantined: int) -> None:
        """Count a conformed batch: every row read is loaded or quarantined."""
        self.rows_read += loaded + quarantined
        self.rows_loaded += loaded
        self.rows_quarantined += quarantined

    def check(self) -> None:
        """The contract's invariant: rows read = rows loaded + rows quarantined."""
        if self.rows_read != self.rows_loaded + self.rows_quarantined:
            raise AssertionError(f"{self.file}: rows read != rows loaded + rows quarantined")


@dataclass
class IngestResult:
    """Outcome of one department: status, outputs, per-file stats, errors and notes."""

    department: str
    status: str  # loaded | partial | failed | no_delivery
    files: list[FileStats] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    staged_path: Path | None = None
    quarantine_path: Path | None = None

    @property
    def rows_loaded(self) -> int:
        """Staged rows over all files."""
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        """Quarantined rows over all files."""
        return sum(f.rows_quarantined for f in self.files)


LOW_CARDINALITY_TYPES = ("enum", "grade", "yesno", "county_code")
LOW_CARDINALITY_EXTRA = (
    "source_file",
    "id_problem",
    "id_sex",
    "id_area",
    "cert_type",
    "cert_grade",
)


def dictionary_columns(schema: DepartmentSchema, names: list[str]) -> list[str]:
    """Columns worth Parquet dictionary encoding: few distinct values.

    Dictionary-encoding ids, record keys and amounts costs a third of the write time for no
    gain (zstd compresses them as well), so it is kept for the categorical columns and the
    names (a county's records repeat a few tens of thousands of names; pyarrow falls back to
    plain encoding by itself when a column chunk's dictionary outgrows its page).
    """
    typed = [c.name for c in schema.columns if c.type in LOW_CARDINALITY_TYPES]
    named = [c.name for c in schema.columns if c.type == "name"] + ["name_norm", "name_key"]
    return [n for n in names if n in typed or n in named or n in LOW_CARDINALITY_EXTRA]


def statistics_columns(arrow_schema: pa.Schema) -> list[str]:
    """Columns that get Parquet min/max statistics: all but the strings.

    String statistics cost a fifth of the write time (every value is compared), and the
    staged files are read whole by the next stage, never filtered by a string range.
    """
    return [f.name for f in arrow_schema if not pa.types.is_large_string(f.type)]


class _Sink:
    """The two Parquet writers of a department, fed from a writer thread.

    Converting to Arrow and encoding Parquet run in C++ without the GIL, so a thread of
    their own overlaps them with reading and conforming the next batch (2 cores: one
    writes while the other types). The queue holds two batches at most, which bounds memory.
    Staged files use `COMPRESSION`; the small quarantine files zstd.
    """

    def __init__(self, schema: DepartmentSchema, staged: Path, quarantine: Path) -> None:
        empty = conform(_empty_raw(schema), schema)
        self.staged_schema = _arrow(empty.staged).schema
        self.quarantine_schema = _arrow(empty.quarantine).schema
        self.staged = pq.ParquetWriter(
            staged,
            self.staged_schema,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            use_dictionary=dictionary_columns(schema, self.staged_schema.names),
            write_statistics=statistics_columns(self.staged_schema),
        )
        self.quarantine = pq.ParquetWriter(quarantine, self.quarantine_schema, compression="zstd")
        self._queue: queue.Queue[tuple[pl.DataFrame, bool] | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="fanpin-parquet", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue
            frame, staged = item
            try:
                writer, schema = (
                    (self.staged, self.staged_schema)
                    if staged
                    else (self.quarantine, self.quarantine_schema)
                )
                writer.write_table(_arrow(frame, schema))
            except BaseException as exc:  # re-raised in the caller's thread by close()
                self._error = exc

    def write(self, part: Conformed) -> None:
        if part.staged.height:
            self._queue.put((part.staged, True))
        self.write_quarantine(part.quarantine)

    def write_quarantine(self, frame: pl.DataFrame) -> None:
        if frame.height:
            self._queue.put((frame, False))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self.staged.close()
        self.quarantine.close()
        if self._error is not None:
            raise self._error


def _arrow(frame: pl.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """polars → Arrow with plain (large) strings: string views cost a conversion in pyarrow."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    return table if schema is None else table.cast(schema)


def _empty_raw(schema: DepartmentSchema) -> pl.DataFrame:
    cols: dict[str, pl.DataType] = {c: pl.Utf8() for c in schema.column_names}
    return pl.DataFrame(schema={**cols, "source_file": pl.Utf8(), "source_line": pl.Int64()})


def delivered_files(folder: Path) -> tuple[list[Path], list[str]]:
    """The .csv/.xlsx files of a folder (sorted) and notes on what was skipped."""
    if not folder.is_dir():
        return [], []
    files: list[Path] = []
    notes: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "~$")) or not path.is_file():
            continue
        if path.suffix.lower() in SUFFIXES:
            files.append(path)
        else:
            notes.append(f"{path.name}: ignored (not .csv or .xlsx)")
    return files, notes


def _canonical(batch: pl.DataFrame, resolution: HeaderResolution) -> pl.DataFrame:
    """Text columns c<pos> renamed to their canonical names (first header wins)."""
    return batch.select(
        [pl.col(f"c{pos}").alias(name) for name, pos in resolution.positions.items()]
        + [c for c in ("source_file", "source_line") if c in batch.columns]
    )


def _resolve(
    file_name: str, headers: tuple[str, ...], schema: DepartmentSchema, stats: FileStats
) -> HeaderResolution:
    resolution = resolve_headers(headers, schema)
    if not resolution.ok:
        raise ExtractError(
            "; ".join(missing_column_message(file_name, c) for c in resolution.missing_required)
        )
    stats.notes += [f"duplicate header: {d}" for d in resolution.duplicates]
    if resolution.ignored:
        stats.notes.append(f"{len(resolution.ignored)} extra column(s) ignored")
    return resolution


def _conform_batch(
    frame: pl.DataFrame,
    resolution: HeaderResolution,
    schema: DepartmentSchema,
    sink: _Sink,
    stats: FileStats,
) -> None:
    part = conform(_canonical(frame, resolution), schema)
    sink.write(part)
    stats.add(part.staged.height, part.quarantine.height)


# ---------------------------------------------------------------- CSV


def _grouped(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """DuckDB hands out ~120K-row batches; conform works better on fewer, larger ones."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        pending.append(batch)
        size += batch.num_rows
        if size >= rows:
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _csv_batches(scan: readers.CsvScan, file_name: str) -> Iterator[pl.DataFrame]:
    offset = 0
    for table in _grouped(scan.batches, BATCH_ROWS):
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        lines = scan.source_line[offset : offset + frame.height]
        offset += frame.height
        yield frame.with_columns(
            pl.lit(file_name).alias("source_file"), pl.Series("source_line", lines)
        )


def _ahead(items: Iterator[T]) -> Generator[T, None, None]:
    """`items`, produced by a thread one item ahead of the consumer.

    The polars CSV parse of the next chunk (GIL released) then overlaps with conforming
    the current one. An exception in the producer is raised in the consumer, in order.
    """
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                box.put((True, item))
        except BaseException as exc:
            box.put((False, exc))
            return
        box.put((False, None))

    thread = threading.Thread(target=produce, name="fanpin-csv", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = box.get()
            if not ok:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.05)
        thread.join()


def _reject_rows(scan: readers.CsvScan, schema: DepartmentSchema, file_name: str) -> pl.DataFrame:
    """Lines DuckDB could not split into the header's fields (no values in the detail)."""
    reasons = ["footer_row" if footer else "malformed_row" for *_, footer in scan.rejects]
    details = [f"{kind.lower()}: {_safe_message(kind, msg)}" for _, kind, msg, _ in scan.rejects]
    lines = [line for line, *_ in scan.rejects]
    return quarantine_rows(schema.department, file_name, lines, reasons, details)


def _safe_message(kind: str, message: str) -> str:
    """DuckDB's message when it is a field count (never contains cell values), else a fixed text."""
    if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
        return message
    return {
        "UNQUOTED VALUE": "unterminated or stray quote",
        "INVALID ENCODING": "bytes that are not valid UTF-8",
        "LINE SIZE OVER MAXIMUM": "line too long",
    }.get(kind, "line could not be parsed")


def _ingest_csv(
    path: Path, schema: DepartmentSchema, sink: _Sink, stats: FileStats, work: Path
) -> None:
    stats.encoding = readers.sniff_encoding(path)
    layout = readers.csv_layout(path, stats.encoding, schema)
    if layout is None:
        stats.sha256 = readers.file_sha256(path)
        raise FileReadError(f"{path.name}: no header row found in the first 20 lines")
    stats.header_row = layout.header_line
    resolution = _resolve(path.name, layout.headers, schema, stats)
    # sha256 releases the GIL: hashing the original bytes runs beside everything else
    with ThreadPoolExecutor(1, thread_name_prefix="fanpin-sha256") as pool:
        digest = pool.submit(readers.file_sha256, path)
        chunks = readers.csv_chunks(path, stats.encoding, layout, work, FAST_CHUNK_BYTES)
        ahead = _ahead(chunks)
        try:
            _load_csv(ahead, layout, resolution, schema, sink, stats, path.name, work)
        finally:
            ahead.close()  # stops the reading thread first: it may be inside `chunks`
            chunks.close()  # removes a temporary UTF-8 copy (UTF-16 files)
            stats.sha256 = digest.result()


def _load_csv(
    chunks: Iterator[bytes],
    layout: readers.CsvLayout,
    resolution: HeaderResolution,
    schema: DepartmentSchema,
    sink: _Sink,
    stats: FileStats,
    file_name: str,
    work: Path,
) -> None:
    """Plain chunks through polars (`readers.FastCsv`), the rest (if any) through DuckDB.

    Four stages overlap on the cores: decoding (GB18030) and parsing run ahead in threads,
    conform runs here, and the sink writes Parquet in its own thread.
    """
    fast = readers.FastCsv(chunks, layout)
    with contextlib.closing(_ahead(fast.frames())) as frames:
        for frame in frames:
            frame = frame.with_columns(pl.lit(file_name).alias("source_file"))
            _conform_batch(frame, resolution, schema, sink, stats)
    if fast.rest is None:
        return
    rest = work / f"{Path(file_name).stem}.rest.csv"
    try:
        blanks = readers.write_chunks(fast.rest, rest)
        scan = readers.scan_csv(rest, layout, blanks, BATCH_ROWS, first_line=fast.rest_line)
        with scan as rows:
            for frame in _csv_batches(rows, file_name):
                _conform_batch(frame, resolution, schema, sink, stats)
            rejected = _reject_rows(rows, schema, file_name)
    finally:
        rest.unlink(missing_ok=True)
    sink.write_quarantine(rejected)
    stats.add(0, rejected.height)


# ---------------------------------------------------------------- xlsx


def _ingest_xlsx(path: Path, schema: DepartmentSchema, sink: _Sink, stats: FileStats) -> None:
    stats.encoding = "xlsx"
    stats.sha256 = readers.file_sha256(path)
    table = readers.read_xlsx(path, schema)
    stats.header_row = table.header_row
    stats.notes += list(table.notes)
    resolution = _resolve(path.name, table.headers, schema, stats)
    frame = table.frame.with_columns(pl.lit(path.name).alias("source_file"))
    for start in range(0, frame.height, BATCH_ROWS):
        _conform_batch(frame.slice(start, BATCH_ROWS), resolution, schema, sink, stats)


# ---------------------------------------------------------------- department


def _ingest_file(path: Path, schema: DepartmentSchema, sink: _Sink, work: Path) -> FileStats:
    stats = FileStats(file=path.name, bytes=path.stat().st_size)
    if stats.bytes == 0:
        stats.sha256 = readers.file_sha256(path)
        stats.notes.append("empty file (0 bytes): no rows")
        return stats
    try:
        if path.suffix.lower() == ".xlsx":
            _ingest_xlsx(path, schema, sink, stats)
        else:
            _ingest_csv(path, schema, sink, stats, work)
    except FileReadError as exc:
        stats.error = str(exc)
    if stats.error is None and stats.rows_read == 0:
        stats.notes.append("header only: no rows")
    stats.check()
    return stats


def ingest_department(
    folder: Path, schema: DepartmentSchema, staged_path: Path, quarantine_path: Path
) -> IngestResult:
    """Read every .csv/.xlsx in `folder` into the staged and quarantine Parquet files."""
    folder = Path(folder)
    files, notes = delivered_files(folder)
    result = IngestResult(department=schema.department, status="no_delivery", notes=notes)
    if not files:
        result.notes.append(f"{schema.department}: no delivery (no .csv/.xlsx in {folder.name})")
        return result
    staged_tmp = staged_path.with_name(staged_path.name + ".tmp")
    quarantine_tmp = quarantine_path.with_name(quarantine_path.name + ".tmp")
    staged_path.parent.mkdir(parents=True, exist_ok=True)
    quarantine_path.parent.mkdir(parents=True, exist_ok=True)
    sink = _Sink(schema, staged_tmp, quarantine_tmp)
    try:
        with tempfile.TemporaryDirectory(prefix="fanpin-ingest-") as work:
            for path in files:
                stats = _ingest_file(path, schema, sink, Path(work))
                result.files.append(stats)
                if stats.error:
                    result.errors.append(stats.error)
    except ExtractError as exc:
        sink.close()
        staged_tmp.unlink(missing_ok=True)
        quarantine_tmp.unlink(missing_ok=True)
        result.status = "failed"
        result.errors.append(str(exc))
        return result
    sink.close()
    os.replace(staged_tmp, staged_path)
    os.replace(quarantine_tmp, quarantine_path)
    result.staged_path, result.quarantine_path = staged_path, quarantine_path
    result.status = "partial" if result.errors else "loaded"
    return result
