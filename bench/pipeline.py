"""Benchmark: the whole pipeline in-process (no Prefect), against the DuckDB floor and the truth.

`run(size)` makes sure the generated inbox of a named size exists (bench/data/<size>/, written
once with formats="fast" and reused while its stamp matches), then runs every stage of
`fanpin.stages` on a RunContext over bench/out/<size>, each stage in a fresh child process:

- wall and CPU seconds are measured inside the child around the stage call (heavy imports are
  done before the clock starts, as they are once per nightly process);
- peak memory is the child's ru_maxrss from `os.wait4` (exact, kernel-kept, includes native
  DuckDB/polars memory and survives an OOM kill), so each stage's peak is its own and not the
  allocator's leftovers from the stage before;

then the floor (DuckDB alone: read the same CSVs and exact-join the department records to the
roster on the identity number as delivered, trimmed and upper-cased, materialized), and the
accuracy of the links and of the published warnings against bench/data/<size>/truth.
The run state travels between the children as a pickle in the output folder.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench.accuracy import link_figures

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
OUT = BENCH / "out"
SEED = 20261129
RUN_DATE = date(2026, 11, 30)
POLICY = "sample"
BENCH_KEY = "fanpin-benchmark-key-synthetic-data-only"
SIZES = {
    "tiny": 300,
    "county": 60_000,
    "county100k": 100_000,
    "city": 1_000_000,
    "province": 5_000_000,
}
DEPARTMENTS = ("roster", "health", "medical", "housing", "disability")
STAMP = "stamp.json"


# --------------------------------------------------------------------------- children


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["FANPIN_HASH_KEY"] = BENCH_KEY
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH.parent), env.get("PYTHONPATH", "")])
    env.setdefault("PREFECT_HOME", str(BENCH.parent / ".prefect"))
    env.setdefault("GX_ANALYTICS_ENABLED", "False")
    return env


MIN_AVAILABLE_GB = 1.5  # the machine is shared: stop a child before the OOM killer picks


def _guard(pid: int, done: Any, tripped: list[float]) -> None:
    """Kill our own child when the machine runs out of memory (other work shares it).

    Never reaps (no poll/wait here): wait4 in the caller must get the child's rusage.
    """
    import signal

    import psutil

    while not done.wait(0.25):
        available = psutil.virtual_memory().available
        if available < MIN_AVAILABLE_GB * 2**30:
            tripped.append(available / 2**30)
            os.kill(pid, signal.SIGKILL)
            return


def _spawn(args: list[str], log: Path) -> dict[str, Any]:
    """Run `python -m bench.pipeline <args>` in a fresh process; its JSON result and maxrss.

    The child writes its result to a file (so stdout can stay for logs); ru_maxrss comes from
    wait4 on that very child, so a stage killed for memory still reports how far it got.
    """
    import threading

    result_path = log.with_suffix(".json")
    result_path.unlink(missing_ok=True)
    started = time.perf_counter()
    tripped: list[float] = []
    with log.open("w") as out:
        command = [sys.executable, "-m", "bench.pipeline", *args, "--result", str(result_path)]
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=BENCH.parent, env=_child_env()
        )
        done = threading.Event()
        guard = threading.Thread(target=_guard, args=(proc.pid, done, tripped), daemon=True)
        guard.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
    proc.returncode = os.waitstatus_to_exitcode(status)
    guard.join()
    process_s = time.perf_counter() - started
    result: dict[str, Any] = {}
    if result_path.exists():
        result = json.loads(result_path.read_text())
    result["process_s"] = round(process_s, 2)
    result["peak_rss_gb"] = round(usage.ru_maxrss / 2**20, 3)
    result["exit_code"] = proc.returncode
    if tripped:
        result["killed_by_memory_guard"] = f"machine had {tripped[0]:.1f} GB available"
    if proc.returncode != 0:
        result["error"] = log.read_text(errors="replace")[-2000:]
    return result


def _finish(result: dict[str, Any], path: str) -> None:
    Path(path).write_text(json.dumps(result, ensure_ascii=False, default=str))


# --------------------------------------------------------------------------- data


def data_dir(size: str, root: Path = DATA) -> Path:
    return root / size


def _stamp(size: str, people: int) -> dict[str, Any]:
    return {
        "size": size,
        "people": people,
        "seed": SEED,
        "run_date": RUN_DATE.isoformat(),
        "formats": "fast",
        # chunked data made before the chunks drew ids from disjoint bands is regenerated
        **({"ids": "disjoint"} if people > CHUNK_PEOPLE else {}),
    }


CHUNK_PEOPLE = 1_000_000  # the generator holds ~3.4 GB per million people in memory


def _generate_child(people: int, folder: str) -> dict[str, Any]:
    """Generate in this (child) process; keep each roster row's true id for the accuracy.

    Above CHUNK_PEOPLE the world is generated in chunks of households with seeds SEED + i
    and appended (5M people at once needs ~17 GB): household ids get the chunk number in
    their 7th digit and record ids a `-c<i>` suffix so they stay unique. Identity numbers are
    drawn from a band of sequence numbers of each chunk's own (`GeneratorParams.id_stripe`),
    so no two people of the province share one, as in a dataset generated in one piece.
    """
    chunks = max(1, -(-people // CHUNK_PEOPLE))
    root = Path(folder)
    t0 = time.perf_counter()
    write_s, rows, reasons = 0.0, dict.fromkeys(DEPARTMENTS, 0), 0
    for i in range(chunks):
        share = people // chunks + (1 if i < people % chunks else 0)
        w, counts, n_reasons = _generate_chunk(share, i, chunks, root, rows["roster"])
        write_s += w
        rows = {d: rows[d] + counts[d] for d in DEPARTMENTS}
        reasons += n_reasons
    return {
        "generate_s": round(time.perf_counter() - t0 - write_s, 2),
        "write_s": round(write_s, 2),
        "rows": rows,
        "reasons": reasons,
        "chunks": chunks,
    }


def _chunk_ids(frame: Any, i: int, chunks: int) -> Any:
    """Household and record ids unique across chunks (unchanged with a single chunk)."""
    import polars as pl

    if chunks == 1:
        return frame
    exprs = []
    if "household_id" in frame.columns:
        hh = pl.col("household_id")
        exprs.append(
            pl.concat_str(hh.str.slice(0, 6), pl.lit(str(i)), hh.str.slice(7)).alias("household_id")
        )
    if "record_id" in frame.columns:
        exprs.append(pl.concat_str(pl.col("record_id"), pl.lit(f"-c{i}")).alias("record_id"))
    return frame.with_columns(exprs)


def _append_csv(frame: Any, path: Path, first: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb" if first else "ab") as out:
        frame.write_csv(out, include_header=first, float_precision=2)


def _append_parquet(frame: Any, path: Path, i: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path.with_name(f"{path.stem}.part{i}.parquet"), compression="zstd")


def _generate_chunk(
    people: int, i: int, chunks: int, root: Path, roster_offset: int
) -> tuple[float, dict[str, int], int]:
    import polars as pl

    from fanpin.generator import generate
    from fanpin.generator.params import GeneratorParams

    # disjoint id bands per chunk: no id number is drawn twice across the province
    ds = generate(people, SEED + i, RUN_DATE, GeneratorParams(id_stripe=(i, chunks)))
    t = time.perf_counter()
    counts = {}
    for d in DEPARTMENTS:
        frame = ds.department(d)
        counts[d] = frame.height
        _append_csv(_chunk_ids(frame, i, chunks), root / "inbox" / d / f"{d}.csv", i == 0)
    truth = root / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    people_frame = pl.DataFrame(
        {
            "roster_row": pl.int_range(roster_offset, roster_offset + ds.roster.height, eager=True),
            "true_id": ds.people["id_number"].head(ds.roster.height),
        }
    )
    parts = {
        "links": _chunk_ids(ds.links, i, chunks),
        "reasons": _chunk_ids(ds.reasons, i, chunks),
        "roster_people": people_frame,
    }
    for name, frame in parts.items():
        if chunks == 1:
            frame.write_parquet(truth / f"{name}.parquet", compression="zstd")
        else:
            _append_parquet(frame, truth / f"{name}.parquet", i)
    if chunks > 1 and i == chunks - 1:
        for name in parts:
            files = sorted(truth.glob(f"{name}.part*.parquet"))
            pl.concat([pl.read_parquet(f) for f in files]).write_parquet(
                truth / f"{name}.parquet", compression="zstd"
            )
            for f in files:
                f.unlink()
    return time.perf_counter() - t, counts, ds.reasons.height


def ensure_data(
    size: str, people: int | None = None, data_root: Path = DATA, log: bool = True
) -> dict[str, Any]:
    """Generate bench/data/<size> unless a matching stamp says it is already there."""
    people = people if people is not None else SIZES[size]
    root = data_dir(size, data_root)
    want = _stamp(size, people)
    stamp_path = root / STAMP
    if stamp_path.exists():
        have = json.loads(stamp_path.read_text())
        if {k: have.get(k) for k in want} == want:
            return dict(have)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    if log:
        print(f"[bench] generating {size} ({people} people) into {root}", flush=True)
    res = _spawn(
        ["generate", "--people", str(people), "--folder", str(root)], root / "generate.log"
    )
    if res["exit_code"] != 0:
        raise RuntimeError(f"generator failed for {size}: {res.get('error', '')[-500:]}")
    stamp = {
        **want,
        **{
            k: res[k]
            for k in (
                "generate_s",
                "write_s",
                "rows",
                "reasons",
                "chunks",
                "process_s",
                "peak_rss_gb",
            )
        },
    }
    csv_bytes = sum(p.stat().st_size for p in (root / "inbox").rglob("*.csv"))
    stamp["input_mb"] = round(csv_bytes / 2**20, 1)
    stamp_path.write_text(json.dumps(stamp, indent=2))
    return stamp


# --------------------------------------------------------------------------- stages


def _context(inbox: str, output: str) -> Any:
    from fanpin.context import RunContext

    return RunContext(
        inbox=Path(inbox), output=Path(output), run_date=RUN_DATE, policy=POLICY, run_id="bench"
    )


PRELOAD = {
    "ingest": ["fanpin.ingest"],
    "validate": ["fanpin.quality"],
    "link": ["fanpin.linking", "pandas"],  # pandas: imported by GX before link in a nightly run
    "score": ["fanpin.policy", "transforms.scoring"],
    "publish": ["fanpin.quality", "fanpin.report"],
}


def _preload(stage: str) -> None:
    """Import what the stage imports lazily (GX alone takes 10-25 s), so the stage clock
    measures work, as in the nightly process where each import happens once."""
    import importlib

    for module in PRELOAD.get(stage.partition(":")[0], []):
        importlib.import_module(module)


def _state_path(output: str) -> Path:
    return Path(output) / "bench-state.pkl"


def _load_state(output: str) -> Any:
    return pickle.loads(_state_path(output).read_bytes())


def _save_state(output: str, state: Any) -> None:
    _state_path(output).write_bytes(pickle.dumps(state))


def _do_stage(stage: str, ctx: Any, output: str) -> dict[str, Any]:
    """One stage of fanpin.stages; returns what the benchmark reports about it."""
    from fanpin import stages

    name, _, dept = stage.partition(":")
    if name == "start":
        _save_state(output, stages.start(ctx, None))
        return {}
    state = _load_state(output)
    info: dict[str, Any] = {}
    if name == "ingest":
        res = stages.ingest(ctx, dept, reuse=False)
        state.record_ingest(dept, res)
        info = {"status": res.get("status"), "rows": _ingest_rows(res)}
    elif name == "validate":
        info = {"departments": {}}
        for d in state.delivered():
            t = time.perf_counter()
            res = stages.validate(ctx, d)
            state.record_validation(d, res)
            info["departments"][d] = {
                "seconds": round(time.perf_counter() - t, 2),
                "held_back": res.get("held_back"),
            }
    elif name == "link":
        state.matching = stages.link(ctx, [d for d in state.accepted() if d != "roster"])
    elif name == "score":
        state.scoring = stages.score(ctx, [d for d in state.accepted() if d != "roster"])
        info = dict(state.scoring)
    elif name == "publish":
        manifest = stages.publish(ctx, state)
        info = {"status": manifest.get("status"), "warnings": manifest.get("warnings")}
    _save_state(output, state)
    return info


def _ingest_rows(res: dict[str, Any]) -> dict[str, int]:
    files = res.get("files") or []
    keys = ("rows_read", "rows_staged", "rows_quarantined")
    return {k: sum(int(f.get(k) or 0) for f in files) for k in keys if any(k in f for f in files)}


def _stage_child(stage: str, inbox: str, output: str) -> dict[str, Any]:
    import psutil

    _preload(stage)
    ctx = _context(inbox, output)
    rss0 = psutil.Process().memory_info().rss
    t0, c0 = time.perf_counter(), time.process_time()
    info = _do_stage(stage, ctx, output)
    return {
        "stage": stage,
        "seconds": round(time.perf_counter() - t0, 3),
        "cpu_s": round(time.process_time() - c0, 3),
        "baseline_rss_gb": round(rss0 / 2**30, 3),
        **info,
    }


def stage_plan() -> list[str]:
    return ["start", *[f"ingest:{d}" for d in DEPARTMENTS], "validate", "link", "score", "publish"]


def run_stages(inbox: Path, output: Path, log_dir: Path) -> dict[str, Any]:
    """Every stage in its own child, in the nightly order; stops at the first failure."""
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    stages: dict[str, Any] = {}
    for stage in stage_plan():
        print(f"[bench]   stage {stage} ...", end=" ", flush=True)
        res = _spawn(
            ["stage", "--stage", stage, "--inbox", str(inbox), "--output", str(output)],
            log_dir / f"stage-{stage.replace(':', '-')}.log",
        )
        stages[stage] = res
        failed = "" if res["exit_code"] == 0 else f"  FAILED (exit {res['exit_code']})"
        print(
            f"{res.get('seconds', float('nan')):.1f}s peak {res['peak_rss_gb']:.2f} GB{failed}",
            flush=True,
        )
        if res["exit_code"] != 0:
            break
    ok = all(s["exit_code"] == 0 for s in stages.values()) and len(stages) == len(stage_plan())
    timed = [s for name, s in stages.items() if name != "start"]
    return {
        "stages": stages,
        "ok": ok,
        "total_s": round(sum(s.get("seconds", 0.0) for s in timed), 2),
        "total_cpu_s": round(sum(s.get("cpu_s", 0.0) for s in timed), 2),
        "total_process_s": round(sum(s["process_s"] for s in stages.values()), 2),
        "peak_rss_gb": max(s["peak_rss_gb"] for s in stages.values()),
    }


# --------------------------------------------------------------------------- floor


def _floor_child(inbox: str) -> dict[str, Any]:
    """DuckDB alone: read the CSVs, exact-join every department to the roster, materialized."""
    import duckdb

    con = duckdb.connect()
    root = Path(inbox)
    t0, c0 = time.perf_counter(), time.process_time()
    con.execute(
        "CREATE TABLE roster AS SELECT *, upper(trim(id_number)) AS id_key "
        "FROM read_csv(?, all_varchar = true, header = true)",
        [str(root / "roster" / "roster.csv")],
    )
    rows: dict[str, int] = {}
    for dept in DEPARTMENTS[1:]:
        con.execute(
            f'CREATE TABLE "joined_{dept}" AS SELECT d.*, r.household_id AS roster_household, '
            "r.id_number AS roster_id FROM read_csv(?, all_varchar = true, header = true) d "
            "LEFT JOIN roster r ON r.id_key = upper(trim(d.id_number))",
            [str(root / dept / f"{dept}.csv")],
        )
        found = con.execute(f'SELECT count(*), count(roster_id) FROM "joined_{dept}"').fetchone()
        rows[dept] = int(found[0]) if found else 0
        rows[f"{dept}_joined"] = int(found[1]) if found else 0
    return {
        "seconds": round(time.perf_counter() - t0, 3),
        "cpu_s": round(time.process_time() - c0, 3),
        "rows": rows,
    }


# --------------------------------------------------------------------------- accuracy

_SCORED = """
CREATE TABLE scored AS
WITH refs AS (
    SELECT s.person_ref, p.true_id FROM read_parquet($roster) s
    JOIN read_parquet($people) p ON p.roster_row = s.source_line - 2
)
SELECT t.department, t.noise, l.match_status, l.match_method,
       t.true_person IS NOT NULL AND t.clue AS relevant,
       l.match_status = 'linked' AS linked,
       coalesce(l.match_status = 'linked' AND r.true_id = t.true_person, false) AS correct,
       t.clue
