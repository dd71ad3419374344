"""Events outside a contract's effective period are reported, never judged, and days a calendar cannot classify are
left out with the same reason: the same in batch (`cckpi compute`) and in the stream."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
from typer.testing import CliRunner

from streams.app.shell import StreamShell
from streams.cli.main import app
from streams.contracts import parse_contract
from streams.core import BreachUpdate, Processor, TicketMissed, WindowResult, compile_terms, compute
from streams.core.records import OutsideContract, RejectedEvent
from streams.kafka_io import topics
from streams.models import encode_event
from streams.models.events import TicketCreated, TicketFirstResponse
from streams.sinks import Metrics
from tests.helpers import CONTRACT, abandoned, answered, at
from tests.unit.test_low_volume import messages, shell_of
from tests.unit.test_low_volume import run as run_low_volume
from tests.unit.test_shell import msg
from tests.unit.test_tickets_surveys_availability import HELPDESK, ev

ONE_DAY = CONTRACT.replace("timezone:", "effective_from: 2026-11-23\neffective_until: 2026-11-23\ntimezone:")
"""The test contract, in effect on Monday 2026-11-23 only (Asia/Shanghai)."""
DAY = timedelta(days=1)


def calls() -> list:
    """Breaching calls the Sunday before, on the Monday and the Tuesday and Wednesday after; all but the
    Monday's three are outside the period."""
    return [answered(at("10:01") - DAY), abandoned(at("10:02") - DAY),
            answered(at("10:01")), abandoned(at("10:02")), abandoned(at("10:03")),
            answered(at("10:01") + DAY), abandoned(at("10:02") + DAY), answered(at("10:30") + 2 * DAY)]


def test_batch_judges_only_the_effective_period_and_counts_the_rest_per_contract() -> None:
    events = calls()
    out = compute(events, compile_terms([parse_contract(ONE_DAY)]))
    windows = [o for o in out if isinstance(o, WindowResult)]
    assert [(w.window_start, w.numerator, w.denominator, w.status) for w in windows] == [
        ("2026-11-23T10:00:00+08:00", 1, 3, "breached")]
    assert all(b.window_start.startswith("2026-11-23") for b in out if isinstance(b, BreachUpdate))
    outside = [o for o in out if isinstance(o, OutsideContract)]
    assert [o.event_id for o in outside] == [e.event_id for e in events[:2] + events[5:]]
    assert {o.contract for o in outside} == {"t"}
    assert "before contract t takes effect (2026-11-23" in outside[0].reason
    assert "after contract t ended (2026-11-23" in outside[-1].reason


def test_stream_dead_letters_the_same_events_and_publishes_the_same_windows() -> None:
    events = calls()
    terms = compile_terms([parse_contract(ONE_DAY)])
    batch = compute(events, terms)
    shell = StreamShell(Processor(terms), Metrics(), idle_after=5)
    result = shell.on_batch([msg(e, i) for i, e in enumerate(events)], stored={},
                            wall_now=(at("12:00") + 3 * DAY).timestamp())
    sent = [(topic, orjson.loads(value)) for topic, _key, value in result.sends]
    dead = [v for t, v in sent if t == topics.DEAD_LETTER]
    assert [d["kind"] for d in dead] == ["outside_contract"] * 5
    assert [d["reason"] for d in dead] == [o.reason for o in batch if isinstance(o, OutsideContract)]
    streamed = [(v["key"], v["numerator"], v["denominator"]) for t, v in sent if t == topics.KPI_WINDOWS]
    assert streamed == [(w.key, w.numerator, w.denominator) for w in batch if isinstance(w, WindowResult)]
    assert shell.metrics.registry.get_sample_value("cckpi_dead_letters_total", {"reason": "outside_contract"}) == 5


