"""Reading department files: encoding detection, GB18030 transcoding, CSV scans, xlsx sheets.

IO only: everything here turns bytes on disk into text cells (polars frames / Arrow batches
of strings) plus the facts the manifest needs (size, sha256, encoding, header row, rejected
lines). Typing and checking live in `transforms.conform`.

CSVs are read in two ways. The common export (no quote characters, one record per line) is
cut into pieces at newlines and parsed by polars piece by piece (`csv_chunks`, `FastCsv`):
the line of each row is its position, so nothing has to be held back. From the first piece
that is not that simple (quotes, a short or long line, invalid bytes) the rest of the file
goes to DuckDB (`scan_csv`), whose reader rejects malformed lines with their numbers.

Why transcode GB18030 instead of reading it directly: DuckDB 2.0 reads only UTF-8/UTF-16/
Latin-1 and its `encodings` extension exists only for DuckDB 1.4 (docs/ecosystem-notes).
Python's GB18030 codec is C code; a GB18030 file is decoded piece by piece (the byte 0x0A
never occurs inside a GB18030 character, so pieces cut at newlines decode on their own), in
a thread ahead of the parser. A byte that does not decode is passed through, which fails the
polars parse of its piece, and DuckDB quarantines that line as an encoding error, as for
UTF-8 files. `transcode_to_utf8` (whole file, strict) remains for UTF-16 and for the bench.

xlsx: fastexcel reads the cells; merged ranges (which it does not report) come from the
sheet's XML in the zip, so a value merged over several rows is given to each of them.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import mmap
import re
import tempfile
import zipfile
import zlib
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import fastexcel
import numpy as np
import polars as pl
import pyarrow as pa

from fanpin.schema import DepartmentSchema
from transforms.conform import find_header_row, header_score

SAMPLE_BYTES = 1 << 20
CHUNK_BYTES = 8 << 20
HEADER_SEARCH_ROWS = 20
DELIMITERS = (",", "\t", ";", "|")
_CONTROL = {chr(c) for c in range(32) if chr(c) not in "\t\r\n"}
BINARY_CONTROL_SHARE = 20  # a control character in more than 1 of 20 characters: binary
FOOTER_SQL = r"^\s*\"?\s*(合计|总计|小计)"


class FileReadError(Exception):
    """One file cannot be read (unknown encoding, not an xlsx, no header row...).

    The message names the file (bare name) and never holds cell contents.
    """


# ---------------------------------------------------------------- bytes and encodings


@dataclass
class ByteFacts:
    """Size, sha256 and the 1-based numbers of blank lines of the bytes DuckDB will read."""

    size: int
    sha256: str
    blank_lines: list[int] = field(default_factory=list)


class _LineScan:
    """Counts newlines over a stream of ASCII-compatible chunks and records blank lines.

    DuckDB skips blank lines without reporting them, so they must be known to turn a good
    row's ordinal back into its line number. numpy finds the newlines of a chunk at memory
    speed; a line is blank when its content is empty or a lone carriage return.
    """

    def __init__(self) -> None:
        self.newlines = 0
        self.consumed = 0
        self.line_start = 0  # absolute offset where the current line starts
        self.last_byte = 10
        self.blank: list[int] = []

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        arr = np.frombuffer(chunk, dtype=np.uint8)
        nl = np.flatnonzero(arr == 10)
        if nl.size:
            absolute = nl + self.consumed
            starts = np.concatenate(([self.line_start], absolute[:-1] + 1))
            length = absolute - starts
            before = np.where(nl > 0, arr[np.maximum(nl - 1, 0)], self.last_byte)
            blank = (length == 0) | ((length == 1) & (before == 13))
            numbers = self.newlines + np.flatnonzero(blank) + 1
            self.blank.extend(int(n) for n in numbers)
            self.newlines += int(nl.size)
            self.line_start = int(absolute[-1]) + 1
        self.consumed += len(chunk)
        self.last_byte = int(arr[-1])

    def blank_lines(self) -> list[int]:
        return self.blank

    def lines(self) -> int:
        """Physical lines seen (a last line without a newline counts)."""
        return self.newlines + int(self.consumed > self.line_start)


def detect_encoding(sample: bytes, complete: bool) -> str | None:
    """The encoding of a CSV sample: `utf-8-sig`, `utf-16`, `utf-8`, `gb18030`, or None.

    Strict UTF-8 is tried first: GB18030 text is almost never valid UTF-8, while UTF-8 text
    is often *valid* GB18030 (as mojibake), so the order matters. The incremental decoder with
    `final=False` accepts a multibyte character cut at the sample boundary, and also at the
    very end of a whole file (a truncated delivery): that cut line is then quarantined as
    malformed, not the file refused. A NUL byte, or a high share of other control characters,
    means binary or BOM-less UTF-16, which both codecs would happily "decode"; one stray BEL
    in a name does not (it is removed when the cell is cleaned).
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        text = _decoded(sample, encoding, complete)
        if text is None:
            continue
        return encoding if not _looks_binary(text) else None
    return None


