"""Where fanpin finds its configuration, and which secrets it may use.

One variable chooses the environment (`FANPIN_ENV`: `development` or
`production`); secrets come only from the environment or a Prefect Secret
block, never from the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_INBOX = REPO_ROOT / "sample_data" / "inbox"
HASH_KEY_ENV = "FANPIN_HASH_KEY"
HASH_KEY_BLOCK = "fanpin-hash-key"
# Deliberately named so that nobody mistakes it for a real key: it only ever
# pseudonymises the generated sample data.
DEVELOPMENT_KEY = b"fanpin-development-key-for-sample-data-only"


@dataclass(frozen=True)
class ConfigDirs:
    """The data files that configure a run (schemas, suites, profiles, matching)."""

    schemas: Path
    expectations: Path
    policies: Path
    matching: Path

    @classmethod
    def from_env(cls) -> ConfigDirs:
        """Defaults to the repository's folders; `FANPIN_CONFIG_ROOT` points elsewhere."""
        root = Path(os.environ.get("FANPIN_CONFIG_ROOT", REPO_ROOT))
        return cls(
            schemas=root / "schemas",
            expectations=root / "expectations",
            policies=root / "policies",
            matching=root / "config" / "matching.yaml",
        )


def environment() -> str:
    """`production` unless FANPIN_ENV says `development`: the safe side is the default."""
    return os.environ.get("FANPIN_ENV", "production").strip().lower()
