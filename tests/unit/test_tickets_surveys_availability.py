"""Ticket SLAs with deadlines in working time, satisfaction and NPS, availability: all in the batch engine."""

from __future__ import annotations

from datetime import timedelta

from streams.contracts import parse_contract
from streams.core import WindowResult, compile_terms, compute
from streams.models import (
    ServiceDown,
    ServiceProbe,
    ServiceUp,
    SurveySubmitted,
    TicketClosed,
    TicketCreated,
    TicketFirstResponse,
    TicketResolved,
    TicketUpdated,
)
from tests.helpers import at

HELPDESK = """
id: hd
name: helpdesk
timezone: Asia/Shanghai
calendar:
  holidays: CN
  working_hours: {mon: [["09:00", "18:00"]], tue: [["09:00", "18:00"]], wed: [["09:00", "18:00"]],
                  thu: [["09:00", "18:00"]], fri: [["09:00", "18:00"]]}
scope: {categories: [request, fault, complaint], services: [hotline, portal]}
terms:
  - {id: fr15, kpi: first_response_within, within: {working_minutes: 15}, threshold: 0.9, window: day}
  - {id: su4h, kpi: solved_or_updated_within, within: {hours: 4}, threshold: 0.8, window: day}
  - {id: cc5, kpi: complaints_closed_within, within: {working_days: 5}, threshold: 0.9, window: week}
  - {id: csat, kpi: csat_average, threshold: 80, window: quarter}
  - {id: nps, kpi: nps, threshold: 20, window: quarter}
  - {id: avail, kpi: availability, threshold: 0.995, window: day, services: [hotline]}
"""
_n = 0


def ev(cls: type, when: object, **fields: object) -> object:
    global _n  # test-only counter for unique ids
    _n += 1
    return cls(event_id=f"x{_n}", occurred_at=when, **fields)


def windows(events: list, term: str) -> list[WindowResult]:
    index = compile_terms([parse_contract(HELPDESK)])
    return [r for r in compute(events, index) if isinstance(r, WindowResult) and r.term == term]


def test_first_response_deadline_in_working_minutes_and_missed_by_the_clock() -> None:
    # Monday 2026-11-23: t1 answered in 10 working minutes; t2 opened 17:55 answered next day 09:05 (10 working
    # minutes: in time); t3 never answered: settled as missed when event time passes its deadline.
    events = [
        ev(TicketCreated, at("10:00"), ticket_id="t1", category="request"),
        ev(TicketFirstResponse, at("10:10"), ticket_id="t1"),
        ev(TicketCreated, at("17:55"), ticket_id="t2", category="fault"),
        ev(TicketCreated, at("17:58"), ticket_id="t3", category="fault"),
        ev(TicketFirstResponse, at("09:05") + timedelta(days=1), ticket_id="t2"),
        ev(TicketCreated, at("10:00") + timedelta(days=1), ticket_id="t4", category="request"),  # moves the clock
    ]
    [monday] = [w for w in windows(events, "fr15") if w.window_start.startswith("2026-11-23")]
    assert (monday.numerator, monday.denominator, monday.status) == (2, 3, "breached")


def test_window_waits_for_open_tickets() -> None:
    events = [
        ev(TicketCreated, at("10:00"), ticket_id="a", category="request"),
        ev(TicketCreated, at("11:00"), ticket_id="b", category="request"),
        ev(TicketUpdated, at("12:00"), ticket_id="a"),
        ev(TicketCreated, at("10:00") + timedelta(days=1), ticket_id="c", category="request"),
    ]
    # b's 4-hour limit runs out at 15:00 Monday, before the clock reaches Tuesday 10:00: the window can close
    [monday] = [w for w in windows(events, "su4h") if w.window_start.startswith("2026-11-23")]
    assert (monday.numerator, monday.denominator) == (1, 2)
    assert windows(events[:3], "su4h") == []  # without later events b is still open: Monday is not judged


def test_complaints_closed_within_working_days_and_other_categories_ignored() -> None:
    events = [
        ev(TicketCreated, at("10:00"), ticket_id="c1", category="complaint"),
        ev(TicketCreated, at("10:00"), ticket_id="r1", category="request"),
        ev(TicketResolved, at("10:00") + timedelta(days=2), ticket_id="c1"),
        ev(TicketClosed, at("10:00") + timedelta(days=3), ticket_id="c1"),
        ev(TicketCreated, at("10:00") + timedelta(days=30), ticket_id="later", category="complaint"),
    ]
    [week] = [w for w in windows(events, "cc5") if w.window_start.startswith("2026-11-23")]
    assert (week.numerator, week.denominator, week.status) == (1, 1, "met")


