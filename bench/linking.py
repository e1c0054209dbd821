"""Benchmark: the linker against a plain exact-id DuckDB join, with precision/recall.

``run(roster_people, records)`` builds staged frames (``fanpin.generator.generate``
when it exists, else the synthetic builder below: vectorized, with the noise of
domain.md), loads both into DuckDB tables (not timed), then times

- ``exact_join``: ``records LEFT JOIN roster ON id_norm`` materialized (the floor), and
- ``linker``: ``transforms.linker.link_department`` (links + review materialized),

and reports the ratio, peak RSS while linking, and precision / recall against the
truth. Targets (issue 3): ratio <= 3, peak < 6 GB, precision >= 0.999 over linked,
recall >= 0.995 over records about roster people with an id clue, review < 1%.

Splink hook: add a function to ``COMPARATORS`` (name -> callable(con, roster_table,
records_table) -> links table name with columns record_id, person_ref); ``run``
times every entry and scores it with the same truth.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import polars as pl
import psutil
from pypinyin import lazy_pinyin

from fanpin.generator.identity import (
    build_ids,
    substitute_digit,
    to_fifteen,
    to_strings,
    transpose_adjacent,
)
from fanpin.matching_config import load_matching_config
from transforms.compare import warm_up
from transforms.identity import identity_frame
from transforms.linker import configure_connection, link_counts, link_department

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN = list("伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国玉红文辉春梅")
# Homophones typed by ear (same toneless pinyin).
HOMOPHONE = {"丽": "莉", "明": "铭", "伟": "玮", "芳": "方", "静": "婧", "军": "君", "华": "花"}
COUNTIES = np.array([500222, 500101, 500102, 500103, 500104], dtype=np.int64)

Comparator = Callable[[duckdb.DuckDBPyConnection, str, str], str]
COMPARATORS: dict[str, Comparator] = {}  # Splink goes here (issue 3 follow-up).


# --------------------------------------------------------------------------- synthetic data


def _names(rng: np.random.Generator, n: int) -> np.ndarray:  # type: ignore[type-arg]
    """2-3 character names from small vocabularies (object array, vectorized concat)."""
    sur = np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(GIVEN, dtype=object)[rng.integers(0, len(GIVEN), n)]
    g2 = np.array(GIVEN + [""] * 10, dtype=object)[rng.integers(0, len(GIVEN) + 10, n)]
    return sur + g1 + g2  # type: ignore[no-any-return]


def _births(rng: np.random.Generator, n: int) -> np.ndarray:  # type: ignore[type-arg]
    days = rng.integers(0, 365 * 80, n)
    dates = np.datetime64("1940-01-01") + days.astype("timedelta64[D]")
    as_str = np.datetime_as_string(dates).astype("U10")
    return np.char.replace(as_str, "-", "").astype(np.int64)  # type: ignore[no-any-return]


def _with_names(frame: pl.DataFrame) -> pl.DataFrame:
    """name_norm / name_key; the pinyin is computed once per distinct name."""
    distinct = frame.select(pl.col("name").unique())
    keys = [
        "".join(lazy_pinyin(n)) for n in distinct["name"].to_list()
    ]  # distinct values only
    lookup = distinct.with_columns(name_key=pl.Series(keys, dtype=pl.String))
    return frame.join(lookup, on="name", how="left").with_columns(name_norm=pl.col("name"))


def _roster(rng: np.random.Generator, people: int) -> pl.DataFrame:
    area = COUNTIES[rng.integers(0, len(COUNTIES), people)]
    seq = rng.integers(0, 1000, people)
    ids = build_ids(area, _births(rng, people), seq)
    frame = pl.DataFrame({
        "household_id": pl.Series(np.arange(people) // 3).cast(pl.String),
        "relation": np.where(np.arange(people) % 3 == 0, "户主", "子女"),
        "name": _names(rng, people).astype(str),
        "id_number": to_strings(ids),
        "county_code": pl.Series(area).cast(pl.String),
    }).unique("id_number", keep="first")
    frame = pl.concat([frame, identity_frame(frame["id_number"])], how="horizontal")
    return _with_names(frame).with_columns(person_ref=pl.col("id_norm"))


def _noisy_ids(rng: np.random.Generator, ids: pl.Series, kinds: np.ndarray) -> pl.Series:  # type: ignore[type-arg]
    """Apply substitution / transposition / 15-digit / missing to the chosen rows."""
    chars = np.frombuffer("".join(ids.to_list()).encode(), dtype=np.uint8).reshape(-1, 18).copy()
    substitute_digit(chars, np.flatnonzero(kinds == 1), rng)
    transpose_adjacent(chars, np.flatnonzero(kinds == 2), rng)
    out = to_strings(chars)
    fifteen = np.flatnonzero(kinds == 3)
    if len(fifteen):
        short = to_strings(to_fifteen(chars[fifteen]))
        out = out.scatter(fifteen, short)
    return out.scatter(np.flatnonzero(kinds == 4), None)


def _records(
    rng: np.random.Generator, roster: pl.DataFrame, n: int, about_roster: float
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records (raw id + name) and truth (record_id, true_person)."""
    n_in = int(n * about_roster)
    pick = rng.integers(0, roster.height, n_in)
    base = roster[pick].select("name", "id_number", "person_ref", "household_id")
    # 0 clean, 1 substitution, 2 transposition, 3 fifteen-digit, 4 missing, 5 head id
    kinds = rng.choice(6, n_in, p=[0.92, 0.02, 0.01, 0.01, 0.02, 0.02])
    heads = roster.group_by("household_id").agg(head_id=pl.col("id_number").first())
    base = base.join(heads, on="household_id", how="left", maintain_order="left")
    ids = pl.Series(np.where(kinds == 5, base["head_id"], base["id_number"]))
    ids = _noisy_ids(rng, ids, np.where(kinds == 5, 0, kinds))
    homophone = rng.random(n_in) < 0.02
    names = base["name"].str.replace_many(list(HOMOPHONE), list(HOMOPHONE.values()))
    names = pl.Series(np.where(homophone, names, base["name"]))
    outside = n - n_in
    other = to_strings(build_ids(np.full(outside, 500999), _births(rng, outside),
                                 rng.integers(0, 1000, outside)))
    frame = pl.DataFrame({
        "record_id": pl.Series(np.arange(n)).cast(pl.String),
        "name": pl.concat([names, pl.Series(_names(rng, outside).astype(str))]),
        "id_number": pl.concat([ids, other]),
        "true_person": pl.concat(
            [base["person_ref"], pl.Series([None] * outside, dtype=pl.String)]
        ),
        "clue": pl.concat([pl.Series(kinds != 4), pl.Series(np.ones(outside, bool))]),
    })
    truth = frame.select("record_id", "true_person", "clue")
    frame = pl.concat([frame.drop("true_person", "clue"), identity_frame(frame["id_number"])],
                      how="horizontal")
    staged = _with_names(frame).with_columns(
        source_file=pl.lit("bench.csv"), source_line=pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
    )
    return staged, truth


