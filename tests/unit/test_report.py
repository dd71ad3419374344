"""`cckpi report`: a statement built from window and breach records (latest revision decides, replays count once),
its CSV and HTML views, labels by language, and the command line."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.cli.schema import contract_schema
from streams.contracts import parse_contract
from streams.core import WindowResult, compile_terms, compute
from streams.core.records import BreachUpdate, TicketMissed
from streams.models import CallAbandoned, CallAnswered, Event, encode_event
from streams.report import build_statement, parse_period
from streams.report.html_page import render_html
from streams.report.statement import Published, language_of
from tests.helpers import CONTRACT
from tools.brokers import free_port

ROOT = Path(__file__).parents[2]
runner = CliRunner()
CST = ZoneInfo("Asia/Shanghai")
PENALISED = CONTRACT.replace("    min_volume: 3", "    min_volume: 3\n    penalty: {amount: 500, currency: CNY}\n"
                             "    escalation: {after_breaches: 2, within: quarter, right: terminate}")


def _at(day: int, hhmm: str, month: int = 10) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, month, day, h, m, tzinfo=CST)


def _answered(n: int, when: datetime, queue: str, wait: float = 10) -> CallAnswered:
    return CallAnswered(event_id=f"a{n}", call_id=f"a{n}", queue=queue, occurred_at=when, wait_seconds=wait)


def _abandoned(n: int, when: datetime, queue: str) -> CallAbandoned:
    return CallAbandoned(event_id=f"b{n}", call_id=f"b{n}", queue=queue, occurred_at=when, wait_seconds=30)


def october_events() -> list[Event]:
    """Calls in 2026-10 (plus one window in September and one in November): q1's 10:00 window on the 5th closes
    breached (3 of 4) and a late answer revises it to met (4 of 5); q2's windows on the 5th and 20th stay breached
    (1 of 4), the second reaching the escalation (2 breaches in the quarter)."""
    events: list[Event] = [_answered(1, _at(30, "10:01", 9), "q1")]
    events += [_answered(n, _at(5, f"10:0{n}"), "q1") for n in (2, 3, 4)] + [_abandoned(5, _at(5, "10:05"), "q1")]
    events += [_answered(6, _at(5, "10:01"), "q2")] + [_abandoned(n, _at(5, f"10:0{n}"), "q2") for n in (7, 8, 9)]
    events += [_answered(10, _at(5, "10:30"), "q1"), _answered(11, _at(5, "10:30"), "q2")]  # both windows close
    events += [_answered(12, _at(5, "10:07"), "q1", wait=5)]  # late for q1's 10:00 window: revision 1
    events += [_answered(13, _at(20, "09:01"), "q2")] + [_abandoned(n, _at(20, "09:02"), "q2") for n in (14, 15, 16)]
    events += [_answered(17, _at(2, "10:00", 11), "q1")]
    return events


def records(contract_text: str = PENALISED) -> tuple[list[dict], list[dict]]:
    """The window and breach records the stream would publish for `october_events`."""
    outputs = compute(october_events(), compile_terms([parse_contract(contract_text)]))
    return ([o.to_dict() for o in outputs if isinstance(o, WindowResult)],
            [o.to_breach() for o in outputs if isinstance(o, BreachUpdate)])


def test_periods_are_local_months_quarters_and_years() -> None:
    month = parse_period("2026-10", "Asia/Shanghai")
    assert (month.start.isoformat(), month.end.isoformat()) == ("2026-10-01T00:00:00+08:00",
                                                                "2026-11-01T00:00:00+08:00")
    quarter = parse_period("2026-Q4", "Asia/Jerusalem")
    assert (quarter.start.isoformat(), quarter.end.isoformat()) == ("2026-10-01T00:00:00+03:00",
                                                                    "2027-01-01T00:00:00+02:00")
    assert parse_period("1999", "UTC").end == datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC"))
    assert quarter.contains("2026-12-31T23:00:00+02:00") and not quarter.contains("2027-01-01T00:00:00+02:00")
    for bad in ("2026-13", "2026-Q5", "26-10", "2026-10-01"):
        with pytest.raises(ValueError, match="is not YYYY-MM"):
            parse_period(bad, "UTC")


def test_language_field_or_chinese_name() -> None:
    assert language_of(parse_contract(CONTRACT)) == "en"
    assert language_of(parse_contract(CONTRACT.replace("name: test", "name: 电信客服外包协议"))) == "zh"
    assert language_of(parse_contract(CONTRACT + "language: zh\n")) == "zh"
    assert language_of(parse_contract(CONTRACT.replace("name: test", "name: 协议") + "language: en\n")) == "en"
    with pytest.raises(Exception, match="language"):
        parse_contract(CONTRACT + "language: fr\n")


def test_contract_schema_file_is_current() -> None:
    published = json.loads((ROOT / "schemas" / "contract.schema.json").read_text())
    assert published == contract_schema(), "run: cckpi schema contract --out schemas/contract.schema.json"


def test_statement_from_records_latest_revision_and_replays() -> None:
    contract = parse_contract(PENALISED)
    windows, breaches = records()
    assert any(w["revision"] == 1 for w in windows), "the scenario must revise a window"
    published = [Published(w, datetime(2026, 11, 2, tzinfo=UTC)) for w in windows]
    other = {**windows[0], "contract": "other", "key": "other/" + windows[0]["key"]}
    s = build_statement(contract, parse_period("2026-10", contract.timezone), [*published, *published,
                        Published(other)], breaches + breaches, [])
    [term] = s.terms
    by_scope = {sc.scope: sc for sc in term.scopes}
    q1 = [(w.window_start, w.value, w.status, w.revision) for w in by_scope["q1"].windows]
    assert q1 == [("2026-10-05T10:00:00+08:00", 0.8, "met", 1), ("2026-10-05T10:15:00+08:00", 1.0,
                                                                    "insufficient_volume", 0)]
    assert [(w.window_start[:16], w.status) for w in by_scope["q2"].windows] == [
        ("2026-10-05T10:00", "breached"), ("2026-10-05T10:15", "insufficient_volume"),
        ("2026-10-20T09:00", "breached")]
    assert (by_scope["q2"].numerator, by_scope["q2"].denominator) == (3, 9)
    assert by_scope["q2"].value == pytest.approx(3 / 9) and by_scope["q1"].attainment == "met"
    assert term.attainment == "breached"
    assert [b.entry.window_start[:16] for b in s.breaches] == ["2026-10-05T10:00", "2026-10-20T09:00"]
    assert [(b.numerator, b.denominator) for b in s.breaches] == [(1, 4), (1, 4)] and s.breaches[0].sample
    assert s.totals == {"CNY": Decimal(1000)}
    [revision] = s.revisions
    assert (revision.before.status, revision.after.status, revision.before.value, revision.after.value) == (
        "breached", "met", 0.75, 0.8)
    assert revision.after_period_end is True  # published on 2 November
    [state] = s.escalations
    assert (state.period, state.breaches, state.reached, state.right) == ("2026-Q4", 2, True, "terminate")
    assert [(c.measure, c.terms) for c in s.volumes.columns] == [("offered", ("ar",))]
    assert {scope: values for _, scope, values in s.volumes.rows} == {"q1": (6,), "q2": (9,)}


def test_escalation_state_counts_earlier_breaches_of_the_quarter() -> None:
    contract = parse_contract(PENALISED)
    windows, breaches = records()
    september = build_statement(contract, parse_period("2026-09", contract.timezone), map(Published, windows),
                                breaches, [])
    assert september.breaches == () and september.totals == {}
    assert [(x.period, x.breaches, x.reached) for x in september.escalations] == [("2026-Q3", 0, False)]
    quarter = build_statement(contract, parse_period("2026-Q4", contract.timezone), map(Published, windows),
                              breaches, [])
    assert [w.window_start[:10] for w in quarter.terms[0].windows][-1] == "2026-11-02"
    assert quarter.totals == {"CNY": Decimal(1000)} and quarter.escalations[0].reached_by is not None


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _events_file(tmp_path: Path) -> tuple[Path, Path]:
    contract = tmp_path / "t.yaml"
    contract.write_text(PENALISED)
    events = tmp_path / "calls.jsonl"
    events.write_bytes(b"".join(encode_event(e) + b"\n" for e in october_events()))
    return contract, events


def test_report_command_writes_html_and_csv_that_parse_back(tmp_path: Path) -> None:
    contract, events = _events_file(tmp_path)
    out = tmp_path / "first" / "out"
    result = runner.invoke(app, ["report", "-c", str(contract), "--period", "2026-10", "--events", str(events),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 breaches booked, penalties 1,000.00 CNY" in result.stdout
    windows, _ = records()
    latest = {w["key"]: w for w in windows if w["window_start"].startswith("2026-10")}  # in order: latest wins
    rows = {r["key"]: r for r in _rows(out / "windows.csv")}
    assert rows.keys() == latest.keys()
    for key, w in latest.items():
        r = rows[key]
        assert (float(r["value"]), float(r["numerator"]), float(r["denominator"]), r["status"], int(r["revision"])) \
            == (w["value"], w["numerator"], w["denominator"], w["status"], w["revision"])
    assert [(r["currency"], r["amount"], r["breaches"]) for r in _rows(out / "totals.csv")] == [("CNY", "1000.00", "2")]
    assert [r["status_after"] for r in _rows(out / "revisions.csv")] == ["met"]
    inputs = {r["kind"]: r for r in _rows(out / "inputs.csv")}
    assert inputs["events"]["sha256"] == hashlib.sha256(events.read_bytes()).hexdigest()
    page = (out / "statement.html").read_text()
    assert "1,000.00 CNY" in page and "75.00%" in page and "80.00%" in page and inputs["combined"]["sha256"] in page
    assert "<script" not in page and "<link" not in page and "src=" not in page  # self-contained, offline
    again = runner.invoke(app, ["report", "-c", str(contract), "--period", "2026-10", "--events", str(events),
                                "--out", str(tmp_path / "again" / "out")])
    assert again.exit_code == 0
    for name in ("statement.html", "windows.csv", "terms.csv", "breaches.csv", "inputs.csv"):
        assert (out / name).read_bytes() == (tmp_path / "again" / "out" / name).read_bytes(), name


def test_chinese_contract_gets_chinese_labels(tmp_path: Path) -> None:
    contract = parse_contract(PENALISED.replace("name: test", "name: 测试合同"))
    windows, breaches = records()
    s = build_statement(contract, parse_period("2026-10", contract.timezone), map(Published, windows), breaches, [])
    page = render_html(s, "cckpi report ...")
    assert '<html lang="zh-CN">' in page and "服务水平结算报告" in page and "违约金合计" in page
    assert "Service level statement" not in page


def test_report_input_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    contract, events = _events_file(tmp_path)
    base = ["report", "-c", str(contract), "--out", str(tmp_path / "o")]
    bad_period = runner.invoke(app, [*base, "--period", "2026-13", "--events", str(events)])
    assert bad_period.exit_code == 2 and "is not YYYY-MM" in bad_period.stderr
    neither = runner.invoke(app, [*base, "--period", "2026-10"])
    assert neither.exit_code == 2 and "--from-topic" in neither.stderr
    both = runner.invoke(app, [*base, "--period", "2026-10", "--from-topic", "--events", str(events)])
    assert both.exit_code == 2 and "not both" in both.stderr
    no_broker = runner.invoke(app, [*base, "--period", "2026-10", "--from-topic", "--broker",
                                    f"127.0.0.1:{free_port()}"])
    assert no_broker.exit_code == 2 and "error: reading" in no_broker.stderr
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium anywhere
    no_browser = runner.invoke(app, [*base, "--period", "2026-10", "--events", str(events), "--pdf"])
    assert no_browser.exit_code == 2 and "apt-get install chromium" in no_browser.stderr


def test_report_help_has_examples() -> None:
    result = runner.invoke(app, ["report", "--help"])
    assert result.exit_code == 0 and "Examples" in result.stdout and "--from-topic" in result.stdout


def test_ticket_misses_belong_to_the_local_period_they_were_created_in() -> None:
    contract = parse_contract(PENALISED)

    def missed(ticket: str, created: str) -> dict:
        return TicketMissed("t", "ar", "resolution_within", ticket, created, "2026-10-09T10:00:00+08:00",
                            "2026-10-09T10:00:00+08:00", "deadline").to_breach()

    late_utc = missed("T1", "2026-09-30T17:00:00+00:00")  # 1 October 01:00 in Shanghai
    before = missed("T0", "2026-09-30T15:59:00+00:00")  # 30 September 23:59 in Shanghai
    s = build_statement(contract, parse_period("2026-10", contract.timezone), [], [late_utc, late_utc, before], [])
    assert [(m.ticket_id, m.settled_by) for m in s.ticket_misses] == [("T1", "deadline")]
    assert "T1" in render_html(s, "cckpi report ...")
