"""Stable pseudonymous person keys: HMAC-SHA256 of the roster person reference.

Computed in DuckDB so that millions of keys cost one vectorised query; the
HMAC is spelled out (inner and outer padded key) because DuckDB has sha256
but no hmac. A test checks it against Python's `hmac` module.
"""

from __future__ import annotations

import hashlib

import duckdb
import polars as pl

_BLOCK = 64  # SHA-256 block size in bytes
KEY_CHARS = 20  # 80 bits of the digest: collision-free for a nation, short enough to read


def _pads(key: bytes) -> tuple[bytes, bytes]:
    """The RFC 2104 inner and outer padded keys."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def add_person_key(
    frame: pl.DataFrame, key: bytes, source: str = "person_ref", target: str = "person_key"
) -> pl.DataFrame:
    """Add `target` = first KEY_CHARS hex chars of HMAC-SHA256(key, frame[source])."""
    inner, outer = _pads(key)
    con = duckdb.connect()
    try:
        con.register("frame_in", frame.select(pl.col(source).alias("ref")).to_arrow())
        keys = con.sql(
            "SELECT CASE WHEN ref IS NULL THEN NULL ELSE "
            "left(sha256($outer || unhex(sha256($inner || encode(ref)))), $chars) END AS k "
            "FROM frame_in",
            params={"inner": inner, "outer": outer, "chars": KEY_CHARS},
        ).pl()
    finally:
        con.close()
    return frame.with_columns(keys.get_column("k").alias(target))
