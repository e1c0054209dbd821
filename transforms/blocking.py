"""Blocking: which (record, roster person) pairs are worth comparing at all.

Every function returns the SQL text of a join (aliases ``r`` for the record
side, ``p`` for the roster side) so that a step can be printed, run alone and
tested. All blocks are equi-joins, i.e. hash joins in DuckDB: nothing here
compares every record with every person.

- exact id:   ``p.id_norm = r.<clue>``                       (the bulk, one hash join)
- fuzzy id:   the id with one window of characters cut out    (one join per window)
- household:  the household of an anchor person               (head's id on a member's record)
- name+birth: the pinyin key of the name and the birth date   (records without a usable id)
- name+place: the exact name, then the household's town+village inside the record's address
              (records without any id clue that carry an address)
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
    return f"FROM {records} r JOIN {roster} p ON p.id_norm = r.{quote_ident(clue_column)}"


def fuzzy_id_candidates_sql(
    clues: str, roster: str, windows: Sequence[tuple[int, int]], roster_column: str = "id_norm"
) -> str:
    """Distinct (record_id, clue, person_ref) sharing at least one window key.

    ``clues`` holds damaged 18-character ids (column ``clue_id``); the roster
    side is ``roster_column``: the valid id, or the linker's ``key_id`` (the
    valid id, else the roster's id with its check character repaired).
    """
    col = f"p.{quote_ident(roster_column)}"
    parts = [
        f"SELECT r.record_id, r.clue, p.person_ref FROM {clues} r JOIN {roster} p "
        f"ON {window_key_sql(col, s, e)} = {window_key_sql('r.clue_id', s, e)} "
        f"WHERE length(r.clue_id) = {ID_LENGTH} AND {col} IS NOT NULL"
        for s, e in windows
    ]
    return "SELECT DISTINCT record_id, clue, person_ref FROM (" + " UNION ALL ".join(parts) + ")"


def window_keys_sql(
    table: str, id_column: str, carry: Sequence[str], windows: Sequence[tuple[int, int]]
) -> str:
    """One row per (row of ``table``, window): ``w`` and ``wkey``, a 64-bit hash of the
    id with that window cut out, plus the ``carry`` columns.

    The roster's keys are computed once per roster and reused by every
    department; hashed integer keys make each department's join an integer
    hash join (a hash collision only adds a candidate that the edit distance
    then rejects).
    """
    col = quote_ident(id_column)
    values = ", ".join(f"({i}, {int(s)}, {int(e)})" for i, (s, e) in enumerate(windows))
    kept = ", ".join(quote_ident(c) for c in carry)
    return (
        f"SELECT {kept}, w.w, hash(left(x.{col}, w.s) || substr(x.{col}, w.e + 1)) AS wkey "
        f"FROM {table} x CROSS JOIN (VALUES {values}) w(w, s, e) "
        f"WHERE length(x.{col}) = {ID_LENGTH}"
    )


def window_candidates_sql(clue_keys: str, roster_keys: str) -> str:
    """Distinct (record_id, clue, person_ref) whose ids share a window key (integer join)."""
    return (
        "SELECT DISTINCT c.record_id, c.clue, k.person_ref "
        f"FROM {clue_keys} c JOIN {roster_keys} k ON k.w = c.w AND k.wkey = c.wkey"
    )


def household_join(anchors: str, roster: str) -> str:
    """FROM clause: the other members of each anchor person's household."""
    return (
        f"FROM {anchors} r JOIN {roster} p "
        "ON p.household_id = r.household_id AND p.person_ref <> r.anchor_ref"
    )


def name_key_join(residual: str, roster: str) -> str:
    """FROM clause: roster people whose pinyin key equals the record's."""
    return f"FROM {residual} r JOIN {roster} p ON p.name_key = r.name_key"


def name_birth_join(residual: str, roster: str) -> str:
    """FROM clause: roster people with the record's pinyin key AND birth date.

    The name key alone is a poor block (张伟 has thousands of namesakes in a
    county); with the birth date the blocks hold a handful of people.
    """
    return f"FROM {residual} r JOIN {roster} p ON p.name_key = r.name_key AND p.birth = r.birth"


def no_space_sql(column: str) -> str:
    """``column`` without any whitespace (incl. the full-width space U+3000)."""
    return f"regexp_replace({column}, '[\\s\\x{{3000}}]+', '', 'g')"


def name_address_join(residual: str, roster: str) -> str:
    """FROM clause: roster people with the record's exact name whose town+village the address holds.

    The hash join is on the exact name; the address test (a substring search
    of the household's town followed by its village, e.g. ``篆塘镇新街村``)
    only runs on those few namesake pairs. Town and village must be adjacent:
    a short village name alone (``河村``) is a substring of others (``双河村``).
    ``residual`` carries ``address_key``, the address without whitespace.
    """
    place = no_space_sql("p.town || p.village")
    return (
        f"FROM {residual} r JOIN {roster} p ON p.name_norm = r.name_norm "
        f"WHERE p.town IS NOT NULL AND p.village IS NOT NULL AND contains(r.address_key, {place})"
    )
