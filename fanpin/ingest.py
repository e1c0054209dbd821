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
- an empty file (0 bytes or a header only) contributes 0 rows and a note;
- a line left open by an unterminated quote is `malformed_row`, and the lines after it are
  read again (DuckDB would fold them into it);
- a row repeating an earlier row of the extract exactly (any file, any batch; a copy of a
  file) is `duplicate_record`; a record id repeated with other content is kept, with a note;
- a file that vanishes, cannot be opened, or fails in an unexpected way gets that as its
  `error` (the others still load); a file whose size or mtime changed while it was read
  (still being delivered) gets an error too, so the department is `partial`;
- hidden and lock files (`.x.csv`, `~$x.xlsx`) are skipped with a note.
Outputs are written to `*.tmp` (owner-only, in owner-only folders: they hold identity numbers
and names) and renamed when the department is complete, so a failed department never leaves
a half-written Parquet behind, whatever the exception.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import tempfile
import threading
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from fanpin import readers
from fanpin.readers import FileReadError
from fanpin.schema import DepartmentSchema
from fanpin.store import OWNER_ONLY_FILE, make_dirs
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
MAX_RESCANS = 20  # scans after unterminated quotes, then the rest of the file is quarantined
SKIPPED_PREFIXES = (".", "~$")  # hidden files, editor and Office lock files


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
    Staged files use `COMPRESSION`; the small quarantine files zstd. Each staged batch also
    leaves its row hashes (8 bytes a row per hash) for the duplicate check at the end.
    """

    def __init__(self, schema: DepartmentSchema, staged: Path, quarantine: Path) -> None:
        empty = conform(_empty_raw(schema), schema)
        self.schema = schema
        # per staged batch, in write order: content and record-key hashes (`row_hashes`)
        self.hashes: list[pl.DataFrame] = []
        self.staged_schema = _arrow(empty.staged).schema
        self.quarantine_schema = _arrow(empty.quarantine).schema
        self.staged = _staged_writer(schema, staged, self.staged_schema)
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
            self.hashes.append(row_hashes(part.staged, self.schema))
            self._queue.put((part.staged, True))
        self.write_quarantine(part.quarantine)

    def write_quarantine(self, frame: pl.DataFrame) -> None:
        if frame.height:
            self._queue.put((frame, False))

    def close_staged(self) -> None:
        """Wait for the writer thread and close the staged file (the quarantine stays open
        for the duplicate rows found in it, see `_quarantine_duplicates`)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self.staged.close()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Close both files (idempotent); a write error of the thread is raised here."""
        try:
            self.close_staged()
        finally:
            self.quarantine.close()


def _staged_writer(schema: DepartmentSchema, path: Path, arrow: pa.Schema) -> pq.ParquetWriter:
    return pq.ParquetWriter(
        path,
        arrow,
        compression=COMPRESSION,
        compression_level=COMPRESSION_LEVEL,
        use_dictionary=dictionary_columns(schema, arrow.names),
        write_statistics=statistics_columns(arrow),
    )


def _arrow(frame: pl.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """polars → Arrow with plain (large) strings: string views cost a conversion in pyarrow."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    return table if schema is None else table.cast(schema)


def _empty_raw(schema: DepartmentSchema) -> pl.DataFrame:
    cols: dict[str, pl.DataType] = {c: pl.Utf8() for c in schema.column_names}
    return pl.DataFrame(schema={**cols, "source_file": pl.Utf8(), "source_line": pl.Int64()})


def delivered_files(folder: Path) -> tuple[list[Path], list[str]]:
    """The .csv/.xlsx files of a folder and notes on what was skipped.

    Files are in name order, comparing names without their suffix, so that an Explorer copy
    (`x - 副本.csv`, `x (2).csv`) comes after its original and its rows are the ones found to
    be duplicates. Hidden and lock files (`.x.csv`, `~$x.xlsx`) are skipped, each in a note:
    a department that names its export `.医保.csv` must hear why nothing was loaded.
    """
    if not folder.is_dir():
        return [], []
    files: list[Path] = []
    notes: list[str] = []
    for path in sorted(folder.iterdir(), key=lambda p: (p.stem, p.name)):
        if not path.is_file():
            continue
        if path.name.startswith(SKIPPED_PREFIXES):
            if path.suffix.lower() in SUFFIXES:
                notes.append(f"{path.name}: skipped (hidden or lock file)")
        elif path.suffix.lower() in SUFFIXES:
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


