"""Tests for transforms.pseudonym."""

import hashlib
import hmac

import polars as pl

from transforms.pseudonym import KEY_CHARS, add_person_key


def test_person_key_is_hmac_sha256_of_the_reference() -> None:
    """The DuckDB HMAC equals Python's hmac for short and long keys."""
    refs = ["500110199001011234", "R:H1:张丽:7", "x"]
    for key in (b"k" * 20, b"long-key-" * 20):
        out = add_person_key(pl.DataFrame({"person_ref": refs}), key)
        expected = [hmac.new(key, r.encode(), hashlib.sha256).hexdigest()[:KEY_CHARS] for r in refs]
        assert out["person_key"].to_list() == expected


def test_person_key_depends_on_the_key_and_keeps_nulls() -> None:
    """Another key gives other pseudonyms; a missing reference stays missing."""
    frame = pl.DataFrame({"person_ref": ["a", None]})
    one = add_person_key(frame, b"key-one-0123456789")["person_key"]
    two = add_person_key(frame, b"key-two-0123456789")["person_key"]
    assert one[0] != two[0]
    assert one[1] is None