def _decoded(sample: bytes, encoding: str, complete: bool) -> str | None:
    """`sample` decoded strictly; a character cut at the very end is allowed (see above)."""
    try:
        return codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=complete)
    except UnicodeDecodeError as exc:
        if not complete or exc.end != len(sample) or exc.reason != "unexpected end of data":
            return None
    try:
        return codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return None


def _looks_binary(text: str) -> bool:
    """A NUL, or more than one character in `BINARY_CONTROL_SHARE` a control character."""
    if "\x00" in text:
        return True
    controls = sum(text.count(c) for c in _CONTROL)
    return controls * BINARY_CONTROL_SHARE > len(text)


def sniff_encoding(path: Path) -> str:
    """Detect the encoding of a file from its first MiB; FileReadError when it is unknown."""
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES + 1)
    complete = len(sample) <= SAMPLE_BYTES
    encoding = detect_encoding(sample[:SAMPLE_BYTES], complete)
    if encoding is None:
        raise FileReadError(
            f"{path.name}: unknown encoding (not UTF-8, UTF-8 with BOM, UTF-16 with BOM"
            " or GB18030/GBK)"
        )
    return encoding


def hash_and_scan(path: Path) -> ByteFacts:
    """sha256, size and blank lines of a UTF-8 file, in one sequential pass."""
    digest = hashlib.sha256()
    scan = _LineScan()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
            scan.feed(chunk)
            size += len(chunk)
    return ByteFacts(size=size, sha256=digest.hexdigest(), blank_lines=scan.blank_lines())


def transcode_to_utf8(src: Path, dst: Path, encoding: str) -> ByteFacts:
    """Stream `src` (in `encoding`) to `dst` as UTF-8, hashing the original bytes on the way.

    The incremental decoder carries a character split across chunks into the next chunk. An
    undecodable byte fails the file (strict): a replacement character inside an identity
    number would silently break matching, while a clear failure gets the file re-exported.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    scan = _LineScan()
    size = 0
    with src.open("rb") as fin, dst.open("wb") as fout:
        while True:
            chunk = fin.read(CHUNK_BYTES)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise FileReadError(
                    f"{src.name}: invalid {encoding} byte near offset {size + exc.start}"
                ) from None
            out = text.encode("utf-8")
            fout.write(out)
            scan.feed(out)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
    return ByteFacts(size=size, sha256=digest.hexdigest(), blank_lines=scan.blank_lines())


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes (streamed)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------- CSV layout


@dataclass(frozen=True)
class CsvLayout:
    """Where a CSV's header is and how its fields are separated."""

    delimiter: str
    header_line: int  # 1-based physical line of the header
    headers: tuple[str, ...]


def _head_lines(path: Path, encoding: str) -> list[str]:
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    text = codecs.getincrementaldecoder(encoding)("replace").decode(sample, final=False)
    return text.lstrip("\ufeff").split("\n")[: HEADER_SEARCH_ROWS + 1][:HEADER_SEARCH_ROWS]


