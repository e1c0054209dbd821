"""Link department records to roster people: blocking -> compare -> decide, in DuckDB.

The linker is a list of named SQL steps (``link_steps``); each step creates
one temp table ``lk_<department>_<step>`` and can be printed, run and checked
alone. Tiers run in order of strength and each later tier sees only the
records the earlier ones left open, so the expensive tiers work on a small
residual:

1. exact      valid id (or, for disability, the id inside certificate_no) equals a
              roster id; the name must agree (exact / homophone / similar).
              Methods ``id_exact``, ``id_upgraded15`` (the record carried a
              15-digit number), ``cert_id``.
2. household  exact id but a different name: the id's household is searched for
              the one member with the record's name (``head_id_member``);
              none or several -> review.
3. fuzzy      damaged 18-char id at one substitution / adjacent transposition
              from a roster id (window blocking + Damerau-Levenshtein), name
              agrees, and the birth date agrees unless the edit is inside it, in
              which case the name must be exact or a homophone (``id_fuzzy``);
              a fuzzy hit with another name falls back to its household
              (``name_household``).
4. name_birth no usable id: same pinyin key, birth date, area, and an id no more
              than ``max_id_edits`` away; a record with a valid id that is not in
              the roster may only reach roster people whose own id is invalid
              (namesakes with another valid id are not the same person).

Ambiguity never picks: it goes to review with all candidates. Records with no
id clue at all stay unmatched (``name_only.mode``), and are counted.

Connection expectations (the caller owns the connection): set
``memory_limit`` and ``threads`` (``configure_connection`` does it) and, for
large runs, ``preserve_insertion_order = false`` and a ``temp_directory`` on
local disk so that the hash joins can spill.
"""

from __future__ import annotations

import re
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
)
NAME_ONLY_MODES: Final = ("unmatched", "review")

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
    fuzzy_windows: tuple[tuple[int, int], ...] = ((0, 5), (4, 9), (8, 13), (12, 17), (16, 18))
    fuzzy_birth_min_level: int = 2
    name_birth_require_area: bool = True
    name_birth_min_level: int = 2
    name_birth_max_id_edits: int = 2
    name_only_mode: str = "unmatched"

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


def _select_columns(
    con: duckdb.DuckDBPyConnection, view: str, wanted: Mapping[str, str]
) -> str:
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


# --------------------------------------------------------------------------- steps


def _input_steps(p: str, records_cols: str, roster_cols: str) -> list[Step]:
    """Roster with duplicate-id counts; records as a view with clue class, birth, area."""
    # Duplicate ids are rare: count them on the side instead of a window over
    # the whole roster; dup_rank picks the one row a fanned-out record keeps.
    dups = (
        f"CREATE OR REPLACE TEMP TABLE {p}roster_dups AS "
        "SELECT person_ref, count(*) OVER (PARTITION BY id_norm) AS id_dups, "
        "row_number() OVER (PARTITION BY id_norm ORDER BY person_ref) AS dup_rank "
        f"FROM (SELECT {roster_cols} FROM {p}roster_in) "
        f"WHERE id_norm IN (SELECT id_norm FROM {p}roster_in WHERE id_norm IS NOT NULL "
        "GROUP BY id_norm HAVING count(*) > 1)"
    )
    roster = (
        f"CREATE OR REPLACE TEMP TABLE {p}roster AS "
        "SELECT x.*, coalesce(x.id_norm, x.id_clean) AS id_number, "
        "CASE WHEN x.id_norm IS NULL THEN 0 ELSE coalesce(d.id_dups, 1) END AS id_dups, "
        "coalesce(d.dup_rank, 1) AS dup_rank "
        f"FROM (SELECT {roster_cols} FROM {p}roster_in) x "
        f"LEFT JOIN {p}roster_dups d USING (person_ref)"
    )
    records = (
        f"CREATE OR REPLACE TEMP VIEW {p}records AS "
        "SELECT *, "
        "CASE WHEN id_norm IS NOT NULL OR cert_id_norm IS NOT NULL THEN 'valid' "
        "WHEN id_clean IS NOT NULL OR cert_id_clean IS NOT NULL THEN 'broken' "
        "ELSE 'none' END AS clue_class "
        f"FROM (SELECT {records_cols} FROM {p}records_in)"
    )
    return [
        Step(f"{p}roster_dups", dups),
        Step(f"{p}roster", roster),
        Step(f"{p}records", records),
    ]


