"""Benchmark: the linker vs a plain exact-id join (and Splink), on the sample generator's data.

``run(people=100_000)`` generates the world with ``fanpin.generator.generate``, stages the
roster and the four departments the way the pipeline does (``transforms.identity.id_columns``,
``transforms.names.name_columns``, the roster's ``person_ref`` rule of docs/stages.md), loads
them into DuckDB tables (not timed), then times, on the same tables and in the same process:

- ``exact_join``: per department ``records LEFT JOIN roster ON id_norm``, materialized with
  the links' columns (department, record_id, person_ref, id_number, household_id,
  match_status, match_method, match_score, source_file, source_line): the floor;
- ``linker``: ``transforms.linker.link_department`` per department, the roster preparation
  included (links: the big table plus a view patching the open rows; review materialized);
- both again ending in a Parquet file per department (``*_to_parquet_s``): what the
  link stage really pays (``fanpin.linking`` writes ``links.write_parquet``);
- ``splink`` (optional, ``bench.splink_baseline``): trained and predicted on the same data.

Quality against the generator's truth (``Dataset.links``): a link is correct when the linked
roster person is the record's true person (the staged roster keeps the person's true id in
``true_id``, so people with an invalid roster id count too). Recall is over records about
roster people that carry an identity clue (truth ``clue``); precision over linked records.
Targets (issue 3) at 100k people: precision >= 0.999, recall >= 0.995, review < 1%,
F1 above Splink's best; time <= 3x the exact join at 1M people (~8M records), peak < 6 GB.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from datetime import date
from typing import Any

import duckdb
import polars as pl
import psutil

from bench.accuracy import link_figures
from fanpin.generator import Dataset, generate
from fanpin.matching_config import load_matching_config
from transforms.compare import warm_up
from transforms.identity import id_columns
from transforms.linker import configure_connection, link_counts, link_department

DEPARTMENTS = ("health", "medical", "housing", "disability")
RUN_DATE = date(2026, 11, 29)


# --------------------------------------------------------------------------- staging


def _name_exprs() -> list[pl.Expr]:
    from transforms.names import name_columns  # the staging helper's module

    exprs = name_columns("name")
    return list(exprs) if isinstance(exprs, list | tuple) else [exprs]


def _with_source(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    return frame.with_columns(
        source_file=pl.lit(file), source_line=pl.int_range(2, pl.len() + 2, dtype=pl.Int64)
    )


def stage_roster(ds: Dataset) -> pl.DataFrame:
    """Staged roster plus ``true_id`` (bench only: the person's real id, for scoring)."""
    true_id = ds.people["id_number"].head(ds.roster.height)
    frame = _with_source(ds.roster, "roster.csv").with_columns(id_columns())
    frame = frame.with_columns(_name_exprs()).with_columns(true_id=true_id)
    unique = pl.col("id_norm").is_not_null() & (pl.len().over("id_norm") == 1)
    fallback = pl.format("R:{}:{}:{}", "household_id", "name_norm", "source_line")
    return frame.with_columns(person_ref=pl.when(unique).then("id_norm").otherwise(fallback))


def stage_department(ds: Dataset, department: str) -> pl.DataFrame:
    """Staged department frame (disability: the ``cert_*`` columns from certificate_no)."""
    frame = _with_source(ds.department(department), f"{department}.csv")
    frame = frame.with_columns(id_columns()).with_columns(_name_exprs())
    if "certificate_no" in frame.columns:
        frame = frame.with_columns(cert18=pl.col("certificate_no").str.slice(0, 18))
        frame = frame.with_columns(id_columns("cert18", "cert_id_")).drop("cert18")
    return frame


def load(con: duckdb.DuckDBPyConnection, people: int, seed: int) -> dict[str, int]:
    """Generate, stage and load ``roster``, ``rec_<dept>`` and ``truth`` tables; row counts."""
    ds = generate(people, seed, RUN_DATE)
    frames = {"roster": stage_roster(ds), "truth": ds.links}
    frames |= {f"rec_{d}": stage_department(ds, d) for d in DEPARTMENTS}
    del ds
    sizes = {}
    for name, frame in frames.items():
        con.register("frame_in", frame)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM frame_in")
        con.unregister("frame_in")
        sizes[name] = frame.height
    return sizes


# --------------------------------------------------------------------------- measuring


class PeakRss:
    """Samples this process's RSS in a thread (DuckDB memory is native, in-process)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        proc = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, proc.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def exact_join(con: duckdb.DuckDBPyConnection, department: str) -> str:
    """The floor: one LEFT hash join on the normalized id, with the links' output columns."""
    table = f"ej_{department}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT '{department}' AS department, "
        "r.record_id, p.person_ref, coalesce(p.id_norm, p.id_clean) AS id_number, "
        "p.household_id, CASE WHEN p.person_ref IS NULL THEN 'unmatched' ELSE 'linked' END "
        "AS match_status, CASE WHEN p.person_ref IS NULL THEN 'none' ELSE 'id_exact' END "
        "AS match_method, CASE WHEN p.person_ref IS NULL THEN 0.0 ELSE 1.0 END AS match_score, "
        f"r.source_file, r.source_line FROM rec_{department} r "
        "LEFT JOIN roster p ON p.id_norm = r.id_norm"
    )
    return table


