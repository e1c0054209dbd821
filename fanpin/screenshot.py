"""Screenshot a run report in real headless Chromium, and check the picture is not blank.

Why a real browser: the report is only useful if it renders (fonts, inline SVG, layout) the
way the officer will see it; an HTML string that passes unit tests can still be a white page.
Chromium runs offline with a fresh profile, so nothing from a previous run or the network
can change the picture.

    python -m fanpin.screenshot REPORT.html OUT.png
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "apt-get install -y chromium"
FONT_HINT = "apt-get install -y fonts-noto-cjk"
WINDOW = (1280, 2000)
MIN_BYTES = 20_000  # a blank 1280x2000 page compresses to a few KB
MIN_COLOURS = 16  # anti-aliased text alone yields dozens of distinct colours
TIMEOUT_S = 90


class ScreenshotError(RuntimeError):
    """The browser did not produce a usable picture of the report."""


def chromium_command(
    chromium: Path, report: Path, out: Path, profile: Path, window: tuple[int, int]
) -> list[str]:
    """The Chromium invocation: headless, offline, throwaway profile, fixed window."""
    return [
        str(chromium),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--screenshot={out}",
        f"--window-size={window[0]},{window[1]}",
        report.resolve().as_uri(),
    ]


def take_screenshot(
    report: Path,
    out: Path,
    *,
    chromium: Path = CHROMIUM,
    window: tuple[int, int] = WINDOW,
    timeout_s: float = TIMEOUT_S,
) -> dict[str, int]:
    """Render `report` to `out` (PNG); return its checked stats (bytes, width, height, colours)."""
    if not report.is_file():
        raise ScreenshotError(f"report not found: {report}")
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)  # a stale picture must not pass for a new one
    with tempfile.TemporaryDirectory(prefix="fanpin-chromium-") as profile:
        cmd = chromium_command(chromium, report, out, Path(profile), window)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0 or not out.is_file():
        tail = (done.stderr or "").strip().splitlines()[-3:]
        raise ScreenshotError(f"chromium exited {done.returncode}: {' | '.join(tail)}")
    return check_png(out.read_bytes())


# --- PNG check (stdlib only) -----------------------------------------------------------------


def _chunks(data: bytes) -> Iterable[tuple[bytes, bytes]]:
    """(type, payload) of each PNG chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ScreenshotError("not a PNG file")
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        yield kind, data[pos + 8 : pos + 8 + length]
        pos += 12 + length


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(kind: int, line: bytearray, prior: bytes, bpp: int) -> bytearray:
    """Undo one scanline's PNG filter (RFC 2083 §6) in place."""
    if kind == 2:
        return bytearray((x + p) & 0xFF for x, p in zip(line, prior, strict=True))
    for i in range(len(line)) if kind in (1, 3, 4) else ():
        left = line[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + ((left + prior[i]) >> 1)) & 0xFF
        else:
            upleft = prior[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + _paeth(left, prior[i], upleft)) & 0xFF
    return line


def decode_rows(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, unfiltered scanlines) of an 8-bit non-interlaced PNG."""
    header, idat = b"", bytearray()
    for kind, payload in _chunks(data):
        if kind == b"IHDR":
            header = payload
        elif kind == b"IDAT":
            idat += payload
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header[:13])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ScreenshotError(f"unsupported PNG layout (depth {depth}, colour {colour})")
    raw, stride = zlib.decompress(bytes(idat)), width * channels
    rows: list[bytes] = []
    prior = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(
            raw[start], bytearray(raw[start + 1 : start + 1 + stride]), prior, channels
        )
        prior = bytes(line)
        rows.append(prior)
    return width, height, channels, rows


def count_colours(rows: Sequence[bytes], bpp: int, limit: int = 4096) -> int:
    """Distinct pixel values over sampled rows (every 8th), stopping at `limit`."""
    seen: set[bytes] = set()
    for line in rows[::8]:
        seen.update(line[i : i + bpp] for i in range(0, len(line), bpp))
        if len(seen) >= limit:
            break
    return len(seen)


def check_png(data: bytes) -> dict[str, int]:
    """Stats of a screenshot; raises ScreenshotError if it is tiny or a single flat colour."""
    width, height, bpp, rows = decode_rows(data)
    colours = count_colours(rows, bpp)
    stats = {"bytes": len(data), "width": width, "height": height, "colours": colours}
    if len(data) < MIN_BYTES or colours < MIN_COLOURS:
        raise ScreenshotError(f"screenshot looks blank: {stats}")
    return stats


def has_cjk_font() -> bool:
    """Whether fontconfig knows a Chinese font; without one every 汉字 renders as a box.
    Unknown (no fc-list) counts as yes: the check only exists to print a hint."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return True
    done = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(done.stdout.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fanpin.screenshot", description=__doc__.split("\n")[0]
    )
    parser.add_argument("report", type=Path, help="report HTML file")
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--window", default=f"{WINDOW[0]},{WINDOW[1]}", help="WIDTH,HEIGHT")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"chromium not found at {CHROMIUM}; install it with: {INSTALL_HINT}", file=sys.stderr)
        return 2
    if not has_cjk_font():
        print(f"warning: no Chinese font found; install one with: {FONT_HINT}", file=sys.stderr)
    width, height = (int(v) for v in args.window.split(","))
    try:
        stats = take_screenshot(args.report, args.out, window=(width, height))
    except (ScreenshotError, subprocess.TimeoutExpired) as exc:
        print(f"screenshot failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"{args.out} {stats['width']}x{stats['height']} {stats['bytes']:,} bytes, "
        f"{stats['colours']} colours"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
