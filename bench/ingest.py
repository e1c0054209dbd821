"""Ingest benchmark: a synthetic medical CSV (UTF-8 and GB18030) through `ingest_department`,
against DuckDB alone loading the same file (`CREATE TABLE t AS SELECT * FROM read_csv(...)`).

Acceptance (issue 2): UTF-8 ingest <= 2x the DuckDB load, GB18030 <= 3x, bounded memory.
Every measured step runs in a fresh process (spawn) so its peak RSS is its own.

    .venv/bin/python -m bench.ingest --rows 10000000
"""

from __future__ import annotations

import argparse
import codecs
import json
import multiprocessing as mp
import os
import resource
import shutil
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fanpin.generator.files import MEDICAL_HEADERS

DATA = Path(__file__).resolve().parent / "data" / "ingest"
_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红")


def _id_pool(rng: np.random.Generator, n: int) -> list[str]:
    """n valid 18-char identity numbers (address, birth date, sequence, check char)."""
    area = rng.choice([500222, 500110, 510411, 130727], n)
    birth = (np.datetime64("1940-01-01") + rng.integers(0, 25_000, n)).astype("datetime64[D]")
    ymd = np.char.replace(np.datetime_as_string(birth), "-", "")
    seq = rng.integers(0, 1000, n)
    first17 = np.char.add(np.char.add(area.astype(str), ymd), np.char.zfill(seq.astype(str), 3))
    digits = np.frombuffer("".join(first17.tolist()).encode(), dtype=np.uint8).reshape(n, 17) - 48
    check = np.array(list("10X98765432"))[(digits @ _WEIGHTS) % 11]
    return [str(v) for v in np.char.add(first17, check).tolist()]


def _names(rng: np.random.Generator, n: int) -> list[str]:
    s = np.array(_SURNAMES)[rng.integers(0, len(_SURNAMES), n)]
    g1 = np.array(_GIVEN)[rng.integers(0, len(_GIVEN), n)]
    g2 = np.where(rng.random(n) < 0.6, np.array(_GIVEN)[rng.integers(0, len(_GIVEN), n)], "")
    return [str(v) for v in np.char.add(np.char.add(s, g1), g2).tolist()]


def make_medical_csv(path: Path, rows: int, seed: int = 7, chinese_headers: bool = True) -> Path:
    """Write a synthetic medical-settlement CSV (UTF-8): realistic widths, a few quirks."""
    rng = np.random.default_rng(seed)
    people = 200_000
    pick = pl.Series(rng.integers(0, people, rows))
    ids = pl.Series(_id_pool(rng, people)).gather(pick)
    names = pl.Series(_names(rng, people)).gather(pick)
    day = pl.Series(rng.integers(0, 1500, rows)).cast(pl.Int32)
    total = rng.gamma(2.0, 900.0, rows).round(2)
    fund = (total * rng.uniform(0.5, 0.9, rows)).round(2)
    frame = pl.DataFrame(
        {
            "record_id": pl.int_range(0, rows, eager=True).cast(pl.Utf8).str.zfill(10),
            "name": names,
            "id_number": ids,
            "settled_on": day,
            "visit_type": pl.Series(["住院", "门诊", "门诊慢特病", "普通门诊"]).gather(
                pl.Series(rng.integers(0, 4, rows))
            ),
            "total_cost": total,
            "fund_paid": fund,
            "out_of_pocket": (total - fund).round(2),
            "institution": pl.Series(
                ["綦江区人民医院", "綦江区中医院", "古南街道社区卫生服务中心"]
            ).gather(pl.Series(rng.integers(0, 3, rows))),
        }
    ).with_columns(
        (pl.lit(date(2021, 1, 1)) + pl.duration(days=pl.col("settled_on")))
        .dt.strftime("%Y-%m-%d")
        .alias("settled_on"),
        ("M" + pl.col("record_id")).alias("record_id"),
    )
    if chinese_headers:
        frame = frame.rename(MEDICAL_HEADERS)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path


def to_gb18030(src: Path, dst: Path) -> Path:
    """Re-encode a UTF-8 file as GB18030 (streamed; not part of any measurement)."""
    dec = codecs.getincrementaldecoder("utf-8")()
    with src.open("rb") as fin, dst.open("wb") as fout:
        while chunk := fin.read(8 << 20):
            fout.write(dec.decode(chunk).encode("gb18030"))
    return dst


