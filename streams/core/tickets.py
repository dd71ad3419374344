"""Ticket SLAs: each ticket opens a clock per matching term; the first qualifying event before the deadline
settles it as met, the deadline itself (by event time) settles it as missed, without waiting for more events.

A ticket counts in the window of its creation: it announces itself there (`pending +1`) and the window
waits for its outcome (`pending -1`, numerator 1 if in time, denominator 1), so a day's "80% within 4 hours"
is judged only once every ticket of that day is decided.

Which events settle which KPI (`KpiKind.events`) and the categories a term counts when it names none
(`KpiSpec.default_categories`) are the KPI registry's (`streams.core.kpis`, `streams.contracts.kpis`). A reopened
ticket keeps the outcomes already decided.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from streams.core.records import TicketMissed
from streams.core.terms import CompiledTerm, Contribution, TermIndex
from streams.models.events import TicketCreated, TicketEvent


@dataclass
class OpenTicket:
    """The clocks still running for one ticket: term key -> (created at, deadline)."""

    clocks: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass
class TicketBook:
    """Open tickets and their deadlines in order; `dirty` and `missed` are drained by the caller."""

    tickets: dict[str, OpenTicket] = field(default_factory=dict)
    deadlines: list[tuple[float, str, str]] = field(default_factory=list)  # (deadline, ticket id, term key)
    unknown: int = 0  # events for tickets never seen created (or already settled)
    dirty: set[str] = field(default_factory=set)  # tickets changed since last persisted
    missed: list[TicketMissed] = field(default_factory=list)

    def ticket_bytes(self, ticket_id: str) -> bytes | None:
        """Serialized clocks of an open ticket; None once settled (delete it from storage)."""
        ticket = self.tickets.get(ticket_id)
        return None if ticket is None else orjson.dumps(ticket.clocks)

    def load_ticket(self, ticket_id: str, raw: bytes) -> None:
        """Restore an open ticket and its deadlines."""
        clocks = {key: (created, due) for key, (created, due) in orjson.loads(raw).items()}
        self.tickets[ticket_id] = OpenTicket(clocks)
        for key, (_, due) in clocks.items():
            heapq.heappush(self.deadlines, (due, ticket_id, key))


def deadline(term: CompiledTerm, created: float) -> float:
    """When the term's time limit for a ticket created at `created` runs out."""
    within = term.term.within
    assert within is not None
    if within.uses_working_time:
        assert term.calendar is not None  # the contract checks guarantee a calendar for working time
        start = datetime.fromtimestamp(created, UTC)
        return term.calendar.add(start, working_minutes=within.working_minutes, working_hours=within.working_hours,
                                 working_days=within.working_days).timestamp()
    seconds = (within.minutes or 0) * 60 + (within.hours or 0) * 3600 + (within.days or 0) * 86400
    return (datetime.fromtimestamp(created, UTC) + timedelta(seconds=seconds)).timestamp()


def _matches(term: CompiledTerm, event: TicketCreated) -> bool:
    t = term.term
    categories = t.categories or term.kind.spec.default_categories or None
    return (categories is None or event.category in categories) and (not t.priorities or event.priority in t.priorities)


class TicketTracker:
    """Turns ticket events into contributions; stateless itself, the book holds the open tickets."""

    def __init__(self, terms: TermIndex) -> None:
        self.terms = terms.for_source("tickets")
        self.by_key = {t.key: t for t in self.terms}

    def on_event(self, book: TicketBook, event: TicketEvent) -> list[Contribution]:
        """Contributions of one ticket event; raises CalendarUnknownDay before changing the book."""
        at = event.occurred_at.timestamp()
        if isinstance(event, TicketCreated):
            if event.ticket_id in book.tickets:
                return []
            matched = [t for t in self.terms if _matches(t, event)]
            # no clock outside the contract's effective period: its announcement is reported (and dropped) upstream
            clocks = {t.key: (at, deadline(t, at)) for t in matched if t.in_effect(at)}
            if clocks:
                book.tickets[event.ticket_id] = OpenTicket(clocks)
                book.dirty.add(event.ticket_id)
            for key, (_, due) in clocks.items():
                heapq.heappush(book.deadlines, (due, event.ticket_id, key))
            return [Contribution(t, at, 0.0, 0.0, +1) for t in matched]
        ticket = book.tickets.get(event.ticket_id)
        if ticket is None:
            book.unknown += 1
            return []
        out = []
        for key, (created, due) in list(ticket.clocks.items()):
            term = self.by_key[key]
            if event.type in term.kind.events:
                out.append(Contribution(term, created, 1.0 if at <= due else 0.0, 1.0, -1))
                del ticket.clocks[key]
                book.dirty.add(event.ticket_id)
                if at > due:
                    book.missed.append(_missed(term, event.ticket_id, created, due, at, event.type))
        if not ticket.clocks:
            del book.tickets[event.ticket_id]
        return out

    def expire(self, book: TicketBook, watermark: float) -> list[Contribution]:
        """Settle as missed every clock whose deadline the event-time watermark has passed."""
        out = []
        while book.deadlines and book.deadlines[0][0] < watermark:
            _, ticket_id, key = heapq.heappop(book.deadlines)
            ticket = book.tickets.get(ticket_id)
            if ticket is None or key not in ticket.clocks:
                continue  # settled in time already
            created, due = ticket.clocks.pop(key)
            term = self.by_key[key]
            out.append(Contribution(term, created, 0.0, 1.0, -1))
            book.dirty.add(ticket_id)
            book.missed.append(_missed(term, ticket_id, created, due, due, "deadline"))
            if not ticket.clocks:
                del book.tickets[ticket_id]
        return out


def _missed(term: CompiledTerm, ticket_id: str, created: float, due: float, settled: float, by: str) -> TicketMissed:
    iso = term.window.iso
    return TicketMissed(term.contract, term.term.id, term.term.kpi, ticket_id, iso(created), iso(due), iso(settled), by)
