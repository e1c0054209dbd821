"""The `fanpin` command: a thin shell over the nightly flow.

Arguments are checked here, before anything starts, so that a typo costs a
one-line message and a non-zero exit instead of a half-run.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
EARLIEST_RUN_DATE = date(2015, 1, 1)


class UsageError(ValueError):
    """A parameter the run cannot start with."""


def parse_run_date(text: str) -> date:
    """A real calendar date in ISO form, not before 2015 and not after next year."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--run-date {text!r} is not a date of the form YYYY-MM-DD") from None
    if not EARLIEST_RUN_DATE <= value <= date(date.today().year + 1, 12, 31):
        raise UsageError(f"--run-date {text} is outside the range a run can have")
    return value


def parse_policy(text: str) -> str:
    """A profile name, never a path: profiles live in policies/."""
    if not PROFILE_NAME.match(text):
        raise UsageError(f"--policy {text!r} is not a profile name (letters, digits and dashes)")
    return text


def parse_departments(text: str | None) -> list[str] | None:
    """Comma-separated department names to re-ingest; None means all."""
    if not text:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    bad = [n for n in names if not re.match(r"^[a-z][a-z0-9_]{0,31}$", n)]
    if bad:
        raise UsageError(f"--departments: not a department name: {', '.join(map(repr, bad))}")
    return names


def _existing_dir(text: str, flag: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise UsageError(f"{flag} {text} is not a folder")
    return path.resolve()


def _output_dir(text: str, inbox: Path) -> Path:
    path = Path(text).resolve()
    if path == inbox or path.is_relative_to(inbox) or inbox.is_relative_to(path):
        raise UsageError("--output must not contain or be inside --inbox")
    return path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fanpin", description="返贫监测 nightly pipeline")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the nightly flow once")
    run.add_argument("--inbox", required=True)
    run.add_argument("--output", required=True)
    run.add_argument("--run-date", required=True)
    run.add_argument("--policy", default="sample")
    run.add_argument("--departments", help="re-ingest only these (comma-separated); reuse the rest")
    run.add_argument("--wait", type=float, default=0.0, help="seconds to wait for a busy output")
    run.add_argument(
        "--partitions",
        type=int,
        default=0,
        help="split linking and scoring into N partitions on a Dask cluster",
    )
    run.add_argument("--dask-address", help="scheduler of a running Dask cluster (tcp://host:8786)")
    explain = sub.add_parser("explain", help="explain one household's warning")
    explain.add_argument("--household", required=True)
    explain.add_argument("--run-date", required=True)
    explain.add_argument("--output", default="out")
    explain.add_argument("--unmask", action="store_true", help="show full names and ids")
    serve = sub.add_parser("serve", help="serve the nightly schedule (02:00 Asia/Shanghai)")
    serve.add_argument("--inbox", required=True)
    serve.add_argument("--output", required=True)
    serve.add_argument("--policy", default="sample")
    return parser


def quiet_environment() -> None:
    """Defaults that keep a run offline and its log readable (the caller may override them)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import logging

    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def _run(args: argparse.Namespace) -> int:
    inbox = _existing_dir(args.inbox, "--inbox")
    output = _output_dir(args.output, inbox)
    run_date = parse_run_date(args.run_date)
    policy = parse_policy(args.policy)
    departments = parse_departments(args.departments)
    quiet_environment()
    common: dict[str, Any] = {
        "inbox": inbox,
        "output": output,
        "run_date": run_date,
        "policy": policy,
        "departments": departments,
        "wait_seconds": args.wait,
    }
    if args.partitions or args.dask_address:
        from fanpin.partitioned import check_partitions
        from flows.partitioned import nightly_partitioned

        try:
            partitions = check_partitions(args.partitions or 4)
        except ValueError as exc:
            raise UsageError(f"--partitions: {exc}") from None
        summary = nightly_partitioned(
            partitions=partitions, cluster_address=args.dask_address, **common
        )
    else:
        from flows.nightly import nightly  # Prefect is slow to import: only when running

        summary = nightly(**common)
    print(summary["message"])
    return 0 if summary["status"] != "failed" else 1


def _explain(args: argparse.Namespace) -> int:
    from fanpin.explain_cli import explain_household_cli

    text = explain_household_cli(
        Path(args.output).resolve(), args.household, parse_run_date(args.run_date), args.unmask
    )
    print(text)
    return 0


def _serve(args: argparse.Namespace) -> int:
    inbox = _existing_dir(args.inbox, "--inbox")
    quiet_environment()
    from flows.nightly import serve_nightly

    serve_nightly(inbox, _output_dir(args.output, inbox), parse_policy(args.policy))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: exit 0 on success, 1 on a failed run, 2 on bad usage — with one line why."""
    args = _parser().parse_args(argv)
    handlers = {"run": _run, "explain": _explain, "serve": _serve}
    try:
        return handlers[args.command](args)
    except UsageError as exc:
        print(f"fanpin: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 — the one place that turns any failure into a line
        if os.environ.get("FANPIN_DEBUG"):
            raise
        from fanpin.privacy import scrub

        first_line = (str(exc).splitlines() or [""])[0][:300]
        print(f"fanpin: {type(exc).__name__}: {scrub(first_line)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