@dataclass(frozen=True)
class _Target:
    """Where the rows of one file go: its header mapping, the schema, the sink, its stats."""

    file_name: str
    resolution: HeaderResolution
    schema: DepartmentSchema
    sink: _Sink
    stats: FileStats

    def quarantine(self, frame: pl.DataFrame) -> None:
        """Rows that never became records (malformed lines): quarantined and counted."""
        self.sink.write_quarantine(frame)
        self.stats.add(0, frame.height)


def _conform_batch(frame: pl.DataFrame, target: _Target) -> None:
    part = conform(_canonical(frame, target.resolution), target.schema)
    target.sink.write(part)
    target.stats.add(part.staged.height, part.quarantine.height)


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
    target = _Target(path.name, resolution, schema, sink, stats)
    # sha256 releases the GIL: hashing the original bytes runs beside everything else
    with ThreadPoolExecutor(1, thread_name_prefix="fanpin-sha256") as pool:
        digest = pool.submit(readers.file_sha256, path)
        chunks = readers.csv_chunks(path, stats.encoding, layout, work, FAST_CHUNK_BYTES)
        ahead = _ahead(chunks)
        try:
            _load_csv(ahead, layout, target, work)
        finally:
            ahead.close()  # stops the reading thread first: it may be inside `chunks`
            chunks.close()  # removes a temporary UTF-8 copy (UTF-16 files)
            stats.sha256 = digest.result()


def _load_csv(
    chunks: Iterator[bytes], layout: readers.CsvLayout, target: _Target, work: Path
) -> None:
    """Plain chunks through polars (`readers.FastCsv`), the rest (if any) through DuckDB.

    Four stages overlap on the cores: decoding (GB18030) and parsing run ahead in threads,
    conform runs here, and the sink writes Parquet in its own thread.
    """
    fast = readers.FastCsv(chunks, layout)
    with contextlib.closing(_ahead(fast.frames())) as frames:
        for frame in frames:
            frame = frame.with_columns(pl.lit(target.file_name).alias("source_file"))
            _conform_batch(frame, target)
    if fast.rest is None:
        return
    rest = work / f"{Path(target.file_name).stem}.rest.csv"
    try:
        count = readers.write_chunks(fast.rest, rest)
        _scan_rest(rest, count, fast.rest_line, layout, target)
    finally:
        rest.unlink(missing_ok=True)


def _swallowed_from(scan: readers.CsvScan) -> int | None:
    """The first rejected line that swallowed the lines after it (`CsvScan.spanning`)."""
    return scan.spanning[0] if scan.spanning else None


def _scan_rest(
    path: Path,
    count: readers.LineCount,
    first_line: int,
    layout: readers.CsvLayout,
    target: _Target,
) -> None:
    """DuckDB over the rest of a CSV; after a line that swallowed the rest of the file (an
    unterminated quote), scan again from the line after it, so no line is lost.

    Each scan costs a pass over what is left, so after `MAX_RESCANS` the remaining lines
    are quarantined as malformed instead (a file with that many broken quotes must be
    exported again anyway).
    """
    tails: list[Path] = []
    try:
        for _ in range(MAX_RESCANS + 1):
            cut = _scan_once(path, count, first_line, layout, target)
            if cut is None:
                return
            tails.append(path.with_name(f"{path.stem}.{len(tails)}.csv"))
            count = readers.tail_lines(path, tails[-1], cut + 1 - first_line)
            path, first_line = tails[-1], cut + 1
        _quarantine_lines(count, first_line, cut, target)
    finally:
        for tail in tails:
            tail.unlink(missing_ok=True)


