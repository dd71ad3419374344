"""Periodic-update targets (`updated_every`: "update every 4 h while open"): a ticket counts as met when no gap
while open (creation to the first update, update to update, the last update to the solution) exceeded `within`,
in working time with pauses when so declared, in batch and stream alike.

The calendar (see test_ticket_clocks): CN holidays, Monday-Friday 09:00-18:00; Saturday 2026-10-10 a working day
in lieu, Sunday 10-11 not.
"""

from __future__ import annotations

import orjson
import pytest

from streams.app.emitter import RawMessage
from streams.contracts import ContractError, parse_contract
from streams.core import TicketMissed, TicketWarning, WindowResult, compute
from streams.core.terms import TermIndex
from streams.kafka_io import topics
from streams.models import (
    TicketClosed,
    TicketCreated,
    TicketFirstResponse,
    TicketResolved,
    TicketStatusChanged,
    TicketUpdated,
    encode_event,
)
from tests.helpers import desk_contract, terms
from tests.unit.test_low_volume import run, shell_of
from tests.unit.test_ticket_clocks import ev, t

UPDATES = desk_contract("upd", """
  - {id: upd4, kpi: updated_every, categories: [request], within: {working_hours: 4}, pause_on: [pending],
     warn_at: [0.5], threshold: 0.9, window: month}
  - {id: upd4h, kpi: updated_every, categories: [complaint], within: {hours: 4}, threshold: 0.9, window: day}
""")


def index() -> TermIndex:
    return terms(UPDATES)


def later(day: str = "12-10") -> object:
    return ev(TicketCreated, t(day, "10:00"), "clock", category="other")


def updated_regularly(ticket: str, pause: bool) -> list:
    """Fri 10-09 15:00; updated Sat 10-10 09:30 (3 + 0.5 working hours) and 12:30 (3 h); then (with `pause`)
    pending 14:00 (1.5 h) .. Mon 10-12 09:00; resolved 10:30 (1.5 h more: 3 h)."""
    events = [ev(TicketCreated, t("10-09", "15:00"), ticket, category="request"),
              ev(TicketUpdated, t("10-10", "09:30"), ticket), ev(TicketUpdated, t("10-10", "12:30"), ticket)]
    if pause:
        events.append(ev(TicketStatusChanged, t("10-10", "14:00"), ticket, status="pending"))
    return [*events, ev(TicketStatusChanged, t("10-12", "09:00"), ticket, status="in_progress"),
            ev(TicketResolved, t("10-12", "10:30"), ticket)]


def october(events: list, term: str = "upd4") -> tuple[float, float]:
    [w] = [r for r in compute(events, index()) if isinstance(r, WindowResult) and r.term == term
           and r.window_start.startswith("2026-10")]
    return w.numerator, w.denominator


def test_no_gap_longer_than_four_working_hours_counts_met_and_one_longer_misses() -> None:
    met, unpaused = updated_regularly("m", pause=True), updated_regularly("x", pause=False)
    assert october([*met, later()]) == (1, 1)
    # without the pause the third gap runs from Sat 12:30: 4 working hours -> 16:30, missed by the clock
    events = [*sorted([*met, *unpaused], key=lambda e: e.occurred_at), later()]
    assert october(events) == (1, 2)
    assert [(m.ticket_id, m.deadline, m.settled_by) for m in compute(events, index())
            if isinstance(m, TicketMissed)] == [("x", "2026-10-10T16:30:00+08:00", "deadline")]


def test_each_gap_warns_at_its_share_and_an_update_in_time_ends_the_warning() -> None:
    got = [(w.state, w.warned_at[5:16], w.settled_by) for w in compute([*updated_regularly("m", True), later()],
                                                                        index()) if isinstance(w, TicketWarning)]
    # 50% of each gap (2 working hours): Fri 17:00; Sat 09:30 + 2 h = 11:30; Sat 12:30 + 1.5 h, paused, + 0.5 h on
    # Mon: 09:30
    assert got == [("warning", "10-09T17:00", None), ("settled", "10-09T17:00", "ticket.updated"),
                   ("warning", "10-10T11:30", None), ("settled", "10-10T11:30", "ticket.updated"),
                   ("warning", "10-12T09:30", None), ("settled", "10-12T09:30", "ticket.resolved")]