def _score_sql(method_sql: str, level: str, cfg: MatchingConfig) -> str:
    bases = " ".join(f"WHEN '{m}' THEN {float(b)!r}" for m, b in cfg.tier_base.items())
    factor = compare.name_factor_sql(level, dict(cfg.name_factors))
    factor = factor.replace("ELSE 0.0", f"ELSE {float(cfg.name_factors['none'])!r}")
    return f"CAST((CASE {method_sql} {bases} ELSE 0.0 END) * ({factor}) AS DOUBLE)"


def _exact_steps(p: str, cfg: MatchingConfig, with_cert: bool) -> list[Step]:
    """The one pass over all records: a LEFT hash join on the valid id.

    ``exact_pairs`` has a row for every record (the ``base`` rows, person
    null when the id is not a roster id) plus, for disability, a row per
    certificate hit. A base row that is ``single`` (one roster person with
    that id, no second clue) and ``accept`` (name agrees) is decided right
    there; ``exact_open`` keeps the few other hits for the slower tiers.
    """
    level = compare.name_level_sql(cfg.similar_min, with_similarity=False)
    common = (
        "r.record_id, r.source_file, r.source_line, p.person_ref, p.household_id, "
        "p.id_number, "
    )
    branches = [
        f"SELECT {common} 'id' AS clue, "
        "CASE WHEN r.id_upgraded THEN 'id_upgraded15' ELSE 'id_exact' END AS method, "
        f"{level} AS name_level, "
        "coalesce(p.id_dups = 1 AND (r.cert_id_norm IS NULL OR r.cert_id_norm = r.id_norm), "
        "false) AS single, coalesce(p.dup_rank = 1, true) AS base "
        f"FROM {p}records r LEFT JOIN {p}roster p ON p.id_norm = r.id_norm"
    ]
    if with_cert:
        branches.append(
            f"SELECT {common} 'cert' AS clue, 'cert_id' AS method, {level} AS name_level, "
            "false AS single, false AS base "
            + blocking.exact_id_join(f"{p}records", f"{p}roster", "cert_id_norm")
            + " WHERE r.id_norm IS NULL OR r.cert_id_norm <> r.id_norm"
        )
    pairs = (
        f"CREATE OR REPLACE TEMP TABLE {p}exact_pairs AS "
        f"SELECT *, {_score_sql('method', 'name_level', cfg)} AS score, "
        "name_level >= 1 AS accept FROM (" + " UNION ALL ".join(branches) + ")"
    )
    # The few open pairs get the full comparison (rapidfuzz similarity).
    full = compare.name_level_sql(cfg.similar_min)
    slow = (
        f"CREATE OR REPLACE TEMP TABLE {p}exact_open AS "
        f"SELECT * EXCLUDE (score, accept), {_score_sql('method', 'name_level', cfg)} AS score, "
        "name_level >= 1 AS accept FROM ("
        f"SELECT x.* EXCLUDE (name_level), {full} AS name_level "
        f"FROM {p}exact_pairs x JOIN {p}records r USING (record_id) "
        f"JOIN {p}roster p USING (person_ref) "
        "WHERE NOT (x.single AND x.accept))"
    )
    return [Step(f"{p}exact_pairs", pairs), Step(f"{p}exact_open", slow)]


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
        "SELECT x.record_id, x.person_ref, x.household_id, x.id_number, x.method, x.score "
        f"FROM {pairs} x JOIN {p}{tier}_verdict v USING (record_id) "
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


def _household_steps(
    p: str, tier: str, anchors: str, method: str, cfg: MatchingConfig
) -> list[Step]:
    """Members of the anchors' household whose name agrees with the record's.

    Links only when the anchors lie in one household and exactly one other
    member agrees; ``<tier>_review`` holds the several-members case.
    """
    level = compare.name_level_sql(cfg.similar_min)
    src = (
        f"(SELECT a.record_id, a.anchor_ref, a.household_id, r.name_norm, r.name_key "
        f"FROM {anchors} a JOIN {p}records r USING (record_id))"
    )
    pairs = (
        f"CREATE OR REPLACE TEMP TABLE {p}{tier}_pairs AS "
        f"SELECT DISTINCT r.record_id, p.person_ref, p.household_id, p.id_number, "
        f"'{method}' AS method, {level} AS name_level "
        + blocking.household_join(src, f"{p}roster")
    )
    verdict = (
        f"CREATE OR REPLACE TEMP TABLE {p}{tier}_verdict AS "
        "SELECT a.record_id, count(DISTINCT a.household_id) AS n_households, "
        "count(DISTINCT a.clue) AS n_clues, "
        f"(SELECT count(DISTINCT m.person_ref) FROM {p}{tier}_pairs m "
        f"WHERE m.record_id = a.record_id AND m.name_level >= {cfg.head_member_min_level}) "
        f"AS n_accept FROM {anchors} a GROUP BY a.record_id"
    )
    score = _score_sql("m.method", "m.name_level", cfg)
    accepted = (
        f"SELECT m.record_id, m.person_ref, m.household_id, m.id_number, m.method, "
        f"{score} AS score FROM {p}{tier}_pairs m JOIN {p}{tier}_verdict v USING (record_id) "
        f"WHERE m.name_level >= {cfg.head_member_min_level} AND v.n_households = 1"
    )
    linked = (
        f"CREATE OR REPLACE TEMP TABLE {p}{tier}_linked AS {accepted} AND v.n_accept = 1"
    )
    review = (
        f"CREATE OR REPLACE TEMP TABLE {p}{tier}_review AS "
        f"SELECT *, 'household_ambiguous' AS why FROM ({accepted} AND v.n_accept >= 2)"
    )
    return [
        Step(f"{p}{tier}_pairs", pairs),
        Step(f"{p}{tier}_verdict", verdict),
        Step(f"{p}{tier}_linked", linked),
        Step(f"{p}{tier}_review", review),
    ]


