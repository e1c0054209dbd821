"""Tests for fanpin.publish."""

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from fanpin.publish import (
    Publication,
    cleanup_stale,
    file_names,
    latest_version,
    name_part,
    partition_value,
    previous_run_warnings,
    publish,
)


def _pub(run_date: date, households: list[str], version: str) -> Publication:
    pub = Publication(run_date=run_date, version=version)
    pub.add(
        "published/warnings",
        pl.DataFrame({"household_id": households, "first_seen": [run_date] * len(households)}),
    )
    pub.add("restricted/links", pl.DataFrame({"record_id": ["r1"]}))
    return pub


def test_publish_swaps_latest_and_keeps_earlier_dates(tmp_path: Path) -> None:
    """A second run date is published beside the first, which stays readable in the new version."""
    publish(tmp_path, _pub(date(2026, 11, 29), ["H1"], "v1"), "{}")
    final = publish(tmp_path, _pub(date(2026, 11, 30), ["H2"], "v2"), "{}")
    assert latest_version(tmp_path) == final.resolve()
    frame = pl.read_parquet(
        tmp_path / "latest/published/warnings/**/*.parquet", hive_partitioning=True
    )
    assert sorted(frame["household_id"].to_list()) == ["H1", "H2"]


def test_rerun_of_a_date_replaces_only_that_date(tmp_path: Path) -> None:
    """Publishing the same run date again replaces its partition instead of adding to it."""
    publish(tmp_path, _pub(date(2026, 11, 29), ["H1"], "v1"), "{}")
    publish(tmp_path, _pub(date(2026, 11, 29), ["H9"], "v2"), "{}")
    frame = pl.read_parquet(tmp_path / "latest/published/warnings/**/*.parquet")
    assert frame["household_id"].to_list() == ["H9"]


def test_restricted_files_are_owner_only(tmp_path: Path) -> None:
    """Restricted tables hold identities: mode 600 files in 700 folders."""
    final = publish(tmp_path, _pub(date(2026, 11, 29), ["H1"], "v1"), "{}")
    part = next((final / "restricted/links").rglob("*.parquet"))
    assert part.stat().st_mode & 0o777 == 0o600
    assert part.parent.stat().st_mode & 0o777 == 0o700


def test_previous_run_warnings_skips_the_same_date(tmp_path: Path) -> None:
    """History compares with the latest earlier run date, never with a rerun of today."""
    publish(tmp_path, _pub(date(2026, 11, 28), ["H1"], "v1"), "{}")
    publish(tmp_path, _pub(date(2026, 11, 29), ["H2"], "v2"), "{}")
    previous = previous_run_warnings(tmp_path, date(2026, 11, 29))
    assert previous is not None and previous["household_id"].to_list() == ["H1"]
    assert previous_run_warnings(tmp_path, date(2026, 11, 28)) is None


def test_cleanup_removes_a_dead_runs_staging(tmp_path: Path) -> None:
    """A staging folder left by a killed run is removed; the published version is untouched."""
    publish(tmp_path, _pub(date(2026, 11, 29), ["H1"], "v1"), "{}")
    (tmp_path / "versions/.staging-dead/published").mkdir(parents=True)
    assert cleanup_stale(tmp_path) == [".staging-dead"]
    assert latest_version(tmp_path) is not None


@pytest.mark.parametrize("town", ["../../etc", "a/b", "古南街道"])
def test_partition_values_never_make_paths(town: str) -> None:
    """A town name from a file is quoted into one path component."""
    value = partition_value(town)
    assert "/" not in value and value != ".."


def test_name_part_keeps_a_chinese_town_name_readable() -> None:
    """丁山镇 stays 丁山镇 in the file name: the officer sees which town a file is for."""
    assert name_part("丁山镇") == "丁山镇" and name_part("500110") == "500110"


@pytest.mark.parametrize("town", ["../../etc", "a/b", ".", "", "x\ny", "<script>", "镇" * 60])
def test_name_part_never_makes_a_path_and_marks_what_it_changed(town: str) -> None:
    """Separators, dots, blanks and markup become `_`, long names are cut, and a changed name
    carries a hash of the original, so it is one file name and never another town's."""
    value = name_part(town)
    assert "/" not in value and "." not in value and "\n" not in value and value
    assert len(value.encode("utf-8")) <= 200
    assert "~" in value
    assert name_part(town + "x") != value


def test_file_names_join_the_parts_and_never_give_two_keys_one_name() -> None:
    """(500110, 丁山镇) → 500110_丁山镇; keys that would collide after cleaning both get a hash."""
    names = file_names([("500110", "丁山镇"), ("5001", "10_丁山镇"), ("5001_10", "丁山镇")])
    assert names[("500110", "丁山镇")] == "500110_丁山镇"
    assert names[("5001", "10_丁山镇")] != names[("5001_10", "丁山镇")]
    assert all("~" in names[k] for k in [("5001", "10_丁山镇"), ("5001_10", "丁山镇")])