def _to_parquet(con: duckdb.DuckDBPyConnection, tables: list[str], folder: str) -> float:
    t = time.perf_counter()
    for table in tables:
        con.execute(
            f"COPY (SELECT * FROM {table}) TO '{folder}/{table}.parquet' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    return time.perf_counter() - t


def _timed_exact(con: duckdb.DuckDBPyConnection) -> tuple[float, list[str]]:
    t = time.perf_counter()
    tables = [exact_join(con, d) for d in DEPARTMENTS]
    return time.perf_counter() - t, tables


def _drop_prepared_roster(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the linker's cached roster so that every timed run pays its preparation."""
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'lk_roster_%'"
    ).fetchall():
        con.execute(f'DROP TABLE "{name}"')


def _timed_linker(con: duckdb.DuckDBPyConnection) -> tuple[float, list[str], dict[str, Any]]:
    config = load_matching_config()
    _drop_prepared_roster(con)
    t = time.perf_counter()
    for d in DEPARTMENTS:
        link_department(con, "roster", f"rec_{d}", d, config)
    seconds = time.perf_counter() - t
    counts = {d: link_counts(con, d) for d in DEPARTMENTS}
    return seconds, [f"lk_{d}_links" for d in DEPARTMENTS], counts


# --------------------------------------------------------------------------- quality


def _scored_view(con: duckdb.DuckDBPyConnection, name: str, tables: list[str]) -> None:
    """One row per record: status, method, correct?, and the truth labels."""
    union = " UNION ALL ".join(
        f"SELECT department, record_id, person_ref, match_status, match_method FROM {t}"
        for t in tables
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT l.department, l.record_id, "
        "l.match_status, l.match_method, t.noise, t.clue, "
        "t.true_person IS NOT NULL AND t.clue AS relevant, "
        "t.true_person IS NOT NULL AS about_roster, "
        "l.match_status = 'linked' AS linked, "
        "coalesce(l.match_status = 'linked' AND p.true_id = t.true_person, false) AS correct "
        f"FROM ({union}) l JOIN truth t USING (department, record_id) "
        "LEFT JOIN roster p ON p.person_ref = l.person_ref"
    )


def _figures(row: tuple[Any, ...]) -> dict[str, Any]:
    return link_figures([int(v or 0) for v in row], digits=5)


AGGREGATES = (
    "count(*), count(*) FILTER (WHERE linked), count(*) FILTER (WHERE correct), "
    "count(*) FILTER (WHERE relevant), count(*) FILTER (WHERE relevant AND correct), "
    "count(*) FILTER (WHERE match_status = 'review'), "
    "count(*) FILTER (WHERE linked AND NOT clue)"
)


NO_CLUE = (
    "count(*), count(*) FILTER (WHERE about_roster), count(*) FILTER (WHERE linked), "
    "count(*) FILTER (WHERE correct), count(*) FILTER (WHERE match_status = 'review')"
)


def no_clue_figures(con: duckdb.DuckDBPyConnection, view: str) -> dict[str, Any]:
    """Records with no identity clue (issue 3: linked only where safe, and how many were).

    ``found_share``: correctly linked / no-clue records about roster people.
    """
    out: dict[str, Any] = {}
    rows = con.execute(
        f"SELECT department, {NO_CLUE} FROM {view} WHERE NOT clue GROUP BY ALL "
        f"UNION ALL SELECT 'all', {NO_CLUE} FROM {view} WHERE NOT clue ORDER BY 1"
    ).fetchall()
    for dept, records, about, linked, correct, review in rows:
        out[str(dept)] = {
            "records": int(records),
            "about_roster": int(about),
            "linked": int(linked),
            "wrong": int(linked - correct),
            "review": int(review),
            "precision": round(correct / linked, 5) if linked else 1.0,
            "found_share": round(correct / about, 5) if about else 1.0,
        }
    return out


def quality(con: duckdb.DuckDBPyConnection, tables: list[str], label: str) -> dict[str, Any]:
    """Overall, per department, per tier (match_method) and per noise label figures."""
    view = f"q_{label}"
    _scored_view(con, view, tables)
    out: dict[str, Any] = {
        "all": _figures(con.execute(f"SELECT {AGGREGATES} FROM {view}").fetchone() or ())
    }
    for key in ("department", "match_method", "noise"):
        rows = con.execute(
            f"SELECT {key}, {AGGREGATES} FROM {view} GROUP BY ALL ORDER BY 1"
        ).fetchall()
        out[f"by_{key}"] = {str(r[0]): _figures(r[1:]) for r in rows}
    out["no_clue"] = no_clue_figures(con, view)
    return out


# --------------------------------------------------------------------------- run


def _splink(con: duckdb.DuckDBPyConnection, max_records: int | None) -> dict[str, Any]:
    from bench import splink_baseline  # benchmark-only dependency

    return splink_baseline.run_on(con, DEPARTMENTS, max_records=max_records)


def run(
    people: int = 100_000,
    seed: int = 7,
    splink: bool = True,
    memory_limit: str = "6GB",
    threads: int = 2,
    repeat: int = 2,
) -> dict[str, Any]:
    """Generate, stage, time exact join vs linker (vs Splink) and score all against truth."""
    con = duckdb.connect()
    configure_connection(con, memory_limit=memory_limit, threads=threads)
    t0 = time.perf_counter()
    sizes = load(con, people, seed)
    warm_up(con)  # one-time pandas import of DuckDB's Arrow UDFs (~2 s per process)
    result: dict[str, Any] = {
        "people": people,
        "sizes": sizes,
        "build_s": round(time.perf_counter() - t0, 1),
    }
    exact_s, linker_s, exact_pq, linker_pq = [], [], [], []
    with PeakRss() as rss, tempfile.TemporaryDirectory() as folder:
        for _ in range(max(1, repeat)):  # interleaved: the machine is shared, timings drift
            s, exact_tables = _timed_exact(con)
            exact_s.append(s)
            exact_pq.append(s + _to_parquet(con, exact_tables, folder))
            s, linker_tables, counts = _timed_linker(con)
            linker_s.append(s)
            linker_pq.append(s + _to_parquet(con, linker_tables, folder))
    result |= {
        "exact_join_s": round(min(exact_s), 3),
        "linker_s": round(min(linker_s), 3),
        "ratio_vs_exact": round(min(linker_s) / min(exact_s), 2),
        "exact_to_parquet_s": round(min(exact_pq), 3),
        "linker_to_parquet_s": round(min(linker_pq), 3),
        "ratio_to_parquet": round(min(linker_pq) / min(exact_pq), 2),
        "peak_rss_gb": round(rss.peak / 2**30, 2),
        "counts": counts,
        "linker": quality(con, linker_tables, "linker"),
        "exact": quality(con, exact_tables, "exact"),
    }
    if splink:
        result["splink"] = _splink(con, None)
        result["ratio_splink_vs_linker"] = round(result["splink"]["seconds"] / min(linker_s), 2)
    result["maxrss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return result


# --------------------------------------------------------------------------- printing


def _row(label: str, f: dict[str, Any]) -> str:
    return (
        f"{label:<22}{f['records']:>10}{f['linked']:>10}{f['wrong']:>7}"
        f"{f['precision']:>10.5f}{f['recall']:>9.5f}{f['f1']:>9.5f}"
        f"{f['review_share']:>9.4f}{f['no_clue_linked']:>8}"
    )


def table(system: str, q: dict[str, Any]) -> str:
    """Plain-text table: overall, per department, per tier, per noise label."""
    head = (
        f"{system:<22}{'records':>10}{'linked':>10}{'wrong':>7}{'precision':>10}"
        f"{'recall':>9}{'F1':>9}{'review':>9}{'noclue':>8}"
    )
    lines = [head, _row("all", q["all"])]
    for key in ("by_department", "by_match_method", "by_noise"):
        lines.append(f"-- {key[3:]}")
        lines += [_row(k, v) for k, v in q[key].items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-splink", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    res = run(args.people, args.seed, splink=not args.no_splink, repeat=args.repeat)
    print(table("linker", res["linker"]))
    print("-- records without any identity clue")
    for dept, f in res["linker"]["no_clue"].items():
        print(f"{dept:<12}", f)
    print()
    print(table("exact join", res["exact"]))
    if "splink" in res:
        s = res["splink"]
        print(f"\nsplink best threshold {s['threshold']}: " + _row("all", s["quality"]))
        print("splink sweep:", s["sweep"])
    keep = (
        "people",
        "sizes",
        "build_s",
        "exact_join_s",
        "linker_s",
        "ratio_vs_exact",
        "exact_to_parquet_s",
        "linker_to_parquet_s",
        "ratio_to_parquet",
        "peak_rss_gb",
        "maxrss_gb",
        "ratio_splink_vs_linker",
    )
    print({k: res[k] for k in keep if k in res})
    if "splink" in res:
        print({k: res["splink"][k] for k in ("seconds", "train_s", "predict_s", "pairs")})


if __name__ == "__main__":
    main()
