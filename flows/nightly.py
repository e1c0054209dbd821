"""The nightly flow: ingest → validate → link → score → publish.

Tasks are thin: each calls one stage of `fanpin.stages`, which reads and
writes the run's work folder, and hands the next task paths and small
summaries (frames never travel between tasks, so nothing needs hashing and
any stage can be rerun from the files of the one before).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from fanpin import stages
from fanpin.context import RunContext
from fanpin.locking import output_lock
from fanpin.privacy import install_log_scrubber

TASK_OPTIONS: dict[str, Any] = {"cache_policy": NO_CACHE}


@task(
    name="ingest",
    task_run_name="ingest-{department}",
    retries=2,
    retry_delay_seconds=5,
    **TASK_OPTIONS,
)
def ingest_task(ctx: RunContext, department: str, reuse: bool) -> dict[str, Any]:
    """Read one department's folder into staged Parquet (or reuse tonight's staged files)."""
    return stages.ingest(ctx, department, reuse=reuse)


@task(name="validate", task_run_name="validate-{department}", **TASK_OPTIONS)
def validate_task(ctx: RunContext, department: str) -> dict[str, Any]:
    """Run the department's Great Expectations suite on its staged extract."""
    return stages.validate(ctx, department)


@task(name="link", **TASK_OPTIONS)
def link_task(ctx: RunContext, departments: list[str]) -> list[dict[str, Any]]:
    """Link every accepted department record to a roster person (or review / unmatched)."""
    return stages.link(ctx, departments)


@task(name="score", **TASK_OPTIONS)
def score_task(ctx: RunContext, departments: list[str]) -> dict[str, Any]:
    """Apply the policy profile's rules and score every household."""
    return stages.score(ctx, departments)


@task(name="publish", **TASK_OPTIONS)
def publish_task(ctx: RunContext, state: stages.RunState) -> dict[str, Any]:
    """Write the tiers aside and swap them in atomically; build the report."""
    return stages.publish(ctx, state)


@task(name="report-artifacts", **TASK_OPTIONS)
def artifacts_task(manifest: dict[str, Any]) -> None:
    """Markdown summary and tables in the Prefect UI (counts only, no identities)."""
    stages.create_artifacts(manifest)


def ingest_all(ctx: RunContext, state: stages.RunState, departments: list[str] | None) -> None:
    futures = {
        dept: ingest_task.submit(
            ctx, dept, reuse=departments is not None and dept not in departments
        )
        for dept in state.schemas
    }
    for dept, future in futures.items():
        state.record_ingest(dept, future.result(raise_on_failure=False))


def validate_all(ctx: RunContext, state: stages.RunState) -> None:
    futures = {dept: validate_task.submit(ctx, dept) for dept in state.delivered()}
    for dept, future in futures.items():
        state.record_validation(dept, future.result(raise_on_failure=False))


def run_context(inbox: Path, output: Path, run_date: date | None, policy: str) -> RunContext:
    """The run's context; without a date (the nightly schedule), today in Asia/Shanghai.

    Also installs the log scrubber, so both flows start the same way.
    """
    install_log_scrubber()
    when = run_date or datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return RunContext(inbox=Path(inbox), output=Path(output), run_date=when, policy=policy)


# link and score for the departments linked tonight: (matching summary, scoring summary)
MatchAndScore = Callable[[list[str]], tuple[Any, Any]]


def run_night(
    ctx: RunContext,
    departments: list[str] | None,
    wait_seconds: float,
    match_and_score: MatchAndScore,
    note: str = "",
) -> dict[str, Any]:
    """The night both flows run, under the output lock: start, ingest, validate, then (with a
    roster) `match_and_score` on the accepted departments, publish and the artifacts. The
    flows differ only in how they link and score (one process, or partitions on Dask)."""
    logger = get_run_logger()
    with output_lock(ctx.output, ctx.run_date.isoformat(), wait_seconds):
        state = stages.start(ctx, departments)
        logger.info(
            "run %s for %s with profile %s (key: %s)%s",
            ctx.run_id,
            ctx.run_date,
            ctx.policy,
            state.key_source,
            note,
        )
        ingest_all(ctx, state, departments)
        validate_all(ctx, state)
        if not state.roster_ok():
            return stages.fail(ctx, state, "the roster was not delivered or was held back")
        state.matching, state.scoring = match_and_score(
            [d for d in state.accepted() if d != "roster"]
        )
        manifest = publish_task(ctx, state)
        artifacts_task(manifest)
    logger.info(manifest["message"].splitlines()[0])
    return dict(manifest)


@flow(name="fanpin-nightly", flow_run_name="fanpin-{run_date}", log_prints=False)
def nightly(
    inbox: Path,
    output: Path,
    run_date: date | None = None,
    policy: str = "sample",
    departments: list[str] | None = None,
    wait_seconds: float = 0.0,
) -> dict[str, Any]:
    """One night's run; `departments` limits re-ingestion, the others reuse tonight's staged data.

    Without `run_date` (the nightly schedule) the run is for today in Asia/Shanghai.
    """
    ctx = run_context(inbox, output, run_date, policy)
    return run_night(
        ctx,
        departments,
        wait_seconds,
        lambda linked: (link_task(ctx, linked), score_task(ctx, linked)),
    )


def serve_nightly(inbox: Path, output: Path, policy: str) -> None:
    """Serve the nightly schedule from this process: 02:00 Asia/Shanghai, one run at a time."""
    from prefect.schedules import Cron

    nightly.serve(
        name="nightly",
        schedules=[Cron("0 2 * * *", timezone="Asia/Shanghai")],
        parameters={"inbox": str(inbox), "output": str(output), "policy": policy},
        limit=1,
    )
