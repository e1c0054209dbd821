"""Atomic, versioned publication of a run.

Layout under the output folder:

    versions/<version>/published/<table>/run_date=D/part-0.parquet
    versions/<version>/restricted/<table>/run_date=D/...
    versions/<version>/report/run_date=D/report.html
    versions/<version>/_SUCCESS, manifest.json
    latest -> versions/<version>          (symlink, swapped with os.replace)
    LATEST                                (the same pointer as text)

A run writes a whole new version beside the old ones under a dot-name,
hard-links the earlier run dates' partitions from the current version (so
each version holds the full history and costs only the new files), marks it
complete, renames it into `versions/`, then swaps `latest` in one
`os.replace`. A run killed at any point leaves `latest` on the previous
complete version; the next run removes what the dead one left.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

import polars as pl

from fanpin.faults import checkpoint
from fanpin.store import make_dirs, write_frame, write_text

VERSIONS = "versions"
LATEST = "latest"
SUCCESS = "_SUCCESS"
KEEP_VERSIONS = 3
MAX_PARTITION_CHARS = 200  # of a quoted value; the folder name adds e.g. "county_code="
_PARTITION = re.compile(r"^run_date=(\d{4}-\d{2}-\d{2})$")
MAX_NAME_CHARS = 40  # of a readable file name part (a Chinese character is 3 bytes)
_NOT_IN_NAME = re.compile(r"[^\w·（）()\-]")  # \w: letters and digits of any script


def partition_value(value: object) -> str:
    """Quote a hive partition value: a town name from a department file must not make a path.

    A path component holds at most 255 bytes and a quoted Chinese character takes 9, so a
    junk town cell of 28+ characters would fail the whole publication (ENAMETOOLONG): a long
    value is cut at a character boundary and suffixed with a hash of the full value, so two
    long names still get two folders.
    """
    quoted = quote(str(value), safe="")
    if len(quoted) <= MAX_PARTITION_CHARS:
        return quoted
    digest = hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:16]
    head = re.sub(r"%[0-9A-F]?$", "", quoted[: MAX_PARTITION_CHARS - len(digest) - 1])
    return f"{head}~{digest}"


def name_part(value: object) -> str:
    """A value (a town name from a department file) as a readable part of a file name.

    Letters and digits of any script stay, so `丁山镇` stays `丁山镇`; any other character
    (`/`, `.`, spaces, quotes) becomes `_`. A value that had to be changed, cut or was empty
    gets a short hash of itself, so two towns never share a file.
    """
    text = str(value)
    safe = _NOT_IN_NAME.sub("_", text)[:MAX_NAME_CHARS]
    if safe == text and safe:
        return safe
    return f"{safe}~{_digest(text)}"


def file_names(keys: Sequence[tuple[object, ...]]) -> dict[tuple[object, ...], str]:
    """A readable file name (without suffix) per key: its `name_part`s joined by `_`
    (`500110_丁山镇`). Keys that would share a name both get a hash of the key, so no file
    overwrites another (with 6-digit county codes it cannot happen, but nothing relies on it).
    """
    names = {key: "_".join(name_part(v) for v in key) for key in keys}
    taken = Counter(names.values())
    return {
        key: name if taken[name] == 1 else f"{name}~{_digest(repr(key))}"
        for key, name in names.items()
    }


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


@dataclass
class Publication:
    """Everything one run makes visible, keyed by path relative to its run_date partition."""

    run_date: date
    version: str = ""
    files: dict[str, pl.DataFrame | Path] = field(default_factory=dict)
    private_tiers: tuple[str, ...] = ("restricted",)

    def __post_init__(self) -> None:
        if not self.version:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            self.version = f"{stamp}_{self.run_date.isoformat()}"  # sorts by publication time

    def add(self, table: str, content: pl.DataFrame | Path, sub: str = "part-0.parquet") -> None:
        """Register `content` under `<table>/run_date=D/<sub>` (table like `published/warnings`)."""
        self.files[f"{table}/run_date={self.run_date.isoformat()}/{sub}"] = content


def latest_version(output: Path) -> Path | None:
    """The version `latest` points at, if it is complete."""
    link = output / LATEST
    if not link.exists():
        return None
    target = link.resolve()
    return target if (target / SUCCESS).exists() else None


def _is_private(rel: str, pub: Publication) -> bool:
    return rel.split("/", 1)[0] in pub.private_tiers


def _write_new(staging: Path, pub: Publication) -> None:
    for rel, content in pub.files.items():
        target = staging / rel
        private = _is_private(rel, pub)
        if isinstance(content, pl.DataFrame):
            write_frame(content, target, private=private)
        elif private:
            # restricted tables can be large: share the work file's (owner-only) inode
            make_dirs(target.parent, private)
            try:
                os.link(content, target)
            except OSError:
                shutil.copyfile(content, target)
            os.chmod(target, 0o600)
        else:
            # a public copy of an owner-only work file (the report): copy, never share the inode
            make_dirs(target.parent, private)
            shutil.copyfile(content, target)


def _carry_history(previous: Path | None, staging: Path, run_date: date) -> int:
    """Hard-link the other run dates' partitions of the previous version; return files carried."""
    if previous is None:
        return 0
    carried = 0
    for src in sorted(previous.rglob("*")):
        if not src.is_file():
            continue
        rel = src.relative_to(previous)
        dates = [m.group(1) for part in rel.parts if (m := _PARTITION.match(part))]
        if not dates or dates[0] == run_date.isoformat():
            continue
        target = staging / rel
        private = rel.parts[0] == "restricted"
        for parent in reversed(target.relative_to(staging).parents[:-1]):
            make_dirs(staging / parent, private)
        os.link(src, target)
        carried += 1
    return carried


