"""Ticket clocks as service desks run them: pauses (statuses, explicit events) in working time over the National Day
holidays, reopens (resume or a new cycle), channel filters and priority changes, in batch and stream alike.

The calendar: CN holidays, Monday-Friday 09:00-18:00 (9 working hours a day). 2026: Mid-autumn 09-25..27, National
Day 10-01..07, Saturday 10-10 a working day in lieu, Sunday 10-11 not.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
import pytest

from streams.app.emitter import RawMessage
from streams.contracts import ContractError, parse_contract
from streams.contracts.checks import check_contract
from streams.core import TicketMissed, WindowResult, compute
from streams.core.terms import TermIndex
from streams.core.tickets import TicketBook
from streams.kafka_io import topics
from streams.models import (
    TicketClosed,
    TicketCreated,
    TicketPaused,
    TicketReopened,
    TicketResolved,
    TicketResumed,
    TicketStatusChanged,
    encode_event,
)
from tests.helpers import desk_contract, terms
from tests.unit.test_low_volume import run, shell_of

SH = ZoneInfo("Asia/Shanghai")
DESK = desk_contract("desk", """
  - {id: res16, kpi: resolution_within, categories: [request], within: {working_hours: 16},
     pause_on: [pending, on_hold], pause_on_events: true, targets_by_priority: {urgent: {working_hours: 4}},
     threshold: 0.9, window: month}
  - {id: cc5, kpi: complaints_closed_within, within: {working_days: 5}, pause_on: [pending], threshold: 0.9,
     window: month, channels: [email, chat]}
  - {id: cc10, kpi: complaints_closed_within, within: {working_days: 10}, threshold: 0.9, window: month,
     retention: 40d}
  - {id: cc10-day, kpi: complaints_closed_within, within: {working_days: 10}, threshold: 0.9, window: day,
     retention: 40d}
  - {id: cc10-cycle, kpi: complaints_closed_within, within: {working_days: 10}, on_reopen: new_cycle, threshold: 0.9,
     window: day, retention: 40d}
""")
_n = 0


def t(day: str, hhmm: str) -> datetime:
    """Shanghai time on a 2026 day given as MM-DD."""
    month, dom = map(int, day.split("-"))
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, month, dom, h, m, tzinfo=SH)


def ev(cls: type, when: datetime, ticket: str, **fields: object) -> object:
    global _n  # test-only counter for unique ids
    _n += 1
    return cls(event_id=f"e{_n}", occurred_at=when, ticket_id=ticket, **fields)


def index(text: str = DESK) -> TermIndex:
    return terms(text)


def results(events: list, term: str) -> list[WindowResult]:
    return [r for r in compute(events, index()) if isinstance(r, WindowResult) and r.term == term]


def missed(events: list, term: str) -> list[tuple[str, str, str, str]]:
    return [(m.ticket_id, m.deadline, m.settled_at, m.settled_by) for m in compute(events, index())
            if isinstance(m, TicketMissed) and m.term == term]


def later(day: str = "12-10") -> object:
    """An event far enough on to close November's windows."""
    return ev(TicketCreated, t(day, "10:00"), "clock", category="request")


# ------------------------------------------------------------------------------------------------------ pauses


def test_a_pending_status_over_national_day_pauses_working_time() -> None:
    # 16 working hours from Wed 09-30 10:00: 8 h that day, then 8 h on Thu 10-08 (after the holidays): 17:00.
    # Pending 14:00 .. 10-08 10:00 holds 4 + 1 paused working hours: 4 h used, 12 h left from 10-08 10:00 -> 8 h
    # that day, 4 h on Fri 10-09: the deadline is 10-09 13:00.
    created = ev(TicketCreated, t("09-30", "10:00"), "a", category="request")
    pending = ev(TicketStatusChanged, t("09-30", "14:00"), "a", status="pending")
    working = ev(TicketStatusChanged, t("10-08", "10:00"), "a", status="in_progress")
    in_time = [created, pending, working, ev(TicketResolved, t("10-09", "12:30"), "a"), later()]
    assert [(w.numerator, w.denominator) for w in results(in_time, "res16") if w.window_start.startswith("2026-09")
            ] == [(1, 1)]
    too_late = [created, pending, working, ev(TicketResolved, t("10-09", "13:30"), "a"), later()]
    assert missed(too_late, "res16") == [("a", "2026-10-09T13:00:00+08:00", "2026-10-09T13:30:00+08:00",
                                          "ticket.resolved")]
    unpaused = [created, ev(TicketResolved, t("10-09", "12:30"), "a"), later()]
    assert missed(unpaused, "res16") == [("a", "2026-10-08T17:00:00+08:00", "2026-10-09T12:30:00+08:00",
                                          "ticket.resolved")]


