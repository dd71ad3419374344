"""Availability from `service.down` / `service.up`: the time between two transitions counts as up or down,
split at window boundaries; measurement starts at a service's first event. (`service.probe` events
contribute directly: see `streams.core.kpis`.)"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.core.terms import CompiledTerm, Contribution, TermIndex
from streams.models.events import ServiceDown, ServiceUp


@dataclass
class ServiceBook:
    """Last known status of each service: service -> (up, since epoch seconds)."""

    status: dict[str, tuple[bool, float]] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)  # services changed since last persisted


def split(term: CompiledTerm, start: float, end: float, up: bool) -> list[Contribution]:
    """The interval [start, end) as one contribution per window of the term it overlaps."""
    out = []
    while start < end:
        _, window_end = term.window.bounds(start)
        piece_end = min(window_end, end)
        seconds = piece_end - start
        out.append(Contribution(term, start, seconds if up else 0.0, seconds))
        start = piece_end
    return out


class ServiceTracker:
    """Turns transitions into up/down time per window; stateless itself, the book holds the statuses."""

    def __init__(self, terms: TermIndex) -> None:
        self.terms = [t for t in terms.for_source("availability")]

    def on_event(self, book: ServiceBook, event: ServiceDown | ServiceUp) -> list[Contribution]:
        """Contributions of the interval this transition ends."""
        at = event.occurred_at.timestamp()
        previous = book.status.get(event.service)
        if previous is not None and at < previous[1]:
            return []  # an older transition than the one we know: it changes nothing
        book.status[event.service] = (isinstance(event, ServiceUp), at)
        book.dirty.add(event.service)
        if previous is None:
            return []
        up, since = previous
        return [c for t in self.terms if not t.term.services or event.service in t.term.services
                for c in split(t, since, at, up)]