def _split(line: str, delimiter: str) -> list[str]:
    """The fields of one line; a line the csv module cannot split (a carriage return inside
    quotes, say) has none, so it is simply not a header."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def csv_layout(path: Path, encoding: str, schema: DepartmentSchema) -> CsvLayout | None:
    """Find the header line (title lines above it are skipped) and the delimiter.

    Each candidate delimiter splits the first 20 lines; the one under which some line names
    the most schema columns wins. None when no line looks like a header.
    """
    lines = [line.rstrip("\r") for line in _head_lines(path, encoding)]
    best: tuple[int, str, int, tuple[str, ...]] | None = None
    for delim in DELIMITERS:
        rows = [_split(line, delim) for line in lines]
        index = find_header_row(rows, schema, HEADER_SEARCH_ROWS)
        if index is None:
            continue
        score = header_score(rows[index], schema)
        if best is None or score > best[0]:
            best = (score, delim, index + 1, tuple(rows[index]))
    if best is None:
        return None
    return CsvLayout(delimiter=best[1], header_line=best[2], headers=best[3])


# ---------------------------------------------------------------- CSV scan (DuckDB)


@dataclass
class CsvScan:
    """A CSV loaded by DuckDB: good rows to stream, and the lines it rejected."""

    rows: int
    rejects: list[tuple[int, str, str, bool]]  # (line, error_type, message, looks like a footer)
    batches: Iterator[pa.RecordBatch]
    source_line: np.ndarray  # 1-based line of every good row, in order
    # rejected lines whose text runs over several lines: a quote opened there swallowed the
    # lines after it (to the end of the file, or to the next quote), which DuckDB never reads
    # as lines of their own, and the good rows after it are numbered as if it were one line
    spanning: list[int] = field(default_factory=list)


def _read_csv_sql(n_columns: int, header: bool) -> str:
    """The scan statement; column names are generated (c0..cN), values are all parameters."""
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_columns))
    return (
        f"CREATE TEMP TABLE raw AS SELECT * FROM read_csv($path, header = {str(header).lower()},"
        " skip = $skip, delim = $delim, quote = '\"', escape = '\"', auto_detect = false,"
        f" columns = {{{cols}}}, store_rejects = true, strict_mode = true)"
    )


_REJECTS_SQL = (
    "SELECT line, min(error_type::VARCHAR), min(error_message),"
    " bool_or(regexp_matches(csv_line, $footer)),"
    " bool_or(contains(rtrim(csv_line, chr(13) || chr(10)), chr(10)))"
    " FROM reject_errors GROUP BY line ORDER BY line"
)


def good_row_lines(rows: int, header_line: int, skipped: Sequence[int]) -> np.ndarray:
    """Line numbers of good rows, given the lines after the header that produced no row.

    Good row k would sit on line header+1+k if nothing were skipped; each skipped line s_j
    (sorted) pushes every row from ordinal g_j = s_j - header - 1 - j on by one, so the shift
    of row k is the number of g_j <= k: one vectorized `searchsorted`.
    """
    ordinal = np.arange(rows, dtype=np.int64)
    skips = np.array(sorted({s for s in skipped if s > header_line}), dtype=np.int64)
    gaps = skips - header_line - 1 - np.arange(len(skips), dtype=np.int64)
    return header_line + 1 + ordinal + np.searchsorted(gaps, ordinal, side="right")


def record_starts(path: Path, block_bytes: int = 64 << 20) -> np.ndarray:
    """The 1-based physical line on which each CSV record of `path` starts, in order.

    DuckDB numbers the lines of its rejects, and we number the good rows, in records: a
    quoted field with line breaks makes one record of several lines, and every line after
    it would be named too early. A newline ends a record when the quotes before it are
    balanced (RFC 4180 doubles a quote inside a field, which keeps the balance); a blank line
    is a record of its own, as DuckDB counts it. Read in blocks, counted with numpy.
    """
    ends: list[np.ndarray] = []  # physical line numbers of record-ending newlines
    lines_before, odd = 0, 0
    with path.open("rb") as fh:
        while block := fh.read(block_bytes):
            arr = np.frombuffer(block, dtype=np.uint8)
            newlines = np.flatnonzero(arr == 10)
            quotes = np.flatnonzero(arr == 34)
            balanced = (np.searchsorted(quotes, newlines) + odd) % 2 == 0
            ends.append(lines_before + 1 + np.flatnonzero(balanced))
            lines_before += int(newlines.size)
            odd = (odd + int(quotes.size)) % 2
    ended = np.concatenate(ends) if ends else np.empty(0, dtype=np.int64)
    return np.concatenate(([1], ended + 1)).astype(np.int64)


def _to_physical(starts: np.ndarray, records: np.ndarray) -> np.ndarray:
    """Record numbers (1-based, DuckDB's "line") as the physical lines they start on."""
    physical: np.ndarray = starts[np.clip(records, 1, len(starts)) - 1]
    return physical


def _line(starts: np.ndarray, record: int) -> int:
    return int(_to_physical(starts, np.array([record], dtype=np.int64))[0])


def _to_records(starts: np.ndarray, lines: Sequence[int]) -> list[int]:
    """Physical lines that start a record as record numbers (a blank line inside a quoted
    field starts none and is dropped: it belongs to that field)."""
    wanted = np.asarray(lines, dtype=np.int64)
    index = np.searchsorted(starts, wanted)
    found = (index < len(starts)) & (starts[np.minimum(index, len(starts) - 1)] == wanted)
    return [int(i) + 1 for i in index[found]]


@contextmanager
def scan_csv(
    path: Path,
    layout: CsvLayout,
    blank_lines: Sequence[int],
    batch_rows: int = 500_000,
    memory_limit: str = "2GB",
    first_line: int | None = None,
) -> Iterator[CsvScan]:
    """Load a UTF-8 CSV with DuckDB (all VARCHAR, malformed lines rejected, not dropped).

    The rows go into a temporary table first: rejected lines are known only once the whole
    file has been scanned, and they are needed to number the good rows. The table spills to
    a temporary folder beyond `memory_limit`, so memory stays bounded.

    With `first_line`, `path` is the headerless rest of a file (see `FastCsv`) whose line 1
    is line `first_line` of the original; `blank_lines` are then numbered within `path`, and
    every line number handed out is the original file's. DuckDB counts records, not lines;
    `record_starts` turns its numbers back into lines, so a row after a quoted field with
    line breaks is named by the line it is really on.
    """
    header_line = layout.header_line if first_line is None else 0
    shift = 0 if first_line is None else first_line - 1
    starts = record_starts(path)
    with tempfile.TemporaryDirectory(prefix="fanpin-duckdb-") as spill:
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill})
        try:
            con.execute(
                _read_csv_sql(len(layout.headers), header=first_line is None),
                {"path": str(path), "skip": max(header_line - 1, 0), "delim": layout.delimiter},
            ).fetchall()
            found = con.execute(_REJECTS_SQL, {"footer": FOOTER_SQL}).fetchall()
            rejects = [(int(r[0]), str(r[1]), str(r[2]), bool(r[3])) for r in found]
            spanning = [_line(starts, int(r[0])) + shift for r in found if r[4]]
            rows = int(con.execute("SELECT count(*) FROM raw").fetchall()[0][0])
            skipped = [r[0] for r in rejects] + _to_records(starts, blank_lines)
            header = (_to_records(starts, [header_line]) or [header_line])[0] if header_line else 0
            records = good_row_lines(rows, header, skipped)
            lines = _to_physical(starts, records) + shift
            rejects = [
                (_line(starts, line) + shift, kind, msg, footer)
                for line, kind, msg, footer in rejects
            ]
            reader = con.sql("SELECT * FROM raw").to_arrow_reader(batch_rows)
            yield CsvScan(rows, rejects, iter(reader), lines, spanning)
        except duckdb.Error as exc:
            raise FileReadError(
                f"{path.name}: CSV could not be read ({type(exc).__name__}: {exc})"
            ) from None
        finally:
            con.close()