def test_satisfaction_and_nps_per_quarter() -> None:
    events = [ev(SurveySubmitted, at("10:00"), survey_id=f"s{i}", csat_points=p, nps_score=n)
              for i, (p, n) in enumerate([(90, 10), (70, 9), (85, 5), (75, 8)])]
    [csat] = windows(events, "csat")
    [nps] = windows(events, "nps")
    assert (csat.value, csat.status) == (80.0, "met")
    assert (nps.value, nps.status) == (25.0, "met")  # 2 promoters, 1 detractor of 4
    assert csat.window_start == "2026-10-01T00:00:00+08:00" and csat.scope == "all"


def test_availability_from_transitions_and_probes() -> None:
    events = [
        ev(ServiceUp, at("00:00"), service="hotline"),
        ev(ServiceDown, at("12:00"), service="hotline"),
        ev(ServiceUp, at("12:30"), service="hotline"),
        ev(ServiceDown, at("09:00"), service="portal"),  # not in the term's services
        ev(ServiceProbe, at("23:59"), service="hotline", ok=True, interval_seconds=60),
        ev(ServiceUp, at("00:00") + timedelta(days=1, hours=1), service="hotline"),
    ]
    [monday] = [w for w in windows(events, "avail") if w.window_start.startswith("2026-11-23")]
    assert monday.denominator == 86400 + 60  # transitions cover the day, the probe adds its minute
    assert monday.numerator == 86400 - 1800 + 60
    assert monday.status == "breached"  # 97.9% < 99.5%


def test_duplicate_ticket_events_change_nothing() -> None:
    created = ev(TicketCreated, at("10:00"), ticket_id="d", category="request")
    response = ev(TicketFirstResponse, at("10:05"), ticket_id="d")
    later = ev(TicketCreated, at("10:00") + timedelta(days=1), ticket_id="e", category="request")
    [w] = [w for w in windows([created, response, created, response, later], "fr15")
           if w.window_start.startswith("2026-11-23")]
    assert (w.numerator, w.denominator) == (1, 1)


def test_first_response_deadline_across_a_weekend_and_a_holiday_breaches_at_the_right_instant() -> None:
    from datetime import datetime

    from streams.core import Engine
    from streams.core.records import TicketMissed

    def when(text: str) -> datetime:
        return datetime.fromisoformat(text)

    engine = Engine(compile_terms([parse_contract(HELPDESK)]))
    events = [
        # Wednesday before National Day: 5 working minutes left, then 2026-10-01..07 off (10-03/04 a weekend),
        # so the 15 working minutes run out on Thursday 2026-10-08 at 09:10
        ev(TicketCreated, when("2026-09-30T17:55:00+08:00"), ticket_id="holiday", category="request"),
        # Friday 17:50: 10 minutes on Friday, then the weekend: Monday 09:05
        ev(TicketCreated, when("2026-11-20T17:50:00+08:00"), ticket_id="weekend", category="request"),
        ev(TicketFirstResponse, when("2026-11-23T09:04:59+08:00"), ticket_id="weekend"),  # in time
    ]
    out = [o for e in events for o in engine.ingest(e)]
    missed = [o for o in out if isinstance(o, TicketMissed) and o.term == "fr15"]
    assert [(m.ticket_id, m.deadline) for m in missed] == [("holiday", "2026-10-08T09:10:00+08:00")]
    assert missed[0].settled_by == "deadline"
    # nothing settles the weekend ticket as missed, and the holiday ticket was settled by the clock, not later
    quiet = Engine(compile_terms([parse_contract(HELPDESK)]))
    quiet.ingest(events[0])
    def first_response_misses(event: object) -> list[TicketMissed]:
        return [o for o in quiet.ingest(event) if isinstance(o, TicketMissed) and o.term == "fr15"]  # type: ignore[arg-type]

    assert first_response_misses(ev(TicketCreated, when("2026-10-08T09:09:59+08:00"), ticket_id="x",
                                    category="request")) == []
    [at_deadline] = first_response_misses(ev(TicketCreated, when("2026-10-08T09:10:01+08:00"), ticket_id="y",
                                             category="request"))
    assert at_deadline.ticket_id == "holiday"
