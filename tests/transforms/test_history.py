"""Tests for transforms.history."""

from datetime import date

import polars as pl

from transforms.history import apply_history

TODAY = date(2026, 11, 30)


def test_first_run_marks_every_household_new() -> None:
    """Without a previous run every warning is new and first seen today."""
    out, resolved = apply_history(pl.DataFrame({"household_id": ["H1"]}), None, TODAY)
    assert out.row(0, named=True) == {"household_id": "H1", "status": "new", "first_seen": TODAY}
    assert resolved == 0


def test_continuing_keeps_first_seen_and_cleared_counts_as_resolved() -> None:
    """A household warned before continues with its first date; one that dropped off is resolved."""
    previous = pl.DataFrame(
        {"household_id": ["H1", "H2"], "first_seen": [date(2026, 10, 1), date(2026, 11, 1)]}
    )
    current = pl.DataFrame({"household_id": ["H1", "H3"]})
    out, resolved = apply_history(current, previous, TODAY)
    assert out.to_dicts() == [
        {"household_id": "H1", "status": "continuing", "first_seen": date(2026, 10, 1)},
        {"household_id": "H3", "status": "new", "first_seen": TODAY},
    ]
    assert resolved == 1