@pytest.mark.parametrize(("closed", "deadline"), [("19:30", None), ("21:00", "2026-11-02T20:00:00+08:00")])
def test_plain_hours_with_a_first_response_as_the_first_update(closed: str, deadline: str | None) -> None:
    # a complaint Mon 11-02 10:00, first response 13:00 (3 h), updated 16:00 (3 h); closed 19:30 (3.5 h) in time,
    # 21:00 (5 h) too late: the last gap ran out at 20:00
    events = [ev(TicketCreated, t("11-02", "10:00"), "c", category="complaint"),
              ev(TicketFirstResponse, t("11-02", "13:00"), "c"), ev(TicketUpdated, t("11-02", "16:00"), "c"),
              ev(TicketClosed, t("11-02", closed), "c"), later()]
    out = compute(events, index())
    [day] = [w for w in out if isinstance(w, WindowResult) and w.term == "upd4h"
             and w.window_start[:10] == "2026-11-02"]
    assert (day.numerator, day.denominator) == ((1, 1) if deadline is None else (0, 1))
    assert [m.deadline for m in out if isinstance(m, TicketMissed)] == ([] if deadline is None else [deadline])


def test_updated_every_needs_its_gap() -> None:
    with pytest.raises(ContractError, match=r"terms\[1\]"):
        parse_contract(UPDATES.replace("within: {hours: 4}, threshold", "threshold"))


def stream_and_batch(terms: TermIndex, events: list, half: int) -> tuple[list[bytes], list[bytes]]:
    """The ticket windows, misses and warnings of the stream shell (a new worker taking over after `half` messages)
    and of `compute`, comparable (sorted, as published)."""
    batch = compute(events, terms)
    expected = sorted(orjson.dumps(o.to_dict() if isinstance(o, WindowResult) else o.to_breach(),
                                   option=orjson.OPT_SORT_KEYS) for o in batch
                      if isinstance(o, TicketMissed | TicketWarning)
                      or (isinstance(o, WindowResult) and o.closed_by != "end_of_input"))
    msgs = [RawMessage(b"k", encode_event(e), topics.TICKETS, 0, i) for i, e in enumerate(events)]
    table: dict[bytes, bytes] = {}
    out = run(shell_of(terms), table, msgs[:half]) + run(shell_of(terms), table, msgs[half:])  # a new worker
    got = sorted(orjson.dumps({k: v for k, v in r.items() if k != "out"}, option=orjson.OPT_SORT_KEYS) for r in out
                 if r["out"] in (topics.KPI_WINDOWS, topics.BREACHES) and r.get("kind", "ticket") == "ticket")
    return got, expected


def test_stream_shell_equals_batch_even_when_restarted_mid_way() -> None:
    mixed = [*updated_regularly("m", True), *updated_regularly("x", False),
             ev(TicketCreated, t("11-02", "10:00"), "c", category="complaint"),
             ev(TicketUpdated, t("11-02", "13:00"), "c")]
    events = [*sorted(mixed, key=lambda e: e.occurred_at), later()]
    got, expected = stream_and_batch(index(), events, 5)  # between m's and x's updates of Sat 10-10 12:30
    assert got == expected
    windows = [orjson.loads(r) for r in got if b'"numerator"' in r]
    assert sorted((w["term"], w["window_start"][:10], w["numerator"], w["denominator"]) for w in windows) == [
        ("upd4", "2026-10-01", 1, 2), ("upd4h", "2026-11-02", 0, 1)]
