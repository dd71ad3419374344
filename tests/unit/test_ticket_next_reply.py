"""Next-reply targets (`next_reply_within`: "reply to every customer message within N working hours", Zendesk's
next reply time): each customer message (`ticket.customer_replied`) on an answered ticket starts a clock, counted
in the window of the message, that the next agent reply stops; in working time with pauses when so declared, with
warnings, in batch and stream alike.

The calendar (see test_ticket_clocks): CN holidays, Monday-Friday 09:00-18:00; National Day 10-01..07, Saturday
2026-10-10 a working day in lieu, Sunday 10-11 not.
"""

from __future__ import annotations

import orjson
import pytest

from streams.contracts import ContractError, parse_contract
from streams.core import TicketMissed, TicketWarning, WindowResult, compute
from streams.core.terms import TermIndex
from streams.models import (
    TicketClosed,
    TicketCreated,
    TicketCustomerReplied,
    TicketFirstResponse,
    TicketReopened,
    TicketResolved,
    TicketStatusChanged,
    TicketUpdated,
)
from tests.helpers import desk_contract, terms
from tests.unit.test_ticket_clocks import ev, t
from tests.unit.test_ticket_updates import later, stream_and_batch

REPLIES = desk_contract("nr", """
  - {id: nr4, kpi: next_reply_within, categories: [request], within: {working_hours: 4}, pause_on: [pending],
     warn_at: [0.5], threshold: 0.9, window: month}
  - {id: nr2h, kpi: next_reply_within, categories: [complaint], within: {hours: 2}, threshold: 0.9, window: day}
""")


def index() -> TermIndex:
    return terms(REPLIES)


def conversation(ticket: str, pause: bool) -> list:
    """A request over National Day and a weekend:

    - created Wed 09-30 10:00, first response 11:00 (no customer message yet: no clock);
    - message 09-30 15:00 (3 working hours that day, then National Day: deadline Thu 10-08 10:00), a second one at
      17:00 while unanswered (no clock of its own), answered 10-08 09:30: met, in September's window;
    - message Fri 10-09 15:00 (3 h that day, 1 h on Saturday 10-10, a working day: deadline 10-10 10:00), missed;
      another at 16:00 still unanswered (no clock); answered Mon 10-12 09:00;
    - message Mon 10-12 10:00, (with `pause`) pending 11:00 (1 h) .. Tue 10-13 09:00, answered 11:30 (2.5 h more:
      3.5 h): met; without the pause the deadline is 10-12 14:00, missed.
    """
    events = [ev(TicketCreated, t("09-30", "10:00"), ticket, category="request"),
              ev(TicketFirstResponse, t("09-30", "11:00"), ticket),
              ev(TicketCustomerReplied, t("09-30", "15:00"), ticket),
              ev(TicketCustomerReplied, t("09-30", "17:00"), ticket),
              ev(TicketUpdated, t("10-08", "09:30"), ticket),
              ev(TicketCustomerReplied, t("10-09", "15:00"), ticket),
              ev(TicketStatusChanged, t("10-10", "12:00"), ticket, status="in_progress"),  # the clock passes 10:00
              ev(TicketCustomerReplied, t("10-10", "16:00"), ticket),
              ev(TicketUpdated, t("10-12", "09:00"), ticket),
              ev(TicketCustomerReplied, t("10-12", "10:00"), ticket)]
    if pause:
        events.append(ev(TicketStatusChanged, t("10-12", "11:00"), ticket, status="pending"))
    return [*events, ev(TicketStatusChanged, t("10-13", "09:00"), ticket, status="in_progress"),
            ev(TicketUpdated, t("10-13", "11:30"), ticket)]


def windows(events: list, term: str = "nr4") -> dict[str, tuple[float, float]]:
    return {w.window_start[:10]: (w.numerator, w.denominator) for w in compute(events, index())
            if isinstance(w, WindowResult) and w.term == term}


def test_each_message_counts_in_its_window_across_national_day_and_a_weekend() -> None:
    events = [*conversation("m", pause=True), later()]
    assert windows(events) == {"2026-09-01": (1, 1), "2026-10-01": (1, 2)}
    assert [(m.ticket_id, m.created_at, m.deadline, m.settled_by) for m in compute(events, index())
            if isinstance(m, TicketMissed)] == [("m", "2026-10-09T15:00:00+08:00", "2026-10-10T10:00:00+08:00",
                                                 "deadline")]


def test_without_the_pause_the_last_message_misses_too() -> None:
    events = [*conversation("x", pause=False), later()]
    assert windows(events) == {"2026-09-01": (1, 1), "2026-10-01": (0, 2)}
    assert [m.deadline for m in compute(events, index()) if isinstance(m, TicketMissed)] == [
        "2026-10-10T10:00:00+08:00", "2026-10-12T14:00:00+08:00"]


