"""Staffing floor: per queue, the measured time during which at least `min_agents` agents were logged in (or
ready), as staffed / measured seconds per window of each staffing term.

From the queue's agent events (`agent.logged_in`, `ready`, `not_ready`, `logged_out`, on the calls topic keyed by the
queue): measurement starts at the queue's first agent event; between two events the agents hold, and the time counts
as staffed or not for each term, clipped to the service hours (`measured_during: service_hours`) and to the
contract's effective period. When a window is due (its end plus grace passed by the queue's clock: any event of the
queue, or the idle timer) the time since the last agent event counts in it up to its end and the next window starts
with the same agents, as open outages do (`streams.core.services`); at the end of a batch input, up to the end of the
window holding the last event. An agent event older than the time already counted changes the agents from then on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

from streams.calendar import CalendarUnknownDay
from streams.core.kpis import AGENT_EVENTS
from streams.core.load import track_agent
from streams.core.services import next_cut, split
from streams.core.terms import CompiledTerm, Contribution, TermIndex
from streams.models.events import AgentEventBase, Event


@dataclass
class StaffingBook:
    """A queue's logged-in agents (agent -> ready) and the instant up to which their time is counted."""

    since: float
    agents: dict[str, bool] = field(default_factory=dict)

    def counted(self, count: str | None) -> int:
        """Agents a term counts: ready ones (`count: ready`), else every logged-in one."""
        return sum(self.agents.values()) if count == "ready" else len(self.agents)

    def to_json(self) -> list[Any]:
        """Compact form for the scope state."""
        return [self.since, self.agents]

    @classmethod
    def from_json(cls, data: list[Any]) -> StaffingBook:
        """Inverse of to_json."""
        since, agents = data
        return cls(float(since), dict(agents))


class Step(NamedTuple):
    """What one event of a staffed queue does: the open time counted in the windows the clock makes due (`settled`),
    the time the agent event ends (`own`), and where counting stands after it (`since`)."""

    settled: list[Contribution]
    own: list[Contribution]
    since: float


def staffing_terms(terms: Iterable[CompiledTerm]) -> tuple[CompiledTerm, ...]:
    """The terms whose KPI the registry counts from agent events alone, over time (no stateless contribution)."""
    return tuple(t for t in terms if t.kind.contribute is None and t.kind.events <= AGENT_EVENTS)


class StaffingTracker:
    """Turns a queue's agent events and clock into staffed seconds per window; stateless itself, the queue's
    `StaffingBook` (in its scope state) holds the agents."""

    def __init__(self, terms: TermIndex) -> None:
        self.by_queue = {queue: found for queue, ts in terms.by_queue.items() if (found := staffing_terms(ts))}

    @property
    def any(self) -> bool:
        """True when some queue has a staffing term (else the calls path never asks)."""
        return bool(self.by_queue)

    def step(self, book: StaffingBook | None, queue: str, event: Event, watermark: float) -> Step | None:
        """An event of the queue with the clock at `watermark` after it; None when it changes nothing here (no
        staffing term of the queue, or a call event before any agent event). Pure: `commit` applies it."""
        terms = self.by_queue.get(queue)
        if terms is None:
            return None
        agent = isinstance(event, AgentEventBase)
        if book is None:
            return Step([], [], event.ts) if agent else None
        settled, since = settle(terms, book, watermark)
        if not agent or event.ts <= since:
            return Step(settled, [], since)
        return Step(settled, measured(terms, book, since, event.ts), event.ts)

    def settle(self, book: StaffingBook, queue: str, watermark: float) -> list[Contribution]:
        """The open time counted up to the end of each window the clock at `watermark` makes due (the idle timer);
        the book's `since` moves to the last such end."""
        contributions, book.since = settle(self.by_queue.get(queue, ()), book, watermark)
        return contributions

    def close(self, book: StaffingBook, queue: str, last: float) -> list[Contribution]:
        """End of input: the open time counted up to the end of each term's window holding `last` (the last event
        time), as the clock would when it passes it."""
        start = max(book.since, last)
        return [c for t in self.by_queue.get(queue, ()) for c in measured((t,), book, book.since,
                                                                           t.window.bounds(start)[1])]


def commit(book: StaffingBook | None, event: Event, since: float) -> StaffingBook:
    """The queue's book after a step: counted up to `since`, and the agent event (if it is one) applied."""
    book = book or StaffingBook(since)
    book.since = since
    if isinstance(event, AgentEventBase):
        track_agent(book.agents, event)
    return book


def settle(terms: Sequence[CompiledTerm], book: StaffingBook, watermark: float) -> tuple[list[Contribution], float]:
    """The open time from `book.since` up to each due window end, and the last such end (else `since`)."""
    out: list[Contribution] = []
    since = book.since
    cut = next_cut(terms, since, watermark)
    while cut is not None:
        out += measured(terms, book, since, cut)
        since = cut
        cut = next_cut(terms, since, watermark)
    return out, since


def measured(terms: Iterable[CompiledTerm], book: StaffingBook, start: float, end: float) -> list[Contribution]:
    """[start, end) with the book's agents, per window of each term: its measured seconds (in service hours and the
    effective period), staffed when at least `min_agents` agents count."""
    out: list[Contribution] = []
    for term in terms:
        staffed = book.counted(term.term.count) >= (term.term.min_agents or 1)
        a, b = max(start, term.starts), min(end, term.ends)
        for piece in split(term, a, b, staffed):
            seconds = _in_hours(term, piece.at, piece.at + piece.den)
            if seconds > 0:
                out.append(replace(piece, num=seconds if staffed else 0.0, den=seconds))
    return out


def _in_hours(term: CompiledTerm, start: float, end: float) -> float:
    """Seconds of [start, end) the term measures: all of them, or those in its service hours (none when the
    calendar cannot classify a day of it: that time is not measured, rather than the queue's events refused)."""
    hours = term.service_hours
    if hours is None:
        return end - start
    try:
        return hours.elapsed(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)).total_seconds()
    except CalendarUnknownDay:
        return 0.0
