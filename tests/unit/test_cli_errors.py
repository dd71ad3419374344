"""One error style for every command: a user's mistake is one line on stderr, exit 2, no traceback; plus the
shared period parser, `--events -`, the format names and `--version`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.models import encode_event
from streams.sim import Traffic, simulate
from tests.helpers import at

ROOT = Path(__file__).parents[2]
DEMO = str(ROOT / "contracts" / "examples" / "demo.yaml")
MISSING = "/nonexistent/cckpi-missing.jsonl"
runner = CliRunner()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bad_inputs(tmp_path: Path) -> dict[str, list[str]]:
    """For every command, a command line with a mistake in its input."""
    broker = f"127.0.0.1:{closed_port()}"
    no_calendar = ["-c", DEMO, "--start", "2026-11-23T10:00:00+08:00"]
    return {
        "worker": ["worker", "-c", MISSING],
        "worker (broker unreachable)": ["worker", "-c", DEMO, "--broker", broker, "--broker-wait", "1",
                                        "--data-dir", str(tmp_path / "w")],
        "simulate": ["simulate", "-c", MISSING],
        "compute (missing events file)": ["compute", "-c", DEMO, "--events", MISSING],
        "compute (events file is a directory)": ["compute", "-c", DEMO, "--events", str(tmp_path)],
        "compute (bad format)": ["compute", "-c", DEMO, "--events", MISSING, "--format", "xml"],
        "demo": ["demo", "--duration", "soon"],
        "replay": ["replay", "--source", "anonymous-bank", MISSING, "--broker", broker],
        "ledger (month 13)": ["ledger", "-c", DEMO, "--period", "2026-13", "--breaches", MISSING],
        "ledger (month name)": ["ledger", "-c", DEMO, "--period", "October", "--breaches", MISSING],
        "ledger (missing events file)": ["ledger", "-c", DEMO, "--period", "2026-10", "--events", MISSING],
        "ledger (broker unreachable)": ["ledger", "-c", DEMO, "--period", "2026-10", "--broker", broker],
        "ledger (two sources)": ["ledger", "-c", DEMO, "--period", "2026-10", "--broker", broker,
                                 "--breaches", MISSING],
        "report (month 13)": ["report", "-c", DEMO, "--period", "2026-13", "--events", MISSING, "--out",
                              str(tmp_path / "r")],
        "report (missing events file)": ["report", "-c", DEMO, "--period", "2026-10", "--events", MISSING, "--out",
                                         str(tmp_path / "r")],
        "report (broker unreachable)": ["report", "-c", DEMO, "--period", "2026-10", "--from-topic", "--broker",
                                        broker, "--out", str(tmp_path / "r"), "--timeout", "5"],
        "schema events": ["schema", "events", "--out", "/proc/cckpi/nope"],
        "schema contract": ["schema", "contract", "--out", "/proc/cckpi/nope"],
        "schema outputs": ["schema", "outputs", "--out", "/proc/cckpi/nope"],
        "contracts validate": ["contracts", "validate"],
        "calendar deadline": ["calendar", "deadline", *no_calendar, "--working-minutes", "5"],
        "calendar elapsed": ["calendar", "elapsed", "-c", MISSING, "--start", "2026-11-23T10:00:00+08:00",
                             "--end", "2026-11-23T11:00:00+08:00"],
        "grafana annotate (missing file)": ["grafana", "annotate", "--url", "http://127.0.0.1:1", "--token", "t",
                                            "--breaches", MISSING],
        "grafana annotate (broker unreachable)": ["grafana", "annotate", "--url", "http://127.0.0.1:1", "--token",
                                                  "t", "--broker", broker],
        "dashboards build": ["dashboards", "build", "-c", MISSING],
        "dashboards publish": ["dashboards", "publish", "--url", "http://127.0.0.1:1", "--dir", MISSING],
        "dashboards preview": ["dashboards", "preview", "--prometheus", "http://127.0.0.1:1", "--out", "x.png",
                               "--dashboard", MISSING],
        "forecast erlang": ["forecast", "erlang", "--calls-per-hour", "many", "--aht-seconds", "180", "--agents",
                            "10", "--answer-within", "20"],
        "forecast backtest": ["forecast", "backtest", "-c", DEMO, "--source", "anonymous-bank", MISSING],
        "no such command": ["nosuch"],
    }


def test_every_command_says_a_user_error_in_one_line_with_exit_2(tmp_path: Path) -> None:
    failures = []
    for name, args in bad_inputs(tmp_path).items():
        result = runner.invoke(app, args)
        lines = result.stderr.splitlines()
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        if result.exit_code != 2 or len(lines) != 1 or "Traceback" in result.output or crashed:
            failures.append((name, result.exit_code, result.stderr[:300], repr(result.exception)))
    assert not failures, failures


def test_the_installed_entry_point_says_it_the_same_way() -> None:
    found = subprocess.run([sys.executable, "-m", "streams", "ledger", "-c", DEMO, "--period", "2026-13",
                            "--events", MISSING], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert found.returncode == 2 and "Traceback" not in found.stderr
    assert found.stderr.splitlines() == [
        "error: Invalid value for '--period': period '2026-13' is not YYYY-MM, YYYY-Qn or YYYY (e.g. 2026-10, "
        "2026-Q4, 2026) (see `python -m streams ledger --help`)"]
    version = subprocess.run([sys.executable, "-m", "streams", "--version"], capture_output=True, text=True,
                             cwd=ROOT, timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("cckpi ") and version.stdout.split()[1][0].isdigit()


@pytest.mark.parametrize(("given", "canonical"), [("2026-10", "2026-10"), ("2026-q4", "2026-Q4"), ("2026", "2026"),
                                                  (" 1999-09 ", "1999-09")])
def test_ledger_and_report_share_one_period_parser(given: str, canonical: str) -> None:
    from streams.ledger import period_label
    from streams.report import parse_period

    assert period_label(given) == canonical == parse_period(given, "Asia/Shanghai").label


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "October", "2026-Q5", "26-10", "0000", "2026-10-01", ""])
def test_the_period_parser_refuses_what_is_not_a_month_quarter_or_year(bad: str) -> None:
    from streams.ledger import PeriodError, period_label
    from streams.report import parse_period

    with pytest.raises(PeriodError):
        period_label(bad)
    with pytest.raises(PeriodError):
        parse_period(bad, "UTC")


def events_file(tmp_path: Path) -> tuple[Path, bytes]:
    events = list(simulate(["general"], at("09:00"), 1800, Traffic(), 2, "stdin"))
    data = b"".join(encode_event(e) + b"\n" for e in events)
    path = tmp_path / "events.jsonl"
    path.write_bytes(data)
    return path, data


def test_events_are_read_from_stdin_with_dash(tmp_path: Path) -> None:
    path, data = events_file(tmp_path)
    from_file = runner.invoke(app, ["compute", "-c", DEMO, "--events", str(path)])
    from_stdin = runner.invoke(app, ["compute", "-c", DEMO, "--events", "-"], input=data)
    assert from_stdin.exit_code == 0 and from_stdin.stdout == from_file.stdout and from_file.stdout.count("\n") >= 4
    ledger = [runner.invoke(app, ["ledger", "-c", DEMO, "--period", "2026-11", "--format", "json", *source],
                            input=data) for source in (["--events", "-"], ["--events", str(path)])]
    assert ledger[0].exit_code == 0 and ledger[0].stdout == ledger[1].stdout
    report = runner.invoke(app, ["report", "-c", DEMO, "--period", "2026-11", "--events", "-", "--out",
                                 str(tmp_path / "out")], input=data)
    assert report.exit_code == 0, report.output
    assert (tmp_path / "out" / "statement.html").is_file()


def test_format_names_agree_and_the_old_spelling_still_works(tmp_path: Path) -> None:
    path, _ = events_file(tmp_path)
    json_lines = runner.invoke(app, ["compute", "-c", DEMO, "--events", str(path), "--format", "json"])
    old = runner.invoke(app, ["compute", "-c", DEMO, "--events", str(path), "--format", "jsonl"])
    assert json_lines.exit_code == 0 and json_lines.stdout == old.stdout
    assert all(json.loads(line)["contract"] == "demo" for line in json_lines.stdout.splitlines())
    ledger = runner.invoke(app, ["ledger", "-c", DEMO, "--period", "2026-11", "--events", str(path), "--format",
                                 "json"])
    assert ledger.exit_code == 0 and json.loads(ledger.stdout)["period"] == "2026-11"


def test_a_bad_breaches_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "breaches.jsonl"
    path.write_text('{"kind": "ticket", "breach_id": "x"}\n[1, 2]\n')
    result = runner.invoke(app, ["ledger", "-c", DEMO, "--period", "2026-10", "--breaches", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}:2: not a `cckpi.breaches` record (missing: all)\n"
