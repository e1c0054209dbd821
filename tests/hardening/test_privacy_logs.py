"""Privacy: no identity number or full roster name in any log line (at DEBUG), Prefect artifact or
log, or exception text; restricted files owner-only; no run on real data without a hashing key."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from stdnum.cn import ric

from fanpin import cli
from fanpin.secrets import MissingHashKey, resolve_hash_key
from fanpin.settings import HASH_KEY_ENV, SAMPLE_INBOX

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
Ingest = Callable[..., Any]  # the `ingest` fixture of conftest.py
ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def _roster_names(run: Any) -> set[str]:
    work = run.output / "work" / run.manifest["run_date"] / "staged" / "roster.parquet"
    roster = pl.read_parquet(work, columns=["name", "name_norm"])
    return {n for col in roster.columns for n in roster[col].drop_nulls().unique() if len(n) >= 2}


def is_identity_number(text: str) -> bool:
    """18 characters with a real birth date and a correct check character.

    Stricter than nothing, looser than `stdnum.cn.ric.is_valid`, which also wants the area code
    in its own table and so misses ids of 500110 (綦江区) and 500222: the sample's own numbers.
    """
    try:
        datetime.strptime(text[6:14], "%Y%m%d")
    except ValueError:
        return False
    return ric.calc_check_digit(text) == text[-1].upper()


def leaks(texts: Iterable[str], names: set[str]) -> list[str]:
    """The texts that hold a valid identity number or one of `names` (what leaked, not where)."""
    found: list[str] = []
    for text in texts:
        ids = [m for m in ID_LIKE.findall(text) if is_identity_number(m)]
        hit = [n for n in names if n in text]
        if ids or hit:
            found.append(f"{len(ids)} id(s), {len(hit)} name(s) in: {text[:80]!r}...")
    return found


def test_the_leak_detector_finds_what_it_looks_for() -> None:
    """The scanner flags a valid id (not an invalid one) and a listed name."""
    assert leaks(["linked 500110196203040015 ok"], set()) and leaks(["王芳 came"], {"王芳"})
    assert not leaks(["500110196203040016 (bad checksum), 2 names"], {"王芳"})


# ---------------------------------------------------------------- the whole flow at DEBUG


def test_flow_run_succeeded_with_bad_files_in_the_inbox(debug_flow_run: Any) -> None:
    """The DEBUG run (sample + a PNG named .csv + ids in a date column) publishes."""
    assert debug_flow_run.manifest["status"] == "succeeded", debug_flow_run.manifest.get("message")
    assert len(debug_flow_run.log_lines) > 20


def test_no_identity_number_or_name_in_any_log_line(debug_flow_run: Any) -> None:
    """Every record logged in-process at DEBUG (fanpin, Prefect, GX, root) is free of ids and names."""
    names = _roster_names(debug_flow_run)
    assert len(names) > 100
    assert leaks(debug_flow_run.log_lines, names) == []


def _api_texts(flow_run_name: str) -> tuple[list[str], list[str]]:
    """(artifact texts, log messages) the Prefect API holds for the flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterName,
        LogFilter,
        LogFilterFlowRunId,
        TaskRunFilter,
    )
    from prefect.client.schemas.sorting import ArtifactSort, FlowRunSort, LogSort
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[flow_run_name])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=5,
        )
        assert len(runs) == 1
        run_id = runs[0].id
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])),
            flow_run_filter=FlowRunFilter(),
            task_run_filter=TaskRunFilter(),
            sort=ArtifactSort.CREATED_DESC,
            limit=100,
            offset=0,
        )
        logs: list[Any] = []
        while page := client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])),
            sort=LogSort.TIMESTAMP_ASC,
            limit=200,
            offset=len(logs),
        ):
            logs += page
        state = [str(runs[0].state.message or "")] if runs[0].state else []
    art_texts = [f"{a.key} {a.description} {a.data}" for a in artifacts]
    return art_texts, [log.message for log in logs] + state


def test_no_identity_number_or_name_in_prefect_artifacts_or_api_logs(debug_flow_run: Any) -> None:
    """The run's artifacts and the logs stored by the Prefect API hold counts and file names only."""
    artifacts, logs = _api_texts(debug_flow_run.flow_run_name)
    assert {a.split(" ", 1)[0] for a in artifacts} >= {"fanpin-run-summary", "fanpin-match-summary"}
    assert logs
    names = _roster_names(debug_flow_run)
    assert leaks(artifacts, names) == []
    assert leaks(logs, names) == []


def _modes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]
    }


def test_restricted_tier_is_owner_only(debug_flow_run: Any) -> None:
    """Every folder and file under latest/restricted is readable by its owner only."""
    modes = _modes((debug_flow_run.output / "latest" / "restricted").resolve())
    assert len(modes) > 10
    assert {p: oct(m) for p, m in modes.items() if m & 0o077} == {}


def test_work_folder_is_owner_only(debug_flow_run: Any) -> None:
    """Every folder and file of the run's work folder (staged ids and names) is owner-only."""
    modes = _modes(debug_flow_run.output / "work" / debug_flow_run.manifest["run_date"])
    assert len(modes) > 10
    assert {p: oct(m) for p, m in modes.items() if m & 0o077} == {}


