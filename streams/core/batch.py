"""The batch path: the same Processor over a finite list of events, flushed at the end."""

from __future__ import annotations

from collections.abc import Iterable

from streams.calendar import CalendarUnknownDay
from streams.core.dedupe import content_digest
from streams.core.processor import Processor, event_family
from streams.core.records import Output, RejectedEvent, UnscopedEvent
from streams.core.services import ServiceBook, ServiceTracker
from streams.core.state import ScopeState
from streams.core.terms import TermIndex
from streams.core.tickets import TicketBook, TicketTracker
from streams.models.events import AgentEventBase, CallEventBase, Event, ServiceDown, ServiceUp, TicketEventBase

WHOLE = "all"
"""The scope of ticket, survey and availability terms: everything the term's filters let through."""


class Engine:
    """All KPIs of a set of terms over one ordered stream of events: calls per queue, tickets, surveys and
    availability each with their own clock. Used by `cckpi compute`; the stream runs the same parts per key."""

    def __init__(self, terms: TermIndex) -> None:
        self.processor = Processor(terms)
        self.tickets = TicketTracker(terms)
        self.services = ServiceTracker(terms)
        self.states: dict[str, ScopeState] = {}
        self.ticket_book = TicketBook()
        self.service_book = ServiceBook()

    def ingest(self, event: Event, wall_now: float = 0.0) -> list[Output]:
        """Process one event; raises CalendarUnknownDay (before any change) when a deadline needs an unknown day.
        An event outside every contract's scope changes no state (`UnscopedEvent`)."""
        p = self.processor
        source = event_family(event)
        if not p.in_scope(event, source):
            return [UnscopedEvent(source, event.event_id)]
        if isinstance(event, CallEventBase | AgentEventBase):
            state = self.states.setdefault("calls:" + event.queue, ScopeState())
            return p.ingest(state, event.queue, event, wall_now)
        if source == "surveys":
            return p.ingest(self.states.setdefault("surveys", ScopeState()), WHOLE, event, wall_now)
        state = self.states.setdefault(source, ScopeState())
        digest = content_digest(event)
        repeated = p.repeated(state, WHOLE, event, digest)
        if repeated is not None:
            return [repeated]
        if isinstance(event, TicketEventBase):
            contributions = self.tickets.on_event(self.ticket_book, event)
        elif isinstance(event, ServiceDown | ServiceUp):
            contributions = self.services.on_event(self.service_book, event)
        else:
            contributions = p.contributions(WHOLE, event)
        p.remember(state, event, digest)
        out = p.ingest_contributions(state, WHOLE, event, contributions, wall_now)
        return out + self._expire_tickets(source, state)

    def _expire_tickets(self, source: str, state: ScopeState) -> list[Output]:
        """Settle ticket clocks the watermark has passed; report each miss as a ticket-level breach."""
        out: list[Output] = []
        if source == "tickets":
            for c in self.tickets.expire(self.ticket_book, state.watermark):
                out.extend(self.processor.apply(state, WHOLE, c, f"deadline:{c.term.key}", state.watermark))
        out.extend(self.ticket_book.missed)
        self.ticket_book.missed.clear()
        return out

    def idle(self, wall_now: float, idle_after: float) -> list[Output]:
        """Advance quiet sources with the wall clock (deadlines fire without a later event)."""
        out: list[Output] = []
        for key, state in self.states.items():
            out.extend(self.processor.idle(state, _scope(key), wall_now, idle_after))
            out.extend(self._expire_tickets(key, state))
        return out

    def flush(self) -> list[Output]:
        """Close every window whose outcome is known; windows still waiting for open tickets stay open."""
        out: list[Output] = []
        for key, state in self.states.items():
            out.extend(self.processor.flush(state, _scope(key)))
        return out


def _scope(state_key: str) -> str:
    return state_key.removeprefix("calls:") if state_key.startswith("calls:") else WHOLE


def compute(events: Iterable[Event], terms: TermIndex) -> list[Output]:
    """Every closed window (and late contribution) for these events, in the order the stream emits them.

    Events are taken in the given order per key (queue, ticket, service), as Kafka keeps them per partition. An
    event on a day the calendar cannot classify is left out and reported (`RejectedEvent`), as the stream
    dead-letters it.
    """
    engine = Engine(terms)
    out: list[Output] = []
    for event in events:
        try:
            out.extend(engine.ingest(event))
        except CalendarUnknownDay as exc:  # raised before any change: the event is left out, as the stream does
            out.append(RejectedEvent(event.event_id, "calendar_unknown_day", str(exc), exc.calendar))
    return out + engine.flush()
