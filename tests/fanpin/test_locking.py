"""Tests for fanpin.locking."""

import multiprocessing
from pathlib import Path

import pytest

from fanpin.locking import OutputBusy, output_lock


def _hold(
    output: str,
    ready: "multiprocessing.synchronize.Event",
    release: "multiprocessing.synchronize.Event",
) -> None:
    with output_lock(Path(output), "2026-11-29"):
        ready.set()
        release.wait(10)


def test_second_run_on_the_same_output_is_refused_with_the_holder(tmp_path: Path) -> None:
    """While one process holds the output, another is refused with who holds it."""
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(tmp_path), ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(OutputBusy, match="2026-11-29"), output_lock(tmp_path, "2026-11-30"):
            pass
    finally:
        release.set()
        holder.join(10)
    with output_lock(tmp_path, "2026-11-30"):
        pass  # free again once the holder is gone