def test_a_ticket_opened_outside_the_period_opens_no_clock_and_books_nothing() -> None:
    text = HELPDESK.replace("timezone:", "effective_from: 2026-11-24\neffective_until: 2026-12-31\ntimezone:")
    terms = compile_terms([parse_contract(text)])
    before = ev(TicketCreated, at("10:00"), ticket_id="early", category="request")  # Monday, before the start
    inside = ev(TicketCreated, at("10:00") + DAY, ticket_id="in", category="request")
    later = ev(TicketCreated, at("10:00") + 3 * DAY, ticket_id="later", category="request")  # moves the clock
    out = compute([before, inside, later], terms)
    assert not [o for o in out if isinstance(o, TicketMissed) and o.ticket_id == "early"]
    assert {o.window_start[:10] for o in out if isinstance(o, WindowResult)} >= {"2026-11-24"}
    assert not [o for o in out if isinstance(o, WindowResult) and o.window_start.startswith("2026-11-23")]
    assert [(o.contract, o.event_id) for o in out if isinstance(o, OutsideContract)] == [("hd", before.event_id)]
    streamed = run_low_volume(shell_of(terms), {}, messages([before, inside, later]))
    assert [r["kind"] for r in streamed if r["out"] == topics.DEAD_LETTER] == ["outside_contract"]


def test_unknown_calendar_days_are_left_out_in_batch_with_the_streams_reason(tmp_path: Path) -> None:
    contract = tmp_path / "hd.yaml"
    contract.write_text(HELPDESK)
    terms = compile_terms([parse_contract(HELPDESK, str(contract))])
    known = ev(TicketCreated, at("10:00"), ticket_id="k", category="request")
    unknown_year = ev(TicketCreated, at("10:00") + 1500 * DAY, ticket_id="y", category="request")
    out = compute([known, unknown_year], terms)  # no exception: the event is left out, as the stream does
    [rejected] = [o for o in out if isinstance(o, RejectedEvent)]
    assert rejected.kind == "calendar_unknown_day" and rejected.event_id == unknown_year.event_id
    line = HELPDESK.splitlines().index("calendar:") + 1
    assert f"{contract}:{line}" in rejected.reason and "add an override for 2031-01-01" in rejected.reason
    streamed = run_low_volume(shell_of(terms), {}, messages([known, unknown_year]),
                              days=1501)
    [dead] = [r for r in streamed if r["out"] == topics.DEAD_LETTER]
    assert (dead["kind"], dead["reason"]) == ("calendar_unknown_day", rejected.reason)


def test_compute_reports_left_out_and_unjudged_events_without_a_traceback(tmp_path: Path) -> None:
    contract = tmp_path / "hd.yaml"
    contract.write_text(HELPDESK.replace("timezone:", "effective_until: 2026-11-24\ntimezone:"))
    events = tmp_path / "events.jsonl"
    rows = [ev(TicketCreated, at("10:00"), ticket_id="a", category="request"),
            ev(TicketCreated, at("10:00") + 2 * DAY, ticket_id="b", category="request")]
    events.write_bytes(b"".join(encode_event(e) + b"\n" for e in rows))
    result = CliRunner().invoke(app, ["compute", "-c", str(contract), "--events", str(events)])
    assert result.exit_code == 0, result.output
    assert "note: contract hd: 1 event outside its effective period, not judged" in result.stderr
    assert "Traceback" not in result.output
    open_ended = tmp_path / "open.yaml"
    open_ended.write_text(HELPDESK)
    events.write_bytes(b"".join(encode_event(e) + b"\n" for e in [
        rows[0], ev(TicketFirstResponse, at("10:05"), ticket_id="a"),
        ev(TicketCreated, at("10:00") + 1500 * DAY, ticket_id="c", category="request")]))
    result = CliRunner().invoke(app, ["compute", "-c", str(open_ended), "--events", str(events)])
    assert result.exit_code == 0 and result.exception is None, result.output
    line = HELPDESK.splitlines().index("calendar:") + 1
    [skipped] = [s for s in result.stderr.splitlines() if s.startswith("skipped")]
    assert "calendar_unknown_day" in skipped and f"{open_ended}:{line}" in skipped and "known_until" in skipped
    assert any(r["window_start"].startswith("2026-11-23") for r in map(orjson.loads, result.stdout.splitlines()))
