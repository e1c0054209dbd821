"""The nightly flow with linking and scoring fanned out over a Dask cluster.

Ingest, validation and publication are the tasks of flows/nightly.py and run
where the flow runs, as they do there. Only the heavy middle is cut into
partitions (fanpin.partitioned) and submitted to a `DaskTaskRunner`: a local
cluster of worker processes by default, or the scheduler at
`cluster_address`. The runner is opened inside the flow, for the fan-out only,
so that the address is an ordinary flow parameter (a deployment can set it)
and a cluster is started only when a run gets that far.

Tasks on the workers are Prefect task runs: prefect-dask hands each one the
flow's settings context (API URL included), so they show in the UI under the
flow run. They receive the run context, department names and a partition
number; every file they read or write is in the run's work folder, which must
be on storage that the flow and every worker see at the same path
(docs/scale-out.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from prefect import Task, flow, task
from prefect.futures import PrefectFuture, wait
from prefect_dask.task_runners import DaskTaskRunner

from fanpin import partitioned, stages
from fanpin.context import RunContext
from flows.nightly import TASK_OPTIONS, run_context, run_night

# One worker process per core of the machine the tests and benchmarks run on.
LOCAL_CLUSTER: dict[str, Any] = {
    "n_workers": 2,
    "threads_per_worker": 1,
    "processes": True,
    "dashboard_address": None,  # bokeh is not installed; a real cluster has its own dashboard
}


@task(name="split-records", task_run_name="split-records-{department}", **TASK_OPTIONS)
def split_records_task(ctx: RunContext, department: str, partitions: int) -> int:
    """Cut one department's staged records into partitions by record key."""
    return partitioned.split_records(ctx, department, partitions)


@task(name="link-partition", task_run_name="link-partition-{index}", retries=1, **TASK_OPTIONS)
def link_partition_task(ctx: RunContext, departments: list[str], index: int) -> list[list[str]]:
    """Link one partition of the records of every department against the whole roster."""
    return partitioned.link_partition(ctx, departments, index)


@task(name="combine-links", **TASK_OPTIONS)
def combine_links_task(ctx: RunContext, parts: list[list[list[str]]]) -> list[dict[str, Any]]:
    """Put the partitions' links and review rows together in the single run's order."""
    return partitioned.combine_links(ctx, parts)


@task(name="split-for-scoring", **TASK_OPTIONS)
def split_for_scoring_task(ctx: RunContext, departments: list[str], partitions: int) -> None:
    """Cut roster, linked links and their records into partitions by household."""
    partitioned.split_for_scoring(ctx, departments, partitions)


@task(name="score-partition", task_run_name="score-partition-{index}", retries=1, **TASK_OPTIONS)
def score_partition_task(
    ctx: RunContext, departments: list[str], index: int, key_check: str
) -> str | None:
    """Score the households of one partition."""
    return partitioned.score_partition(ctx, departments, index, key_check)


@task(name="combine-warnings", **TASK_OPTIONS)
def combine_warnings_task(
    ctx: RunContext, departments: list[str], parts: list[str | None]
) -> dict[str, Any]:
    """Put the partitions' warnings together in the single run's order."""
    return partitioned.combine_warnings(ctx, departments, parts)


def task_runner(cluster_address: str | None) -> DaskTaskRunner:
    """The scheduler at `cluster_address`, or a local cluster of worker processes."""
    if cluster_address:
        return DaskTaskRunner(address=cluster_address)
    return DaskTaskRunner(cluster_kwargs=dict(LOCAL_CLUSTER))


def _submit(runner: DaskTaskRunner, fn: Task[..., Any], **parameters: Any) -> PrefectFuture[Any]:
    """Submit a task run to the cluster; its parameters are paths, names and numbers."""
    return runner.submit(fn, parameters)


def _results(futures: Sequence[PrefectFuture[Any]]) -> list[Any]:
    """Every result, in submission order; the first failure fails the stage."""
    wait(list(futures))
    return [f.result() for f in futures]


def _link(runner: DaskTaskRunner, ctx: RunContext, departments: list[str], n: int) -> Any:
    _results(
        [
            _submit(runner, split_records_task, ctx=ctx, department=d, partitions=n)
            for d in departments
        ]
    )
    parts = [
        _submit(runner, link_partition_task, ctx=ctx, departments=departments, index=i)
        for i in range(n)
    ]
    return _submit(runner, combine_links_task, ctx=ctx, parts=_results(parts)).result()


def _score(runner: DaskTaskRunner, ctx: RunContext, departments: list[str], n: int) -> Any:
    _submit(runner, split_for_scoring_task, ctx=ctx, departments=departments, partitions=n).result()
    check = partitioned.key_fingerprint(stages.hash_key(ctx).value)
    parts = [
        _submit(
            runner, score_partition_task, ctx=ctx, departments=departments, index=i, key_check=check
        )
        for i in range(n)
    ]
    return _submit(
        runner, combine_warnings_task, ctx=ctx, departments=departments, parts=_results(parts)
    ).result()


@flow(
    name="fanpin-nightly-partitioned",
    flow_run_name="fanpin-{run_date}-x{partitions}",
    log_prints=False,
)
def nightly_partitioned(
    inbox: Path,
    output: Path,
    run_date: date | None = None,
    policy: str = "sample",
    partitions: int = 4,
    cluster_address: str | None = None,
    departments: list[str] | None = None,
    wait_seconds: float = 0.0,
) -> dict[str, Any]:
    """The nightly run with linking and scoring in `partitions` parts on a Dask cluster.

    Publishes exactly what `flows.nightly.nightly` publishes for the same inputs.
    """
    partitioned.check_partitions(partitions)
    ctx = run_context(inbox, output, run_date, policy)

    def fan_out(linked: list[str]) -> tuple[Any, Any]:
        with task_runner(cluster_address) as runner:
            return _link(runner, ctx, linked, partitions), _score(runner, ctx, linked, partitions)

    return run_night(ctx, departments, wait_seconds, fan_out, f", {partitions} partitions")
