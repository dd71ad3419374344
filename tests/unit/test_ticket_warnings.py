"""Warnings at declared shares of a ticket's allowed time (`warn_at`, as ServiceNow notifies at 50% and 75%): by
event time (pauses, working time, retroactive priorities, reopens), on the idle timer, in batch and stream alike,
and in the breach topic, metrics and Alertmanager.

The calendar (see test_ticket_clocks): CN holidays, Monday-Friday 09:00-18:00; National Day 2026-10-01..07.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from streams.app.emitter import RawMessage
from streams.contracts import ContractError, parse_contract
from streams.core import Engine, TicketMissed, TicketWarning, compute
from streams.core.terms import TermIndex
from streams.core.tickets import TicketBook
from streams.kafka_io import topics
from streams.models import (
    TicketCreated,
    TicketFirstResponse,
    TicketReopened,
    TicketResolved,
    TicketStatusChanged,
    encode_event,
)
from streams.sinks.alertmanager import AlertmanagerSink
from streams.sinks.metrics import Metrics
from streams.sinks.metrics_sink import MetricsSink
from tests.helpers import desk_contract, terms
from tests.unit.test_low_volume import run, shell_of
from tests.unit.test_ticket_clocks import ev, t

WARNED = desk_contract("warn", """
  - {id: res16, kpi: resolution_within, categories: [request], within: {working_hours: 16}, pause_on: [pending],
     targets_by_priority: {urgent: {working_hours: 4}}, warn_at: [0.5, 0.75], threshold: 0.9, window: month}
  - {id: fr2h, kpi: first_response_within, categories: [complaint], within: {hours: 2}, warn_at: [0.5],
     threshold: 0.9, window: day}
