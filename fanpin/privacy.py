"""A last line of defence for logs: identity numbers never leave the process in a log line.

fanpin's own messages carry counts and file names only; this filter also
catches what a library might print (a polars error quoting a value, say) by
masking anything shaped like a 15- or 18-character identity number.
"""

from __future__ import annotations

import logging
import re

ID_LIKE = re.compile(r"(?<![0-9])([0-9]{6})([0-9]{8,11})([0-9]{3}[0-9Xx]|[0-9]{4})?(?![0-9Xx])")


def scrub(text: str) -> str:
    """Mask the middle of every identity-shaped number (`500222********1234`)."""
    return ID_LIKE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + (m.group(3) or "")[-4:], text)


class ScrubIdentities(logging.Filter):
    """Rewrites the formatted message of every record with `scrub`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_scrubber() -> None:
    """Attach the filter to every handler of the root and Prefect loggers (idempotent)."""
    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, ScrubIdentities) for f in handler.filters):
                handler.addFilter(ScrubIdentities())