def test_explicit_pause_and_resume_events_and_the_makeup_saturday() -> None:
    # Fri 10-09 09:00, paused 11:00 (2 h used), resumed Sat 10-10 15:00 (a working day in lieu): 14 h left ->
    # 3 h on Saturday, none on Sunday, 9 h on Mon 10-12, 2 h on Tue 10-13: the deadline is 10-13 11:00, met by
    # the clock (no solution), so missed at that instant.
    events = [ev(TicketCreated, t("10-09", "09:00"), "b", category="request"),
              ev(TicketPaused, t("10-09", "11:00"), "b", reason="waiting on customer"),
              ev(TicketResumed, t("10-10", "15:00"), "b"), later()]
    assert missed(events, "res16") == [("b", "2026-10-13T11:00:00+08:00", "2026-10-13T11:00:00+08:00", "deadline")]


def test_a_paused_clock_has_no_deadline_and_keeps_its_window_waiting() -> None:
    events = [ev(TicketCreated, t("10-09", "09:00"), "c", category="request"),
              ev(TicketStatusChanged, t("10-09", "10:00"), "c", status="on_hold"), later()]
    assert missed(events, "res16") == [] and [w for w in results(events, "res16")
                                            if w.window_start.startswith("2026-10")] == []


def test_working_days_pause_counts_the_working_time_they_hold() -> None:
    # A complaint by email, Tue 09-29 10:00: 5 working days -> Mon 10-12 10:00 (09-30, 10-08, 10-09, 10-10, 10-12),
    # 45 working hours. Pending Wed 09-30 09:00 .. Fri 10-09 09:00 (18 working hours paused): 8 h used, 37 h left
    # from 10-09 09:00 -> 9 + 9 (Sat 10-10) + 9 (10-12) + 9 (10-13) + 1: Wed 10-14 10:00.
    events = [ev(TicketCreated, t("09-29", "10:00"), "d", category="complaint", channel="email"),
              ev(TicketStatusChanged, t("09-30", "09:00"), "d", status="pending"),
              ev(TicketStatusChanged, t("10-09", "09:00"), "d", status="open"),
              ev(TicketClosed, t("10-14", "10:30"), "d"), later()]
    assert missed(events, "cc5") == [("d", "2026-10-14T10:00:00+08:00", "2026-10-14T10:30:00+08:00", "ticket.closed")]
    # a term without pause_on ignores the status: 10 working days from 09-29 10:00 are 10-19 10:00, closed in time
    assert missed(events, "cc10") == []


# ------------------------------------------------------------------------------------------------------ reopens


def reopened_complaints(n: int = 20) -> list:
    """n complaints Mon 11-02 10:00, closed 12:00, reopened Tue 11-03 10:00, finally closed 12 working days later
    (Thu 11-19 10:00)."""
    events: list = []
    for i in range(n):
        events += [ev(TicketCreated, t("11-02", "10:00"), f"k{i}", category="complaint", channel="phone"),
                   ev(TicketClosed, t("11-02", "12:00"), f"k{i}")]
    events.append(ev(TicketCreated, t("11-03", "09:00"), "other", category="request"))  # judges 11-02's windows
    events += [ev(TicketReopened, t("11-03", "10:00"), f"k{i}") for i in range(n)]
    return events + [ev(TicketClosed, t("11-19", "10:00"), f"k{i}") for i in range(n)] + [later()]


def test_twenty_reopened_complaints_are_not_closed_in_time() -> None:
    # 10 working days from Mon 11-02 10:00 (to 11-16 10:00) hold 90 working hours; 2 h used by the first close,
    # 88 h left from the reopen Tue 11-03 10:00: 8 h that day, 9 h each on 11-04..06 and 11-09..13 (80 in all),
    # 8 h on Mon 11-16: 17:00 (the closed time, 6 h on 11-02 and 1 h on 11-03, does not count).
    events = reopened_complaints()
    [november] = [w for w in results(events, "cc10") if w.window_start.startswith("2026-11")]
    assert (november.numerator, november.denominator, november.status, november.revision) == (0, 20, "breached", 0)
    assert missed(events, "cc10")[:2] == [  # the first final close settles its own; the clock then passes the rest's
        ("k0", "2026-11-16T17:00:00+08:00", "2026-11-19T10:00:00+08:00", "ticket.closed"),
        ("k1", "2026-11-16T17:00:00+08:00", "2026-11-16T17:00:00+08:00", "deadline")]