def synthetic(roster_people: int, records: int, seed: int = 7,
              about_roster: float = 0.8) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(roster, records, truth) staged frames with the domain's typical noise."""
    rng = np.random.default_rng(seed)
    roster = _roster(rng, roster_people)
    recs, truth = _records(rng, roster, records, about_roster)
    return roster, recs, truth


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


def _quality(con: duckdb.DuckDBPyConnection, links: str) -> dict[str, float]:
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE l.match_status = 'linked'), "
        "count(*) FILTER (WHERE l.match_status = 'linked' AND l.person_ref = t.true_person), "
        "count(*) FILTER (WHERE t.true_person IS NOT NULL AND t.clue), "
        "count(*) FILTER (WHERE t.true_person IS NOT NULL AND t.clue "
        "AND l.match_status = 'linked' AND l.person_ref = t.true_person), "
        "count(*) FILTER (WHERE l.match_status = 'review'), count(*) "
        f"FROM {links} l JOIN truth t USING (record_id)"
    ).fetchall()[0]
    linked, right, relevant, found, review, total = (int(v) for v in row)
    return {
        "precision": right / linked if linked else 1.0,
        "recall": found / relevant if relevant else 1.0,
        "review_share": review / total if total else 0.0,
        "linked": linked,
        "wrong_links": linked - right,
    }


Frames = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, str]


def _load(roster_people: int, records: int, seed: int) -> Frames:
    try:  # the shared generator, when it is there
        from fanpin.generator import generate  # type: ignore[attr-defined]
    except ImportError:
        return (*synthetic(roster_people, records, seed), "synthetic")
    _ = generate  # TODO: map Dataset -> staged frames once the generator's API is final
    return (*synthetic(roster_people, records, seed), "synthetic")


def run(roster_people: int = 100_000, records: int = 700_000, seed: int = 7,
        memory_limit: str = "6GB", threads: int = 2) -> dict[str, Any]:
    """Time linker vs exact join on ``roster_people`` x ``records``; quality vs truth."""
    t0 = time.perf_counter()
    roster, recs, truth, source = _load(roster_people, records, seed)
    con = duckdb.connect()
    configure_connection(con, memory_limit=memory_limit, threads=threads)
    for name, frame in (("roster", roster), ("records", recs), ("truth", truth)):
        con.register(f"{name}_df", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_df")
        con.unregister(f"{name}_df")
    del roster, recs
    warm_up(con)  # one-time pandas import of DuckDB's Arrow UDFs (~2 s per process)
    build_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    con.execute("CREATE TABLE exact_join AS SELECT r.record_id, p.person_ref "
                "FROM records r LEFT JOIN roster p ON p.id_norm = r.id_norm")
    exact_s = time.perf_counter() - t1
    t1 = time.perf_counter()
    con.execute("CREATE TABLE exact_join_wide AS SELECT r.record_id, p.person_ref, "
                "p.id_norm AS id_number, p.household_id, r.source_file, r.source_line "
                "FROM records r LEFT JOIN roster p ON p.id_norm = r.id_norm")
    exact_wide_s = time.perf_counter() - t1

    with PeakRss() as rss:
        t2 = time.perf_counter()
        links, review = link_department(con, "roster", "records", "medical",
                                        load_matching_config())
        linker_s = time.perf_counter() - t2
    result: dict[str, Any] = {
        "data": source,
        "roster_people": roster_people,
        "records": records,
        "build_s": round(build_s, 2),
        "exact_join_s": round(exact_s, 3),
        "linker_s": round(linker_s, 3),
        "ratio": round(linker_s / exact_s, 2),
        "exact_join_links_columns_s": round(exact_wide_s, 3),
        "ratio_vs_links_columns": round(linker_s / exact_wide_s, 2),
        "peak_rss_gb": round(rss.peak / 2**30, 2),
        "counts": link_counts(con, "medical"),
        **_quality(con, "lk_medical_links"),
    }
    for name, comparator in COMPARATORS.items():
        t3 = time.perf_counter()
        table = comparator(con, "roster", "records")
        result[name] = {"s": round(time.perf_counter() - t3, 3), **_quality(con, table)}
    _ = (links, review)
    return result


if __name__ == "__main__":
    import json
    import sys

    args = [int(a) for a in sys.argv[1:3]] or [100_000, 700_000]
    print(json.dumps(run(*args), ensure_ascii=False, indent=2))
