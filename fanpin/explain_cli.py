"""`fanpin explain`: read one published run and explain one household to a data officer."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl

from fanpin.policy import load_profile
from fanpin.publish import latest_version
from fanpin.secrets import resolve_hash_key
from fanpin.settings import ConfigDirs
from transforms.explain import explain_household
from transforms.pseudonym import add_person_key


def explain_household_cli(output: Path, household_id: str, run_date: date, unmask: bool) -> str:
    """Find the run of `run_date` in the latest publication and explain `household_id`."""
    version = latest_version(output)
    if version is None:
        raise FileNotFoundError(f"no published run under {output}")
    part = version / "published" / "warnings" / f"run_date={run_date.isoformat()}"
    roster_path = output / "work" / run_date.isoformat() / "staged" / "roster.parquet"
    if not part.exists() or not roster_path.exists():
        raise FileNotFoundError(f"no published run for {run_date} under {output}")
    manifest = pl.read_parquet(version / "published" / "runs" / f"run_date={run_date.isoformat()}")
    profile = load_profile(manifest["policy_profile"][0], ConfigDirs.from_env().policies)
    inbox = Path(json.loads(json.dumps(manifest["parameters"][0]))["inbox"])
    roster = add_person_key(pl.read_parquet(roster_path), resolve_hash_key(inbox).value)
    warnings = pl.read_parquet(sorted(part.glob("*.parquet")))
    return explain_household(household_id, roster, warnings, profile, run_date, unmask=unmask)