def _scan_once(
    path: Path,
    count: readers.LineCount,
    first_line: int,
    layout: readers.CsvLayout,
    target: _Target,
) -> int | None:
    """One DuckDB scan; the line that swallowed the lines after it (see `_swallowed_from`)."""
    with readers.scan_csv(
        path, layout, count.blank_lines, BATCH_ROWS, first_line=first_line
    ) as rows:
        cut = _swallowed_from(rows)
        for frame in _csv_batches(rows, target.file_name):
            if cut is not None:
                frame = frame.filter(pl.col("source_line") < cut)
            _conform_batch(frame, target)
        if cut is not None:
            rows.rejects = [r for r in rows.rejects if r[0] <= cut]
        rejected = _reject_rows(rows, target.schema, target.file_name)
    target.quarantine(rejected)
    return cut


def _quarantine_lines(
    count: readers.LineCount, first_line: int, after: int | None, target: _Target
) -> None:
    """Every non-blank line of the last tail, quarantined as malformed (too many rescans)."""
    lines = np.arange(first_line, first_line + count.lines, dtype=np.int64)
    lines = lines[~np.isin(lines, np.asarray(count.blank_lines, dtype=np.int64) + first_line - 1)]
    detail = f"malformed_row: not read, after unterminated quotes (the last on line {after})"
    department = target.schema.department
    frame = quarantine_rows(department, target.file_name, [], [], []).extend(
        pl.DataFrame({"source_line": lines}, schema={"source_line": pl.Int64()}).select(
            pl.lit(department).alias("department"),
            pl.lit(target.file_name).alias("source_file"),
            "source_line",
            pl.lit(None, pl.Utf8).alias("record_id"),
            pl.lit("malformed_row").alias("reason"),
            pl.lit(None, pl.Utf8).alias("column"),
            pl.lit(detail).alias("detail"),
        )
    )
    target.quarantine(frame)


# ---------------------------------------------------------------- xlsx


def _ingest_xlsx(path: Path, schema: DepartmentSchema, sink: _Sink, stats: FileStats) -> None:
    stats.encoding = "xlsx"
    stats.sha256 = readers.file_sha256(path)
    table = readers.read_xlsx(path, schema)
    stats.header_row = table.header_row
    stats.notes += list(table.notes)
    resolution = _resolve(path.name, table.headers, schema, stats)
    target = _Target(path.name, resolution, schema, sink, stats)
    frame = table.frame.with_columns(pl.lit(path.name).alias("source_file"))
    for start in range(0, frame.height, BATCH_ROWS):
        _conform_batch(frame.slice(start, BATCH_ROWS), target)


# ---------------------------------------------------------------- department


def _ingest_file(path: Path, schema: DepartmentSchema, sink: _Sink, work: Path) -> FileStats:
    """One file into the sink; whatever goes wrong with it becomes its error, never the
    department's crash (a required column missing is the one exception: `ExtractError`)."""
    stats = FileStats(file=path.name)
    try:
        before = path.stat()
        stats.bytes = before.st_size
        _read_file(path, schema, sink, stats, work)
        if _changed(before, path.stat()):
            stats.error = f"{path.name}: changed while it was being read; deliver it again"
    except FileReadError as exc:
        stats.error = str(exc)
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        stats.error = f"{path.name}: could not be read ({name})"
    except (ExtractError, MemoryError):
        raise
    except Exception as exc:  # one odd file must not stop the department's other files
        stats.error = f"{path.name}: could not be read ({type(exc).__name__})"
    if stats.error is None and stats.rows_read == 0 and stats.bytes:
        stats.notes.append("header only: no rows")
    stats.check()
    return stats


def _changed(before: os.stat_result, after: os.stat_result) -> bool:
    """The file grew, shrank or was rewritten while it was read (still being delivered)."""
    return (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns)


def _read_file(
    path: Path, schema: DepartmentSchema, sink: _Sink, stats: FileStats, work: Path
) -> None:
    if stats.bytes == 0:
        stats.sha256 = readers.file_sha256(path)
        stats.notes.append("empty file (0 bytes): no rows")
        return
    if path.suffix.lower() == ".xlsx":
        _ingest_xlsx(path, schema, sink, stats)
    else:
        _ingest_csv(path, schema, sink, stats, work)


# ---------------------------------------------------------------- duplicate records