""")


def index() -> TermIndex:
    return terms(WARNED)


def later(day: str = "12-10") -> object:
    return ev(TicketCreated, t(day, "10:00"), "clock", category="other")


def steps(events: list, term: str = "res16") -> list[tuple[str, ...]]:
    """The ticket-level records of a term in order: (ticket, status, share or deadline, when, settled by)."""
    out = []
    for r in compute(events, index()):
        if isinstance(r, TicketWarning) and r.term == term:
            out.append((r.ticket_id, r.state, f"{r.share:g}", r.warned_at[5:16], r.settled_by or ""))
        elif isinstance(r, TicketMissed) and r.term == term:
            out.append((r.ticket_id, "missed", "1", r.deadline[5:16], r.settled_by))
    return out


def paused_over_national_day(resolved: str) -> list:
    # Wed 09-30 14:00, 16 working hours; pending 16:00 .. Thu 10-08 10:00 (2 h used). 50% (8 h): 6 h more from
    # 10-08 10:00 -> 16:00; 75% (12 h): 10 h more -> 8 h to 18:00, 2 h on Fri 10-09 -> 11:00; the deadline:
    # 14 h more -> 10-09 15:00.
    return [ev(TicketCreated, t("09-30", "14:00"), "a", category="request"),
            ev(TicketStatusChanged, t("09-30", "16:00"), "a", status="pending"),
            ev(TicketStatusChanged, t("10-08", "10:00"), "a", status="in_progress"),
            ev(TicketResolved, t("10-09", resolved), "a"), later()]


def test_warnings_in_working_time_respect_the_pause_and_end_when_the_ticket_is_settled() -> None:
    assert steps(paused_over_national_day("12:00")) == [
        ("a", "warning", "0.5", "10-08T16:00", ""), ("a", "warning", "0.75", "10-09T11:00", ""),
        ("a", "settled", "0.75", "10-09T11:00", "ticket.resolved")]
    assert steps(paused_over_national_day("10:00")) == [
        ("a", "warning", "0.5", "10-08T16:00", ""), ("a", "settled", "0.5", "10-08T16:00", "ticket.resolved")]


def test_a_ticket_settled_before_the_first_share_has_no_warning() -> None:
    events = paused_over_national_day("12:00")
    events[3] = ev(TicketResolved, t("10-08", "15:30"), "a")
    assert steps(events) == []


def test_unsettled_ticket_warns_at_each_share_then_misses_by_the_clock() -> None:
    # plain time: a complaint Mon 11-02 10:00, 2 hours to a first response: 50% at 11:00, missed at 12:00
    events = [ev(TicketCreated, t("11-02", "10:00"), "c", category="complaint"), later()]
    assert steps(events, "fr2h") == [("c", "warning", "0.5", "11-02T11:00", ""),
                                     ("c", "missed", "1", "11-02T12:00", "deadline"),
                                     ("c", "settled", "0.5", "11-02T11:00", "deadline")]
    answered = [events[0], ev(TicketFirstResponse, t("11-02", "11:30"), "c"), later()]
    assert steps(answered, "fr2h") == [("c", "warning", "0.5", "11-02T11:00", ""),
                                       ("c", "settled", "0.5", "11-02T11:00", "ticket.first_response")]


def test_a_retroactive_priority_raises_the_shares_already_passed_at_once() -> None:
    # Mon 11-02 10:00 normal (16 h: 50% at 18:00, not passed at 15:00); raised to urgent at 15:00: 4 working hours
    # from creation, 50% at 12:00, 75% 13:00, the deadline 14:00: all passed, raised at once in that order
    events = [ev(TicketCreated, t("11-02", "10:00"), "u", category="request"),
              ev(TicketStatusChanged, t("11-02", "15:00"), "u", status="open", priority="urgent"), later()]
    assert steps(events) == [("u", "warning", "0.5", "11-02T12:00", ""), ("u", "warning", "0.75", "11-02T13:00", ""),
                             ("u", "missed", "1", "11-02T14:00", "ticket.status_changed"),
                             ("u", "settled", "0.75", "11-02T13:00", "ticket.status_changed")]


def test_a_reopened_ticket_keeps_its_shares_and_runs_on_with_the_time_it_had_left() -> None:
    # Mon 11-02 10:00, resolved 14:00 (4 h used, no share), reopened Tue 11-03 11:00: 50% (8 h) 4 h later, 15:00;
    # resolved 16:00 in time
    events = [ev(TicketCreated, t("11-02", "10:00"), "r", category="request"),
              ev(TicketResolved, t("11-02", "14:00"), "r"), ev(TicketReopened, t("11-03", "11:00"), "r"),
              ev(TicketResolved, t("11-03", "16:00"), "r"), later()]
    assert steps(events) == [("r", "warning", "0.5", "11-03T15:00", ""),
                             ("r", "settled", "0.5", "11-03T15:00", "ticket.resolved")]


def test_the_idle_timer_raises_a_warning_without_a_later_event() -> None:
    engine = Engine(index())
    created = ev(TicketCreated, t("11-02", "10:00"), "i", category="complaint")
    wall = 1_000_000.0
    assert not [o for o in engine.ingest(created, wall) if isinstance(o, TicketWarning)]
    assert engine.idle(wall + 1800, 10) == []  # the clock at 10:30: before the share
    [warning] = [o for o in engine.idle(wall + 3700, 10) if isinstance(o, TicketWarning)]  # 11:01:40
    assert (warning.share, warning.warned_at, warning.deadline) == (0.5, "2026-11-02T11:00:00+08:00",
                                                                    "2026-11-02T12:00:00+08:00")
    assert [o for o in engine.idle(wall + 3800, 10) if isinstance(o, TicketWarning)] == []  # once


def test_warn_at_is_checked() -> None:
    for shares, message in (("[0.75, 0.5]", "ascending"), ("[0.5, 1.0]", "below 1"), ("[]", "above 0")):
        with pytest.raises(ContractError) as problem:
            parse_contract(WARNED.replace("warn_at: [0.5]", f"warn_at: {shares}"))
        assert "terms[1].warn_at" in str(problem.value) and message in str(problem.value)
    survey = WARNED + "  - {id: s, kpi: nps, threshold: 10, window: month, warn_at: [0.5]}\n"
    with pytest.raises(ContractError, match=r"terms\[2\].warn_at: warn_at does not apply to nps"):
        parse_contract(survey)


def test_a_clock_stored_before_warnings_still_loads() -> None:
    book = TicketBook()
    stored = [100.0, 200.0, 100.0, [], None, True, False, None]
    book.load_ticket("old", orjson.dumps({"clocks": {"warn/res16": stored}, "priority": None, "status": None,
                                          "paused": False}))
    clock = book.tickets["old"].clocks["warn/res16"]
    assert (clock.due, clock.warned, clock.warn) == (200.0, 0, None)


# ---------------------------------------------------------------------------------------------------- sinks


def test_breach_records_metrics_and_alerts_of_a_warning() -> None:
    events = [ev(TicketCreated, t("11-02", "10:00"), "s", category="complaint"),
              ev(TicketFirstResponse, t("11-02", "11:30"), "s"), later()]
    found = [o for o in compute(events, index()) if isinstance(o, TicketWarning)]
    root = Path(__file__).parents[2] / "schemas" / "outputs"
    schema = json.loads((root / "breach.ticket-warning.json").read_text())
    import jsonschema

    records = [o.to_breach() for o in found]
    for record in records:
        jsonschema.validate(record, schema)
    assert [(r["breach_id"], r["kind"], r["status"], r["severity"]) for r in records] == [
        ("warn/fr2h/ticket/s/warning", "ticket", "warning", "warning"),
        ("warn/fr2h/ticket/s/warning", "ticket", "settled", "none")]
    metrics = Metrics()
    sink = MetricsSink(metrics, index().by_key.values())
    alerts = AlertmanagerSink("http://am")
    for o in found:
        sink.ticket_warning(o, [], None)
        alerts.on_ticket(o)
    assert metrics.registry.get_sample_value("cckpi_ticket_warnings_total",
                                             {"contract": "warn", "term": "fr2h", "share": "0.5"}) == 1
    fired, resolved = alerts.due(now=0.0)
    assert fired["labels"] == {"alertname": "CckpiTicketWarning", "contract": "warn", "term": "fr2h",
                               "kpi": "first_response_within", "ticket": "s", "severity": "warning"}
    assert "endsAt" not in fired and resolved["labels"] == fired["labels"] and "endsAt" in resolved
    assert alerts.tickets == {}


def test_a_missed_ticket_resolves_its_warning_alert() -> None:
    alerts = AlertmanagerSink("http://am")
    for o in compute([ev(TicketCreated, t("11-02", "10:00"), "m", category="complaint"), later()], index()):
        if (isinstance(o, TicketWarning) and o.state == "warning") or isinstance(o, TicketMissed):
            alerts.on_ticket(o)
    assert [("endsAt" in a) for a in alerts.due(now=0.0)] == [False, True] and alerts.tickets == {}


# ---------------------------------------------------------------------------------------------- batch = stream


def scenario() -> list:
    return [*paused_over_national_day("12:00")[:-1],
            ev(TicketCreated, t("10-09", "10:00"), "c", category="complaint"),
            ev(TicketCreated, t("10-09", "10:00"), "u", category="request"),
            ev(TicketStatusChanged, t("10-09", "15:00"), "u", status="open", priority="urgent"),
            ev(TicketCreated, t("10-12", "09:00"), "n", category="request"),
            later("10-13"), later("11-30")]


def test_stream_shell_equals_batch_even_when_restarted_mid_way() -> None:
    terms, events = index(), sorted(scenario(), key=lambda e: e.occurred_at)
    expected = sorted(orjson.dumps(o.to_breach(), option=orjson.OPT_SORT_KEYS)
                      for o in compute(events, terms) if isinstance(o, TicketWarning))
    msgs = [RawMessage(b"k", encode_event(e), topics.TICKETS, 0, i) for i, e in enumerate(events)]
    table: dict[bytes, bytes] = {}
    half = 4  # after a's first share (10-08 16:00) is raised, before its second
    out = run(shell_of(terms), table, msgs[:half]) + run(shell_of(terms), table, msgs[half:])  # a new worker
    got = [{k: v for k, v in b.items() if k != "out"} for b in out
           if b["out"] == topics.BREACHES and b.get("status") in ("warning", "settled")]
    assert sorted(orjson.dumps(b, option=orjson.OPT_SORT_KEYS) for b in got) == expected
    # a: as above; c: 50% at 11:00, missed 12:00; u: urgent at 15:00, 12:00 and 13:00 passed; n (Mon 10-12 09:00):
    # 8 h -> 17:00, 12 h -> 9 h + 3 h on Tue 10-13 -> 12:00, missed at 16:00
    assert sorted((b["ticket_id"], b["status"], b["share"], b["warned_at"][5:16]) for b in got) == [
        ("a", "settled", 0.75, "10-09T11:00"), ("a", "warning", 0.5, "10-08T16:00"),
        ("a", "warning", 0.75, "10-09T11:00"),
        ("c", "settled", 0.5, "10-09T11:00"), ("c", "warning", 0.5, "10-09T11:00"),
        ("n", "settled", 0.75, "10-13T12:00"), ("n", "warning", 0.5, "10-12T17:00"),
        ("n", "warning", 0.75, "10-13T12:00"),
        ("u", "settled", 0.75, "10-09T13:00"), ("u", "warning", 0.5, "10-09T12:00"),
        ("u", "warning", 0.75, "10-09T13:00")]


def test_readers_of_the_breach_topic_tell_warnings_from_misses() -> None:
    from streams.core.records import is_ticket_miss
    from streams.demo.view import is_breach_line

    out = compute([ev(TicketCreated, t("11-02", "10:00"), "d", category="complaint"), later()], index())
    records = [o.to_breach() for o in out if isinstance(o, TicketWarning | TicketMissed)]
    assert [(r["status"], is_ticket_miss(r), is_breach_line(r)) for r in records] == [
        ("warning", False, True), ("breached", True, True), ("settled", False, False)]