# ---------------------------------------------------------------- CSV scan (polars fast path)


def _data_offset(path: Path, header_line: int) -> int | None:
    """Byte offset where the line after the header starts (None: not within the first MiB)."""
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    offset = 0
    for _ in range(header_line):
        found = head.find(b"\n", offset)
        if found < 0:
            return None if len(head) == SAMPLE_BYTES else len(head)
        offset = found + 1
    return offset


def _blank_mask(arr: np.ndarray, newlines: np.ndarray, n_lines: int) -> np.ndarray:
    """Per line of a chunk: is it empty or a lone carriage return?"""
    starts = np.concatenate(([0], newlines + 1))[:n_lines]
    ends = np.concatenate((newlines, [arr.size]))[:n_lines]
    length = ends - starts
    first = arr[np.minimum(starts, max(arr.size - 1, 0))] if arr.size else starts
    blank: np.ndarray = (length == 0) | ((length == 1) & (first == 13))
    return blank


@dataclass
class FastCsv:
    """A CSV parsed by polars chunk by chunk, for as long as every chunk is plainly simple.

    DuckDB's reader is needed for what it does well, rejecting malformed lines with their
    numbers, but that needs a whole-file temporary table before the first row can be numbered.
    The common export is simpler: no quote characters at all, one record per line. For such a
    chunk the line of every row is its position, and a malformed line shows up in two cheap
    counts: the delimiters of the chunk must be exactly (columns - 1) per non-blank line
    (polars itself fails on a line with too many fields, so a short line cannot be hidden by
    a long one) and the rows polars returns must be the chunk's lines. Invalid UTF-8 makes
    polars fail. On the first chunk that is not simple, `frames` stops and leaves `rest`
    (that chunk and all after it) and `rest_line` (its first line); the caller hands the
    rest to `scan_csv`, so malformed lines are still quarantined by line.

    `chunks` are the UTF-8 bytes after the header line, cut at newlines (`csv_chunks`).
    """

    chunks: Iterator[bytes]
    layout: CsvLayout
    rest: Iterator[bytes] | None = None
    rest_line: int = 0
    blank_lines: list[int] = field(default_factory=list)

    def frames(self) -> Iterator[pl.DataFrame]:
        """Text frames (c0..cN, source_line) of the simple part of the file, in order."""
        line = self.layout.header_line + 1
        for chunk in self.chunks:
            parsed = self._parse(chunk, line)
            if parsed is None:
                self.rest, self.rest_line = itertools.chain([chunk], self.chunks), line
                return
            frame, n_lines = parsed
            if frame.height:
                yield frame
            line += n_lines

    def _parse(self, chunk: bytes, first_line: int) -> tuple[pl.DataFrame, int] | None:
        """The chunk's rows with their lines, or None when the chunk is not plainly simple."""
        if b'"' in chunk or (b"\r" in chunk and chunk.count(b"\r") != chunk.count(b"\r\n")):
            return None
        arr = np.frombuffer(chunk, dtype=np.uint8)
        newlines = np.flatnonzero(arr == 10)
        n_lines = int(newlines.size) + int(chunk[-1:] != b"\n")
        blank = _blank_mask(arr, newlines, n_lines)
        filled = n_lines - int(np.count_nonzero(blank))
        if chunk.count(self.layout.delimiter.encode()) != (len(self.layout.headers) - 1) * filled:
            return None
        numbers = np.arange(first_line, first_line + n_lines, dtype=np.int64)
        if not filled:
            self.blank_lines += numbers.tolist()
            return self._empty(), n_lines
        # polars takes the field count from the first line: start at the first non-blank one
        lead = int(np.argmin(blank))
        body = chunk[int(newlines[lead - 1]) + 1 :] if lead else chunk
        frame = self._read(body)
        if frame is None or frame.height != n_lines - lead:
            return None
        frame = frame.with_columns(pl.Series("source_line", numbers[lead:]))
        if filled < n_lines:
            self.blank_lines += numbers[blank].tolist()
            frame = frame.filter(pl.Series(~blank[lead:]))
        return frame, n_lines

    def _names(self) -> list[str]:
        return [f"c{i}" for i in range(len(self.layout.headers))]

    def _empty(self) -> pl.DataFrame:
        return pl.DataFrame(
            schema={**dict.fromkeys(self._names(), pl.String()), "source_line": pl.Int64()}
        )

    def _read(self, body: bytes) -> pl.DataFrame | None:
        try:
            return pl.read_csv(
                body,
                has_header=False,
                schema=dict.fromkeys(self._names(), pl.String()),
                separator=self.layout.delimiter,
                quote_char=None,
                raise_if_empty=False,
            )
        except (pl.exceptions.PolarsError, UnicodeDecodeError):
            return None