def _conflict_review_step(p: str) -> Step:
    """Exact id, other name, no single member found: the id's owner goes to review."""
    return Step(
        f"{p}conflict_review",
        f"CREATE OR REPLACE TEMP TABLE {p}conflict_review AS "
        "SELECT a.record_id, a.anchor_ref AS person_ref, a.household_id, a.id_number, "
        "a.method, a.score, CASE WHEN v.n_clues > 1 OR v.n_households > 1 "
        "THEN 'cert_id_conflict' ELSE 'id_name_conflict' END AS why "
        f"FROM {p}exact_anchors a JOIN {p}household_verdict v USING (record_id) "
        "WHERE NOT (v.n_households = 1 AND v.n_accept >= 1)",
    )


def _broken_step(p: str, with_cert: bool) -> Step:
    """Records whose only id clues are damaged: one row per (record, clue)."""
    parts = [
        "SELECT record_id, name_norm, name_key, 'id' AS clue, id_clean AS clue_id, "
        f"id_birth AS birth FROM {p}records "
        "WHERE clue_class = 'broken' AND id_clean IS NOT NULL"
    ]
    if with_cert:
        parts.append(
            "SELECT record_id, name_norm, name_key, 'cert', cert_id_clean, "
            "CAST(try_strptime(substr(cert_id_clean, 7, 8), '%Y%m%d') AS DATE) "
            f"FROM {p}records WHERE clue_class = 'broken' AND cert_id_clean IS NOT NULL "
            "AND cert_id_clean IS DISTINCT FROM id_clean"
        )
    return Step(
        f"{p}broken",
        f"CREATE OR REPLACE TEMP TABLE {p}broken AS "
        "SELECT *, CASE WHEN regexp_full_match(left(clue_id, 6), '[0-9]{6}') "
        "THEN left(clue_id, 6) END AS area FROM (" + " UNION ALL ".join(parts) + ")",
    )


def _fuzzy_steps(p: str, cfg: MatchingConfig) -> list[Step]:
    """Damaged ids one edit away from a roster id, with name and birth agreeing."""
    keys = Step(
        f"{p}fuzzy_keys",
        f"CREATE OR REPLACE TEMP TABLE {p}fuzzy_keys AS "
        + blocking.fuzzy_id_candidates_sql(f"{p}broken", f"{p}roster", cfg.fuzzy_windows),
    )
    level = compare.name_level_sql(cfg.similar_min)
    edits = compare.id_edits_sql("r.clue_id", "p.id_norm")
    touches = compare.edit_touches_birth_sql("r.clue_id", "p.id_norm")
    pairs = Step(
        f"{p}fuzzy_pairs",
        f"CREATE OR REPLACE TEMP TABLE {p}fuzzy_pairs AS "
        f"SELECT *, {_score_sql('method', 'name_level', cfg)} AS score, "
        f"name_level >= 1 AND (NOT touches_birth OR name_level >= {cfg.fuzzy_birth_min_level}) "
        "AS accept FROM ("
        "SELECT r.record_id, r.clue, p.person_ref, p.household_id, p.id_number, "
        f"'id_fuzzy' AS method, {touches} AS touches_birth, {level} AS name_level "
        f"FROM {p}fuzzy_keys k JOIN {p}broken r USING (record_id, clue) "
        f"JOIN {p}roster p ON p.person_ref = k.person_ref "
        f"WHERE {edits} <= {int(cfg.fuzzy_max_edits)})",
    )
    return [keys, pairs]


