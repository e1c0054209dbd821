"""Shared test setup: a throwaway Prefect home and a test hashing key.

The Prefect temporary server starts once per session (it is slow to start),
and only for tests that ask for the `prefect_harness` fixture.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

_PREFECT_HOME = tempfile.mkdtemp(prefix="fanpin-prefect-")
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
TEST_HASH_KEY = "fanpin-test-key-not-a-secret-0123456789"
os.environ["FANPIN_HASH_KEY"] = TEST_HASH_KEY


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
