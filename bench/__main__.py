"""`make bench`: python -m bench --size county|county100k|city|province [--only a,b] [--keep-data].

Runs the pipeline benchmark (stages, floor, accuracy against the truth) and the topic
benchmarks at a named size, prints them, writes bench/results/<size>-<topic>.json and
renders BENCHMARKS.md from every result file there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.machine import machine_info
from bench.pipeline import SIZES
from bench.render import RESULTS, pipeline_text, render_file

TOPICS = (
    "pipeline",
    "identity",
    "ingest",
    "linking",
    "scoring",
    "scoring_truth",
    "quality",
    "splink",
)
DEFAULT = ("pipeline", "identity", "ingest", "linking", "scoring", "scoring_truth", "quality")


def _pipeline(size: str, people: int, keep: bool) -> dict[str, Any]:
    from bench import pipeline

    return pipeline.run(size, people, keep_data=keep)


def _identity(size: str, people: int, keep: bool) -> dict[str, Any]:
    from bench import identity

    n = min(8 * people, 5_000_000)  # about one id per record
    return {"ids": identity.run(n=n), "names": identity.run_names(n=min(n, 1_000_000))}


def _ingest(size: str, people: int, keep: bool) -> dict[str, Any]:
    from bench import ingest

    return ingest.run(rows=6 * people, keep=keep)  # medical: ~6 records per roster person


def _linking(size: str, people: int, keep: bool) -> dict[str, Any]:
    from bench import linking

    return linking.run(people=people, splink=False)


def _splink(size: str, people: int, keep: bool) -> dict[str, Any]:
    """Splink next to the linker on the same tables (bench.splink_baseline, if present)."""
    try:
        from bench import splink_baseline
    except ImportError:
        return {"skipped": "bench/splink_baseline.py is not there"}
    if hasattr(splink_baseline, "run"):
        return dict(splink_baseline.run(people=people))
    from bench import linking

    return linking.run(people=people, splink=True)


def _scoring(size: str, people: int, keep: bool) -> dict[str, Any]:
    from bench import scoring

    return scoring.run(people=people)


def _scoring_truth(size: str, people: int, keep: bool) -> dict[str, Any]:
    from bench import scoring_truth

    return scoring_truth.run(people=people)


def _quality(size: str, people: int, keep: bool) -> dict[str, Any]:
    from bench import quality

    return quality.run(rows=6 * people)


RUNNERS: dict[str, Callable[[str, int, bool], dict[str, Any]]] = {
    "pipeline": _pipeline,
    "identity": _identity,
    "ingest": _ingest,
    "linking": _linking,
    "splink": _splink,
    "scoring": _scoring,
    "scoring_truth": _scoring_truth,
    "quality": _quality,
}


def save(
    size: str,
    topic: str,
    people: int,
    result: dict[str, Any],
    seconds: float,
    results: Path = RESULTS,
) -> Path:
    """bench/results/<size>-<topic>.json with the machine it was measured on."""
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{size}-{topic}.json"
    doc = {
        "size": size,
        "topic": topic,
        "people": people,
        "seconds": round(seconds, 1),
        "machine": machine_info(),
        "result": result,
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")
    return path


def _print(topic: str, result: dict[str, Any]) -> None:
    if topic == "pipeline":
        print(pipeline_text(result))
    elif topic in ("linking", "splink") and "linker" in result:
        from bench.linking import table

        print(table("linker", result["linker"]))
        rest = {k: v for k, v in result.items() if k not in ("linker", "exact", "splink")}
        print(json.dumps(rest, ensure_ascii=False, indent=2, default=str))
        if "splink" in result:
            s = result["splink"]
            print(json.dumps({k: v for k, v in s.items() if k != "sweep"}, indent=2, default=str))
    else:
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--size", default="county", choices=list(SIZES))
    p.add_argument(
        "--only", default=",".join(DEFAULT), help=f"comma-separated topics from {','.join(TOPICS)}"
    )
    p.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the run output under bench/out/<size> (inputs are always kept)",
    )
    p.add_argument("--no-render", action="store_true", help="do not rewrite BENCHMARKS.md")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    topics = [t.strip() for t in args.only.split(",") if t.strip()]
    unknown = sorted(set(topics) - set(TOPICS))
    if unknown:
        print(f"unknown topic(s): {', '.join(unknown)}; known: {', '.join(TOPICS)}")
        return 2
    people = SIZES[args.size]
    failed = []
    for topic in topics:
        print(f"\n=== {topic} @ {args.size} ({people} people) ===", flush=True)
        t0 = time.perf_counter()
        try:
            result = RUNNERS[topic](args.size, people, args.keep_data)
        except Exception as exc:  # noqa: BLE001 — one topic failing must not hide the others
            result = {"error": f"{type(exc).__name__}: {exc}"}
            failed.append(topic)
        _print(topic, result)
        print(f"-> {save(args.size, topic, people, result, time.perf_counter() - t0)}")
    if not args.no_render:
        print(f"-> {render_file()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