def row_hashes(staged: pl.DataFrame, schema: DepartmentSchema) -> pl.DataFrame:
    """Per staged row: a hash of its content (every schema column, typed) and of its record
    key. Eight bytes a row each; rows with equal hashes are compared for real afterwards."""
    content = staged.select(schema.column_names).hash_rows()
    key = (
        staged.select(schema.record_key).hash_rows()
        if schema.record_key
        else pl.Series(values=[], dtype=pl.UInt64)
    )
    frame = pl.DataFrame({"content": content})
    return frame.with_columns(key=key) if schema.record_key else frame


def _candidates(parts: list[pl.DataFrame]) -> np.ndarray:
    """Ordinals (in staged order) of rows whose content or record-key hash repeats."""
    if not parts:
        return np.array([], dtype=np.int64)
    hashes = pl.concat(parts, rechunk=False)
    # counting distinct hashes is 4x cheaper than marking repeats: the clean delivery stops here
    columns = [hashes[c] for c in hashes.columns if hashes[c].n_unique() < hashes.height]
    if not columns:
        return np.array([], dtype=np.int64)
    repeated = columns[0].is_duplicated()
    for column in columns[1:]:
        repeated = repeated | column.is_duplicated()
    return repeated.arg_true().to_numpy().astype(np.int64)