def test_a_window_judged_before_the_reopen_is_revised() -> None:
    days = [(w.window_start[:10], w.numerator, w.denominator, w.status, w.revision)
            for w in results(reopened_complaints(2), "cc10-day") if w.window_start.startswith("2026-11-02")]
    # judged 2/2 when 11-03 began; each late final close revises it
    assert days == [("2026-11-02", 2, 2, "met", 0), ("2026-11-02", 1, 2, "breached", 1),
                    ("2026-11-02", 0, 2, "breached", 2)]


def test_new_cycle_keeps_the_first_outcome_and_counts_a_new_clock_at_the_reopen() -> None:
    # the second cycle: 10 working days from Tue 11-03 10:00 -> Tue 11-17 10:00, closed 11-19: missed
    got = [(w.window_start[:10], w.numerator, w.denominator, w.revision)
           for w in results(reopened_complaints(2), "cc10-cycle")
           if w.window_start[:10] in ("2026-11-02", "2026-11-03")]
    assert got == [("2026-11-02", 2, 2, 0), ("2026-11-03", 0, 2, 0)]
    assert missed(reopened_complaints(1), "cc10-cycle") == [
        ("k0", "2026-11-17T10:00:00+08:00", "2026-11-19T10:00:00+08:00", "ticket.closed")]


def test_a_reopen_within_the_limit_ends_met_and_a_missed_clock_stays_missed() -> None:
    events = [ev(TicketCreated, t("11-02", "10:00"), "r", category="complaint"),
              ev(TicketClosed, t("11-02", "12:00"), "r"), ev(TicketReopened, t("11-03", "10:00"), "r"),
              ev(TicketClosed, t("11-04", "10:00"), "r"),
              ev(TicketCreated, t("11-02", "10:00"), "m", category="complaint"),
              ev(TicketClosed, t("11-30", "12:00"), "m"), ev(TicketReopened, t("12-01", "10:00"), "m"),
              ev(TicketClosed, t("12-02", "10:00"), "m"), later()]
    [november] = [w for w in results(events, "cc10") if w.window_start.startswith("2026-11")]
    assert (november.numerator, november.denominator, november.revision) == (1, 2, 0)


# -------------------------------------------------------------------------------------------- channels, priority


def test_channel_filter_reads_the_channel_of_the_created_ticket() -> None:
    events = [ev(TicketCreated, t("11-02", "10:00"), "p", category="complaint", channel="phone"),
              ev(TicketCreated, t("11-02", "10:00"), "e", category="complaint", channel="email"),
              ev(TicketCreated, t("11-02", "10:00"), "n", category="complaint"), later()]
    assert [(w.denominator) for w in results(events, "cc5")] == [1]
    assert [m[0] for m in missed(events, "cc5")] == ["e"]


@pytest.mark.parametrize(("resolved", "raised", "expected"), [
    ("13:30", "11:00", []),  # urgent from creation: 4 working hours -> 14:00
    ("15:00", "11:00", [("u", "2026-11-02T14:00:00+08:00", "2026-11-02T15:00:00+08:00", "ticket.resolved")]),
    ("16:00", "15:00", [("u", "2026-11-02T14:00:00+08:00", "2026-11-02T15:00:00+08:00", "ticket.status_changed")]),
])
def test_a_new_priority_takes_its_target_measured_from_creation(resolved: str, raised: str, expected: list) -> None:
    # normal: 16 working hours from Mon 11-02 10:00 -> Tue 11-03 17:00; raised to urgent: 11-02 14:00
    events = [ev(TicketCreated, t("11-02", "10:00"), "u", category="request"),
              ev(TicketStatusChanged, t("11-02", raised), "u", status="open", priority="urgent"),
              ev(TicketResolved, t("11-02", resolved), "u"), later()]
    assert missed(events, "res16") == expected
    assert missed([events[0], events[2], later()], "res16") == []  # normal: in time


