"""Link department records to roster people: blocking -> compare -> decide, in DuckDB.

The linker is a list of named SQL steps (``link_steps``); each step creates
one temp table (or view) ``lk_<department>_<step>`` and can be printed, run
and checked alone. The roster is prepared once per connection (``lk_roster_*``:
join key, birth, area, duplicate counts, hashed fuzzy-window keys) and reused
by every department.

0. big pass   the one join over all records: a LEFT hash join of the valid id on
              the roster's ``key_id`` (the valid id, or the roster's damaged id
              with its check character repaired), writing just the links columns.
              A unique valid id with the exact name is final (``id_exact`` /
              ``id_upgraded15``); everything else with a clue is flagged ``open``,
              and the open rows are read again with the few columns the tiers
              read (a semi join on file and line). Only open rows go on.
1. exact      open records against every person keyed by the id or, for
              disability, the id inside certificate_no (``cert_id``); the name
              must agree (exact / homophone / similar); a repaired roster key is
              ``id_fuzzy``. An owner accepted on a homophone yields to a household
              member with the exact name (``head_id_member``).
2. household  id of someone else: the id's household is searched for the member
              with the record's name (exact beats homophone) ``head_id_member``;
              none or several -> review.
3. fuzzy      damaged 18-char id at one substitution / adjacent transposition
              from a roster key (hashed window blocking + Damerau-Levenshtein),
              name agrees, and the birth date agrees unless the edit is inside it,
              in which case the name must be exact or a homophone (``id_fuzzy``);
              a fuzzy hit with another name falls back to its household
              (``name_household``).
4. name_birth damaged id, blocked on pinyin key + birth date: area agrees and the
              id is no more than ``max_id_edits`` away. A valid id that is nobody's
              key is not searched by name (a namesake with an id of their own).

5. name_address  no id clue at all, but an address (住建): the exact name and the
              roster household's town+village inside the address; the one roster
              namesake in that village (with the configured relation, 户主) links
              (``name_address``), several or another relation -> review. Reads the
              record and the roster only, like every other tier.

Ambiguity never picks: it goes to review with all candidates. Records with no
id clue and no address stay unmatched (``name_only.mode``), and are counted. ``links``
is a view: base rows as written, open rows patched from the small ``decided``.

Connection expectations (the caller owns the connection): set
``memory_limit`` and ``threads`` (``configure_connection`` does it) and, for
large runs, ``preserve_insertion_order = false`` and a ``temp_directory`` on
local disk so that the hash joins can spill.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

import duckdb
import polars as pl
import pyarrow as pa

from transforms import blocking, compare

METHODS: Final = (
    "id_exact",
    "id_upgraded15",
    "cert_id",
    "head_id_member",
    "id_fuzzy",
    "name_household",
    "name_birth",
    "name_address",
)
NAME_ONLY_MODES: Final = ("unmatched", "review")
# GB 11643 weights of the first 17 characters (the check character is the sum mod 11).
CHECK_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ROSTER_VIEW: Final = "lk_roster_in"
# Record columns the tiers after the big pass read (carried for open rows only).
OPEN_COLUMNS: Final = (
    "name_norm",
    "name_key",
    "id_clean",
    "id_norm",
    "id_birth",
    "id_upgraded",
    "cert_id_clean",
    "cert_id_norm",
)

RECORD_COLUMNS: Final[dict[str, str]] = {
    "record_id": "VARCHAR",
    "name_norm": "VARCHAR",
    "name_key": "VARCHAR",
    "id_clean": "VARCHAR",
    "id_norm": "VARCHAR",
    "id_birth": "DATE",
    "id_upgraded": "BOOLEAN",
    "cert_id_clean": "VARCHAR",
    "cert_id_norm": "VARCHAR",
    "address": "VARCHAR",
    "source_file": "VARCHAR",
    "source_line": "BIGINT",
}
ROSTER_COLUMNS: Final[dict[str, str]] = {
    "person_ref": "VARCHAR",
    "household_id": "VARCHAR",
    "name_norm": "VARCHAR",
    "name_key": "VARCHAR",
    "id_clean": "VARCHAR",
    "id_norm": "VARCHAR",
    "id_birth": "DATE",
    "id_area": "VARCHAR",
    "relation": "VARCHAR",
    "county_code": "VARCHAR",
    "town": "VARCHAR",
    "village": "VARCHAR",
}
LINK_COLUMNS: Final = (
    "department",
    "record_id",
    "person_ref",
    "id_number",
    "household_id",
    "match_status",
    "match_method",
    "match_score",
    "source_file",
    "source_line",
)
REVIEW_COLUMNS: Final = (
    "department",
    "record_id",
    "candidate_rank",
    "person_ref",
    "id_number",
    "household_id",
    "match_method",
    "match_score",
    "why",
)

Table: TypeAlias = str | duckdb.DuckDBPyRelation | pl.DataFrame | pa.Table


@dataclass(frozen=True)
class MatchingConfig:
    """Thresholds and weights of the matcher (``config/matching.yaml``)."""

    similar_min: float = 0.92
    name_factors: Mapping[str, float] = field(
        default_factory=lambda: {"exact": 1.0, "homophone": 0.97, "similar": 0.93, "none": 0.5}
    )
    tier_base: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(METHODS, 1.0))
    head_member_min_level: int = 2
    fuzzy_max_edits: int = 1
    fuzzy_windows: tuple[tuple[int, int], ...] = (
        (0, 4),
        (3, 7),
        (6, 10),
        (9, 13),
        (12, 16),
        (15, 18),
    )
    fuzzy_birth_min_level: int = 2
    name_birth_require_area: bool = True
    name_birth_min_level: int = 2
    name_birth_max_id_edits: int = 2
    name_only_mode: str = "unmatched"
    name_address_enabled: bool = True
    name_address_relation: str | None = "户主"

    def __post_init__(self) -> None:
        if not blocking.windows_cover_one_edit(self.fuzzy_windows):
            raise ValueError("id_fuzzy.windows do not cover every adjacent pair of positions")
        if self.name_only_mode not in NAME_ONLY_MODES:
            raise ValueError(f"name_only.mode must be one of {NAME_ONLY_MODES}")
        missing = [m for m in METHODS if m not in self.tier_base]
        if missing:
            raise ValueError(f"tiers without a base score: {missing}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> MatchingConfig:
        """Build from the parsed YAML; absent keys keep their defaults."""
        name = data.get("name", {})
        fuzzy = data.get("id_fuzzy", {})
        nb = data.get("name_birth", {})
        na = data.get("name_address", {})
        relation = na.get("relation", "户主")
        factors = {"none": 0.5, **name.get("factors", {})}
        return cls(
            similar_min=float(name.get("similar_min", 0.92)),
            name_factors=factors,
            tier_base={k: float(v["base"]) for k, v in data.get("tiers", {}).items()},
            head_member_min_level=compare.level_of(
                data.get("head_id_member", {}).get("min_name_level", "homophone")
            ),
            fuzzy_max_edits=int(fuzzy.get("max_edits", 1)),
            fuzzy_windows=tuple((int(s), int(e)) for s, e in fuzzy.get("windows", [])),
            fuzzy_birth_min_level=compare.level_of(
                fuzzy.get("birth_edit_min_name_level", "homophone")
            ),
            name_birth_require_area=bool(nb.get("require_area", True)),
            name_birth_min_level=compare.level_of(nb.get("min_name_level", "homophone")),
            name_birth_max_id_edits=int(nb.get("max_id_edits", 2)),
            name_only_mode=str(data.get("name_only", {}).get("mode", "unmatched")),
            name_address_enabled=bool(na.get("enabled", True)),
            name_address_relation=None if relation is None else str(relation),
        )


@dataclass(frozen=True)
class Step:
    """One named SQL statement of the linker; creates the table ``name``."""

    name: str
    sql: str


def configure_connection(
    con: duckdb.DuckDBPyConnection,
    memory_limit: str = "6GB",
    threads: int = 2,
    temp_directory: str | None = None,
) -> None:
    """Settings the linker expects on a large run (spill instead of dying)."""
    con.execute("SET memory_limit = ?", [memory_limit])
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    if temp_directory is not None:
        con.execute("SET temp_directory = ?", [temp_directory])


# --------------------------------------------------------------------------- inputs


def _check_department(department: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", department):
        raise ValueError("department must be a short lowercase identifier")
    return department


def _prefix(department: str) -> str:
    return f"lk_{_check_department(department)}_"


def _register(con: duckdb.DuckDBPyConnection, source: Table, view: str) -> None:
    """Make ``source`` readable as ``view`` without copying it."""
    if isinstance(source, str):
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {blocking.quote_ident(source)}"
        )
    elif isinstance(source, duckdb.DuckDBPyRelation):
        source.create_view(view, replace=True)
    else:
        con.register(view, source)


def _select_columns(con: duckdb.DuckDBPyConnection, view: str, wanted: Mapping[str, str]) -> str:
    """Select list of ``wanted`` columns; the absent ones become typed nulls."""
    present = {d[0] for d in con.execute(f"SELECT * FROM {view} LIMIT 0").description}
    cols = []
    for name, sql_type in wanted.items():
        ident = blocking.quote_ident(name)
        source = f"CAST({ident} AS {sql_type})" if name in present else f"CAST(NULL AS {sql_type})"
        cols.append(f"{source} AS {ident}")
    return ", ".join(cols)


def _has_certificate(con: duckdb.DuckDBPyConnection, view: str) -> bool:
    present = {d[0] for d in con.execute(f"SELECT * FROM {view} LIMIT 0").description}
    return "cert_id_clean" in present or "cert_id_norm" in present


def _has_address(con: duckdb.DuckDBPyConnection, view: str) -> bool:
    present = {d[0] for d in con.execute(f"SELECT * FROM {view} LIMIT 0").description}
    return "address" in present


def _sql_text(value: str) -> str:
    """A SQL string literal (configuration text, quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


# --------------------------------------------------------------------------- roster


def _repaired_id_sql(clean: str) -> str:
    """The first 17 digits of ``clean`` with the check character recomputed.

    Rosters damage an id mostly at its end (a wrong check character, a dropped
    last character): the repaired number is the join key under which records
    carrying the person's real id find them. A repaired key only ever links
    with an agreeing name, as method ``id_fuzzy`` (one edit).
    """
    total = " + ".join(
        f"CAST(substr({clean}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(CHECK_WEIGHTS)
    )
    return (
        f"CASE WHEN regexp_full_match({clean}, '[0-9]{{17}}[0-9X]?') "
        f"THEN left({clean}, 17) || substr('10X98765432', CAST(({total}) % 11 AS INTEGER) + 1, 1) "
        "END"
    )


def _roster_steps(r: str, roster_cols: str, windows: Sequence[tuple[int, int]]) -> list[Step]:
    """Roster once per connection: join key, birth, area, duplicate counts; narrow key table.

    ``key_id`` is the valid id, else the repaired one; ``birth`` / ``area`` come from
    the id even when its check character is wrong. ``keys`` holds one row per key
    (the first of duplicates, with the count): the big pass joins it without fan-out.
    """
    base = (
        f"CREATE OR REPLACE TEMP TABLE {r}base AS SELECT *, "
        f"coalesce(id_norm, {_repaired_id_sql('id_clean')}) AS key_id, "
        "coalesce(id_birth, CAST(try_strptime(substr(id_clean, 7, 8), '%Y%m%d') AS DATE)) "
        "AS birth, coalesce(id_area, CASE WHEN regexp_full_match(left(id_clean, 6), "
        "'[0-9]{6}') THEN left(id_clean, 6) END) AS area, "
        "coalesce(id_norm, id_clean) AS id_number "
        f"FROM (SELECT {roster_cols} FROM {r}in)"
    )
    dups = (
        f"CREATE OR REPLACE TEMP TABLE {r}dups AS SELECT person_ref, "
        "count(*) OVER (PARTITION BY key_id) AS id_dups, "
        "row_number() OVER (PARTITION BY key_id ORDER BY id_norm NULLS LAST, person_ref) "
        f"AS dup_rank FROM {r}base WHERE key_id IN (SELECT key_id FROM {r}base "
        "WHERE key_id IS NOT NULL GROUP BY key_id HAVING count(*) > 1)"
    )
    roster = (
        f"CREATE OR REPLACE TEMP TABLE {r}roster AS SELECT x.*, "
        "CASE WHEN x.key_id IS NULL THEN 0 ELSE coalesce(d.id_dups, 1) END AS id_dups, "
        f"coalesce(d.dup_rank, 1) AS dup_rank FROM {r}base x "
        f"LEFT JOIN {r}dups d USING (person_ref)"
    )
    keys = (
        f"CREATE OR REPLACE TEMP TABLE {r}keys AS SELECT key_id, person_ref, household_id, "
        "id_number, name_norm, id_norm IS NOT NULL AND id_dups = 1 AS fast_ok "
        f"FROM {r}roster WHERE key_id IS NOT NULL AND dup_rank = 1"
    )
    return [
        Step(f"{r}base", base),
        Step(f"{r}dups", dups),
        Step(f"{r}roster", roster),
        Step(f"{r}keys", keys),
        Step(
            f"{r}wkeys",
            f"CREATE OR REPLACE TEMP TABLE {r}wkeys AS "
            + blocking.window_keys_sql(f"{r}roster", "key_id", ["person_ref"], windows),
        ),
    ]


# --------------------------------------------------------------------------- big pass


def _records_step(p: str, records_cols: str) -> Step:
    """The records as a view with their clue class (nothing is copied)."""
    return Step(
        f"{p}records",
        f"CREATE OR REPLACE TEMP VIEW {p}records AS SELECT *, "
        "CASE WHEN id_norm IS NOT NULL OR cert_id_norm IS NOT NULL THEN 'valid' "
        "WHEN id_clean IS NOT NULL OR cert_id_clean IS NOT NULL THEN 'broken' "
        f"ELSE 'none' END AS clue_class FROM (SELECT {records_cols} FROM {p}records_in)",
    )


def _base_step(p: str, r: str, cfg: MatchingConfig) -> Step:
    """The one pass over all records: a LEFT hash join on the valid id, narrow.

    A record whose id is a unique valid roster id and whose name is exactly the
    person's (no second clue) is decided here: its links row is final. Every
    other record that has something to follow is flagged ``open``; the later
    tiers see only those (a few percent). Only the columns of the links row
    and the ``open`` flag are written for all records: carrying the tiers'
    columns along (null for the decided rows) cost a province 3 GB of memory
    and more time than reading the open rows again (``_open_step``).
    """
    exact = float(cfg.tier_base["id_exact"])
    upgraded = float(cfg.tier_base["id_upgraded15"])
    inner = (
        "SELECT x.record_id, x.source_file, x.source_line, k.person_ref, k.id_number, "
        "k.household_id, x.id_upgraded, "
        "coalesce(k.fast_ok AND k.name_norm = x.name_norm AND (x.cert_id_clean IS NULL "
        "OR x.cert_id_clean = x.id_norm), false) AS fast, "
        "k.key_id IS NOT NULL OR (x.id_norm IS NULL AND x.id_clean IS NOT NULL) "
        "OR (x.cert_id_clean IS NOT NULL AND x.cert_id_clean IS DISTINCT FROM x.id_norm) "
        "AS followable "
        f"FROM {p}records x LEFT JOIN {r}keys k ON k.key_id = x.id_norm"
    )
    return Step(
        f"{p}base",
        f"CREATE OR REPLACE TEMP TABLE {p}base AS SELECT record_id, "
        "CASE WHEN fast THEN person_ref END AS person_ref, "
        "CASE WHEN fast THEN id_number END AS id_number, "
        "CASE WHEN fast THEN household_id END AS household_id, "
        "CASE WHEN fast THEN 'linked' ELSE 'unmatched' END AS match_status, "
        "CASE WHEN NOT fast THEN 'none' WHEN id_upgraded THEN 'id_upgraded15' "
        "ELSE 'id_exact' END AS match_method, "
        f"CASE WHEN NOT fast THEN 0.0 WHEN id_upgraded THEN {upgraded!r} ELSE {exact!r} END "
        "AS match_score, source_file, source_line, NOT fast AND followable AS open "
        f"FROM ({inner})",
    )


def _open_step(p: str) -> Step:
    """The records the big pass left open, with every column the tiers read.

    A semi join of the records on (file, line) with the open rows of ``base``:
    a second, narrow read of the records that is cheaper than carrying these
    columns through the big pass for every record (a line is one record, while
    a record id may repeat with other content).
    """
    return Step(
        f"{p}open",
        f"CREATE OR REPLACE TEMP TABLE {p}open AS SELECT x.record_id, "
        + ", ".join(f"x.{c}" for c in OPEN_COLUMNS)
        + ", CASE WHEN x.id_norm IS NOT NULL OR x.cert_id_norm IS NOT NULL THEN 'valid' "
        "WHEN x.id_clean IS NOT NULL OR x.cert_id_clean IS NOT NULL THEN 'broken' "
        f"ELSE 'none' END AS clue_class FROM {p}records x SEMI JOIN "
        f"(SELECT source_file, source_line FROM {p}base WHERE open) b "
        "ON b.source_file = x.source_file AND b.source_line = x.source_line",
    )


# --------------------------------------------------------------------------- tiers


def _score_sql(method_sql: str, level: str, cfg: MatchingConfig) -> str:
    bases = " ".join(f"WHEN '{m}' THEN {float(b)!r}" for m, b in cfg.tier_base.items())
    factor = compare.name_factor_sql(level, dict(cfg.name_factors))
    factor = factor.replace("ELSE 0.0", f"ELSE {float(cfg.name_factors['none'])!r}")
    return f"CAST((CASE {method_sql} {bases} ELSE 0.0 END) * ({factor}) AS DOUBLE)"


def _exact_pairs_step(p: str, r: str, cfg: MatchingConfig, with_cert: bool) -> Step:
    """Open records against every roster person keyed by their id (or certificate id).

    A key that is a repaired roster id is one edit from the roster's text:
    method ``id_fuzzy``.
    """
    level = compare.name_level_sql(cfg.similar_min)
    common = "r.record_id, p.person_ref, p.household_id, p.id_number, "
    branches = [
        f"SELECT {common} 'id' AS clue, CASE WHEN p.id_norm IS NULL THEN 'id_fuzzy' "
        "WHEN r.id_upgraded THEN 'id_upgraded15' ELSE 'id_exact' END AS method, "
        f"{level} AS name_level FROM {p}open r JOIN {r}roster p ON p.key_id = r.id_norm"
    ]
    if with_cert:
        branches.append(
            f"SELECT {common} 'cert' AS clue, CASE WHEN p.id_norm IS NULL THEN 'id_fuzzy' "
            f"ELSE 'cert_id' END AS method, {level} AS name_level FROM {p}open r "
            f"JOIN {r}roster p ON p.key_id = r.cert_id_norm "
            "WHERE r.id_norm IS NULL OR r.cert_id_norm <> r.id_norm"
        )
    return Step(
        f"{p}exact_pairs",
        f"CREATE OR REPLACE TEMP TABLE {p}exact_pairs AS "
        f"SELECT *, {_score_sql('method', 'name_level', cfg)} AS score, "
        "name_level >= 1 AS accept FROM (" + " UNION ALL ".join(branches) + ")",
    )


def _verdict_steps(p: str, tier: str, pairs: str, ambiguous_why: str) -> list[Step]:
    """Per record: exactly one agreeing person links, several go to review.

    Produces ``<tier>_verdict`` (counts), ``<tier>_linked``, ``<tier>_review``
    and ``<tier>_anchors`` (pairs of records with no agreeing person: the id
    points at somebody else, whose household may hold the record's person).
    """
    verdict = (
        f"CREATE OR REPLACE TEMP TABLE {p}{tier}_verdict AS "
        "SELECT record_id, count(DISTINCT person_ref) FILTER (WHERE accept) AS n_accept, "
        "count(DISTINCT clue) FILTER (WHERE accept) AS n_clues, "
        "count(DISTINCT household_id) AS n_households "
        f"FROM {pairs} GROUP BY record_id"
    )
    linked = (
        f"CREATE OR REPLACE TEMP TABLE {p}{tier}_linked AS "
        "SELECT x.record_id, x.person_ref, x.household_id, x.id_number, x.method, x.score, "
        f"x.name_level FROM {pairs} x JOIN {p}{tier}_verdict v USING (record_id) "
        "WHERE v.n_accept = 1 AND x.accept "
        "QUALIFY row_number() OVER (PARTITION BY x.record_id ORDER BY x.score DESC) = 1"
    )
    review = (
        f"CREATE OR REPLACE TEMP TABLE {p}{tier}_review AS "
        "SELECT x.record_id, x.person_ref, x.household_id, x.id_number, x.method, x.score, "
        f"CASE WHEN v.n_clues > 1 THEN 'cert_id_conflict' ELSE '{ambiguous_why}' END AS why "
        f"FROM {pairs} x JOIN {p}{tier}_verdict v USING (record_id) "
        "WHERE v.n_accept >= 2 AND x.accept"
    )
    anchors = (
        f"CREATE OR REPLACE TEMP TABLE {p}{tier}_anchors AS "
        "SELECT x.record_id, x.person_ref AS anchor_ref, x.household_id, x.id_number, "
        "x.method, x.score, x.clue "
        f"FROM {pairs} x JOIN {p}{tier}_verdict v USING (record_id) WHERE v.n_accept = 0"
    )
    return [
        Step(f"{p}{tier}_verdict", verdict),
        Step(f"{p}{tier}_linked", linked),
        Step(f"{p}{tier}_review", review),
        Step(f"{p}{tier}_anchors", anchors),
    ]


def _member_exact_step(p: str, r: str, cfg: MatchingConfig) -> Step:
    """An id owner accepted on a merely similar name yields to a member with the exact name.

    The head's id on a member's record is a common defect; when the record's
    name is a homophone of the owner's but exactly one other member of the
    household carries it letter for letter, that member is the better reading.
    """
    score = _score_sql("'head_id_member'", "3", cfg)
    return Step(
        f"{p}member_exact",
        f"CREATE OR REPLACE TEMP TABLE {p}member_exact AS "
        "SELECT l.record_id, m.person_ref, m.household_id, m.id_number, "
        f"'head_id_member' AS method, {score} AS score "
        f"FROM {p}exact_slow_linked l JOIN {p}open o USING (record_id) "
        f"JOIN {r}roster m ON m.household_id = l.household_id "
        "AND m.person_ref <> l.person_ref AND m.name_norm = o.name_norm "
        "WHERE l.name_level < 3 "
        "QUALIFY count(*) OVER (PARTITION BY l.record_id) = 1",
    )


def _household_steps(
    p: str, r: str, tier: str, anchors: str, method: str, cfg: MatchingConfig
) -> list[Step]:
    """Members of the anchors' household whose name agrees with the record's.

    Links when the anchors lie in one household and one member has the exact
    name, or else exactly one agrees (homophone); several -> ``<tier>_review``.
    """
    # Similarity (a Python UDF) is only worth computing when it can decide.
    level = compare.name_level_sql(
        cfg.similar_min, with_similarity=cfg.head_member_min_level <= compare.NAME_LEVELS["similar"]
    )
    src = (
        f"(SELECT a.record_id, a.anchor_ref, a.household_id, r.name_norm, r.name_key "
        f"FROM {anchors} a JOIN {p}open r USING (record_id))"
    )
    pairs = (
        f"CREATE OR REPLACE TEMP TABLE {p}{tier}_pairs AS "
        f"SELECT DISTINCT r.record_id, p.person_ref, p.household_id, p.id_number, "
        f"'{method}' AS method, {level} AS name_level " + blocking.household_join(src, f"{r}roster")
    )
    min_level = cfg.head_member_min_level
    verdict = (
        f"CREATE OR REPLACE TEMP TABLE {p}{tier}_verdict AS "
        "SELECT a.record_id, any_value(a.n_households) AS n_households, "
        "any_value(a.n_clues) AS n_clues, "
        f"count(DISTINCT m.person_ref) FILTER (WHERE m.name_level >= {min_level}) AS n_accept, "
        "count(DISTINCT m.person_ref) FILTER (WHERE m.name_level = 3) AS n_exact "
        "FROM (SELECT record_id, count(DISTINCT household_id) AS n_households, "
        f"count(DISTINCT clue) AS n_clues FROM {anchors} GROUP BY record_id) a "
        f"LEFT JOIN {p}{tier}_pairs m USING (record_id) GROUP BY a.record_id"
    )
    score = _score_sql("m.method", "m.name_level", cfg)
    accepted = (
        f"SELECT m.record_id, m.person_ref, m.household_id, m.id_number, m.method, "
        f"{score} AS score FROM {p}{tier}_pairs m JOIN {p}{tier}_verdict v USING (record_id) "
        f"WHERE m.name_level >= {min_level} AND v.n_households = 1"
    )
    linked = (
        f"CREATE OR REPLACE TEMP TABLE {p}{tier}_linked AS {accepted} "
        "AND ((v.n_exact = 1 AND m.name_level = 3) OR (v.n_exact = 0 AND v.n_accept = 1))"
    )
    review = (
        f"CREATE OR REPLACE TEMP TABLE {p}{tier}_review AS "
        f"SELECT *, 'household_ambiguous' AS why FROM ({accepted} "
        "AND v.n_exact <> 1 AND v.n_accept >= 2)"
    )
    return [
        Step(f"{p}{tier}_pairs", pairs),
        Step(f"{p}{tier}_verdict", verdict),
        Step(f"{p}{tier}_linked", linked),
        Step(f"{p}{tier}_review", review),
    ]


def _conflict_review_step(p: str) -> Step:
    """Exact id, other name, no member found: the id's owner goes to review."""
    return Step(
        f"{p}conflict_review",
        f"CREATE OR REPLACE TEMP TABLE {p}conflict_review AS "
        "SELECT a.record_id, a.anchor_ref AS person_ref, a.household_id, a.id_number, "
        "a.method, a.score, CASE WHEN v.n_clues > 1 OR v.n_households > 1 "
        "THEN 'cert_id_conflict' ELSE 'id_name_conflict' END AS why "
        f"FROM {p}exact_slow_anchors a JOIN {p}household_verdict v USING (record_id) "
        "WHERE NOT (v.n_households = 1 AND v.n_accept >= 1)",
    )


def _broken_step(p: str, with_cert: bool) -> Step:
    """Records whose only id clues are damaged: one row per (record, clue)."""
    parts = [
        "SELECT record_id, name_norm, name_key, 'id' AS clue, id_clean AS clue_id, "
        f"id_birth AS birth FROM {p}open "
        "WHERE clue_class = 'broken' AND id_clean IS NOT NULL"
    ]
    if with_cert:
        parts.append(
            "SELECT record_id, name_norm, name_key, 'cert', cert_id_clean, "
            "CAST(try_strptime(substr(cert_id_clean, 7, 8), '%Y%m%d') AS DATE) "
            f"FROM {p}open WHERE clue_class = 'broken' AND cert_id_clean IS NOT NULL "
            "AND cert_id_clean IS DISTINCT FROM id_clean"
        )
    return Step(
        f"{p}broken",
        f"CREATE OR REPLACE TEMP TABLE {p}broken AS "
        "SELECT *, CASE WHEN regexp_full_match(left(clue_id, 6), '[0-9]{6}') "
        "THEN left(clue_id, 6) END AS area FROM (" + " UNION ALL ".join(parts) + ")",
    )


def _fuzzy_steps(p: str, r: str, cfg: MatchingConfig) -> list[Step]:
    """Damaged ids one edit away from a roster key, with name and birth agreeing."""
    clue_sql = blocking.window_keys_sql(
        f"{p}broken", "clue_id", ["record_id", "clue"], cfg.fuzzy_windows
    )
    clue_keys = f"({clue_sql})"
    keys = Step(
        f"{p}fuzzy_keys",
        f"CREATE OR REPLACE TEMP TABLE {p}fuzzy_keys AS "
        + blocking.window_candidates_sql(clue_keys, f"{r}wkeys"),
    )
    level = compare.name_level_sql(cfg.similar_min)
    edits = compare.id_edits_sql("r.clue_id", "p.key_id")
    touches = compare.edit_touches_birth_sql("r.clue_id", "p.key_id")
    pairs = Step(
        f"{p}fuzzy_pairs",
        f"CREATE OR REPLACE TEMP TABLE {p}fuzzy_pairs AS "
        f"SELECT *, {_score_sql('method', 'name_level', cfg)} AS score, "
        f"name_level >= 1 AND (NOT touches_birth OR name_level >= {cfg.fuzzy_birth_min_level}) "
        "AS accept FROM ("
        "SELECT r.record_id, r.clue, p.person_ref, p.household_id, p.id_number, "
        f"'id_fuzzy' AS method, {touches} AS touches_birth, {level} AS name_level "
        f"FROM {p}fuzzy_keys k JOIN {p}broken r USING (record_id, clue) "
        f"JOIN {r}roster p ON p.person_ref = k.person_ref "
        f"WHERE {edits} <= {int(cfg.fuzzy_max_edits)})",
    )
    return [keys, pairs]


def _name_birth_steps(p: str, r: str, cfg: MatchingConfig) -> list[Step]:
    """Last tier for damaged ids: name key + birth (the block) + area + a close id.

    A valid id that is nobody's key is a person of its own (a namesake, most
    often, in a population three times the roster) and is not searched by name:
    a roster id damaged beyond the check-character repair loses those records
    (counted as unmatched) rather than risk linking namesakes.
    """
    decided = (
        f"SELECT record_id FROM {p}fuzzy_linked UNION ALL SELECT record_id FROM {p}fuzzy_review "
        f"UNION ALL SELECT record_id FROM {p}name_household_linked "
        f"UNION ALL SELECT record_id FROM {p}name_household_review"
    )
    residual = (
        f"CREATE OR REPLACE TEMP TABLE {p}nb_residual AS "
        "SELECT record_id, name_norm, name_key, clue_id, birth, area "
        f"FROM {p}broken WHERE birth IS NOT NULL AND record_id NOT IN ({decided})"
    )
    level = compare.name_level_sql(cfg.similar_min)
    area_ok = (
        compare.area_agrees_sql("r.area", "p", area_column="area")
        if cfg.name_birth_require_area
        else "true"
    )
    pairs = (
        f"CREATE OR REPLACE TEMP TABLE {p}nb_pairs AS "
        f"SELECT *, {_score_sql('method', 'name_level', cfg)} AS score, "
        f"name_level >= {cfg.name_birth_min_level} AND area_ok AND id_close AS accept FROM ("
        "SELECT r.record_id, 'id' AS clue, p.person_ref, p.household_id, p.id_number, "
        f"'name_birth' AS method, {level} AS name_level, ({area_ok}) AS area_ok, "
        f"coalesce(levenshtein(r.clue_id, p.id_clean) <= {int(cfg.name_birth_max_id_edits)}, "
        "false) AS id_close " + blocking.name_birth_join(f"{p}nb_residual", f"{r}roster") + ")"
    )
    return [Step(f"{p}nb_residual", residual), Step(f"{p}nb_pairs", pairs)]


NOCLUE_COLUMNS: Final = (
    "record_id VARCHAR, person_ref VARCHAR, household_id VARCHAR, id_number VARCHAR, "
    "method VARCHAR, score DOUBLE"
)


def _name_address_steps(p: str, r: str, cfg: MatchingConfig, with_address: bool) -> list[Step]:
    """No id clue, but an address: exact name + the household's town and village in it.

    A name alone is no evidence (the departments cover the whole population,
    the roster a third of it; a roster-unique name is the roster person for
    only half of the no-clue records). The address narrows the namesakes to
    one village; the one roster person of that name living there links when
    they hold the configured relation (the housing extract names the 户主).
    Several namesakes in the village, or one with another relation, go to
    review. Departments without an address column get empty tables.
    """
    names = [f"{p}name_address_pairs", f"{p}name_address_linked", f"{p}name_address_review"]
    if not (with_address and cfg.name_address_enabled):
        return [
            Step(n, f"CREATE OR REPLACE TEMP TABLE {n} ({NOCLUE_COLUMNS}, why VARCHAR)")
            for n in names
        ]
    residual = (
        f"(SELECT record_id, name_norm, {blocking.no_space_sql('address')} AS address_key "
        f"FROM {p}records WHERE clue_class = 'none' AND name_norm IS NOT NULL "
        "AND address IS NOT NULL)"
    )
    wanted = (
        "true"
        if cfg.name_address_relation is None
        else f"coalesce(relation = {_sql_text(cfg.name_address_relation)}, false)"
    )
    base = float(cfg.tier_base["name_address"])
    pairs = (
        f"CREATE OR REPLACE TEMP TABLE {names[0]} AS SELECT *, "
        "count(*) OVER (PARTITION BY record_id) AS n_place, "
        f"CASE WHEN count(*) OVER (PARTITION BY record_id) = 1 AND {wanted} THEN NULL "
        "ELSE 'name_address_ambiguous' END AS why FROM ("
        "SELECT r.record_id, p.person_ref, p.household_id, p.id_number, p.relation, "
        f"'name_address' AS method, CAST({base!r} AS DOUBLE) AS score "
        + blocking.name_address_join(residual, f"{r}roster")
        + ")"
    )
    cols = "record_id, person_ref, household_id, id_number, method, score"
    linked = (
        f"CREATE OR REPLACE TEMP TABLE {names[1]} AS SELECT {cols} "
        f"FROM {names[0]} WHERE why IS NULL"
    )
    review = (
        f"CREATE OR REPLACE TEMP TABLE {names[2]} AS SELECT {cols}, why "
        f"FROM {names[0]} WHERE why IS NOT NULL"
    )
    return [Step(names[0], pairs), Step(names[1], linked), Step(names[2], review)]


def _name_only_step(p: str, r: str, cfg: MatchingConfig) -> Step:
    """Records without any id clue: review candidates only when configured.

    In the default mode the step is an empty table and never scans the records.
    """
    columns = (
        "record_id VARCHAR, person_ref VARCHAR, household_id VARCHAR, id_number VARCHAR, "
        "method VARCHAR, score DOUBLE, why VARCHAR"
    )
    if cfg.name_only_mode != "review":
        return Step(
            f"{p}name_only_review", f"CREATE OR REPLACE TEMP TABLE {p}name_only_review ({columns})"
        )
    return Step(
        f"{p}name_only_review",
        f"CREATE OR REPLACE TEMP TABLE {p}name_only_review AS "
        "SELECT r.record_id, p.person_ref, p.household_id, p.id_number, "
        "'name_birth' AS method, "
        f"CAST({float(cfg.tier_base['name_birth']) * 0.5!r} AS DOUBLE) AS score, "
        "'name_only' AS why "
        f"FROM {p}records r JOIN {r}roster p ON p.name_norm = r.name_norm "
        "WHERE r.clue_class = 'none' "
        f"AND r.record_id NOT IN (SELECT record_id FROM {p}name_address_pairs) "
        "QUALIFY count(*) OVER (PARTITION BY r.record_id) = 1",
    )


def _assembly_steps(p: str, department: str, noclue: bool = False) -> list[Step]:
    """Review rows, the tiers' decisions, and the patch of the few open base rows.

    ``decided`` holds only what the tiers after the big pass decided (small);
    ``links`` is a view: the final base rows as they are, the open ones patched
    by a hash join on ``decided``. The big table is written once, by the big
    pass; a consumer (``write_parquet``) reads it once more. With ``noclue`` (a
    no-clue tier can decide: an address column or ``name_only.mode: review``)
    the records it decided are patched too (they are not ``open``).
    """
    exact_linked = (
        "SELECT record_id, person_ref, household_id, id_number, method, score "
        f"FROM {p}exact_slow_linked WHERE record_id NOT IN (SELECT record_id FROM {p}member_exact)"
        f" UNION ALL SELECT * FROM {p}member_exact"
    )
    linked = " UNION ALL ".join(
        [exact_linked]
        + [
            "SELECT record_id, person_ref, household_id, id_number, method, score "
            f"FROM {p}{t}_linked"
            for t in ("household", "fuzzy", "name_household", "nb", "name_address")
        ]
    )
    review_sources = " UNION ALL ".join(
        f"SELECT record_id, person_ref, household_id, id_number, method, score, why FROM {p}{t}"
        for t in (
            "exact_slow_review",
            "household_review",
            "conflict_review",
            "fuzzy_review",
            "name_household_review",
            "nb_review",
            "name_address_review",
            "name_only_review",
        )
    )
    dept = f"'{department}'"
    review = (
        f"CREATE OR REPLACE TEMP TABLE {p}review AS SELECT {dept} AS department, record_id, "
        "CAST(row_number() OVER (PARTITION BY record_id ORDER BY score DESC, person_ref) "
        "AS INTEGER) AS candidate_rank, person_ref, id_number, household_id, "
        "method AS match_method, score AS match_score, why "
        f"FROM ({review_sources})"
    )
    decided = (
        f"CREATE OR REPLACE TEMP TABLE {p}decided AS "
        "SELECT record_id, 'linked' AS match_status, method, score, person_ref, household_id, "
        f"id_number FROM ({linked}) UNION ALL "
        "SELECT record_id, 'review', arg_max(match_method, match_score), max(match_score), "
        f"NULL, NULL, NULL FROM {p}review GROUP BY record_id"
    )
    extra = f"SELECT record_id FROM {p}noclue_decided"
    keep = f"NOT open AND record_id NOT IN ({extra})" if noclue else "NOT open"
    patch = f"b.open OR b.record_id IN ({extra})" if noclue else "b.open"
    noclue_decided = (
        f"CREATE OR REPLACE TEMP TABLE {p}noclue_decided AS "
        f"SELECT record_id FROM {p}name_address_linked UNION "
        f"SELECT record_id FROM {p}name_address_review UNION "
        f"SELECT record_id FROM {p}name_only_review"
    )
    links = (
        f"CREATE OR REPLACE TEMP VIEW {p}links AS SELECT {dept} AS department, record_id, "
        "person_ref, id_number, household_id, match_status, match_method, match_score, "
        f"source_file, source_line FROM {p}base WHERE {keep} UNION ALL "
        f"SELECT {dept}, b.record_id, d.person_ref, d.id_number, d.household_id, "
        "coalesce(d.match_status, b.match_status), coalesce(d.method, b.match_method), "
        "CAST(coalesce(d.score, b.match_score) AS DOUBLE), b.source_file, b.source_line "
        f"FROM {p}base b LEFT JOIN {p}decided d USING (record_id) WHERE {patch}"
    )
    return [
        Step(f"{p}review", review),
        Step(f"{p}decided", decided),
        Step(f"{p}noclue_decided", noclue_decided),
        Step(f"{p}links", links),
    ]


def link_steps(
    department: str,
    config: MatchingConfig,
    records_cols: str,
    roster_cols: str,
    with_cert: bool,
    roster_prefix: str | None = None,
    with_address: bool = False,
) -> list[Step]:
    """Every step of one department's linking, in order (inspect or run one by one).

    ``roster_prefix`` names the prepared roster tables (``<prefix>roster``,
    ``<prefix>keys``, ...); without it the roster steps are included, reading
    the view ``<prefix>in``. ``with_address``: the records carry ``address``
    (the ``name_address`` tier runs).
    """
    p = _prefix(department)
    r = roster_prefix or f"{p}roster_"
    steps = [] if roster_prefix else _roster_steps(r, roster_cols, config.fuzzy_windows)
    steps.append(_records_step(p, records_cols))
    steps.append(_base_step(p, r, config))
    steps.append(_open_step(p))
    steps.append(_exact_pairs_step(p, r, config, with_cert))
    steps += _verdict_steps(p, "exact_slow", f"{p}exact_pairs", "duplicate_roster_id")
    steps.append(_member_exact_step(p, r, config))
    steps += _household_steps(p, r, "household", f"{p}exact_slow_anchors", "head_id_member", config)
    steps.append(_conflict_review_step(p))
    steps.append(_broken_step(p, with_cert))
    steps += _fuzzy_steps(p, r, config)
    steps += _verdict_steps(p, "fuzzy", f"{p}fuzzy_pairs", "fuzzy_ambiguous")
    steps += _household_steps(p, r, "name_household", f"{p}fuzzy_anchors", "name_household", config)
    steps += _name_birth_steps(p, r, config)
    steps += _verdict_steps(p, "nb", f"{p}nb_pairs", "name_birth_ambiguous")
    steps += _name_address_steps(p, r, config, with_address)
    steps.append(_name_only_step(p, r, config))
    noclue = (with_address and config.name_address_enabled) or config.name_only_mode == "review"
    steps += _assembly_steps(p, department, noclue)
    return steps


def run_steps(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[Step],
    timings: dict[str, float] | None = None,
) -> None:
    """Execute steps in order (each creates its table or view); with ``timings``, record
    each step's wall seconds under its name (where a large run spends its time)."""
    for step in steps:
        start = time.perf_counter()
        con.execute(step.sql)
        if timings is not None:
            timings[step.name] = round(time.perf_counter() - start, 3)


def _roster_fingerprint(
    con: duckdb.DuckDBPyConnection, roster: Table, roster_cols: str
) -> str | None:
    """A key under which a prepared roster can be reused on this connection, or None.

    Only named tables and DuckDB relations are cached (their SQL names the data);
    the row count guards against a table refilled under the same name. Frames
    are prepared anew on every call.
    """
    if isinstance(roster, str):
        source = "table:" + roster
    elif isinstance(roster, duckdb.DuckDBPyRelation):
        source = "rel:" + roster.sql_query()
    else:
        return None
    rows = con.execute(f"SELECT count(*) FROM {ROSTER_VIEW}").fetchall()[0][0]
    digest = hashlib.sha256(f"{source}|{rows}|{roster_cols}".encode()).hexdigest()[:12]
    return f"lk_roster_{digest}_"


def _prepare_roster(
    con: duckdb.DuckDBPyConnection,
    roster: Table,
    config: MatchingConfig,
    timings: dict[str, float] | None = None,
) -> str:
    """Prepared roster tables for ``roster`` (reused across departments); their prefix."""
    _register(con, roster, ROSTER_VIEW)
    roster_cols = _select_columns(con, ROSTER_VIEW, ROSTER_COLUMNS)
    r = _roster_fingerprint(con, roster, f"{roster_cols}|{config.fuzzy_windows}")
    if (
        r is not None
        and con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [f"{r}keys"]
        ).fetchall()[0][0]
    ):
        return r
    r = r or "lk_roster_"
    _register(con, roster, f"{r}in")
    run_steps(con, _roster_steps(r, roster_cols, config.fuzzy_windows), timings)
    return r


