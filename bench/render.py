"""Turning bench/results/*.json into text for the console and into BENCHMARKS.md.

The JSON files are the record (committed); BENCHMARKS.md is always re-rendered from all of
them, so a size measured yesterday keeps its numbers and its machine line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "BENCHMARKS.md"
NOTES = "NOTES.md"  # bench/results/NOTES.md: the findings, written by whoever ran the sizes
SIZE_ORDER = ["tiny", "county", "county100k", "city", "province"]
LINK_TARGETS = {"precision": 0.999, "recall": 0.995, "review_share": 0.01}
CODE_TARGET = 0.99
PROVINCE_S, PROVINCE_GB, FLOOR_RATIO, SCALE_RATIO = 900.0, 12.0, 3.0, 6.0
IDS_PER_S, INGEST_UTF8, INGEST_GB = 5_000_000, 2.0, 3.0


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub markdown table (also readable as plain text)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def _num(value: float | None) -> str:
    """Seconds and GB: two decimals (precision-style formatting is for ratios)."""
    return "" if value is None else f"{value:,.2f}"


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**holds**" if ok else "**does not hold**")


# --------------------------------------------------------------------------- pipeline


def stage_rows(pipe: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for name, s in pipe["stages"].items():
        note = ""
        if name.startswith("ingest:"):
            note = ", ".join(f"{k} {v:,}" for k, v in (s.get("rows") or {}).items())
        elif name == "validate":
            note = ", ".join(
                f"{d} {v['seconds']}s" + (" HELD BACK" if v.get("held_back") else "")
                for d, v in (s.get("departments") or {}).items()
            )
        if s.get("exit_code"):
            note = f"FAILED exit {s['exit_code']}"
        rows.append(
            [
                name,
                _num(s.get("seconds")),
                _num(s.get("cpu_s")),
                _num(s["peak_rss_gb"]),
                _num(s.get("process_s")),
                note,
            ]
        )
    rows.append(
        [
            "**total** (excl. start)",
            _num(pipe["total_s"]),
            _num(pipe["total_cpu_s"]),
            _num(pipe["peak_rss_gb"]),
            _num(pipe["total_process_s"]),
            "peak = max over stages",
        ]
    )
    return rows


def _link_rows(groups: dict[str, dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            k,
            v["records"],
            v["linked"],
            v["wrong"],
            v["precision"],
            v["recall"],
            v["f1"],
            v["review_share"],
            v["no_clue_linked"],
        ]
        for k, v in groups.items()
    ]


LINK_HEAD = [
    "group",
    "records",
    "linked",
    "wrong",
    "precision",
    "recall",
    "F1",
    "review share",
    "no-clue linked",
]


def accuracy_md(acc: dict[str, Any]) -> str:
    link = acc["linking"]
    parts = [
        f"Linking (targets: precision ≥ {LINK_TARGETS['precision']}, recall ≥ "
        f"{LINK_TARGETS['recall']}, review < 1%):",
        "",
        table(LINK_HEAD, _link_rows({"all": link["all"], **link["by_department"]})),
        "",
        "By match method:",
        "",
        table(LINK_HEAD, _link_rows(link["by_match_method"])),
        "",
    ]
    codes = acc.get("scoring")
    if codes:
        parts += [
            f"Scoring, published warnings vs truth/reasons (target ≥ {CODE_TARGET}). "
            "*blind*: misses (fn) / false alarms (fp) in households that have a record "
            "about a member with no identity clue (blank id) that was left unlinked; "
            "*linkable*: the figures without those.",
            "",
            table(
                [
                    "code",
                    "true",
                    "published",
                    "fp",
                    "fn",
                    "precision",
                    "recall",
                    "fp blind",
                    "fn blind",
                    "precision linkable",
                    "recall linkable",
                ],
                [
                    [
                        c,
                        v["true"],
                        v["published"],
                        v["fp"],
                        v["fn"],
                        v["precision"],
                        v["recall"],
                        v.get("fp_blind"),
                        v.get("fn_blind"),
                        v.get("precision_linkable"),
                        v.get("recall_linkable"),
                    ]
                    for c, v in codes.items()
                ],
            ),
            "",
        ]
    return "\n".join(parts)


def pipeline_md(res: dict[str, Any]) -> str:
    data = res["data"]
    pipe, floor = res["pipeline"], res.get("floor", {})
    head = (
        f"{res['people']:,} roster people, {sum(data['rows'].values()):,} rows, "
        f"{data['input_mb']} MB of UTF-8 CSV (generated in {data['generate_s']} s + "
        f"{data['write_s']} s written, peak {data['peak_rss_gb']} GB)."
    )
    parts = [
        head,
        "",
        table(["stage", "wall s", "cpu s", "peak RSS GB", "process s", "notes"], stage_rows(pipe)),
        "",
    ]
    if floor.get("seconds") is not None:
        parts.append(
            f"Floor (DuckDB alone: read the CSVs, exact join on the id as delivered, "
            f"materialized): **{floor['seconds']} s**, peak {floor['peak_rss_gb']} GB; "
            f"pipeline/floor = **{res.get('ratio_vs_floor', 'n/a')}x** "
            f"(target ≤ {FLOOR_RATIO}x)."
        )
    elif floor:
        parts.append(f"Floor failed: exit {floor.get('exit_code')}.")
    parts.append("")
    acc = res.get("accuracy")
    if acc and "linking" in acc:
        parts.append(accuracy_md(acc))
    return "\n".join(parts)


def pipeline_text(res: dict[str, Any]) -> str:
    """The console view: the same tables as BENCHMARKS.md."""
    out = pipeline_md(res)
    targets = res.get("targets") or {}
    return (
        out
        + "\n"
        + "\n".join(f"target {k}: {'holds' if v else 'DOES NOT HOLD'}" for k, v in targets.items())
    )


# --------------------------------------------------------------------------- acceptance


def _pipe(docs: dict[tuple[str, str], dict[str, Any]], size: str) -> dict[str, Any] | None:
    doc = docs.get((size, "pipeline"))
    res = doc["result"] if doc else None
    return res if res and "pipeline" in res else None


def _accuracy_rows(docs: dict[tuple[str, str], dict[str, Any]]) -> list[list[Any]]:
    """Linking and per-code targets, judged at county100k (the size the issues name)."""
    acc = (_pipe(docs, "county100k") or {}).get("accuracy") or {}
    link = (acc.get("linking") or {}).get("all")
    rows: list[list[Any]] = []
    for key, goal in LINK_TARGETS.items():
        sign = "<" if key == "review_share" else "≥"
        ok = None
        if link:
            ok = link[key] < goal if key == "review_share" else link[key] >= goal
        rows.append(
            [
                f"linking {key} {sign} {goal}",
                "county100k",
                link[key] if link else "not measured",
                _mark(ok),
            ]
        )
    codes: dict[str, Any] = acc.get("scoring") or {}
    keys = [
        ("precision", ""),
        ("recall", ""),
        ("precision_linkable", "(informative) "),
        ("recall_linkable", "(informative) "),
    ]
    for key, prefix in keys:
        worst = min(codes.items(), key=lambda kv: kv[1].get(key, 1.0)) if codes else None
        rows.append(
            [
                f"{prefix}every reason code {key.replace('_', ' ')} ≥ {CODE_TARGET}",
                "county100k",
                f"min {worst[1].get(key)} ({worst[0]})" if worst else "not measured",
                _mark(worst[1].get(key, 0.0) >= CODE_TARGET if worst else None),
            ]
        )
    return rows


def _total(res: dict[str, Any] | None) -> float | None:
    """Stage seconds of a complete run, else None."""
    return float(res["pipeline"]["total_s"]) if res and res["pipeline"]["ok"] else None


def _scale_rows(docs: dict[tuple[str, str], dict[str, Any]]) -> list[list[Any]]:
    """Province time and memory, the floor ratio per size, and city → province."""
    prov = _pipe(docs, "province")
    p_total, c_total = _total(prov), _total(_pipe(docs, "city"))
    peak = float(prov["pipeline"]["peak_rss_gb"]) if prov and p_total is not None else None
    rows: list[list[Any]] = [
        [
            "province total < 15 min",
            "province",
            f"{p_total} s" if p_total is not None else _why_missing(prov),
            _mark(p_total < PROVINCE_S if p_total is not None else None),
        ],
        [
            "province peak < 12 GB",
            "province",
            f"{peak} GB" if peak is not None else _why_missing(prov),
            _mark(peak < PROVINCE_GB if peak is not None else None),
        ],
    ]
    for size in SIZE_ORDER:
        res = _pipe(docs, size)
        if res and "ratio_vs_floor" in res:
            within = res["ratio_vs_floor"] <= FLOOR_RATIO
            verdict = (
                _mark(within)
                if size == "province"
                else f"({'within' if within else 'over'}; judged at province)"
            )
            rows.append(
                [f"total ≤ {FLOOR_RATIO}x floor", size, f"{res['ratio_vs_floor']}x", verdict]
            )
    ratio = round(p_total / c_total, 2) if p_total is not None and c_total else None
    rows.append(
        [
            "city → province time ratio ≤ 6",
            "city, province",
            f"{ratio:.2f}" if ratio is not None else "not measured",
            _mark(ratio <= SCALE_RATIO if ratio is not None else None),
        ]
    )
    return rows


def _foundation_rows(docs: dict[tuple[str, str], dict[str, Any]]) -> list[list[Any]]:
    """Issue 2's speed targets, each at its largest measurement: identity numbers per second,
    and ingest against DuckDB loading the same medical CSV (median over the rounds)."""
    ids = [
        d["result"]["ids"] for (_, t), d in docs.items() if t == "identity" and "ids" in d["result"]
    ]
    best = max(ids, key=lambda r: r["n"], default=None)
    rate = best["eager_ids_per_s"] if best else None
    rows: list[list[Any]] = [
        [
            f"identity ≥ {IDS_PER_S:,} ids/s",
            f"{best['n']:,} ids" if best else "-",
            f"{rate:,}/s" if rate else "not measured",
            _mark(rate >= IDS_PER_S if rate else None),
        ]
    ]
    runs = [d["result"] for (_, t), d in docs.items() if t == "ingest" and "rows" in d["result"]]
    big = max(runs, key=lambda r: r["rows"], default=None)
    for label, key, goal in (("UTF-8", "utf8", INGEST_UTF8), ("GB18030", "gb18030", INGEST_GB)):
        ratio = big.get("median", big).get(f"ratio_{key}") if big else None
        rows.append(
            [
                f"ingest {label} ≤ {goal}x DuckDB",
                f"{big['rows']:,} medical rows" if big else "-",
                f"{ratio}x" if ratio is not None else "not measured",
                _mark(ratio <= goal if ratio is not None else None),
            ]
        )
    return rows


def acceptance_rows(docs: dict[tuple[str, str], dict[str, Any]]) -> list[list[Any]]:
    """Every acceptance target, the size it is judged at, the number and the verdict."""
    return _foundation_rows(docs) + _accuracy_rows(docs) + _scale_rows(docs)


def _why_missing(res: dict[str, Any] | None) -> str:
    if res is None:
        return "not measured"
    failed = [n for n, s in res["pipeline"]["stages"].items() if s.get("exit_code")]
    return f"failed at {', '.join(failed)}" if failed else "incomplete"


# --------------------------------------------------------------------------- topics


def _flat(prefix: str, value: Any, out: list[tuple[str, Any]], depth: int = 0) -> None:
    if isinstance(value, dict) and depth < 2:
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out, depth + 1)
    elif isinstance(value, dict):
        out.append((prefix, json.dumps(value, ensure_ascii=False, default=str)[:160]))
    else:
        out.append((prefix, value))


def topic_md(doc: dict[str, Any]) -> str:
    res = doc["result"]
    if "linker" in res and "all" in res.get("linker", {}):
        res = {
            **{k: v for k, v in res.items() if k not in ("linker", "exact", "splink")},
            "linker.all": res["linker"]["all"],
            "linker.by_department": res["linker"]["by_department"],
            "exact.all": res.get("exact", {}).get("all"),
            **(
                {"splink": {k: v for k, v in res["splink"].items() if k != "sweep"}}
                if "splink" in res
                else {}
            ),
        }
    rows: list[tuple[str, Any]] = []
    _flat("", res, rows)
    return "\n".join(f"- `{k}`: {_cell(v)}" for k, v in rows)


# --------------------------------------------------------------------------- document


def load_results(results: Path = RESULTS) -> dict[tuple[str, str], dict[str, Any]]:
    docs = {}
    for path in sorted(results.glob("*.json")):
        doc = json.loads(path.read_text())
        docs[(doc["size"], doc["topic"])] = doc
    return docs


def _machine_line(m: dict[str, Any]) -> str:
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB ({m['available_gb']} GB free), "
        f"load {m['load_average']}; Python {m['python']}, duckdb {m['duckdb']}, "
        f"polars {m['polars']}, pyarrow {m['pyarrow']}; {m['date']}"
    )


INTRO = """# Benchmarks