class _RssSampler:
    """Peak resident memory of this process, sampled every 20 ms.

    `ru_maxrss` is useless here: a spawned child starts as a fork of the parent, so its
    high-water mark includes whatever the parent held at that moment.
    """

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def stop_mb(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(float(max(self.peak, self._proc.memory_info().rss)) / 2**20, 1)


def _cpu_seconds() -> float:
    """User + system CPU of this process (all threads): steadier than wall time on a busy box."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(start: float, cpu0: float, rss: _RssSampler) -> dict[str, float]:
    return {
        "seconds": round(time.perf_counter() - start, 2),
        "cpu_seconds": round(_cpu_seconds() - cpu0, 2),
        "peak_rss_mb": rss.stop_mb(),
    }


def _generate(utf8: str, gb: str, rows: str, seed: str, out: Any) -> None:
    make_medical_csv(Path(utf8), int(rows), int(seed))
    to_gb18030(Path(utf8), Path(gb))
    out.put({})


def _duckdb_load(path: str, out: Any) -> None:
    import duckdb

    con = duckdb.connect()
    rss = _RssSampler()
    start, cpu0 = time.perf_counter(), _cpu_seconds()
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv($p)", {"p": path}).fetchall()
    out.put(_timed(start, cpu0, rss))


def _duckdb_parquet(path: str, target: str, out: Any) -> None:
    """Reference, not the target's baseline: DuckDB reading the file and writing it as zstd
    Parquet with nothing else done, i.e. the least any staging to Parquet costs."""
    import duckdb

    con = duckdb.connect()
    rss = _RssSampler()
    start, cpu0 = time.perf_counter(), _cpu_seconds()
    con.sql("SELECT * FROM read_csv($p)", params={"p": path}).write_parquet(
        target, compression="zstd"
    )
    out.put(_timed(start, cpu0, rss))


# The least typing a staged medical file needs, in DuckDB SQL (a reference for the target's
# feasibility, not an ingest: no quarantine, names, duplicates or line numbers): dates in three
# forms, amounts without separators or 元, and the identity number cleaned, shape-checked,
# checksummed and split into birth date, sex and area.
_TYPED_SQL = """
WITH raw AS (
    SELECT * FROM read_csv($p, all_varchar = true, header = true, names = [
        'record_id', 'name', 'id_number', 'settled_on', 'visit_type', 'total_cost',
        'fund_paid', 'out_of_pocket', 'institution'])
), typed AS (
    SELECT record_id, trim(name) AS name, upper(replace(trim(id_number), ' ', '')) AS id_clean,
        try_strptime(settled_on, ['%Y-%m-%d', '%Y/%m/%d', '%Y%m%d'])::DATE AS settled_on,
        visit_type, institution,
        TRY_CAST(replace(replace(total_cost, ',', ''), '元', '') AS DOUBLE) AS total_cost,
        TRY_CAST(replace(replace(fund_paid, ',', ''), '元', '') AS DOUBLE) AS fund_paid,
        TRY_CAST(replace(replace(out_of_pocket, ',', ''), '元', '') AS DOUBLE) AS out_of_pocket
    FROM raw
)
SELECT *, regexp_full_match(id_clean, '[0-9]{17}[0-9X]') AS id_shape,
    list_sum(list_transform(range(17), lambda i: (ascii(id_clean[i + 1]) - 48)
        * [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2][i + 1])) % 11 AS id_mod,
    try_strptime(substr(id_clean, 7, 8), '%Y%m%d')::DATE AS id_birth,
    substr(id_clean, 1, 6) AS id_area,
    CASE WHEN TRY_CAST(substr(id_clean, 17, 1) AS INT) % 2 = 1 THEN 'M' ELSE 'F' END AS id_sex
FROM typed
"""


def _duckdb_typed(path: str, target: str, out: Any) -> None:
    """Reference: DuckDB alone doing the least typing a staged file needs (`_TYPED_SQL`) and
    writing zstd Parquet, on all cores: what the target leaves for any Parquet-staging ingest."""
    import duckdb

    con = duckdb.connect()
    rss = _RssSampler()
    start, cpu0 = time.perf_counter(), _cpu_seconds()
    con.sql(_TYPED_SQL, params={"p": path}).write_parquet(target, compression="zstd")
    out.put(_timed(start, cpu0, rss))


def _ingest(folder: str, out_dir: str, out: Any) -> None:
    from fanpin.ingest import ingest_department
    from fanpin.schema import load_schemas

    schema = load_schemas(Path(__file__).resolve().parents[1] / "schemas")["medical"]
    rss = _RssSampler()
    start, cpu0 = time.perf_counter(), _cpu_seconds()
    result = ingest_department(
        Path(folder), schema, Path(out_dir) / "staged.parquet", Path(out_dir) / "quarantine.parquet"
    )
    out.put(
        {
            **_timed(start, cpu0, rss),
            "status": result.status,
            "rows_loaded": result.rows_loaded,
            "rows_quarantined": result.rows_quarantined,
            "errors": result.errors,
        }
    )


def _transcode(src: str, dst: str, out: Any) -> None:
    from fanpin.readers import transcode_to_utf8

    rss = _RssSampler()
    start, cpu0 = time.perf_counter(), _cpu_seconds()
    transcode_to_utf8(Path(src), Path(dst), "gb18030")
    out.put(_timed(start, cpu0, rss))


def _measure(target: Any, *args: str) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


TARGET_UTF8 = 2.0
TARGET_GB18030 = 3.0


def _median(values: list[float]) -> float:
    return round(float(np.median(values)), 2)


def _round(rows: int, utf8: Path, gb: Path, out: Path) -> dict[str, Any]:
    """One measurement round: DuckDB alone, then both ingests, back to back on the same files."""
    duck = _measure(_duckdb_load, str(utf8))
    duck_parquet = _measure(_duckdb_parquet, str(utf8), str(out / "duckdb.parquet"))
    duck_typed = _measure(_duckdb_typed, str(utf8), str(out / "duckdb_typed.parquet"))
    ing_utf8 = _measure(_ingest, str(utf8.parent), str(out / "utf8"))
    ing_gb = _measure(_ingest, str(gb.parent), str(out / "gb18030"))
    for result in (ing_utf8, ing_gb):
        if result["rows_loaded"] + result["rows_quarantined"] != rows or result["errors"]:
            raise AssertionError(f"ingest lost rows or failed: {result}")
    return {
        "duckdb": duck,
        "duckdb_parquet": duck_parquet,
        "duckdb_typed": duck_typed,
        "utf8": ing_utf8,
        "gb18030": ing_gb,
        "ratio_utf8": round(ing_utf8["seconds"] / duck["seconds"], 2),
        "ratio_duckdb_parquet": round(duck_parquet["seconds"] / duck["seconds"], 2),
        "ratio_duckdb_typed": round(duck_typed["seconds"] / duck["seconds"], 2),
        "ratio_gb18030": round(ing_gb["seconds"] / duck["seconds"], 2),
        "cpu_ratio_utf8": round(ing_utf8["cpu_seconds"] / duck["cpu_seconds"], 2),
        "cpu_ratio_gb18030": round(ing_gb["cpu_seconds"] / duck["cpu_seconds"], 2),
    }


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds (the ratio medians are of the per-round ratios)."""
    summary: dict[str, Any] = {}
    for step in ("duckdb", "duckdb_parquet", "duckdb_typed", "utf8", "gb18030"):
        if not all(step in r for r in rounds):
            continue
        summary[step] = {
            key: _median([r[step][key] for r in rounds])
            for key in ("seconds", "cpu_seconds", "peak_rss_mb")
        }
    for key in (
        "ratio_utf8",
        "ratio_gb18030",
        "cpu_ratio_utf8",
        "cpu_ratio_gb18030",
        "ratio_duckdb_parquet",
        "ratio_duckdb_typed",
    ):
        if all(key in r for r in rounds):
            summary[key] = _median([r[key] for r in rounds])
    summary["meets_utf8"] = summary["ratio_utf8"] <= TARGET_UTF8
    summary["meets_gb18030"] = summary["ratio_gb18030"] <= TARGET_GB18030
    return summary


def run(
    rows: int = 10_000_000, seed: int = 7, keep: bool = False, repeat: int = 3
) -> dict[str, Any]:
    """Generate the files, then `repeat` rounds of: DuckDB alone, UTF-8 ingest, GB18030 ingest.

    Wall time is what the target is about; it is noisy on a shared machine, so every round
    measures the three steps back to back and the report gives the medians (and the CPU
    seconds, which a busy machine disturbs less).
    """
    base = DATA / f"medical_{rows}"
    utf8_dir, gb_dir, out = base / "utf8", base / "gb18030", base / "out"
    for d in (utf8_dir, gb_dir, out):
        d.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    utf8, gb = utf8_dir / "medical.csv", gb_dir / "medical.csv"
    if not (utf8.exists() and gb.exists()):
        _measure(_generate, str(utf8), str(gb), str(rows), str(seed))
    generate = time.perf_counter() - start
    transcode = _measure(_transcode, str(gb), str(out / "transcoded.csv"))
    rounds = [_round(rows, utf8, gb, out) for _ in range(repeat)]
    report = {
        "rows": rows,
        "utf8_mb": round(utf8.stat().st_size / 2**20, 1),
        "gb18030_mb": round(gb.stat().st_size / 2**20, 1),
        "generate_s": round(generate, 2),
        "transcode_gb18030_only": transcode,
        "rounds": rounds,
        "median": _summary(rounds),
        "targets": {"utf8": TARGET_UTF8, "gb18030": TARGET_GB18030},
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return report


def format_report(report: dict[str, Any]) -> str:
    """The report as a table: median wall/CPU/RSS per step, the ratios against the targets."""
    med = report["median"]
    lines = [
        f"ingest benchmark: {report['rows']:,} medical rows, UTF-8 {report['utf8_mb']} MB,"
        f" GB18030 {report['gb18030_mb']} MB; median of {len(report['rounds'])} round(s),"
        f" {report['cpus']} CPUs, load average now {report['load_average']}",
        "",
        f"{'step':<34}{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}",
    ]
    labels = {
        "duckdb": "DuckDB CREATE TABLE (baseline)",
        "duckdb_parquet": "(DuckDB CSV -> zstd Parquet only)",
        "duckdb_typed": "(DuckDB typed -> zstd Parquet)",
        "utf8": "ingest, UTF-8",
        "gb18030": "ingest, GB18030",
    }
    for step, label in labels.items():
        if step not in med:
            continue
        m = med[step]
        lines.append(
            f"{label:<34}{m['seconds']:>9.2f}{m['cpu_seconds']:>9.2f}{m['peak_rss_mb']:>13.0f}"
        )
    t = report["transcode_gb18030_only"]
    lines.append(
        f"{'(GB18030 transcode alone)':<34}{t['seconds']:>9.2f}{t['cpu_seconds']:>9.2f}"
        f"{t['peak_rss_mb']:>13.0f}"
    )
    lines += ["", f"{'ratio to DuckDB':<34}{'wall':>9}{'CPU':>9}{'target':>9}{'':>4}"]
    for enc, key in (("UTF-8", "utf8"), ("GB18030", "gb18030")):
        ok = "ok" if med[f"meets_{key}"] else "MISS"
        lines.append(
            f"{enc:<34}{med['ratio_' + key]:>9.2f}{med['cpu_ratio_' + key]:>9.2f}"
            f"{report['targets'][key]:>9.1f}  {ok}"
        )
    for key, label in (
        ("ratio_duckdb_parquet", "(DuckDB CSV -> Parquet only)"),
        ("ratio_duckdb_typed", "(DuckDB typed -> Parquet)"),
    ):
        if key in med:
            lines.append(f"{label:<34}{med[key]:>9.2f}")
    lines += ["", "per round (wall ratio UTF-8 / GB18030; DuckDB wall s):"]
    for i, r in enumerate(report["rounds"], 1):
        lines.append(
            f"  {i}: {r['ratio_utf8']:.2f} / {r['ratio_gb18030']:.2f}; {r['duckdb']['seconds']:.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument(
        "--save",
        action="store_true",
        help="keep the report as bench/results/medical<N>M-ingest.json (shown in BENCHMARKS.md)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    result = run(rows=args.rows, seed=args.seed, repeat=args.repeat)
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else format_report(result))
    if args.save:
        from bench.__main__ import save

        size = f"medical{args.rows // 1_000_000}M"
        print(f"-> {save(size, 'ingest', 0, result, time.perf_counter() - started)}")