def link_department(
    con: duckdb.DuckDBPyConnection,
    roster: Table,
    records: Table,
    department: str,
    config: MatchingConfig,
    timings: dict[str, float] | None = None,
) -> tuple[duckdb.DuckDBPyRelation, duckdb.DuckDBPyRelation]:
    """Link one department's staged records to the staged roster.

    ``roster`` / ``records``: a table or view name in ``con``, a DuckDB
    relation of ``con``, a polars frame or an Arrow table, with the staged
    columns of docs/stages.md. Returns ``(links, review)`` as relations over
    ``lk_<department>_links`` (a view on the table ``lk_<department>_base``) and
    the temp table ``lk_<department>_review`` (write them with ``.write_parquet``
    or ``COPY``; ``.pl()`` for small ones). The prepared roster is kept on the
    connection and reused by the next department when ``roster`` is the same
    table or relation. ``timings`` collects the seconds of every step run
    (``run_steps``), the roster's included when it is prepared here.
    """
    p = _prefix(department)
    compare.register_functions(con)
    r = _prepare_roster(con, roster, config, timings)
    _register(con, records, f"{p}records_in")
    steps = link_steps(
        department,
        config,
        _select_columns(con, f"{p}records_in", RECORD_COLUMNS),
        "",
        _has_certificate(con, f"{p}records_in"),
        roster_prefix=r,
        with_address=_has_address(con, f"{p}records_in"),
    )
    run_steps(con, steps, timings)
    links = con.sql(f"SELECT {', '.join(LINK_COLUMNS)} FROM {p}links")
    review = con.sql(f"SELECT {', '.join(REVIEW_COLUMNS)} FROM {p}review")
    return links, review


