"""Tickets, surveys and availability in the stream shell: same results as the batch engine, across restarts."""

from __future__ import annotations

from datetime import timedelta

import orjson

from streams.app.emitter import RawMessage
from streams.app.shell import StreamShell
from streams.contracts import parse_contract
from streams.core import Processor, WindowResult, compile_terms, compute
from streams.core.terms import TermIndex
from streams.kafka_io import topics
from streams.models import encode_event
from streams.models.events import ServiceDown, ServiceUp, SurveySubmitted, TicketCreated, TicketFirstResponse
from streams.sinks import Metrics
from tests.helpers import at
from tests.unit.test_tickets_surveys_availability import HELPDESK, ev

TOPIC = {TicketCreated: topics.TICKETS, TicketFirstResponse: topics.TICKETS, SurveySubmitted: topics.SURVEYS,
         ServiceDown: topics.AVAILABILITY, ServiceUp: topics.AVAILABILITY}


def messages(events: list, first: int = 0) -> list[RawMessage]:
    return [RawMessage(b"k", encode_event(e), TOPIC[type(e)], 0, i) for i, e in enumerate(events, first)]


def scenario() -> list:
    day = timedelta(days=1)
    return [
        ev(TicketCreated, at("10:00"), ticket_id="t1", category="request"),
        ev(TicketCreated, at("17:58"), ticket_id="t2", category="fault"),
        ev(SurveySubmitted, at("11:00"), survey_id="s1", csat_points=70, nps_score=10),
        ev(ServiceUp, at("00:00"), service="hotline"),
        ev(TicketFirstResponse, at("10:05"), ticket_id="t1"),
        ev(ServiceDown, at("13:00"), service="hotline"),
        ev(TicketCreated, at("10:00") + day, ticket_id="t3", category="request"),
        ev(ServiceUp, at("14:00") + day, service="hotline"),
        ev(SurveySubmitted, at("11:00") + 100 * day, survey_id="s2", csat_points=90),
    ]


def shell_of(terms: TermIndex, idle_after: float = 10) -> StreamShell:
    return StreamShell(Processor(terms), Metrics(), idle_after=idle_after)


def run(shell: StreamShell, table: dict[bytes, bytes], msgs: list[RawMessage], days: float = 200) -> list[dict]:
    """The messages through the shell, as the worker runs them: each partition loaded from `table` on assignment."""
    for source in sorted({(m.topic, m.partition) for m in msgs}):
        shell.warm(source, table.items())
    result = shell.on_batch(msgs, table, wall_now=at("12:00").timestamp() + days * 86400)
    sends = result.sends
    for _source, key, value in result.writes():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    return [{**orjson.loads(v), "out": t} for t, _k, v in sends]


def test_stream_shell_equals_batch_even_when_restarted_mid_way() -> None:
    terms = compile_terms([parse_contract(HELPDESK)])
    events = scenario()
    expected = sorted(str((r["key"], r["revision"], r["numerator"], r["denominator"]))
                      for r in (w.to_dict() for w in compute(events, terms)
                                if isinstance(w, WindowResult) and w.closed_by != "end_of_input"))
    table: dict[bytes, bytes] = {}
    out = run(shell_of(terms), table, messages(events[:5]))
    out += run(shell_of(terms), table, messages(events[5:], 5))  # a new worker
    got = sorted(str((r["key"], r["revision"], r["numerator"], r["denominator"]))
                 for r in out if r["out"] == topics.KPI_WINDOWS)
    assert got == expected and len(got) >= 4
    ticket_breaches = [r for r in out if r["out"] == topics.BREACHES and r["kind"] == "ticket" and r["term"] == "fr15"]
    assert [(b["ticket_id"], b["deadline"], b["settled_by"]) for b in ticket_breaches] == [
        ("t1", "2026-11-23T10:15:00+08:00", "deadline"),  # its response came after the clock had passed 10:15
        ("t2", "2026-11-24T09:13:00+08:00", "deadline")]  # 15 working minutes: 2 on Monday, 13 on Tuesday


def test_wrong_topic_and_calendar_gaps_are_dead_lettered() -> None:
    shell = shell_of(compile_terms([parse_contract(HELPDESK)]))
    survey_on_tickets = RawMessage(b"k", encode_event(ev(SurveySubmitted, at("10:00"), survey_id="x", nps_score=1)),
                                   topics.TICKETS, 0, 0)
    unknown_year = ev(TicketCreated, at("10:00") + timedelta(days=400), ticket_id="y", category="request")
    out = run(shell, {}, [survey_on_tickets, *messages([unknown_year])], days=401)
    assert [r["kind"] for r in out if r["out"] == topics.DEAD_LETTER] == ["wrong_topic", "calendar_unknown_day"]


def test_ticket_deadline_fires_on_the_idle_timer_without_a_later_event() -> None:
    terms = compile_terms([parse_contract(HELPDESK)])
    shell = shell_of(terms, idle_after=5)
    created = ev(TicketCreated, at("17:58"), ticket_id="late", category="fault")
    wall = at("17:58").timestamp()
    sends = shell.on_batch(messages([created]), {}, wall_now=wall).sends
    assert sends == []
    # the deadline is Tuesday 09:13: the clock follows the wall while quiet
    assert shell.on_tick((topics.TICKETS, 0), [], wall_now=wall + 3600).sends == []
    sends = shell.on_tick((topics.TICKETS, 0), [], wall_now=at("09:14").timestamp() + 86400).sends
    breaches = [orjson.loads(v) for t, _k, v in sends if t == topics.BREACHES]
    [breach] = [b for b in breaches if b["term"] == "fr15" and b["kind"] == "ticket"]
    assert (breach["ticket_id"], breach["settled_by"], breach["deadline"]) == (
        "late", "deadline", "2026-11-24T09:13:00+08:00")