def _line_chunks(path: Path, offset: int, size: int) -> Iterator[bytes]:
    """The file from `offset` on, in pieces of about `size` bytes that end at a newline.

    Sliced from a memory map: one copy per piece, straight from the page cache. Also right
    for GB18030, where the byte 0x0A never occurs inside a multibyte character.
    """
    total = path.stat().st_size
    if offset >= total:
        return
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        start = offset
        while start < total:
            end = min(start + size, total)
            if end < total:
                cut = mm.rfind(b"\n", start, end)
                if cut < 0:  # a line longer than `size`
                    cut = mm.find(b"\n", end)
                end = total if cut < 0 else cut + 1
            yield mm[start:end]
            start = end


def _to_utf8(chunk: bytes, encoding: str) -> bytes:
    """A piece of GB18030 text as UTF-8; undecodable bytes are passed through as they are.

    They are not valid UTF-8 either (0x80, 0xFF, a lead byte without its trail), so the
    polars parse of the piece fails and DuckDB quarantines just that line as an encoding
    error, the way an invalid line of a UTF-8 file is handled.
    """
    return chunk.decode(encoding, "surrogateescape").encode("utf-8", "surrogateescape")


def csv_chunks(
    path: Path, encoding: str, layout: CsvLayout, work: Path, size: int = 16 << 20
) -> Generator[bytes, None, None]:
    """The UTF-8 bytes of a CSV after its header line, in pieces that end at a newline.

    UTF-8 files are sliced as they are; GB18030/GBK pieces are transcoded one by one (cut
    at the newline byte, which never occurs inside a character), so the decoding overlaps
    with parsing when the caller reads ahead in a thread. UTF-16 (newline bytes occur inside
    characters) is first transcoded to a temporary UTF-8 copy in `work`.
    """
    if encoding in ("utf-8", "utf-8-sig", "gb18030"):
        offset = _data_offset(path, layout.header_line)
        if offset is None:
            raise FileReadError(f"{path.name}: the header line is longer than 1 MiB")
        for chunk in _line_chunks(path, offset, size):
            yield chunk if encoding != "gb18030" else _to_utf8(chunk, encoding)
        return
    copy = work / f"{path.stem}.utf8.csv"
    try:
        transcode_to_utf8(path, copy, encoding)
        offset = _data_offset(copy, layout.header_line)
        if offset is None:
            raise FileReadError(f"{path.name}: the header line is longer than 1 MiB")
        yield from _line_chunks(copy, offset, size)
    finally:
        copy.unlink(missing_ok=True)


