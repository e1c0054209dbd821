"""Tests for fanpin.cli: bad usage is refused in one line, before anything runs."""

from pathlib import Path

import pytest

from fanpin.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run-date", "2026-02-30"], "is not a date"),
        (["--run-date", "1999-01-01"], "outside the range"),
        (["--policy", "../../etc/passwd"], "is not a profile name"),
        (["--departments", "medical,../x"], "not a department name"),
    ],
)
def test_bad_parameters_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Odd dates, path-like profile names and department names are refused with exit code 2."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    base = {"--inbox": str(inbox), "--output": str(tmp_path / "out"), "--run-date": "2026-11-30"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = ["run", *[x for kv in base.items() for x in kv]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_output_inside_the_inbox_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Publishing into the inbox would feed outputs back in as inputs: refused."""
    assert (
        main(
            [
                "run",
                "--inbox",
                str(tmp_path),
                "--output",
                str(tmp_path / "o"),
                "--run-date",
                "2026-11-30",
            ]
        )
        == 2
    )
    assert "must not contain or be inside" in capsys.readouterr().err


def test_missing_inbox_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An inbox that does not exist is named in the one-line refusal."""
    assert (
        main(
            [
                "run",
                "--inbox",
                str(tmp_path / "nope"),
                "--output",
                str(tmp_path / "o"),
                "--run-date",
                "2026-11-30",
            ]
        )
        == 2
    )
    assert "nope is not a folder" in capsys.readouterr().err