Generated by `make bench` (`python -m bench --size county|county100k|city|province
[--only pipeline,identity,ingest,linking,scoring,quality,splink] [--keep-data]`) from the JSON
files in `bench/results/`; do not edit by hand. Inputs come from the seeded generator
(`fanpin.generator`, formats="fast": plain UTF-8 CSV) into `bench/data/<size>/` and are reused.

How the pipeline is measured: each stage of `fanpin.stages` (no Prefect) runs in a fresh child
process over `bench/out/<size>`; *wall s* and *cpu s* are taken inside the child around the
stage call (heavy imports done before the clock starts); *peak RSS GB* is the child's
`ru_maxrss` from `wait4` (includes the ~0.4 GB of imported libraries and all native
DuckDB/polars memory); *process s* includes interpreter start and imports. Ingests run one
department after another (the Prefect flow runs them concurrently in threads). The floor is
DuckDB alone reading the same CSVs and exact-joining each department to the roster on the
identity number as delivered (trimmed, upper-cased), materialized in memory.

Accuracy is against the generator's truth: a link is correct when the linked roster person is
the record's true person; precision is over linked records, recall over records about roster
people that carry an identity clue (truth `clue`); review share is over all records;
"no-clue linked" counts linked records without any identity clue. Scoring compares the
published warnings' (household_id, reason code) pairs with `truth/reasons.parquet`.