# ---------------------------------------------------------------- exception and message texts


def _med(rows: list[str]) -> bytes:
    head = "结算流水号,姓名,身份证号,结算日期,就诊类型,医疗总费用,统筹基金支付,个人负担\n"
    return (head + "".join(r + "\n" for r in rows)).encode("utf-8")


ID_A, ID_B = "500110196203040015", "500110196203040023"
LEAKY_FILES: dict[str, bytes] = {
    # ids and names in the date, amount and enum columns: every one fails typing
    "shifted.csv": _med(
        [f"YB1,张伟,{ID_A},{ID_A},住院,张伟,1,1", f"YB2,王芳,,2021-06-29,{ID_B},{ID_B},王芳,1"]
    ),
    # a name and an id on a line with too many fields, and an unterminated quote
    "ragged.csv": _med(
        [
            f"YB3,张伟,{ID_A},2021-06-29,住院,1,1,1,{ID_B},王芳",
            f'YB4,"王芳,{ID_B},2021-06-29,住院,1,1,1',
        ]
    ),
    # an id where the record id goes, next to a footer that names a person
    "footer.csv": _med([f"{ID_A},张伟,,2021-06-29,住院,1,1,1", f"合计 张伟 {ID_B},,,,,3,2,1"]),
    # a GB18030 file with one byte that is not GB18030, right after an id
    "gbk.csv": _med([f"YB5,刘洋,{ID_A},2021-06-29,住院,1,1,1"]).decode().encode("gb18030")[:-30]
    + b"\x80\xff"
    + b",1\n",
    # a header-less file: its first lines are data
    "noheader.csv": f"YB6,张伟,{ID_A},2021-06-29,住院,1,1,1\n".encode() * 3,
    # an id and a name as header cells (of a header missing a required column)
    "badheader.csv": f"结算流水号,姓名,{ID_A},结算日期,就诊类型,医疗总费用,统筹基金支付,王芳\n".encode(),
}


def test_messages_about_bad_rows_and_files_hold_no_id_or_name(ingest: Ingest) -> None:
    """Errors, notes and quarantine details name files, lines and columns, never the values."""
    texts: list[str] = []
    for name, data in LEAKY_FILES.items():
        outcome = ingest("medical", (name, data))
        texts += outcome.texts()
        (outcome.folder / name).unlink()
    assert any("required column 'out_of_pocket'" in t for t in texts)
    assert any("gbk.csv: invalid gb18030 byte" in t for t in texts) or any(
        "gbk.csv" in t for t in texts
    )
    assert leaks(texts, {"张伟", "王芳", "刘洋"}) == []


# ---------------------------------------------------------------- the hashing key


def test_real_inbox_without_a_key_is_refused_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside sample_data/, no FANPIN_HASH_KEY (and no Secret block) raises MissingHashKey."""
    monkeypatch.delenv(HASH_KEY_ENV, raising=False)
    with pytest.raises(MissingHashKey) as info:
        resolve_hash_key(tmp_path, use_secret_block=False)
    message = str(info.value)
    assert HASH_KEY_ENV in message and "fanpin-hash-key" in message and "\n" not in message
    monkeypatch.setenv(HASH_KEY_ENV, "short")
    with pytest.raises(MissingHashKey, match="too short"):
        resolve_hash_key(tmp_path, use_secret_block=False)


def test_only_the_sample_inbox_gets_the_development_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The development key is for sample_data/ only, and a copy of it elsewhere is not sample."""
    monkeypatch.delenv(HASH_KEY_ENV, raising=False)
    assert resolve_hash_key(SAMPLE_INBOX, use_secret_block=False).is_development
    link = tmp_path / "inbox"
    link.symlink_to(SAMPLE_INBOX)  # a symlink to the sample is still the sample
    assert resolve_hash_key(link, use_secret_block=False).is_development
    with pytest.raises(MissingHashKey):
        resolve_hash_key(SAMPLE_INBOX.parent / "inbox-real", use_secret_block=False)


def test_cli_without_a_key_exits_1_with_one_line(
    prefect_harness: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`fanpin run` on a real inbox without a key: exit 1, one `fanpin:` line, nothing published."""
    monkeypatch.delenv(HASH_KEY_ENV, raising=False)
    monkeypatch.delenv("FANPIN_DEBUG", raising=False)
    inbox = tmp_path / "inbox"
    (inbox / "roster").mkdir(parents=True)
    code = cli.main(
        [
            "run",
            "--inbox",
            str(inbox),
            "--output",
            str(tmp_path / "out"),
            "--run-date",
            "2026-11-30",
        ]
    )
    assert code == 1
    ours = [line for line in capsys.readouterr().err.splitlines() if line.startswith("fanpin:")]
    assert len(ours) == 1 and ours[0].startswith(
        "fanpin: MissingHashKey: no hashing key: set FANPIN_HASH_KEY"
    )
    assert not (tmp_path / "out" / "latest").exists()