# ------------------------------------------------------------------------------------------- contracts, storage


def test_contract_checks_of_the_new_fields() -> None:
    bad = DESK.replace("pause_on_events: true,", "pause_on_events: true, on_reopen: resume,").replace(
        "res16, kpi: resolution_within", "res16, kpi: first_response_within").replace(
        "{urgent: {working_hours: 4}}", "{urgent: {working_hours: 4}}, priorities: [normal]")
    with pytest.raises(ContractError) as problem:
        parse_contract(bad)
    assert str(problem.value).splitlines() == [
        "<contract>:12: terms[0].on_reopen: on_reopen does not apply to first_response_within (a tickets KPI)",
        "<contract>:12: terms[0].targets_by_priority.urgent: urgent is not among the term's priorities (normal)"]
    assert check_contract(parse_contract(DESK)) == []


def test_a_ticket_stored_in_the_older_form_still_loads() -> None:
    book = TicketBook()
    book.load_ticket("old", orjson.dumps({"desk/cc10": [100.0, 200.0]}))
    clock = book.tickets["old"].clocks["desk/cc10"]
    assert (clock.created, clock.due, clock.since, clock.open) == (100.0, 200.0, 100.0, True)
    assert book.deadlines == [(200.0, "old", "desk/cc10")]


# ---------------------------------------------------------------------------------------------- batch = stream


def scenario() -> list:
    return [*reopened_complaints(3)[:-1],
            ev(TicketCreated, t("11-02", "10:00"), "a", category="request"),
            ev(TicketStatusChanged, t("11-02", "14:00"), "a", status="pending"),
            ev(TicketPaused, t("11-03", "09:30"), "a"),
            ev(TicketStatusChanged, t("11-04", "10:00"), "a", status="in_progress"),
            ev(TicketResumed, t("11-05", "10:00"), "a"),
            ev(TicketCreated, t("11-02", "10:00"), "u", category="request"),
            ev(TicketStatusChanged, t("11-02", "15:00"), "u", status="open", priority="urgent"),
            ev(TicketResolved, t("11-06", "10:00"), "a"), later()]


def test_stream_shell_equals_batch_even_when_restarted_mid_way() -> None:
    terms, events = index(), sorted(scenario(), key=lambda e: e.occurred_at)
    batch = compute(events, terms)
    closed = [w.to_dict() for w in batch if isinstance(w, WindowResult) and w.closed_by != "end_of_input"]
    expected = sorted(str((r["key"], r["revision"], r["numerator"], r["denominator"])) for r in closed)
    expected_missed = sorted((m.term, m.ticket_id, m.deadline, m.settled_by)
                             for m in batch if isinstance(m, TicketMissed))
    msgs = [RawMessage(b"k", encode_event(e), topics.TICKETS, 0, i) for i, e in enumerate(events)]
    table: dict[bytes, bytes] = {}
    half = len(msgs) // 2
    out = run(shell_of(terms), table, msgs[:half]) + run(shell_of(terms), table, msgs[half:])  # a new worker
    got = sorted(str((r["key"], r["revision"], r["numerator"], r["denominator"]))
                 for r in out if r["out"] == topics.KPI_WINDOWS)
    got_missed = sorted((b["term"], b["ticket_id"], b["deadline"], b["settled_by"])
                        for b in out if b["out"] == topics.BREACHES and b["kind"] == "ticket")
    assert got == expected and len(got) >= 8
    assert got_missed == expected_missed
    # a: 4 h used by 14:00, paused (pending, then the explicit pause) until the resume Thu 11-05 10:00: 12 h left ->
    # 8 h that day, 4 h on Fri 11-06: 13:00, resolved 10:00 in time. u: urgent 4 h from creation, 14:00, missed at
    # the priority change at 15:00. other: never resolved, 16 working hours from Tue 11-03 09:00 -> Wed 11-04 16:00.
    assert [m for m in got_missed if m[0] == "res16"] == [
        ("res16", "other", "2026-11-04T16:00:00+08:00", "deadline"),
        ("res16", "u", "2026-11-02T14:00:00+08:00", "ticket.status_changed")]
    assert "('desk/cc10-day/all/2026-11-02T00:00:00+08:00', 3, 0, 3)" in got  # the third revision