def _name_birth_steps(p: str, cfg: MatchingConfig) -> list[Step]:
    """Last tier with an id clue: name key + birth + area + an id that is close.

    Broken clues may reach anyone; a valid id that is not in the roster may
    only reach a roster person whose own id is invalid (else: a namesake).
    """
    decided = (
        f"SELECT record_id FROM {p}fuzzy_linked UNION ALL SELECT record_id FROM {p}fuzzy_review "
        f"UNION ALL SELECT record_id FROM {p}name_household_linked "
        f"UNION ALL SELECT record_id FROM {p}name_household_review"
    )
    residual = (
        f"CREATE OR REPLACE TEMP TABLE {p}nb_residual AS "
        "SELECT record_id, name_norm, name_key, clue_id, birth, area, false AS valid_clue "
        f"FROM {p}broken WHERE record_id NOT IN ({decided}) "
        "UNION ALL "
        "SELECT r.record_id, r.name_norm, r.name_key, coalesce(r.id_norm, r.cert_id_norm), "
        "coalesce(r.id_birth, CAST(try_strptime(substr(r.cert_id_norm, 7, 8), '%Y%m%d') AS DATE)), "
        "left(coalesce(r.id_norm, r.cert_id_norm), 6), true "
        f"FROM {p}records r WHERE r.clue_class = 'valid' "
        f"AND r.name_key IN (SELECT name_key FROM {p}roster WHERE id_norm IS NULL) "
        f"AND r.record_id NOT IN (SELECT record_id FROM {p}exact_pairs "
        "WHERE person_ref IS NOT NULL)"
    )
    level = compare.name_level_sql(cfg.similar_min)
    area_ok = (
        compare.area_agrees_sql("r.area") if cfg.name_birth_require_area else "true"
    )
    pairs = (
        f"CREATE OR REPLACE TEMP TABLE {p}nb_pairs AS "
        f"SELECT *, {_score_sql('method', 'name_level', cfg)} AS score, "
        f"name_level >= {cfg.name_birth_min_level} AND area_ok AND birth_ok AND id_close "
        "AS accept FROM ("
        "SELECT r.record_id, 'id' AS clue, p.person_ref, p.household_id, p.id_number, "
        f"'name_birth' AS method, {level} AS name_level, ({area_ok}) AS area_ok, "
        "coalesce(r.birth = p.id_birth, r.birth IS NULL) AS birth_ok, "
        f"coalesce(levenshtein(r.clue_id, p.id_clean) <= {int(cfg.name_birth_max_id_edits)}, "
        "false) AS id_close "
        + blocking.name_key_join(f"{p}nb_residual", f"{p}roster")
        + " WHERE NOT (r.valid_clue AND p.id_norm IS NOT NULL))"
    )
    return [Step(f"{p}nb_residual", residual), Step(f"{p}nb_pairs", pairs)]


def _name_only_step(p: str, cfg: MatchingConfig) -> Step:
    """Records without any id clue: review candidates only when configured."""
    where = "true" if cfg.name_only_mode == "review" else "false"
    return Step(
        f"{p}name_only_review",
        f"CREATE OR REPLACE TEMP TABLE {p}name_only_review AS "
        "SELECT r.record_id, p.person_ref, p.household_id, p.id_number, "
        "'name_birth' AS method, "
        f"CAST({float(cfg.tier_base['name_birth']) * 0.5!r} AS DOUBLE) AS score, "
        "'name_only' AS why "
        f"FROM {p}records r JOIN {p}roster p ON p.name_norm = r.name_norm "
        f"WHERE r.clue_class = 'none' AND {where} "
        "QUALIFY count(*) OVER (PARTITION BY r.record_id) = 1",
    )


