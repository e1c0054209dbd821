"""Smoke test of the benchmark harness at 300 people, so `make bench` does not rot.

The stages are called in this process (the harness calls the same function in a child per
stage; spawning ten children would cost a minute of imports), the floor through a real child.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from bench import pipeline
from bench.__main__ import save
from bench.render import render

PEOPLE = 300


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generate a 300-person inbox and run every stage on it, as the harness does."""
    root = tmp_path_factory.mktemp("bench")
    pipeline.ensure_data("tiny", PEOPLE, data_root=root / "data", log=False)
    inbox, out = root / "data" / "tiny" / "inbox", root / "out"
    out.mkdir()
    for stage in pipeline.stage_plan():
        pipeline._stage_child(stage, str(inbox), str(out))
    return {"data": root / "data" / "tiny", "out": out, "root": root}


def test_data_is_generated_once_and_reused(bench_run: dict[str, Path]) -> None:
    """A second ensure_data with the same size and people reuses the stamped inbox."""
    stamp = json.loads((bench_run["data"] / pipeline.STAMP).read_text())
    again = pipeline.ensure_data("tiny", PEOPLE, data_root=bench_run["root"] / "data", log=False)
    assert again == stamp
    assert stamp["rows"]["roster"] == PEOPLE
    assert (bench_run["data"] / "truth" / "roster_people.parquet").exists()


def test_accuracy_is_perfect_on_the_tiny_inbox(bench_run: dict[str, Path]) -> None:
    """Links and published warnings are scored against the truth, per department and code."""
    acc = pipeline._accuracy_child(str(bench_run["data"]), str(bench_run["out"]))
    link = acc["linking"]["all"]
    assert link["records"] > PEOPLE and link["missing_in_links"] == 0
    assert link["precision"] >= 0.99 and link["recall"] >= 0.99
    assert set(acc["linking"]["by_department"]) == {"health", "medical", "housing", "disability"}
    assert acc["scoring"] and all(c["recall"] >= 0.9 for c in acc["scoring"].values())


def test_floor_runs_in_a_child_and_reports_peak_memory(bench_run: dict[str, Path]) -> None:
    """The DuckDB floor reads every CSV and joins each department; wait4 gives its peak RSS."""
    res = pipeline._spawn(
        ["floor", "--inbox", str(bench_run["data"] / "inbox")], bench_run["root"] / "floor.log"
    )
    assert res["exit_code"] == 0, res.get("error")
    assert res["rows"]["medical"] > res["rows"]["medical_joined"] > 0
    assert res["peak_rss_gb"] > 0.01


def test_scoring_accuracy_counts_false_positives_and_misses(tmp_path: Path) -> None:
    """A code published for the wrong household is one false positive and one miss."""
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM (VALUES ('H1', 'A'), ('H2', 'A')) t(household_id, code)) "
        f"TO '{tmp_path / 'reasons.parquet'}'"
    )
    con.execute(
        f"COPY (SELECT * FROM (VALUES ('H1', ['A']), ('H3', ['A'])) t(household_id, "
        f"reason_codes)) TO '{tmp_path / 'w.parquet'}'"
    )
    codes = pipeline.scoring_accuracy(con, tmp_path, tmp_path / "w.parquet")
    assert {k: codes["A"][k] for k in ("true", "published", "tp", "fp", "fn")} == {
        "true": 2,
        "published": 2,
        "tp": 1,
        "fp": 1,
        "fn": 1,
    }
    assert codes["A"]["precision"] == codes["A"]["recall"] == 0.5


def test_results_render_into_benchmarks_md(bench_run: dict[str, Path], tmp_path: Path) -> None:
    """A saved pipeline result renders with its stage table and the acceptance table."""
    stamp = json.loads((bench_run["data"] / pipeline.STAMP).read_text())
    stage = {"seconds": 1.0, "cpu_s": 1.0, "peak_rss_gb": 0.5, "process_s": 2.0, "exit_code": 0}
    result = {
        "size": "tiny",
        "people": PEOPLE,
        "data": stamp,
        "pipeline": {
            "stages": {"link": stage},
            "ok": True,
            "total_s": 1.0,
            "total_cpu_s": 1.0,
            "total_process_s": 2.0,
            "peak_rss_gb": 0.5,
        },
        "floor": {"seconds": 0.5, "peak_rss_gb": 0.2},
        "ratio_vs_floor": 2.0,
        "accuracy": pipeline._accuracy_child(str(bench_run["data"]), str(bench_run["out"])),
    }
    save("tiny", "pipeline", PEOPLE, result, 3.0, results=tmp_path)
    text = render(tmp_path)
    assert "## Acceptance targets" in text and "| link |" in text
    assert "pipeline/floor = **2.0x**" in text and "SEVERE_DISABILITY" in text


def test_chunked_generation_keeps_ids_unique(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the chunk size the inbox is appended chunk by chunk with unique record ids."""
    import polars as pl

    monkeypatch.setattr(pipeline, "CHUNK_PEOPLE", 150)
    res = pipeline._generate_child(PEOPLE, str(tmp_path))
    assert res["chunks"] == 2 and res["rows"]["roster"] == PEOPLE
    medical = pl.read_csv(tmp_path / "inbox" / "medical" / "medical.csv", infer_schema=False)
    truth = pl.read_parquet(tmp_path / "truth" / "links.parquet")
    assert medical.height == res["rows"]["medical"] == medical["record_id"].n_unique()
    assert truth.filter(pl.col("department") == "medical").height == medical.height
    people = pl.read_parquet(tmp_path / "truth" / "roster_people.parquet")
    assert people["roster_row"].to_list() == list(range(PEOPLE))
    assert people["true_id"].n_unique() == PEOPLE  # chunks draw ids from disjoint bands


def test_ingest_targets_are_judged_at_the_largest_run(tmp_path: Path) -> None:
    """Issue 2's rows use the ingest result with the most rows and the largest identity run."""
    from bench.render import acceptance_rows, load_results

    def ingest(rows: int, utf8: float, gb: float) -> dict[str, object]:
        return {"rows": rows, "median": {"ratio_utf8": utf8, "ratio_gb18030": gb}}

    save("county", "ingest", 100, ingest(360_000, 9.0, 9.0), 1.0, results=tmp_path)
    save("medical10M", "ingest", 0, ingest(10_000_000, 1.9, 3.5), 1.0, results=tmp_path)
    ids = {"ids": {"n": 5_000_000, "eager_ids_per_s": 8_000_000}}
    save("city", "identity", 100, ids, 1.0, results=tmp_path)
    rows = {r[0]: r for r in acceptance_rows(load_results(tmp_path))}
    assert rows["ingest UTF-8 ≤ 2.0x DuckDB"][2:] == ["1.9x", "**holds**"]
    assert rows["ingest GB18030 ≤ 3.0x DuckDB"][1:] == [
        "10,000,000 medical rows",
        "3.5x",
        "**does not hold**",
    ]
    assert rows["identity ≥ 5,000,000 ids/s"][3] == "**holds**"
    assert "### ingest (10,000,000 rows" in render(tmp_path)
