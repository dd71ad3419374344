"""`cckpi calendar deadline|elapsed` on a temporary contract file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.calendar import _load_calendar, app

CONTRACT = """\
id: acme
name: ACME hotline
timezone: Asia/Shanghai
scope: {queues: [hotline]}
terms:
  - {id: ar, kpi: answer_rate, threshold: 0.9, window: 1h}
calendar:
  holidays: CN
  working_hours:
    mon: [["09:00", "18:00"]]
    tue: [["09:00", "18:00"]]
    wed: [["09:00", "18:00"]]
    thu: [["09:00", "18:00"]]
    fri: [["09:00", "18:00"]]
  overrides:
    - {date: 2027-01-01, kind: holiday, name: 元旦}
"""


@pytest.fixture
def contract(tmp_path: Path) -> Path:
    """A contract file with the calendar of the required examples."""
    path = tmp_path / "acme.yaml"
    path.write_text(CONTRACT, encoding="utf-8")
    return path


def _run(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `cckpi calendar ARGS`."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _flat(text: str) -> str:
    """Usage errors come in a wrapped rich box: drop the frame, collapse the whitespace."""
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


@pytest.mark.parametrize(
    ("start", "amount", "expected"),
    [
        ("2026-09-30T16:00+08:00", ["--working-days", "1"], "2026-10-08T16:00:00+08:00"),
        ("2026-09-30T16:00+08:00", ["--working-days", "3"], "2026-10-10T16:00:00+08:00"),
        ("2026-09-30T17:55+08:00", ["--working-minutes", "15"], "2026-10-08T09:10:00+08:00"),
        ("2026-09-30T17:55+08:00", ["--working-hours", "0.25"], "2026-10-08T09:10:00+08:00"),
        ("2026-09-30T09:55:00Z", ["--working-minutes", "15"], "2026-10-08T09:10:00+08:00"),
        ("2026-09-30T17:55", ["--working-minutes", "15"], "2026-10-08T09:10:00+08:00"),  # calendar-local
    ],
)
def test_deadline(contract: Path, start: str, amount: list[str], expected: str) -> None:
    code, out, err = _run("deadline", "--contract", str(contract), "--start", start, *amount)
    assert (code, out, err) == (0, expected + "\n", "")


def test_elapsed(contract: Path) -> None:
    args = ["elapsed", "-c", str(contract), "--start", "2026-09-30T17:55+08:00"]
    assert _run(*args, "--end", "2026-10-08T09:10+08:00") == (0, "900\n", "")
    assert _run(*args, "--end", "2026-09-30T17:00+08:00") == (0, "-3300\n", "")
    assert _run(*args, "--end", "2026-09-30T17:55:00.5+08:00") == (0, "0.500000\n", "")


def test_unknown_year_fails_with_the_fix(contract: Path) -> None:
    code, out, err = _run("deadline", "-c", str(contract), "--start", "2026-12-31T17:55+08:00", "--working-days", "1")
    assert code == 1
    assert out == ""
    assert "cannot classify 2027-01-02 (Saturday)" in err  # 2027-01-01 is an override, 01-02 is not
    assert "add an override for 2027-01-02" in err


@pytest.mark.parametrize(
    "amounts",
    [[], ["--working-minutes", "5", "--working-days", "1"], ["--working-minutes", "-5"]],
)
def test_deadline_needs_exactly_one_non_negative_amount(contract: Path, amounts: list[str]) -> None:
    code, _, err = _run("deadline", "-c", str(contract), "--start", "2026-09-30T16:00+08:00", *amounts)
    assert code == 2
    assert "--working" in _flat(err)


def test_bad_start(contract: Path) -> None:
    code, _, err = _run("elapsed", "-c", str(contract), "--start", "yesterday", "--end", "2026-09-30T16:00+08:00")
    assert code == 2
    assert "not an ISO 8601 date-time" in _flat(err)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: acme\n", "name: Field required"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        (CONTRACT.replace("Asia/Shanghai", "Mars/Olympus"), "unknown timezone"),
        ("calendar: [unclosed\n", "not valid YAML"),
        (CONTRACT.split("calendar:")[0], "has no `calendar:` section"),
    ],
)
def test_bad_contract_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    code, _, err = _run("elapsed", "-c", str(path), "--start", "2026-09-30T16:00+08:00", "--end", "2026-09-30T17:00")
    assert code == 2
    assert message in _flat(err)


def test_missing_contract_file(tmp_path: Path) -> None:
    code, _, err = _run(
        "deadline", "-c", str(tmp_path / "nope.yaml"), "--start", "2026-09-30T16:00+08:00", "--working-days", "1"
    )
    assert code == 2
    assert "does not exist" in _flat(err)


def test_load_calendar_uses_the_contract_loader(contract: Path) -> None:
    spec = _load_calendar(contract)
    assert spec.holidays == "CN"
    assert len(spec.overrides) == 1


@pytest.mark.parametrize("command", ["deadline", "elapsed"])
def test_help_ends_with_examples(command: str) -> None:
    code, out, _ = _run(command, "--help")
    assert code == 0
    assert "Examples" in out
    assert f"cckpi calendar {command} -c contract.yaml" in out