def test_each_clock_warns_at_its_share() -> None:
    got = [(w.state, w.created_at[5:16], w.warned_at[5:16], w.settled_by)
           for w in compute([*conversation("m", True), later()], index()) if isinstance(w, TicketWarning)]
    # 50% = 2 working hours: 09-30 15:00 -> 17:00; 10-09 15:00 -> 17:00; 10-12 10:00 + 1 h, paused, + 1 h -> 10-13 10:00
    assert got == [("warning", "09-30T15:00", "09-30T17:00", None),
                   ("settled", "09-30T15:00", "09-30T17:00", "ticket.updated"),
                   ("warning", "10-09T15:00", "10-09T17:00", None),
                   ("settled", "10-09T15:00", "10-09T17:00", "deadline"),
                   ("warning", "10-12T10:00", "10-13T10:00", None),
                   ("settled", "10-12T10:00", "10-13T10:00", "ticket.updated")]


def test_a_ticket_without_customer_messages_counts_nothing() -> None:
    events = [ev(TicketCreated, t("11-02", "09:00"), "q", category="request"),
              ev(TicketFirstResponse, t("11-02", "09:30"), "q"), ev(TicketResolved, t("11-02", "10:00"), "q"), later()]
    assert windows(events) == {}


def complaint() -> list:
    """Plain hours, a day window: created Mon 11-02 09:00; message 10:00 answered by the resolution 11:30 (1.5 h,
    met); reopened 14:00, message 14:05 (due 16:05) answered only by the close at 17:00 (missed); a message after
    the close starts nothing."""
    return [ev(TicketCreated, t("11-02", "09:00"), "c", category="complaint"),
            ev(TicketCustomerReplied, t("11-02", "10:00"), "c"), ev(TicketResolved, t("11-02", "11:30"), "c"),
            ev(TicketReopened, t("11-02", "14:00"), "c"), ev(TicketCustomerReplied, t("11-02", "14:05"), "c"),
            ev(TicketClosed, t("11-02", "17:00"), "c"), ev(TicketCustomerReplied, t("11-02", "18:00"), "c")]


def test_plain_hours_a_reopen_and_the_close() -> None:
    out = compute([*complaint(), later()], index())
    assert [(w.numerator, w.denominator) for w in out if isinstance(w, WindowResult) and w.term == "nr2h"] == [(1, 2)]
    assert [m.deadline for m in out if isinstance(m, TicketMissed)] == ["2026-11-02T16:05:00+08:00"]


def test_after_a_solution_messages_count_until_the_windows_retention_ends() -> None:
    # resolved Mon 11-02 11:30: kept until its day window's end + grace + retention (1 d), 11-04 00:02; a message
    # 11-03 10:00 without a reopen counts (answered 11:00, met), one on 11-05 no longer does
    events = [ev(TicketCreated, t("11-02", "09:00"), "c", category="complaint"),
              ev(TicketCustomerReplied, t("11-02", "10:00"), "c"), ev(TicketResolved, t("11-02", "11:30"), "c"),
              ev(TicketCustomerReplied, t("11-03", "10:00"), "c"), ev(TicketUpdated, t("11-03", "11:00"), "c"),
              ev(TicketCreated, t("11-04", "12:00"), "r", category="request"),
              ev(TicketCustomerReplied, t("11-05", "10:00"), "c"), later()]
    assert windows(events, "nr2h") == {"2026-11-02": (1, 1), "2026-11-03": (1, 1)}


@pytest.mark.parametrize(("change", "path"), [("within: {hours: 2}, threshold", "threshold"),
                                              ("within: {hours: 2},", "within: {hours: 2}, on_reopen: new_cycle,")])
def test_next_reply_needs_its_limit_and_takes_no_reopen_rule(change: str, path: str) -> None:
    with pytest.raises(ContractError, match=r"terms\[1\]"):
        parse_contract(REPLIES.replace(change, path))


def test_stream_shell_equals_batch_even_when_restarted_mid_way() -> None:
    mixed = [*conversation("m", True), *conversation("x", False), *complaint()]
    events = [*sorted(mixed, key=lambda e: e.occurred_at), later()]
    # a new worker after the 10-08 answers: both tickets waiting between messages, stored and restored
    got, expected = stream_and_batch(index(), events, 10)
    assert got == expected
    found = [orjson.loads(r) for r in got if b'"numerator"' in r]
    assert sorted((w["term"], w["window_start"][:10], w["numerator"], w["denominator"]) for w in found) == [
        ("nr2h", "2026-11-02", 1, 2), ("nr4", "2026-09-01", 2, 2), ("nr4", "2026-10-01", 1, 4)]
