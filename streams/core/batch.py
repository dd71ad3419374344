"""The core over one ordered stream of events: `cckpi compute` runs one engine over everything, the stream one per
source partition, so both give the same records for every family."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from streams.calendar import CalendarUnknownDay
from streams.core.dedupe import content_digest
from streams.core.pool import LocalPool
from streams.core.processor import Processor
from streams.core.records import Output, RejectedEvent, UnscopedEvent
from streams.core.services import ServiceBook, ServiceTracker
from streams.core.state import ScopeState
from streams.core.terms import Contribution, TermIndex
from streams.core.tickets import TicketBook, TicketTracker
from streams.models.events import Event, ServiceDown, ServiceProbe, ServiceUp, TicketEventBase
from streams.models.families import WHOLE, Family, family_of, scope_of

__all__ = ["WHOLE", "Engine", "compute"]
_DIRECT: Final = frozenset({"calls", "surveys"})
"""Families whose events carry their own contributions; tickets and availability come from a tracker of lives."""


class Engine:
    """All KPIs of a set of terms over one ordered stream of events: calls per queue, tickets, surveys and
    availability each with their own clock (states keyed by `Family.clock`). `dirty` names the states changed
    since the caller last drained it (the stream persists only those)."""

    def __init__(self, terms: TermIndex, processor: Processor | None = None) -> None:
        self.processor = processor or Processor(terms)
        """The terms' processor (one can be shared by several engines, e.g. the stream's partitions)."""
        self.tickets = TicketTracker(terms)
        self.services = ServiceTracker(terms)
        self.states: dict[str, ScopeState] = {}
        self.ticket_book = TicketBook()
        self.service_book = ServiceBook()
        self.dirty: set[str] = set()

    def state(self, clock: str) -> ScopeState:
        """The state of a clock, created empty on first use."""
        state = self.states.get(clock)
        if state is None:
            state = self.states[clock] = ScopeState()
        return state

    def ingest(self, event: Event, wall_now: float = 0.0, position: int | None = None) -> list[Output]:
        """Process one event; raises CalendarUnknownDay (before any change) when a deadline needs an unknown day.
        An event outside every contract's scope changes no state (`UnscopedEvent`). `position`: the message's
        offset in its partition (a message at or before its state's applied position changes nothing)."""
        family = family_of(event)
        scope = family.scope(event)
        return self.ingest_at(family, scope, family.clock(scope), event, wall_now, position)

    def ingest_at(self, family: Family, scope: str, clock: str, event: Event, wall_now: float = 0.0,
                  position: int | None = None) -> list[Output]:
        """`ingest` with the event's family, scope and clock already known (the stream's per-event path)."""
        p = self.processor
        state = self.states.get(clock)  # one dict look-up on the hot path
        if state is None or not family.partitioned:  # a partitioned clock is one scope: in scope if it has a state
            if not p.in_scope(event, family.name):
                return [UnscopedEvent(family.name, event.event_id)]
            state = state or self.state(clock)
        if family.name in _DIRECT:
            out = p.ingest(state, scope, event, wall_now, position)
        else:
            if position is not None and position <= state.applied:
                return []
            out = self._ingest_tracked(state, event, wall_now, position)
        self.dirty.add(clock)
        return out

    def _ingest_tracked(self, state: ScopeState, event: Event, wall_now: float, position: int | None) -> list[Output]:
        """Tickets and availability: contributions come from a tracker of each ticket's or service's life."""
        p = self.processor
        digest = content_digest(event)
        repeated = p.repeated(state, WHOLE, event, digest)
        if repeated is not None:
            return [repeated]
        if isinstance(event, TicketEventBase):
            contributions = self.tickets.on_event(self.ticket_book, event)
        elif isinstance(event, ServiceDown | ServiceUp | ServiceProbe):  # open intervals first, then the event's
            settled = self.services.settle(self.service_book, max(state.stream_time, event.ts))
            contributions = settled + self.services.on_event(self.service_book, event)
        else:
            contributions = p.contributions(WHOLE, event)
        p.remember(state, event, digest, position)
        out = p.ingest_contributions(state, WHOLE, event, contributions, wall_now)
        return out + self._expire_tickets(family_of(event).name, state)

    def _expire_tickets(self, clock: str, state: ScopeState) -> list[Output]:
        """Settle ticket clocks the watermark has passed; report each miss as a ticket-level breach."""
        out: list[Output] = []
        if clock == "tickets":
            for c in self.tickets.expire(self.ticket_book, state.watermark):
                out.extend(self.processor.apply(state, WHOLE, c, f"deadline:{c.term.key}", state.watermark))
        out.extend(self.ticket_book.missed)
        self.ticket_book.missed.clear()
        return out

    def idle(self, wall_now: float, idle_after: float) -> list[Output]:
        """Advance quiet clocks with the wall clock (deadlines fire without a later event)."""
        out: list[Output] = []
        for clock, state in self.states.items():
            watermark = self.processor.idle_watermark(state, wall_now, idle_after)
            moved = [] if watermark is None else self._settle_services(clock, state, watermark)
            moved += self.processor.idle(state, scope_of(clock), wall_now, idle_after)
            moved += self._expire_tickets(clock, state)
            if moved:
                self.dirty.add(clock)
            out += moved
        return out

    def flush(self) -> list[Output]:
        """Close every window whose outcome is known; windows still waiting for open tickets stay open."""
        out: list[Output] = []
        for clock, state in self.states.items():
            if clock == "availability":
                out += self._apply(state, self.services.close(self.service_book, state.stream_time))
            out.extend(self.processor.flush(state, scope_of(clock)))
        return out

    def _settle_services(self, clock: str, state: ScopeState, watermark: float) -> list[Output]:
        """Availability: open intervals counted in the windows the clock at `watermark` will close."""
        if clock != "availability":
            return []
        return self._apply(state, self.services.settle(self.service_book, watermark))

    def _apply(self, state: ScopeState, contributions: list[Contribution]) -> list[Output]:
        """Contributions the clock made (no event): applied at the clock's time."""
        return [o for c in contributions
                for o in self.processor.apply(state, WHOLE, c, f"open:{c.term.key}", state.watermark)]


def compute(events: Iterable[Event], terms: TermIndex) -> list[Output]:
    """Every closed window (and late contribution) for these events, in the order the stream emits them.

    Events are taken in the given order per key (queue, ticket, service), as Kafka keeps them per partition. An
    event on a day the calendar cannot classify is left out and reported (`RejectedEvent`), as the stream
    dead-letters it.
    """
    engine = Engine(terms)
    pooled = LocalPool(terms) if terms.pooled_keys else None  # pooled terms: queues' parts merged (core/pool.py)
    out: list[Output] = []
    for event in events:
        try:
            found = engine.ingest(event)
        except CalendarUnknownDay as exc:  # raised before any change: the event is left out, as the stream does
            out.append(RejectedEvent(event.event_id, "calendar_unknown_day", str(exc), exc.calendar))
            continue
        if pooled is not None:
            family = family_of(event)
            found = pooled.after(found, engine.states, family.clock(family.scope(event)))
        out.extend(found)
    flushed = engine.flush()
    return out + (flushed if pooled is None else pooled.flush(flushed, engine.states))