The machine is shared with other work while these run (see the load average): wall times are
noisy, CPU seconds less so.
"""


def render(results: Path = RESULTS) -> str:
    docs = load_results(results)
    parts = [
        INTRO,
        "## Machine",
        "",
        f"Rendered on: {_machine_line(machine_info())}",
        "",
        "## Acceptance targets",
        "",
        table(["target", "judged at", "measured", "verdict"], acceptance_rows(docs)),
        "",
    ]
    notes = results / NOTES
    if notes.exists():
        parts += [notes.read_text(encoding="utf-8").rstrip(), ""]
    sizes = sorted(
        {s for s, _ in docs}, key=lambda s: SIZE_ORDER.index(s) if s in SIZE_ORDER else 99
    )
    for size in sizes:
        parts.append(f"## {size}")
        parts.append("")
        for (s, topic), doc in sorted(
            docs.items(), key=lambda kv: (kv[0][1] != "pipeline", kv[0][1])
        ):
            if s != size:
                continue
            scale = (
                f"{doc['people']:,} people"
                if doc.get("people")
                else f"{doc['result'].get('rows', 0):,} rows"
            )
            parts += [
                f"### {topic} ({scale}, {doc['seconds']} s)",
                "",
                f"Measured on: {_machine_line(doc['machine'])}",
                "",
            ]
            res = doc["result"]
            if "error" in res:
                parts += [f"FAILED: `{res['error'][:300]}`", ""]
            elif topic == "pipeline":
                parts += [pipeline_md(res), ""]
            else:
                parts += [topic_md(doc), ""]
    return "\n".join(parts).rstrip() + "\n"


def render_file(results: Path = RESULTS, target: Path = DOC) -> Path:
    target.write_text(render(results), encoding="utf-8")
    return target
