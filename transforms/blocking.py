"""Blocking: which (record, roster person) pairs are worth comparing at all.

Every function returns the SQL text of a join (aliases ``r`` for the record
side, ``p`` for the roster side) so that a step can be printed, run alone and
tested. All blocks are equi-joins, i.e. hash joins in DuckDB: nothing here
compares every record with every person.

- exact id:   ``p.id_norm = r.<clue>``                       (the bulk, one hash join)
- fuzzy id:   the id with one window of characters cut out    (one join per window)
- household:  the household of an anchor person               (head's id on a member's record)
- name:       the pinyin key of the name                      (records without a usable id)
"""

from __future__ import annotations

from collections.abc import Sequence

ID_LENGTH = 18


def quote_ident(name: str) -> str:
    """A DuckDB identifier, double-quoted (never paste a raw name into SQL)."""
    return '"' + name.replace('"', '""') + '"'


def window_key_sql(column: str, start: int, end: int) -> str:
    """The id with characters [start, end) (0-based) cut out, as a join key.

    A single substitution or an adjacent transposition changes characters
    only inside one window, so the damaged id and the true id share the key
    of that window.
    """
    head = f"left({column}, {int(start)})"
    tail = f"substr({column}, {int(end) + 1})"
    return f"({head} || {tail})"


def windows_cover_one_edit(windows: Sequence[tuple[int, int]]) -> bool:
    """True when every adjacent pair of positions lies inside one window.

    That is the condition for the window keys to find every neighbour at one
    substitution or one adjacent transposition.
    """
    return all(
        any(start <= i and i + 1 < end for start, end in windows) for i in range(ID_LENGTH - 1)
    )


def exact_id_join(records: str, roster: str, clue_column: str) -> str:
    """FROM clause: records joined to roster people carrying exactly that valid id."""
    return (
        f"FROM {records} r JOIN {roster} p "
        f"ON p.id_norm = r.{quote_ident(clue_column)}"
    )


def fuzzy_id_candidates_sql(clues: str, roster: str, windows: Sequence[tuple[int, int]]) -> str:
    """Distinct (record_id, clue, person_ref) sharing at least one window key.

    ``clues`` holds damaged 18-character ids (column ``clue_id``); only roster
    people with a valid id are candidates (a roster person with an invalid id
    is reachable by name and household only, contract section 1).
    """
    parts = [
        f"SELECT r.record_id, r.clue, p.person_ref FROM {clues} r JOIN {roster} p "
        f"ON {window_key_sql('p.id_norm', s, e)} = {window_key_sql('r.clue_id', s, e)} "
        f"WHERE length(r.clue_id) = {ID_LENGTH} AND p.id_norm IS NOT NULL"
        for s, e in windows
    ]
    return "SELECT DISTINCT record_id, clue, person_ref FROM (" + " UNION ALL ".join(parts) + ")"


def household_join(anchors: str, roster: str) -> str:
    """FROM clause: the other members of each anchor person's household."""
    return (
        f"FROM {anchors} r JOIN {roster} p "
        "ON p.household_id = r.household_id AND p.person_ref <> r.anchor_ref"
    )


def name_key_join(residual: str, roster: str) -> str:
    """FROM clause: roster people whose pinyin key equals the record's."""
    return f"FROM {residual} r JOIN {roster} p ON p.name_key = r.name_key"