@dataclass(frozen=True)
class LineCount:
    """The physical lines of a file written for DuckDB: how many, and which are blank."""

    lines: int
    blank_lines: list[int]


def write_chunks(chunks: Iterable[bytes], dst: Path) -> LineCount:
    """Write byte pieces to `dst`; its line count and blank lines (1-based)."""
    scan = _LineScan()
    with dst.open("wb") as fout:
        for chunk in chunks:
            fout.write(chunk)
            scan.feed(chunk)
    return LineCount(scan.lines(), scan.blank_lines())


def tail_lines(src: Path, dst: Path, skip: int) -> LineCount:
    """Copy `src` without its first `skip` lines to `dst` (to scan again after a line that
    swallowed the rest of the file, see `fanpin.ingest`)."""
    return write_chunks(_after_lines(src, skip), dst)


def _after_lines(src: Path, skip: int) -> Iterator[bytes]:
    with src.open("rb") as fh:
        while skip and (chunk := fh.read(CHUNK_BYTES)):
            arr = np.frombuffer(chunk, dtype=np.uint8)
            newlines = np.flatnonzero(arr == 10)
            if newlines.size < skip:
                skip -= int(newlines.size)
                continue
            yield chunk[int(newlines[skip - 1]) + 1 :]
            skip = 0
        while chunk := fh.read(CHUNK_BYTES):
            yield chunk


# ---------------------------------------------------------------- xlsx


@dataclass(frozen=True)
class XlsxTable:
    """The data rows of the sheet read (see `read_xlsx`), as text, with their sheet rows."""

    sheet: str
    header_row: int  # 1-based sheet row of the header
    headers: tuple[str, ...]
    frame: pl.DataFrame  # columns c0..cN (text) and source_line (1-based sheet row)
    notes: tuple[str, ...] = ()


def _open_xlsx(path: Path) -> fastexcel.ExcelReader:
    try:
        return fastexcel.read_excel(path)
    except Exception as exc:  # calamine raises several types for zip/xml damage
        raise FileReadError(
            f"{path.name}: not a readable xlsx workbook ({type(exc).__name__})"
        ) from None


@dataclass(frozen=True)
class _Sheet:
    """One sheet that has a header row of the schema (a candidate for the data sheet)."""

    index: int
    name: str
    frame: pl.DataFrame
    header: int  # 0-based row of the header in `frame`
    hidden: bool  # hidden or "very hidden" in Excel


