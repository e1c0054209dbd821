"""Blocking keys find every one-edit neighbour of an id, and only by hash joins."""

from __future__ import annotations

import duckdb

from transforms.blocking import (
    fuzzy_id_candidates_sql,
    quote_ident,
    window_key_sql,
    windows_cover_one_edit,
)

WINDOWS = ((0, 5), (4, 9), (8, 13), (12, 17), (16, 18))
TRUE_ID = "50022219800101123X"


def _neighbours() -> list[str]:
    subs = [TRUE_ID[:i] + ("0" if TRUE_ID[i] != "0" else "1") + TRUE_ID[i + 1 :] for i in range(18)]
    swaps = [TRUE_ID[:i] + TRUE_ID[i + 1] + TRUE_ID[i] + TRUE_ID[i + 2 :] for i in range(17)]
    return [s for s in subs + swaps if s != TRUE_ID]


def test_window_key_cuts_the_window_out() -> None:
    """The key is the id without characters [start, end)."""
    got = duckdb.sql(f"SELECT {window_key_sql(repr(TRUE_ID), 4, 9)}").fetchall()[0][0]
    assert got == TRUE_ID[:4] + TRUE_ID[9:]


def test_default_windows_cover_every_adjacent_pair() -> None:
    """Width 5 / stride 4 windows contain every substitution and every adjacent swap."""
    assert windows_cover_one_edit(WINDOWS)
    assert not windows_cover_one_edit(((0, 9), (9, 18)))


def test_every_one_edit_neighbour_shares_a_key_with_the_true_id() -> None:
    """All 18 substitutions and 17 transpositions of an id find it as a candidate."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE roster AS SELECT 'P1' AS person_ref, ? AS id_norm "
        "UNION ALL SELECT 'P2', '11010119991231999X'",
        [TRUE_ID],
    )
    neighbours = _neighbours()
    con.execute("CREATE TABLE clues (record_id VARCHAR, clue VARCHAR, clue_id VARCHAR)")
    con.executemany(
        "INSERT INTO clues VALUES (?, 'id', ?)", [[str(i), n] for i, n in enumerate(neighbours)]
    )
    rows = con.execute(fuzzy_id_candidates_sql("clues", "roster", WINDOWS)).fetchall()
    assert {r[0] for r in rows} == {str(i) for i in range(len(neighbours))}
    assert {r[2] for r in rows} == {"P1"}


def test_quote_ident_escapes_quotes() -> None:
    """Identifiers are double-quoted with inner quotes doubled."""
    assert quote_ident('a"b') == '"a""b"'