FROM read_parquet($truth) t
LEFT JOIN read_parquet($links) l USING (department, record_id)
LEFT JOIN refs r ON r.person_ref = l.person_ref
"""
_AGG = (
    "count(*), count(*) FILTER (WHERE linked), count(*) FILTER (WHERE correct), "
    "count(*) FILTER (WHERE relevant), count(*) FILTER (WHERE relevant AND correct), "
    "count(*) FILTER (WHERE match_status = 'review'), "
    "count(*) FILTER (WHERE linked AND NOT clue), count(*) FILTER (WHERE match_status IS NULL)"
)


def _figures(row: tuple[Any, ...] | None) -> dict[str, Any]:
    *counts, missing = [int(v or 0) for v in (row or (0,) * 8)]
    return {**link_figures(counts), "relevant": counts[3], "missing_in_links": missing}


def linking_accuracy(con: Any, truth: Path, work: Path) -> dict[str, Any]:
    """Precision over linked, recall over clue-carrying records about roster people."""
    con.execute(
        _SCORED,
        {
            "roster": str(work / "staged" / "roster.parquet"),
            "people": str(truth / "roster_people.parquet"),
            "truth": str(truth / "links.parquet"),
            "links": str(work / "linked" / "links" / "*.parquet"),
        },
    )
    out: dict[str, Any] = {"all": _figures(con.execute(f"SELECT {_AGG} FROM scored").fetchone())}
    for key in ("department", "match_method", "noise"):
        rows = con.execute(f"SELECT {key}, {_AGG} FROM scored GROUP BY ALL ORDER BY 1").fetchall()
        out[f"by_{key}"] = {str(r[0]): _figures(r[1:]) for r in rows}
    return out


def _blind_households(con: Any, truth: Path, links: Path | None) -> None:
    """Households with a record about a member that carries no identity clue and is unlinked
    (`links`: the run's links folder, a file per department).

    The truth reasons are computed from who each record is really about; a record with a
    blank id (noise `id_blank`) cannot be linked safely, so its reason cannot fire (a miss) or
    a later record that would have cleared one is not seen (a false alarm).
    """
    if links is None or not any(links.glob("*.parquet")):
        con.execute("CREATE OR REPLACE TABLE blind (household_id VARCHAR)")
        return
    con.execute(
        "CREATE OR REPLACE TABLE blind AS SELECT DISTINCT t.household_id "
        "FROM read_parquet($t) t LEFT JOIN read_parquet($l) l USING (department, record_id) "
        "WHERE t.true_person IS NOT NULL AND NOT t.clue "
        "AND coalesce(l.match_status, '') <> 'linked'",
        {"t": str(truth / "links.parquet"), "l": str(links / "*.parquet")},
    )


def scoring_accuracy(
    con: Any, truth: Path, published: Path, links: Path | None = None
) -> dict[str, Any]:
    """Per reason code: precision and recall of the published (household, code) pairs.

    With `links`, also how many misses / false alarms fall in households with an unlinked
    no-clue record (`fn_blind`, `fp_blind`) and the figures without those (`*_linkable`).
    """
    _blind_households(con, truth, links)
    con.execute(
        "CREATE OR REPLACE TABLE got AS SELECT DISTINCT household_id, unnest(reason_codes) AS code "
        "FROM read_parquet($p)",
        {"p": str(published)},
    )
    con.execute(
        "CREATE OR REPLACE TABLE want AS SELECT DISTINCT household_id, code FROM read_parquet($t)",
        {"t": str(truth / "reasons.parquet")},
    )
    rows = con.execute(
        "SELECT code, count(*) FILTER (WHERE g.h IS NOT NULL AND w.h IS NOT NULL), "
        "count(*) FILTER (WHERE w.h IS NULL), count(*) FILTER (WHERE g.h IS NULL), "
        "count(*) FILTER (WHERE w.h IS NULL AND b.household_id IS NOT NULL), "
        "count(*) FILTER (WHERE g.h IS NULL AND b.household_id IS NOT NULL) "
        "FROM (SELECT household_id, code, household_id AS h FROM got) g "
        "FULL JOIN (SELECT household_id, code, household_id AS h FROM want) w "
        "USING (household_id, code) LEFT JOIN blind b USING (household_id) "
        "GROUP BY code ORDER BY code"
    ).fetchall()
    return {
        str(code): _code_figures(tp, fp, fn, fp_b, fn_b) for code, tp, fp, fn, fp_b, fn_b in rows
    }


def _ratio(num: int, den: int) -> float:
    return round(num / den, 6) if den else 1.0


def _code_figures(tp: int, fp: int, fn: int, fp_blind: int, fn_blind: int) -> dict[str, Any]:
    return {
        "true": tp + fn,
        "published": tp + fp,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "fp_blind": fp_blind,
        "fn_blind": fn_blind,
        "precision_linkable": _ratio(tp, tp + fp - fp_blind),
        "recall_linkable": _ratio(tp, tp + fn - fn_blind),
    }


def _accuracy_child(data: str, output: str) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    truth = Path(data) / "truth"
    work = Path(output) / "work" / RUN_DATE.isoformat()
    t0 = time.perf_counter()
    published = (
        Path(output)
        / "latest"
        / "published"
        / "warnings"
        / f"run_date={RUN_DATE.isoformat()}"
        / "part-0.parquet"
    )
    res: dict[str, Any] = {"linking": linking_accuracy(con, truth, work)}
    res["scoring"] = (
        scoring_accuracy(con, truth, published, work / "linked" / "links")
        if published.exists()
        else None
    )
    res["seconds"] = round(time.perf_counter() - t0, 2)
    return res


# --------------------------------------------------------------------------- targets


def targets(result: dict[str, Any]) -> dict[str, Any]:
    """The acceptance targets that this size's numbers can decide (None: not applicable)."""
    out: dict[str, Any] = {}
    acc = result.get("accuracy") or {}
    link = (acc.get("linking") or {}).get("all")
    if link:
        out["linking_precision>=0.999"] = link["precision"] >= 0.999
        out["linking_recall>=0.995"] = link["recall"] >= 0.995
        out["review_share<0.01"] = link["review_share"] < 0.01
    codes = acc.get("scoring")
    if codes:
        out["every_code_precision>=0.99"] = all(c["precision"] >= 0.99 for c in codes.values())
        out["every_code_recall>=0.99"] = all(c["recall"] >= 0.99 for c in codes.values())
    pipe, floor = result.get("pipeline") or {}, result.get("floor") or {}
    if pipe.get("ok") and floor.get("seconds"):
        out["total<=3x_floor"] = result["ratio_vs_floor"] <= 3.0
    if result.get("size") == "province" and pipe.get("ok"):
        out["province<15min"] = pipe["total_s"] < 900
        out["province<12GB"] = pipe["peak_rss_gb"] < 12
    return out


# --------------------------------------------------------------------------- run


def run(
    size: str = "county",
    people: int | None = None,
    keep_data: bool = False,
    accuracy: bool = True,
    data_root: Path = DATA,
    out_root: Path = OUT,
) -> dict[str, Any]:
    """Generate (once), run the stages, the floor and the accuracy; one dict for the JSON.

    `keep_data` keeps the run's output (bench/out/<size>: work folder, published tables);
    the generated inbox and truth under bench/data/<size> are always kept for reuse.
    """
    stamp = ensure_data(size, people, data_root)
    data, output = data_dir(size, data_root), out_root / size
    logs = out_root / f"{size}-logs"
    print(
        f"[bench] pipeline {size}: {stamp['people']} people, "
        f"{sum(stamp['rows'].values())} rows, {stamp['input_mb']} MB of CSV",
        flush=True,
    )
    result: dict[str, Any] = {"size": size, "people": stamp["people"], "data": stamp}
    result["pipeline"] = run_stages(data / "inbox", output, logs)
    print("[bench]   floor (DuckDB read + exact join) ...", end=" ", flush=True)
    result["floor"] = _spawn(["floor", "--inbox", str(data / "inbox")], logs / "floor.log")
    print(f"{result['floor'].get('seconds', float('nan')):.1f}s", flush=True)
    if result["pipeline"]["ok"] and result["floor"].get("seconds"):
        ratio = result["pipeline"]["total_s"] / result["floor"]["seconds"]
        result["ratio_vs_floor"] = round(ratio, 2)
    if accuracy and result["pipeline"]["stages"].get("link", {}).get("exit_code") == 0:
        result["accuracy"] = _spawn(
            ["accuracy", "--data", str(data), "--output", str(output)], logs / "accuracy.log"
        )
    result["targets"] = targets(result)
    if not keep_data:
        shutil.rmtree(output, ignore_errors=True)
    return result


def _main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.pipeline", description=(__doc__ or "").splitlines()[0]
    )
    p.add_argument("command", choices=["generate", "stage", "floor", "accuracy", "run"])
    p.add_argument("--people", type=int)
    p.add_argument("--folder")
    p.add_argument("--stage")
    p.add_argument("--inbox")
    p.add_argument("--output")
    p.add_argument("--data")
    p.add_argument("--size", default="county")
    p.add_argument("--result")
    a = p.parse_args(argv)
    if a.command == "run":
        print(json.dumps(run(a.size, a.people, keep_data=True), indent=2, default=str))
        return 0
    if a.command == "generate":
        res = _generate_child(a.people, a.folder)
    elif a.command == "stage":
        res = _stage_child(a.stage, a.inbox, a.output)
    elif a.command == "floor":
        res = _floor_child(a.inbox)
    else:
        res = _accuracy_child(a.data, a.output)
    res["self_maxrss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)
    _finish(res, a.result)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