def _sheet_frame(reader: fastexcel.ExcelReader, index: int, name: str) -> tuple[pl.DataFrame, bool]:
    """The whole sheet as text, row i = sheet row i+1 (leading empty rows kept), and whether
    the sheet is hidden.

    Every cell is read as a string: fastexcel renders a date cell as `2021-06-29 00:00:00`,
    which `parse_date` reads like any other date text, and a number as `44376` or `1234.5`;
    a plain number in a date column is then read as an Excel serial.
    """
    try:
        sheet = reader.load_sheet(index, header_row=None, skip_rows=0, dtypes="string")
        return sheet.to_polars(), sheet.visible != "visible"
    except Exception as exc:
        raise FileReadError(f"sheet '{name}' could not be read ({type(exc).__name__})") from None


def _not_read(sheet: _Sheet, chosen: _Sheet, department: str) -> str:
    """The note for a sheet with a header that is not read because `chosen` is."""
    if sheet.hidden:
        return (
            f"sheet '{sheet.name}' is hidden and has a header row of {department} too; not read"
            f" (sheet '{chosen.name}' is): unhide it and deliver it as a file of its own if it"
            " holds records"
        )
    return (
        f"sheet '{sheet.name}' also has a header row of {department}; not read"
        f" (only sheet '{chosen.name}' is): deliver it as a file of its own"
    )


def _header_sheets(
    reader: fastexcel.ExcelReader, schema: DepartmentSchema, notes: list[str]
) -> Iterator[_Sheet]:
    """The sheets with a header row of the schema, in workbook order; the others in `notes`."""
    for index, name in enumerate(reader.sheet_names):
        try:
            frame, hidden = _sheet_frame(reader, index, name)
        except FileReadError as exc:
            notes.append(str(exc))
            continue
        head = [tuple(r) for r in frame.head(HEADER_SEARCH_ROWS).rows()]
        header = find_header_row(head, schema, HEADER_SEARCH_ROWS)
        if header is None:
            notes.append(f"sheet '{name}' has no header row; skipped")
        else:
            yield _Sheet(index, name, frame, header, hidden)


def read_xlsx(path: Path, schema: DepartmentSchema) -> XlsxTable:
    """Read the first visible sheet whose first 20 rows hold a header of this schema.

    A hidden sheet is read only when no visible sheet has such a header, with a note: an
    officer hides the old copy or a lookup list, and the visible sheet is the one meant.
    Merged cells are filled (a date merged over four rows belongs to each of them). A later
    sheet with a header too is not read but named in a note: its rows would share the file
    name and sheet-row numbers with the first sheet's, so it must come as its own file.
    """
    notes: list[str] = []
    chosen: _Sheet | None = None
    passed_over: list[_Sheet] = []  # other sheets with a header, kept without their rows
    for sheet in _header_sheets(_open_xlsx(path), schema, notes):
        if chosen is None or (chosen.hidden and not sheet.hidden):
            if chosen is not None:
                passed_over.append(replace(chosen, frame=pl.DataFrame()))
            chosen = sheet
        else:
            passed_over.append(replace(sheet, frame=pl.DataFrame()))
    if chosen is None:
        raise FileReadError(f"{path.name}: no sheet with a header row of {schema.department}")
    passed_over.sort(key=lambda s: s.index)
    notes += [_not_read(s, chosen, schema.department) for s in passed_over]
    if chosen.hidden:
        notes.append(
            f"sheet '{chosen.name}' is hidden; read because no visible sheet has a header row"
            f" of {schema.department}"
        )
    merged = merged_ranges(path, chosen.index)
    first_column = sheet_first_column(path, chosen.index) if merged else 0
    frame = fill_merged(chosen.frame, merged, first_column)
    return _xlsx_table(frame, chosen.name, chosen.header, tuple(frame.row(chosen.header)), notes)


# ---------------------------------------------------------------- xlsx merged cells

_MERGE = re.compile(rb'<mergeCell\b[^>]*\bref="([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?"')
_CELL_WITH_CONTENT = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})\d+"[^>]*?(?<!/)>')
_SHEET_ENTRY = re.compile(r'<sheet\b[^>]*?\br:id="([^"]+)"')
_REL = re.compile(r'<Relationship\b[^>]*?\bId="([^"]+)"[^>]*?\bTarget="([^"]+)"')
_REL_REVERSED = re.compile(r'<Relationship\b[^>]*?\bTarget="([^"]+)"[^>]*?\bId="([^"]+)"')
MAX_MERGED_CELLS = 1_000_000


def _column_index(letters: bytes) -> int:
    """`A` → 0, `Z` → 25, `AA` → 26."""
    index = 0
    for char in letters:
        index = index * 26 + char - 64
    return index - 1


