"""Splink 5 (DuckDB backend) on the linking benchmark's tables: the probabilistic baseline.

A fair configuration for this data: the same staged columns the linker reads
(cleaned id, normalized name, pinyin key, birth date from the id), comparisons

- id:    exact / Levenshtein <= 1 / <= 2 (a typo, a transposition = 2, an old 15-digit
         number is already upgraded by staging),
- name:  exact name_norm / same pinyin key (homophone) / Jaro-Winkler >= 0.9 on the key,
- birth: exact,

blocking on the id, on name key + birth, and on the id's first 14 / last 12 characters
(catching typos in the other part), trained unsupervised: lambda from the exact-id
block, u by random sampling, m by EM on two blocks (name+birth trains the id, the id
trains name and birth). Every record keeps its best-scoring roster person; the
threshold is swept and the best F1 reported (an oracle choice that favours Splink).
Splink is a benchmark-only dependency: nothing outside bench/ imports it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import duckdb

from bench.accuracy import link_figures

THRESHOLDS = (0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999, 0.9999999)


def _inputs(
    con: duckdb.DuckDBPyConnection, departments: Sequence[str], max_records: int | None
) -> None:
    """``sp_roster`` and ``sp_records`` with Splink's column names (not timed)."""
    con.execute(
        "CREATE OR REPLACE TABLE sp_roster AS SELECT person_ref AS unique_id, "
        "coalesce(id_norm, id_clean) AS id, name_norm, name_key, "
        "coalesce(id_birth, CAST(try_strptime(substr(id_clean, 7, 8), '%Y%m%d') AS DATE)) "
        "AS birth FROM roster"
    )
    parts = []
    for d in departments:
        cols = {c[0] for c in con.execute(f"SELECT * FROM rec_{d} LIMIT 0").description}
        idc = "coalesce(id_clean, cert_id_clean)" if "cert_id_clean" in cols else "id_clean"
        birth = "coalesce(id_birth, cert_id_birth)" if "cert_id_birth" in cols else "id_birth"
        parts.append(
            f"SELECT '{d}:' || record_id AS unique_id, {idc} AS id, name_norm, name_key, "
            f"{birth} AS birth FROM rec_{d}"
        )
    limit = f" LIMIT {int(max_records)}" if max_records else ""
    con.execute(f"CREATE OR REPLACE TABLE sp_records AS {' UNION ALL '.join(parts)}{limit}")


def _settings() -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_norm"),
            cll.ExactMatchLevel("name_norm"),
            cll.ExactMatchLevel("name_key"),
            cll.JaroWinklerLevel("name_key", 0.9),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="link_only",
        comparisons=[cl.LevenshteinAtThresholds("id", [1, 2]), name, cl.ExactMatch("birth")],
        blocking_rules_to_generate_predictions=[
            block_on("id"),
            block_on("name_key", "birth"),
            block_on("substr(id, 1, 14)"),
            block_on("substr(id, 7, 12)"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def train_and_predict(con: duckdb.DuckDBPyConnection) -> tuple[str, float, float]:
    """Train on sp_roster x sp_records and predict; (pairs table, train s, predict s)."""
    from splink import DuckDBAPI, Linker, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    db_api = DuckDBAPI(connection=con)
    roster = db_api.register("sp_roster", dataset_display_name="roster")
    records = db_api.register("sp_records", dataset_display_name="records")
    t0 = time.perf_counter()
    linker = Linker([roster, records], _settings())
    linker.training.estimate_probability_two_random_records_match([block_on("id")], recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name_key", "birth")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("id"))
    t1 = time.perf_counter()
    pairs = linker.inference.predict(threshold_match_probability=0.1)
    con.execute(
        "CREATE OR REPLACE TABLE sp_pairs AS SELECT CASE WHEN source_dataset_l = 'roster' "
        "THEN unique_id_r ELSE unique_id_l END AS record_uid, CASE WHEN source_dataset_l = "
        "'roster' THEN unique_id_l ELSE unique_id_r END AS person_ref, match_probability "
        f"FROM {pairs.physical_name}"
    )
    return "sp_pairs", t1 - t0, time.perf_counter() - t1


def _sweep(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Precision / recall / F1 of best-candidate links at each threshold."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sp_best AS SELECT record_uid, person_ref, "
        "match_probability AS p FROM sp_pairs QUALIFY row_number() OVER "
        "(PARTITION BY record_uid ORDER BY match_probability DESC, person_ref) = 1"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sp_scored AS SELECT r.unique_id, b.p, "
        "t.true_person IS NOT NULL AND t.clue AS relevant, t.clue, "
        "coalesce(p.true_id = t.true_person, false) AS right_person "
        "FROM sp_records r JOIN truth t ON t.department || ':' || t.record_id = r.unique_id "
        "LEFT JOIN sp_best b ON b.record_uid = r.unique_id "
        "LEFT JOIN roster p ON p.person_ref = b.person_ref"
    )
    out = []
    for th in THRESHOLDS:
        row = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE p >= ?), "
            "count(*) FILTER (WHERE p >= ? AND right_person), count(*) FILTER (WHERE relevant), "
            "count(*) FILTER (WHERE relevant AND p >= ? AND right_person), 0, "
            "count(*) FILTER (WHERE p >= ? AND NOT clue) FROM sp_scored",
            [th, th, th, th],
        ).fetchone()
        counts = [int(v or 0) for v in row or ()]
        out.append({"threshold": th, **link_figures(counts, digits=5)})
    return out


def run_on(
    con: duckdb.DuckDBPyConnection, departments: Sequence[str], max_records: int | None = None
) -> dict[str, Any]:
    """Splink on the benchmark's ``roster`` / ``rec_<dept>`` / ``truth`` tables in ``con``."""
    _inputs(con, departments, max_records)
    _, train_s, predict_s = train_and_predict(con)
    sweep = _sweep(con)
    best = max(sweep, key=lambda f: f["f1"])
    return {
        "seconds": round(train_s + predict_s, 2),
        "train_s": round(train_s, 2),
        "predict_s": round(predict_s, 2),
        "pairs": int(con.execute("SELECT count(*) FROM sp_pairs").fetchall()[0][0]),
        "threshold": best["threshold"],
        "quality": best,
        "sweep": [(f["threshold"], f["precision"], f["recall"], f["f1"]) for f in sweep],
    }
