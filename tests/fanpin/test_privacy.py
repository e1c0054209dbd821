"""Tests for fanpin.privacy."""

import logging

from fanpin.privacy import ScrubIdentities, scrub


def test_scrub_masks_18_and_15_digit_numbers_but_not_short_counts() -> None:
    """Identity-shaped numbers are masked; counts, dates and county codes stay readable."""
    text = "ids 50022219900101123X and 500222900101123, 3104 rows, county 500110, 2026-11-30"
    out = scrub(text)
    assert "50022219900101123X" not in out and "500222900101123" not in out
    assert "500222********123X" in out
    assert "3104 rows, county 500110, 2026-11-30" in out


def test_filter_rewrites_log_records() -> None:
    """A log record quoting an identity number is rewritten before any handler sees it."""
    record = logging.LogRecord(
        "x", logging.INFO, "f", 1, "bad id %s", ("500222199001011234",), None
    )
    ScrubIdentities().filter(record)
    assert "199001011" not in record.getMessage()
