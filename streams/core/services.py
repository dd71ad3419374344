"""Availability: the measured time of each service, as up or down seconds per window of each availability term.

From `service.down` / `service.up`: the time between two transitions counts as up or down; measurement starts at a
service's first event. A status holds until the next transition: when a window is due (its end plus grace passed
by the clock) the time since the last transition is counted in it up to its end, and the next window starts in the
same status, so an outage still open at a window's end counts in every window it covers, whatever its length.
`service.probe` events count their own interval. Time in a declared exclusion (maintenance, force majeure) of the
service is not measured: neither up nor down.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from streams.core.terms import CompiledTerm, Contribution, TermIndex
from streams.models.events import ServiceDown, ServiceProbe, ServiceUp

ServiceEvent = ServiceDown | ServiceUp | ServiceProbe


@dataclass
class ServiceBook:
    """Last known status of each service: service -> (up, since epoch seconds); `since` moves to a window's end
    when the open interval is counted there."""

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


def measured(term: CompiledTerm, service: str, start: float, end: float, up: bool) -> list[Contribution]:
    """[start, end) of a service without its exclusions, as contributions per window of the term."""
    pieces = [(start, end)]
    for ex_start, ex_end, services in term.excluded:
        if services is None or service in services:
            pieces = [p for a, b in pieces for p in ((a, min(b, ex_start)), (max(a, ex_end), b)) if p[0] < p[1]]
    return [c for a, b in pieces for c in split(term, a, b, up)]


def measures(term: CompiledTerm, service: str) -> bool:
    """True when the term measures the service (its services, else every one)."""
    return not term.term.services or service in term.term.services


class ServiceTracker:
    """Turns transitions and probes into up/down time per window; stateless itself, the book holds the statuses."""

    def __init__(self, terms: TermIndex) -> None:
        self.terms = list(terms.for_source("availability"))

    def _of(self, service: str) -> list[CompiledTerm]:
        return [t for t in self.terms if measures(t, service)]

    def on_event(self, book: ServiceBook, event: ServiceEvent) -> list[Contribution]:
        """Contributions of a probe's interval, or of the interval a transition ends."""
        if isinstance(event, ServiceProbe):
            start = event.ts - event.interval_seconds
            return [c for t in self._of(event.service) for c in measured(t, event.service, start, event.ts, event.ok)]
        at = event.ts
        previous = book.status.get(event.service)
        if previous is not None and at < previous[1]:
            return []  # an older transition than the one we know: it changes nothing
        book.status[event.service] = (isinstance(event, ServiceUp), at)
        book.dirty.add(event.service)
        if previous is None:
            return []
        up, since = previous
        return [c for t in self._of(event.service) for c in measured(t, event.service, since, at, up)]

    def settle(self, book: ServiceBook, watermark: float) -> list[Contribution]:
        """The open interval of every service counted up to the end of each window the clock at `watermark` makes
        due (before it closes them); the services' `since` moves to the last such end."""
        out: list[Contribution] = []
        for service in sorted(book.status):
            up, since = book.status[service]
            terms = self._of(service)
            cut = next_cut(terms, since, watermark)
            while cut is not None:
                out += _in_effect(c for t in terms for c in measured(t, service, since, cut, up))
                since = cut
                cut = next_cut(terms, since, watermark)
            if since != book.status[service][1]:
                book.status[service] = (up, since)
                book.dirty.add(service)
        return out

    def close(self, book: ServiceBook, last: float) -> list[Contribution]:
        """End of input: each service's open interval counted up to the end of each term's window holding `last`
        (the last event time), as the clock would when it passes it."""
        out: list[Contribution] = []
        for service in sorted(book.status):
            up, since = book.status[service]
            for t in self._of(service):
                _, end = t.window.bounds(max(since, last))
                out += _in_effect(measured(t, service, since, end, up))
        return out


def next_cut(terms: Sequence[CompiledTerm], since: float, watermark: float) -> float | None:
    """The earliest end of a window holding `since` that is due at `watermark` (None: no such window)."""
    ends = [end for t in terms for end in (t.window.bounds(since)[1],) if end + t.grace <= watermark]
    return min(ends, default=None)


def _in_effect(contributions: Iterable[Contribution]) -> list[Contribution]:
    """Those in their contract's effective period: time counted by the clock alone is never reported outside it."""
    return [c for c in contributions if c.term.in_effect(c.at)]
