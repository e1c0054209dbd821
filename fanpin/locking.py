"""One run at a time per output folder.

Two runs on the same output would interleave their staging and their swap of
`latest`; an advisory `flock` on `<output>/.fanpin.lock` serialises them. The
kernel drops the lock when a process dies, so a killed run never leaves a
stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOCK_NAME = ".fanpin.lock"


class OutputBusy(RuntimeError):
    """Another run holds the output folder."""


def _holder(handle_path: Path) -> str:
    try:
        info = json.loads(handle_path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "another fanpin run"
    run_date, pid, since = (info.get(k, "?") for k in ("run_date", "pid", "since"))
    return f"run of {run_date} (pid {pid}, since {since})"


@contextmanager
def output_lock(output: Path, run_date: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the output folder's lock; wait up to `wait_seconds`, then refuse with who holds it."""
    output.mkdir(parents=True, exist_ok=True)
    path = output / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OutputBusy(
                        f"output folder {output} is in use by the {_holder(path)}; "
                        "wait for it to finish or pass --wait SECONDS"
                    ) from None
                time.sleep(0.5)
        info = {"pid": os.getpid(), "run_date": run_date, "since": datetime.now(UTC).isoformat()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock
