"""The stages of a run as plain functions over the run's work folder.

Each stage reads the files the previous one wrote and writes its own, so the
Prefect flow (flows/nightly.py) only orders them, and a test, a notebook or a
partitioned runner can call them directly.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from fanpin import __version__
from fanpin.context import RunContext
from fanpin.faults import checkpoint
from fanpin.linking import scan_links, scan_review
from fanpin.manifest import build_manifest, manifest_frame, quality_frame
from fanpin.publish import (
    Publication,
    cleanup_stale,
    file_names,
    partition_value,
    previous_run_warnings,
)
from fanpin.publish import publish as publish_version
from fanpin.schema import DepartmentSchema, load_schemas
from fanpin.secrets import HashKey, resolve_hash_key
from fanpin.settings import REPO_ROOT
from fanpin.sheets import sheet_title, write_visit_sheet
from fanpin.store import make_dirs, parquet_files, write_frame, write_text
from transforms.history import apply_history
from transforms.pseudonym import add_person_key
from transforms.roster import add_person_ref
from transforms.summaries import match_summary, warning_counts
from transforms.worklists import published_warnings, split_by_town, visit_sheet, worklist


@dataclass
class RunState:
    """What the run has learnt so far; everything in it is counts and messages, never identities."""

    schemas: dict[str, DepartmentSchema]
    key_source: str
    requested: list[str] | None
    ingest: dict[str, dict[str, Any]] = field(default_factory=dict)
    validation: dict[str, dict[str, Any]] = field(default_factory=dict)
    matching: list[dict[str, Any]] = field(default_factory=list)
    scoring: dict[str, Any] = field(default_factory=dict)

    def record_ingest(self, department: str, result: Any) -> None:
        """Keep a department's ingest outcome; a crashed task becomes a failed department."""
        if isinstance(result, BaseException):
            result = {
                "department": department,
                "status": "failed",
                "errors": [f"ingest crashed: {type(result).__name__}"],
                "files": [],
            }
        self.ingest[department] = result

    def record_validation(self, department: str, result: Any) -> None:
        if isinstance(result, BaseException):
            result = {
                "department": department,
                "success": False,
                "held_back": True,
                "held_back_reasons": [f"validation crashed: {type(result).__name__}"],
            }
        self.validation[department] = result

    def delivered(self) -> list[str]:
        """Departments with a staged extract tonight."""
        return [d for d, r in self.ingest.items() if r.get("status") in ("loaded", "partial")]

    def accepted(self) -> list[str]:
        """Delivered departments that passed their critical expectations."""
        return [
            d for d in self.delivered() if not self.validation.get(d, {}).get("held_back", True)
        ]

    def roster_ok(self) -> bool:
        return "roster" in self.accepted()


def code_version() -> str:
    """The git commit when run from a checkout, else the package version."""
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return f"{__version__}+{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def hash_key(ctx: RunContext) -> HashKey:
    return resolve_hash_key(ctx.inbox)


def start(ctx: RunContext, requested: list[str] | None) -> RunState:
    """Check everything a run needs before reading a byte: profile, schemas, key; clean up."""
    from fanpin.policy import load_profile

    load_profile(ctx.policy, ctx.config.policies)  # refuse a bad profile at start
    schemas = load_schemas(ctx.config.schemas)
    unknown = sorted(set(requested or []) - set(schemas))
    if unknown:
        raise ValueError(
            f"unknown department(s): {', '.join(unknown)}; known: {', '.join(schemas)}"
        )
    key = hash_key(ctx)
    cleanup_stale(ctx.output)
    checkpoint("start:locked")
    ctx.work.mkdir(parents=True, exist_ok=True)
    ctx.work.chmod(0o700)
    return RunState(schemas=schemas, key_source=key.source, requested=requested)


def _jsonable(result: Any) -> dict[str, Any]:
    """A plain JSON-able dict of a stage result (dates and paths as text)."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    plain: dict[str, Any] = json.loads(json.dumps(result, default=str))
    return plain


def ingest(ctx: RunContext, department: str, reuse: bool) -> dict[str, Any]:
    """Stage one department; with `reuse`, keep tonight's staged files when they exist."""
    from fanpin.ingest import ingest_department

    stats_path = ctx.ingest_stats(department)
    if reuse and stats_path.exists():
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
        stats["reused"] = True
        return dict(stats)
    schema = load_schemas(ctx.config.schemas)[department]
    result = _jsonable(
        ingest_department(
            ctx.inbox / department, schema, ctx.staged(department), ctx.quarantine(department)
        )
    )
    result["reused"] = False
    if schema.kind == "roster" and ctx.staged(department).exists():
        write_frame(
            add_person_ref(pl.read_parquet(ctx.staged(department))),
            ctx.staged(department),
            private=True,
        )
    write_text(json.dumps(result, ensure_ascii=False), stats_path, private=True)
    checkpoint(f"ingest:{department}")
    return result


def validate(ctx: RunContext, department: str) -> dict[str, Any]:
    """Run the department's GX suite; the result decides whether it is held back."""
    from fanpin.quality import load_suite, validate_department
    from transforms.quality_prep import suite_columns

    needed = suite_columns(load_suite(ctx.config.expectations, department)["expectations"])
    present = pl.read_parquet_schema(ctx.staged(department))
    # at least one column, so that the frame has the file's row count
    read = [c for c in present if c in needed] or list(present)[:1]
    frame = pl.read_parquet(ctx.staged(department), columns=read)
    result = validate_department(
        frame, department, ctx.config.expectations, ctx.run_date, columns=pl.Schema(present)
    )
    write_text(
        json.dumps(result, ensure_ascii=False, default=str), ctx.quality(department), private=True
    )
    return dict(result)


def link(ctx: RunContext, departments: list[str]) -> list[dict[str, Any]]:
    """Link every accepted department's records; write links and the review queue."""
    from fanpin.linking import link_all

    link_all(ctx, departments)
    return links_written(ctx)


def links_written(ctx: RunContext) -> list[dict[str, Any]]:
    """After the links are in place (either path): the checkpoint and the match summary."""
    checkpoint("link:written")
    return match_summary(scan_links(ctx)).to_dicts()


def score(ctx: RunContext, departments: list[str]) -> dict[str, Any]:
    """Apply the policy profile to the roster and the linked records."""
    roster = pl.read_parquet(ctx.staged("roster"))
    records = {d: pl.scan_parquet(ctx.staged(d)) for d in departments}
    warnings = warnings_for(ctx, roster, records, scan_links(ctx))
    return warnings_written(ctx, warnings, departments)


def warnings_for(
    ctx: RunContext, roster: pl.DataFrame, records: dict[str, pl.LazyFrame], links: pl.LazyFrame
) -> pl.DataFrame:
    """Score a roster (whole, or one partition of its households) with its links and records."""
    from fanpin.policy import load_profile
    from transforms.scoring import score_households

    profile = load_profile(ctx.policy, ctx.config.policies)
    keyed = add_person_key(roster, hash_key(ctx).value)
    return score_households(keyed.lazy(), records, links, profile, ctx.run_date)


def warnings_written(
    ctx: RunContext, warnings: pl.DataFrame, departments: list[str]
) -> dict[str, Any]:
    """Write warnings.parquet (either path) and say how many households it holds."""
    write_frame(warnings, ctx.warnings, private=True)
    checkpoint("score:written")
    return {"households": warnings.height, "departments": departments}


def _add_folder(pub: Publication, table: str, folder: Path, empty: pl.LazyFrame) -> None:
    """A work folder's files (one per department) as the table's files; with no file at all
    (every department held back), one file with no rows, so the table still exists."""
    files = parquet_files(folder)
    for path in files:
        pub.add(table, path, sub=path.name)
    if not files:
        pub.add(table, empty.head(0).collect())


def _quarantine_frame(ctx: RunContext, departments: list[str]) -> pl.DataFrame | None:
    files = [ctx.quarantine(d) for d in departments if ctx.quarantine(d).exists()]
    if not files:
        return None
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed").sort(
        "department", "source_file", "source_line"
    )


SHEET_THREADS = 2  # polars and zlib release the GIL: two towns' sheets at once


def _add_worklists(
    ctx: RunContext, pub: Publication, warnings: pl.DataFrame, roster: pl.DataFrame
) -> None:
    """Per county and town: the worklist as Parquet (a hive partition) and the visit sheet
    (.xlsx) its staff use, named so that an officer can tell the towns apart (`500110_丁山镇`)."""
    sheets = ctx.work / "sheets"
    shutil.rmtree(sheets, ignore_errors=True)
    towns = split_by_town(worklist(warnings, roster))
    names = file_names(list(towns))

    def write_sheet(key: tuple[str, str]) -> Path:
        title = sheet_title(*key, ctx.run_date, towns[key].height)
        target = sheets / f"{names[key]}.xlsx"
        return write_visit_sheet(visit_sheet(towns[key]), title, target, ctx.run_date)

    with ThreadPoolExecutor(SHEET_THREADS, thread_name_prefix="fanpin-sheet") as pool:
        written = dict(zip(towns, pool.map(write_sheet, towns), strict=True))
    for (county, town), part in towns.items():
        where = f"county_code={partition_value(county)}/town={partition_value(town)}"
        pub.add("restricted/worklists", part.drop("county_code", "town"), f"{where}/part-0.parquet")
        sheet = written[(county, town)]
        pub.add("restricted/visit_sheets", sheet, sheet.name)


def _render_report(
    ctx: RunContext, manifest: dict[str, Any], warnings: pl.DataFrame
) -> Path | None:
    from fanpin.report import render_report

    make_dirs(ctx.report_dir, private=True)
    return owner_only(render_report(manifest, warnings, ctx.report_dir / "report.html"))


def _data_docs(ctx: RunContext) -> Path | None:
    """Build GX Data Docs from tonight's validation results into the work folder."""
    from fanpin.quality import build_data_docs

    target = ctx.report_dir / "data-docs"
    if target.exists():
        shutil.rmtree(target)
    try:
        return owner_only(Path(build_data_docs(ctx.work / "quality", target)).parent)
    except Exception:  # noqa: BLE001 — the docs are a convenience; the results are in the manifest
        return None


def owner_only(path: Path) -> Path:
    """Make a file, or a folder and everything in it, readable by its owner only."""
    for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
        item.chmod(0o700 if item.is_dir() else 0o600)
    return path


def _add_tree(pub: Publication, root: Path, table: str, prefix: str) -> None:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        pub.add(table, path, f"{prefix}/{path.relative_to(root).as_posix()}")


def publish(ctx: RunContext, state: RunState) -> dict[str, Any]:
    """Build every table of both tiers and the report, and publish them in one swap."""
    roster = add_person_key(pl.read_parquet(ctx.staged("roster")), hash_key(ctx).value)
    previous = previous_run_warnings(ctx.output, ctx.run_date)
    scored, resolved = apply_history(pl.read_parquet(ctx.warnings), previous, ctx.run_date)
    warnings = published_warnings(scored)
    pub = Publication(run_date=ctx.run_date)
    rel = f"report/run_date={ctx.run_date.isoformat()}"
    docs = _data_docs(ctx)
    manifest = build_manifest_for(
        ctx,
        state,
        warnings,
        resolved,
        pub.version,
        f"{rel}/report.html",
        f"{rel}/data-docs/index.html" if docs else None,
    )
    report = _render_report(ctx, manifest, warnings)
    pub.add("published/warnings", warnings)
    pub.add("published/runs", manifest_frame(manifest))
    pub.add("published/quality", quality_frame(state.validation))
    pub.add(
        "published/matching",
        pl.DataFrame(state.matching) if state.matching else match_summary(scan_links(ctx)),
    )
    _add_folder(pub, "restricted/links", ctx.links, scan_links(ctx))
    _add_folder(pub, "restricted/review", ctx.review, scan_review(ctx))
    quarantine = _quarantine_frame(ctx, list(state.schemas))
    if quarantine is not None:
        pub.add("restricted/quarantine", quarantine)
    _add_worklists(ctx, pub, scored, roster)
    if report is not None:
        pub.add("report", report, "report.html")
    if docs is not None:
        _add_tree(pub, docs.parent if docs.is_file() else docs, "report", "data-docs")
    checkpoint("publish:start")
    final = publish_version(
        ctx.output, pub, json.dumps(manifest, ensure_ascii=False, indent=2, default=str)
    )
    manifest["message"] = _message(ctx, manifest, final)
    return manifest


def build_manifest_for(
    ctx: RunContext,
    state: RunState,
    warnings: pl.DataFrame,
    resolved: int,
    version: str,
    report_path: str | None,
    data_docs_path: str | None,
) -> dict[str, Any]:
    return build_manifest(
        ctx,
        state,
        warnings=warning_counts(warnings, resolved),
        failed=False,
        code_version=code_version(),
        version=version,
        report_path=report_path,
        data_docs_path=data_docs_path,
    )


def _message(ctx: RunContext, manifest: dict[str, Any], final: Path) -> str:
    w = manifest["warnings"]
    latest = ctx.output / "latest"
    lines = [
        f"fanpin run {ctx.run_date} {manifest['status']}: {w['total']} households warned "
        f"(red {w['red']}, orange {w['orange']}, yellow {w['yellow']}; new {w['new']}, "
        f"continuing {w['continuing']}, resolved {w['resolved']})",
        f"  dashboards (masked):  {latest}/published/",
        f"  data office:          {latest}/restricted/   (links, review, quarantine, worklists)",
        f"  towns' visit sheets:  {latest}/restricted/visit_sheets/   (<county>_<town>.xlsx)",
        f"  run report:           {latest}/{manifest['report_path']}",
        f"  this version:         {final}",
    ]
    if manifest["parameters"]["dev_key"]:
        lines.append(
            "  NOTE: person keys use the DEVELOPMENT key (sample data only); "
            "set FANPIN_HASH_KEY for real data"
        )
    return "\n".join(lines)


def fail(ctx: RunContext, state: RunState, reason: str) -> dict[str, Any]:
    """Record a run that cannot publish: the previous published run stays as it was."""
    manifest = build_manifest(
        ctx,
        state,
        warnings=warning_counts(pl.DataFrame(schema={"risk_level": pl.Utf8, "status": pl.Utf8}), 0),
        failed=True,
        code_version=code_version(),
    )
    manifest["message"] = f"fanpin run {ctx.run_date} failed: {reason}; nothing was published"
    write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, default=str),
        ctx.work / "manifest.json",
        private=True,
    )
    return manifest


def create_artifacts(manifest: dict[str, Any]) -> None:
    """A markdown summary and count tables in the Prefect UI: counts and file facts only."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    w = manifest["warnings"]
    depts = "\n".join(
        f"| {d['label']} {d['department']} | {'yes' if d['delivered'] else 'no'} | "
        f"{'HELD BACK' if d['held_back'] else 'ok'} | "
        f"{d['rows_loaded']} | {d['rows_quarantined']} |"
        for d in manifest["departments"]
    )
    levels = f"red {w['red']}, orange {w['orange']}, yellow {w['yellow']}"
    create_markdown_artifact(
        key="fanpin-run-summary",
        markdown=(
            f"# fanpin {manifest['run_date']}: {manifest['status']}\n\n"
            f"Warnings: **{w['total']}** ({levels}); "
            f"new {w['new']}, continuing {w['continuing']}, resolved {w['resolved']}.\n\n"
            "| department | delivered | validation | rows loaded | quarantined |\n"
            "|---|---|---|---|---|\n"
            f"{depts}\n"
        ),
        description="fanpin nightly run summary",
    )
    if manifest["matching"]:
        create_table_artifact(
            key="fanpin-match-summary",
            table=manifest["matching"],
            description="records per department, status and method",
        )