def _swap_latest(output: Path, version_dir: Path) -> None:
    """Point `latest` (symlink) and `LATEST` (text) at the new version.

    Both new pointers are written aside first, so that a full disk fails before either one
    moves; the two renames that follow need no space, and a reader sees both old or both new.
    """
    tmp = output / f".{LATEST}.{version_dir.name}"
    text = output / f".{LATEST}.{version_dir.name}.pointer"
    for stale in (tmp, text):
        if stale.is_symlink() or stale.exists():
            stale.unlink()
    try:
        write_text(f"{VERSIONS}/{version_dir.name}\n", text)
        os.symlink(Path(VERSIONS) / version_dir.name, tmp)
    except BaseException:
        text.unlink(missing_ok=True)
        raise
    os.replace(tmp, output / LATEST)
    os.replace(text, output / "LATEST")


def publish(output: Path, pub: Publication, manifest_json: str) -> Path:
    """Write the publication aside, then make it visible in one step; return its folder."""
    versions = output / VERSIONS
    make_dirs(versions, private=False)
    previous = latest_version(output)
    staging = versions / f".staging-{pub.version}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        _write_new(staging, pub)
        checkpoint("publish:written")
        _carry_history(previous, staging, pub.run_date)
        write_text(manifest_json, staging / "manifest.json")
        write_text(pub.version + "\n", staging / SUCCESS)
    except BaseException:  # e.g. ENOSPC: do not leave a half-written version taking the space
        shutil.rmtree(staging, ignore_errors=True)
        raise
    checkpoint("publish:before-rename")
    final = versions / pub.version
    os.rename(staging, final)
    checkpoint("publish:before-swap")
    _swap_latest(output, final)
    prune_versions(output)
    return final


def cleanup_stale(output: Path) -> list[str]:
    """Remove what a killed run left: staging folders and half-swapped pointers."""
    removed: list[str] = []
    versions = output / VERSIONS
    for leftover in sorted(versions.glob(".staging-*")) if versions.exists() else []:
        shutil.rmtree(leftover, ignore_errors=True)
        removed.append(leftover.name)
    for tmp in sorted(output.glob(f".{LATEST}.*")):
        tmp.unlink(missing_ok=True)
        removed.append(tmp.name)
    return removed


def prune_versions(output: Path, keep: int = KEEP_VERSIONS) -> None:
    """Keep the newest complete versions (a dashboard may still be reading one)."""
    current = latest_version(output)
    complete = sorted(
        (p for p in (output / VERSIONS).iterdir() if (p / SUCCESS).exists()),
        key=lambda p: p.name,
    )
    for old in complete[:-keep]:
        if current is None or old.resolve() != current:
            shutil.rmtree(old, ignore_errors=True)


def previous_run_warnings(output: Path, run_date: date) -> pl.DataFrame | None:
    """Warnings of the latest published run date before `run_date` (for new/continuing)."""
    current = latest_version(output)
    if current is None:
        return None
    root = current / "published" / "warnings"
    dates = sorted(
        m.group(1)
        for p in (root.iterdir() if root.exists() else [])
        if (m := _PARTITION.match(p.name)) and m.group(1) < run_date.isoformat()
    )
    if not dates:
        return None
    files = sorted((root / f"run_date={dates[-1]}").glob("*.parquet"))
    return pl.read_parquet(files, columns=["household_id", "first_seen"]) if files else None