def _sheet_member(archive: zipfile.ZipFile, index: int) -> str | None:
    """The zip member of the index-th sheet (workbook order), via the workbook's relations."""
    try:
        workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except KeyError:
        return None
    ids = _SHEET_ENTRY.findall(workbook)
    targets = dict(_REL.findall(rels)) | {i: t for t, i in _REL_REVERSED.findall(rels)}
    if index >= len(ids) or ids[index] not in targets:
        return None
    target = targets[ids[index]]
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _sheet_pieces(path: Path, index: int) -> Iterator[bytes]:
    """The sheet's XML in decompressed pieces (nothing when it cannot be found)."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = _sheet_member(archive, index)
            if member is None or member not in archive.namelist():
                return
            with archive.open(member) as fh:
                tail = b""
                while piece := fh.read(CHUNK_BYTES):
                    yield tail + piece
                    tail = piece[-256:]  # a tag cut between two pieces is seen whole once
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        return


def merged_ranges(path: Path, index: int) -> list[tuple[int, int, int, int]]:
    """The merged ranges of a sheet as 0-based (first row, first col, last row, last col).

    fastexcel does not report merges; they are `<mergeCell ref="D3:D6"/>` elements after the
    sheet data, found with a byte search over the decompressed XML (no XML tree is built).
    """
    found: set[tuple[int, int, int, int]] = set()
    for piece in _sheet_pieces(path, index):
        if b"<mergeCell" not in piece:
            continue
        for c1, r1, c2, r2 in _MERGE.findall(piece):
            first = (int(r1) - 1, _column_index(c1))
            last = (int(r2) - 1, _column_index(c2)) if c2 else first
            found.add((first[0], first[1], last[0], last[1]))
    return sorted(found)


def sheet_first_column(path: Path, index: int) -> int:
    """0-based sheet column of the frame's first column: fastexcel starts the frame at the
    leftmost column holding a cell (rows start at sheet row 1)."""
    first: int | None = None
    for piece in _sheet_pieces(path, index):
        for letters in set(_CELL_WITH_CONTENT.findall(piece)):
            column = _column_index(letters)
            first = column if first is None else min(first, column)
        if first == 0:
            break
    return first or 0


def fill_merged(
    frame: pl.DataFrame, merged: Sequence[tuple[int, int, int, int]], first_column: int = 0
) -> pl.DataFrame:
    """Every cell of a merged range gets the value of the range's top-left cell.

    Excel keeps the value in the top-left cell only; a date merged down four rows is a date
    of each of those rows. The loop runs over ranges (sheet layout), not over records.
    """
    if not merged or frame.is_empty():
        return frame
    cells: dict[int, tuple[list[int], list[str | None]]] = {}
    budget = MAX_MERGED_CELLS
    for r1, c1, r2, c2 in merged:
        top, left = r1, c1 - first_column
        if not (0 <= top < frame.height and 0 <= left < frame.width):
            continue
        value = frame[top, left]
        rows = list(range(top, min(r2, frame.height - 1) + 1))
        for column in range(max(left, 0), min(c2 - first_column, frame.width - 1) + 1):
            budget -= len(rows)
            if budget < 0:
                break
            targets, values = cells.setdefault(column, ([], []))
            targets.extend(rows)
            values.extend([value] * len(rows))
    columns = frame.columns
    return frame.with_columns(
        frame[columns[c]].scatter(rows, pl.Series(values, dtype=frame[columns[c]].dtype))
        for c, (rows, values) in cells.items()
    )


def _xlsx_table(
    frame: pl.DataFrame, sheet: str, header: int, headers: Sequence[str | None], notes: list[str]
) -> XlsxTable:
    names = [f"c{i}" for i in range(frame.width)]
    data = (
        frame.rename(dict(zip(frame.columns, names, strict=True)))
        .with_row_index("source_line", offset=1)
        .slice(header + 1)
    )
    cells = [pl.col(c).str.strip_chars().str.len_bytes().fill_null(0) > 0 for c in names]
    data = data.filter(pl.any_horizontal(cells)) if cells else data.clear()
    return XlsxTable(
        sheet=sheet,
        header_row=header + 1,
        headers=tuple("" if h is None else str(h) for h in headers),
        frame=data.with_columns(pl.col("source_line").cast(pl.Int64)),
        notes=tuple(notes),
    )
