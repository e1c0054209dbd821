"""The pseudonymisation key: from the environment, a Prefect Secret block, or
(sample data only) a clearly named development key."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fanpin.settings import DEVELOPMENT_KEY, HASH_KEY_BLOCK, HASH_KEY_ENV, SAMPLE_INBOX


class MissingHashKey(RuntimeError):
    """Raised when a run on real data has no key: person keys would not be stable or secret."""


@dataclass(frozen=True)
class HashKey:
    value: bytes
    source: str  # "environment", "prefect-secret" or "development"

    @property
    def is_development(self) -> bool:
        return self.source == "development"


def _from_secret_block() -> bytes | None:
    """Look up the Prefect Secret block; absent (or no API reachable) means no key."""
    try:
        from prefect.blocks.system import Secret

        secret: Secret = Secret.load(HASH_KEY_BLOCK, _sync=True)  # type: ignore[call-arg,assignment,type-arg]
        value = secret.get()
    except Exception:  # noqa: BLE001 — a missing block is the normal case on a laptop
        return None
    return str(value).encode() if value else None


def is_sample_inbox(inbox: Path) -> bool:
    """True for the repository's generated sample: the only data a dev key may touch."""
    try:
        return inbox.resolve().is_relative_to(SAMPLE_INBOX.resolve())
    except OSError:
        return False


def resolve_hash_key(inbox: Path, *, use_secret_block: bool = True) -> HashKey:
    """Pick the key: environment first, then the Secret block, then the dev key for sample data."""
    env_value = os.environ.get(HASH_KEY_ENV, "")
    if env_value:
        if len(env_value) < 16:
            raise MissingHashKey(f"{HASH_KEY_ENV} is too short: use at least 16 characters")
        return HashKey(env_value.encode(), "environment")
    block_value = _from_secret_block() if use_secret_block else None
    if block_value:
        return HashKey(block_value, "prefect-secret")
    if is_sample_inbox(inbox):
        return HashKey(DEVELOPMENT_KEY, "development")
    raise MissingHashKey(
        f"no hashing key: set {HASH_KEY_ENV} or create the Prefect Secret block "
        f"'{HASH_KEY_BLOCK}' (only sample_data/ may run with the development key)"
    )