def _assembly_steps(p: str, department: str) -> list[Step]:
    """Every record gets exactly one links row: its base row, patched by the tiers.

    ``decided`` holds only what the tiers after the fast path decided (small);
    the links table is one scan of ``exact_pairs`` with a hash join on it.
    """
    linked = " UNION ALL ".join(
        f"SELECT record_id, person_ref, household_id, id_number, method, score FROM {p}{t}_linked"
        for t in ("exact_slow", "household", "fuzzy", "name_household", "nb")
    )
    review_sources = " UNION ALL ".join(
        "SELECT record_id, person_ref, household_id, id_number, method, score, why "
        f"FROM {p}{t}"
        for t in (
            "exact_slow_review",
            "household_review",
            "conflict_review",
            "fuzzy_review",
            "name_household_review",
            "nb_review",
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
    # Fast-path rows are never patched: they skip the join entirely.
    links = (
        f"CREATE OR REPLACE TEMP TABLE {p}links AS "
        f"SELECT {dept} AS department, record_id, person_ref, id_number, household_id, "
        "'linked' AS match_status, method AS match_method, score AS match_score, "
        f"source_file, source_line FROM {p}exact_pairs WHERE base AND single AND accept "
        f"UNION ALL SELECT {dept}, b.record_id, d.person_ref, d.id_number, d.household_id, "
        "coalesce(d.match_status, 'unmatched'), coalesce(d.method, 'none'), "
        "CAST(coalesce(d.score, 0.0) AS DOUBLE), b.source_file, b.source_line "
        f"FROM {p}exact_pairs b LEFT JOIN {p}decided d USING (record_id) "
        "WHERE b.base AND NOT (b.single AND b.accept)"
    )
    return [Step(f"{p}review", review), Step(f"{p}decided", decided), Step(f"{p}links", links)]


def link_steps(
    department: str,
    config: MatchingConfig,
    records_cols: str,
    roster_cols: str,
    with_cert: bool,
) -> list[Step]:
    """Every step of one department's linking, in order (inspect or run one by one)."""
    p = _prefix(department)
    steps = _input_steps(p, records_cols, roster_cols)
    steps += _exact_steps(p, config, with_cert)
    steps += _verdict_steps(p, "exact_slow", f"{p}exact_open", "duplicate_roster_id")
    steps.append(
        Step(
            f"{p}exact_anchors",
            f"CREATE OR REPLACE TEMP TABLE {p}exact_anchors AS "
            f"SELECT * FROM {p}exact_slow_anchors",
        )
    )
    steps += _household_steps(p, "household", f"{p}exact_anchors", "head_id_member", config)
    steps.append(_conflict_review_step(p))
    steps.append(_broken_step(p, with_cert))
    steps += _fuzzy_steps(p, config)
    steps += _verdict_steps(p, "fuzzy", f"{p}fuzzy_pairs", "fuzzy_ambiguous")
    steps += _household_steps(
        p, "name_household", f"{p}fuzzy_anchors", "name_household", config
    )
    steps += _name_birth_steps(p, config)
    steps += _verdict_steps(p, "nb", f"{p}nb_pairs", "name_birth_ambiguous")
    steps.append(_name_only_step(p, config))
    steps += _assembly_steps(p, department)
    return steps


def run_steps(con: duckdb.DuckDBPyConnection, steps: Sequence[Step]) -> None:
    """Execute steps in order (each creates its table or view)."""
    for step in steps:
        con.execute(step.sql)


def link_department(
    con: duckdb.DuckDBPyConnection,
    roster: Table,
    records: Table,
    department: str,
    config: MatchingConfig,
) -> tuple[duckdb.DuckDBPyRelation, duckdb.DuckDBPyRelation]:
    """Link one department's staged records to the staged roster.

    ``roster`` / ``records``: a table or view name in ``con``, a DuckDB
    relation of ``con``, a polars frame or an Arrow table, with the staged
    columns of docs/stages.md. Returns ``(links, review)`` as relations over
    the temp tables ``lk_<department>_links`` / ``lk_<department>_review``
    (write them with ``.write_parquet`` or ``COPY``; ``.pl()`` for small ones).
    """
    p = _prefix(department)
    compare.register_functions(con)
    _register(con, roster, f"{p}roster_in")
    _register(con, records, f"{p}records_in")
    steps = link_steps(
        department,
        config,
        _select_columns(con, f"{p}records_in", RECORD_COLUMNS),
        _select_columns(con, f"{p}roster_in", ROSTER_COLUMNS),
        _has_certificate(con, f"{p}records_in"),
    )
    run_steps(con, steps)
    links = con.sql(f"SELECT {', '.join(LINK_COLUMNS)} FROM {p}links")
    review = con.sql(f"SELECT {', '.join(REVIEW_COLUMNS)} FROM {p}review")
    return links, review


def link_counts(con: duckdb.DuckDBPyConnection, department: str) -> dict[str, int]:
    """Counts for the manifest: per status, per method, and records with no id clue."""
    p = _prefix(department)
    counts: dict[str, int] = {}
    for key, n in con.execute(
        f"SELECT 'status:' || match_status, count(*) FROM {p}links GROUP BY ALL "
        f"UNION ALL SELECT 'method:' || match_method, count(*) FROM {p}links GROUP BY ALL "
        f"UNION ALL SELECT 'no_id_clue', count(*) FROM {p}records WHERE clue_class = 'none' "
        f"UNION ALL SELECT 'review_rows', count(*) FROM {p}review"
    ).fetchall():
        counts[str(key)] = int(n)
    return counts