def release_department(con: duckdb.DuckDBPyConnection, department: str) -> None:
    """Drop a department's tables and views once its links and review are written.

    They live in DuckDB's memory until the connection closes; at a province the next
    department's big pass would otherwise spill them to disk and read them back.
    """
    p = _prefix(department)
    views = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE temporary AND starts_with(view_name, ?)", [p]
    ).fetchall()
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)",
        [p],
    ).fetchall()
    for (name,) in views:
        con.execute(f"DROP VIEW IF EXISTS {blocking.quote_ident(name)}")
    for (name,) in tables:
        con.execute(f"DROP TABLE IF EXISTS {blocking.quote_ident(name)}")


def link_counts(con: duckdb.DuckDBPyConnection, department: str) -> dict[str, int]:
    """Counts for the manifest: per status, per method, records with no id clue, and how
    many of those were linked (``no_id_clue_linked``) or sent to review."""
    p = _prefix(department)
    counts: dict[str, int] = {}
    for key, n in con.execute(
        f"SELECT 'status:' || match_status, count(*) FROM {p}links GROUP BY ALL "
        f"UNION ALL SELECT 'method:' || match_method, count(*) FROM {p}links GROUP BY ALL "
        f"UNION ALL SELECT 'no_id_clue', count(*) FROM {p}records WHERE clue_class = 'none' "
        f"UNION ALL SELECT 'review_rows', count(*) FROM {p}review "
        f"UNION ALL SELECT 'no_id_clue_linked', count(*) FROM {p}name_address_linked "
        f"UNION ALL SELECT 'no_id_clue_review', count(*) FROM {p}noclue_decided "
        f"WHERE record_id NOT IN (SELECT record_id FROM {p}name_address_linked)"
    ).fetchall():
        counts[str(key)] = int(n)
    return counts