def find_duplicates(
    candidates: pl.DataFrame, schema: DepartmentSchema
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Among candidate rows (staged columns plus `__ord`, in staged order): the exact repeats
    of an earlier row, and per file the rows whose record id repeats with other content.

    An exact repeat (every schema column equal, record id included) is the same record
    delivered twice: loading it would count a cost twice. The same id with other content is
    kept (both could be right; GX's uniqueness warning counts them) and noted for a person.
    """
    frame = candidates.sort("__ord")
    first = frame.select(pl.struct(schema.column_names).is_first_distinct()).to_series()
    dups = frame.filter(~first)
    conflicts: dict[str, int] = {}
    if schema.record_key:
        rest = frame.filter(first)
        repeated = rest.filter(pl.col(schema.record_key).is_duplicated())
        for name, n in repeated.group_by("source_file").len().iter_rows():
            conflicts[str(name)] = int(n)
    origin = frame.filter(first).select(
        pl.struct(schema.column_names).alias("__row"), "source_file", "source_line"
    )
    dups = dups.with_columns(pl.struct(schema.column_names).alias("__row")).join(
        origin.rename({"source_file": "__of", "source_line": "__at"}), on="__row", how="left"
    )
    return dups.sort("__ord"), conflicts


def _duplicate_quarantine(dups: pl.DataFrame, schema: DepartmentSchema) -> pl.DataFrame:
    """Quarantine rows for exact repeats; the detail points at the first copy, no values."""
    where = (
        pl.when(pl.col("__of") == pl.col("source_file"))
        .then(pl.format("line {}", pl.col("__at")))
        .otherwise(pl.format("line {} of {}", pl.col("__at"), pl.col("__of")))
    )
    key = pl.col(schema.record_key).cast(pl.Utf8) if schema.record_key else pl.lit(None, pl.Utf8)
    return dups.select(
        pl.lit(schema.department).alias("department"),
        pl.col("source_file").cast(pl.Utf8),
        pl.col("source_line").cast(pl.Int64),
        key.alias("record_id"),
        pl.lit("duplicate_record").alias("reason"),
        pl.lit(None, pl.Utf8).alias("column"),
        pl.format("exact duplicate of {} (same record, same content)", where).alias("detail"),
    )


def _without_rows(path: Path, drop: np.ndarray, sink: _Sink, schema: DepartmentSchema) -> None:
    """Rewrite the staged file without the rows at ordinals `drop` (streamed, row group by
    row group). Only a delivery with duplicates pays for this second write."""
    tmp = path.with_name(path.name + ".dedup")
    source = pq.ParquetFile(path)
    writer = _staged_writer(schema, tmp, sink.staged_schema)
    try:
        offset = 0
        for group in range(source.num_row_groups):
            table = source.read_row_group(group)
            ordinals = np.arange(offset, offset + table.num_rows)
            offset += table.num_rows
            keep = ~np.isin(ordinals, drop)
            writer.write_table(table.filter(pa.array(keep)) if not keep.all() else table)
    finally:
        writer.close()
    os.replace(tmp, path)


def _quarantine_duplicates(
    result: IngestResult, schema: DepartmentSchema, sink: _Sink, staged_tmp: Path
) -> None:
    """Find repeated records across the department's files and batches (`find_duplicates`),
    move the exact repeats from the staged file to the quarantine, note the conflicting ids.

    The hashes made every candidate known while streaming; only those rows are read back
    (one filtered scan of the staged file), so a clean delivery costs a hash per row.
    """
    ordinals = _candidates(sink.hashes)
    sink.hashes.clear()
    if not ordinals.size:
        return
    candidates = (
        pl.scan_parquet(staged_tmp)
        .with_row_index("__ord")
        .filter(pl.col("__ord").is_in(pl.Series(ordinals).cast(pl.get_index_type())))
        .collect()
    )
    dups, conflicts = find_duplicates(candidates, schema)
    by_name = {f.file: f for f in result.files}
    for name, n in conflicts.items():
        by_name[name].notes.append(
            f"record id repeated with different content on {n} row(s): all kept, a person must look"
        )
    if dups.is_empty():
        return
    _without_rows(staged_tmp, dups["__ord"].to_numpy().astype(np.int64), sink, schema)
    sink.quarantine.write_table(_arrow(_duplicate_quarantine(dups, schema), sink.quarantine_schema))
    for name, n in dups.group_by("source_file").len().iter_rows():
        stats = by_name[str(name)]
        stats.rows_loaded -= int(n)
        stats.rows_quarantined += int(n)
    _note_identical_files(result)


def _note_identical_files(result: IngestResult) -> None:
    """A file with the same bytes as an earlier one is a copy: say so beside its duplicates."""
    seen: dict[str, str] = {}
    for stats in result.files:
        if stats.sha256 is None or stats.bytes == 0:
            continue
        if stats.sha256 in seen:
            stats.notes.append(f"same content (sha256) as {seen[stats.sha256]}: a copy")
        else:
            seen[stats.sha256] = stats.file


# ---------------------------------------------------------------- department


def ingest_department(
    folder: Path, schema: DepartmentSchema, staged_path: Path, quarantine_path: Path
) -> IngestResult:
    """Read every .csv/.xlsx in `folder` into the staged and quarantine Parquet files.

    The outputs hold identity numbers and names: their folders are made owner-only and the
    files are owner-only before they get their names. Whatever happens, the writer thread
    is stopped and no `.tmp` file is left behind.
    """
    folder = Path(folder)
    files, notes = delivered_files(folder)
    result = IngestResult(department=schema.department, status="no_delivery", notes=notes)
    if not files:
        result.notes.append(f"{schema.department}: no delivery (no .csv/.xlsx in {folder.name})")
        return result
    staged_tmp = staged_path.with_name(staged_path.name + ".tmp")
    quarantine_tmp = quarantine_path.with_name(quarantine_path.name + ".tmp")
    make_dirs(staged_path.parent, private=True)
    make_dirs(quarantine_path.parent, private=True)
    sink = _Sink(schema, staged_tmp, quarantine_tmp)
    done = False
    try:
        _ingest_files(files, schema, sink, result)
        sink.close_staged()
        _quarantine_duplicates(result, schema, sink, staged_tmp)
        sink.close()
        for tmp, target in ((staged_tmp, staged_path), (quarantine_tmp, quarantine_path)):
            os.chmod(tmp, OWNER_ONLY_FILE)
            os.replace(tmp, target)
        done = True
    except ExtractError as exc:
        result.status = "failed"
        result.errors.append(str(exc))
        return result
    finally:
        if not done:
            with contextlib.suppress(BaseException):
                sink.close()
            staged_tmp.unlink(missing_ok=True)
            quarantine_tmp.unlink(missing_ok=True)
            staged_tmp.with_name(staged_tmp.name + ".dedup").unlink(missing_ok=True)
    result.staged_path, result.quarantine_path = staged_path, quarantine_path
    result.status = "partial" if result.errors else "loaded"
    return result


def _ingest_files(
    files: list[Path], schema: DepartmentSchema, sink: _Sink, result: IngestResult
) -> None:
    with tempfile.TemporaryDirectory(prefix="fanpin-ingest-") as work:
        for path in files:
            stats = _ingest_file(path, schema, sink, Path(work))
            result.files.append(stats)
            if stats.error:
                result.errors.append(stats.error)
