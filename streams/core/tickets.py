"""Ticket SLAs: each ticket opens a clock per matching term; the first qualifying event before the deadline
settles it as met, the deadline itself (by event time) settles it as missed, without waiting for more events.

A ticket counts in the window of its creation: it announces itself there (`pending +1`) and the window
waits for its outcome (`pending -1`, numerator 1 if in time, denominator 1), so a day's "80% within 4 hours"
is judged only once every ticket of that day is decided.

Which events settle which KPI (`KpiKind.events`) and the categories a term counts when it names none
(`KpiSpec.default_categories`) are the KPI registry's (`streams.core.kpis`, `streams.contracts.kpis`). A term's
`categories`, `priorities` and `channels` are read on `ticket.created`.

The clock of a term runs from creation, except while paused: while the ticket's status (`ticket.status_changed`)
is one of the term's `pause_on`, and (`pause_on_events`) between `ticket.paused` and `ticket.resumed`. Paused time
does not count, in working time for a limit in working time (a limit in working days counts, once paused, as the
working time those days hold from creation). A new priority takes the term's limit for it (`targets_by_priority`,
else `within`), measured from creation: retroactively, so a ticket raised to urgent past its urgent limit is missed
at once.

Reopen: only clocks that stop at a solution (`KpiKind.events` within resolved/closed: resolution, complaints
closed) react. `on_reopen: resume` (default): a clock met by the solution runs again with the time it had left;
its window already counts it met, and is revised (a new revision, as for late data) if the final solution comes
too late; a clock already missed stays missed. `new_cycle`: the first outcome stands and a new clock with the whole
limit starts at the reopen, counted in the window of the reopen. A settled clock is kept for reopens until its
window can no longer be revised (window end + grace + retention).

Warnings (`warn_at`): an open clock passing a share of its allowed time (counted as the deadline is) raises a
`TicketWarning` once per share, by event time like the deadline (queued in the same heap; a later event of the
ticket raises the shares passed before it at once); settling a warned clock adds its `settled` step.

Periodic updates (`KpiKind.restarts`): an update in time ends the clock's gap and starts the next from the update
(`Clock.start`) with the whole limit and no share raised; the first gap to run out misses the ticket.

Next replies (`KpiKind.starts`): no clock at creation; a customer message (`ticket.customer_replied`) on an answered
clock starts a new one, counted in the window of the message, which the next agent reply (`KpiKind.events`) settles;
messages while one is unanswered (running, or missed by its deadline) start none. Between messages the settled
clock is kept (`solved`: answered) while the ticket is open, until its window's retention once solved (a reopen
keeps it again), and dropped at `ticket.closed`.

Delays (`penalty: {per: day_late}`): a clock missed before its ticket was solved is kept (`Clock.late`) until the
term's stop event solves the ticket, which publishes a `TicketSolvedLate` (the end of the delay the ledger prices),
or until the end of its `max_days`-th day of delay, when it is forgotten unsolved: the state stays bounded.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from streams.contracts.model import Within
from streams.core.penalties import late_calendar, late_day_end, per_day_late
from streams.core.records import TicketMissed, TicketSolvedLate, TicketWarning
from streams.core.terms import CompiledTerm, Contribution, TermIndex
from streams.models.events import TicketCreated, TicketEvent, TicketPaused, TicketResumed, TicketStatusChanged

SOLUTIONS = frozenset({"ticket.resolved", "ticket.closed"})
"""Events that solve a ticket: a reopen withdraws them, so only clocks that stop at one of them react to it."""


@dataclass
class Clock:
    """One term's clock on one ticket: running stretches, deadline, and the outcome its window counts."""

    created: float
    """Start of the cycle (creation, or the reopen of a new cycle): the window it counts in."""
    due: float | None
    """Deadline (None while paused with time left, or settled)."""
    since: float | None
    """Start of the current running stretch (None while paused or settled)."""
    runs: list[tuple[float, float]] = field(default_factory=list)
    """Earlier running stretches (start, end)."""
    counted: float | None = None
    """The outcome its window holds: 1.0 met, 0.0 missed (None until first settled)."""
    open: bool = True
    solved: bool = False
    """Settled and the ticket solved since: a reopen resumes (or restarts) it. A next-reply clock: its message
    answered, so the next customer message starts a new clock."""
    forget: float = math.inf
    """Settled: when its window can no longer be revised, so the clock is dropped."""
    warned: int = 0
    """How many of the term's `warn_at` shares have been raised (each once)."""
    warn: float | None = None
    """When the next share is passed (None: none left, or paused)."""
    start: float | None = None
    """Where the allowed time is counted from: the last update of a periodic-update clock (None: `created`)."""
    late: float | None = None
    """The deadline it missed unsolved, on a term priced per day late: followed until solved (`TicketSolvedLate`),
    or forgotten at `forget` (the term's `max_days` past the deadline)."""

    def stop(self, at: float) -> None:
        """End the running stretch at `at` (paused or settled)."""
        if self.since is not None:
            self.runs.append((self.since, max(self.since, at)))
            self.since = None

    def to_json(self) -> list[Any]:
        """Compact stored form (see `from_json`)."""
        forget = None if math.isinf(self.forget) else self.forget
        return [self.created, self.due, self.since, self.runs, self.counted, self.open, self.solved, forget,
                self.warned, self.warn, self.start, self.late]

    @classmethod
    def from_json(cls, raw: list[Any]) -> Clock:
        """A stored clock; `[created, due]` is the form before pauses and reopens (a clock running since creation),
        eight fields the form before warnings and updates, eleven the form before delays were followed."""
        if len(raw) == 2:
            created, due = raw
            return cls(created, due, created)
        created, due, since, runs, counted, is_open, solved, forget, warned, warn, start, late = (
            raw if len(raw) == 12 else [*raw, None] if len(raw) == 11 else [*raw, 0, None, None, None])
        return cls(created, due, since, [(s, e) for s, e in runs], counted, is_open, solved,
                   math.inf if forget is None else forget, warned, warn, start, late)


@dataclass
class OpenTicket:
    """One ticket: its clocks by term key and what pauses them (status, explicit pause) or sets their limit."""

    clocks: dict[str, Clock] = field(default_factory=dict)
    priority: str | None = None
    status: str | None = None
    paused: bool = False
    """Between `ticket.paused` and `ticket.resumed`."""


@dataclass
class TicketBook:
    """Open tickets and their deadlines (and warning instants) in order; `dirty` and `missed` (misses and warnings,
    in the order they happened) are drained by the caller."""

    tickets: dict[str, OpenTicket] = field(default_factory=dict)
    deadlines: list[tuple[float, str, str]] = field(default_factory=list)  # (deadline or forget, ticket id, term key)
    unknown: int = 0  # events for tickets never seen created (or already settled)
    dirty: set[str] = field(default_factory=set)  # tickets changed since last persisted
    missed: list[TicketMissed | TicketWarning | TicketSolvedLate] = field(default_factory=list)

    def ticket_bytes(self, ticket_id: str) -> bytes | None:
        """Serialized ticket; None once settled (delete it from storage)."""
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            return None
        return orjson.dumps({"clocks": {k: c.to_json() for k, c in ticket.clocks.items()},
                             "priority": ticket.priority, "status": ticket.status, "paused": ticket.paused})

    def load_ticket(self, ticket_id: str, raw: bytes) -> None:
        """Restore a ticket and its deadlines (also the older form: term key -> [created, deadline])."""
        data = orjson.loads(raw)
        if "clocks" in data:  # term keys are `contract/term`: never `clocks`
            ticket = OpenTicket({k: Clock.from_json(v) for k, v in data["clocks"].items()}, data["priority"],
                                data["status"], data["paused"])
        else:
            ticket = OpenTicket({k: Clock.from_json(v) for k, v in data.items()})
        self.tickets[ticket_id] = ticket
        for key, clock in ticket.clocks.items():
            self.schedule(ticket_id, key, clock)

    def queue(self, when: float | None, ticket_id: str, key: str) -> None:
        """Queue one moment of a clock (none for None)."""
        if when is not None and math.isfinite(when):
            heapq.heappush(self.deadlines, (when, ticket_id, key))

    def schedule(self, ticket_id: str, key: str, clock: Clock) -> None:
        """Queue the clock's next moments: its deadline and next warning while open, its forgetting once settled."""
        for when in (clock.due, clock.warn) if clock.open else (clock.forget,):
            self.queue(when, ticket_id, key)


def deadline(term: CompiledTerm, created: float, within: Within | None = None) -> float:
    """When the term's time limit (`within`, else the term's) for a ticket created at `created` runs out."""
    within = within or term.term.within
    assert within is not None
    if within.uses_working_time:
        assert term.calendar is not None  # the contract checks guarantee a calendar for working time
        start = datetime.fromtimestamp(created, UTC)
        return term.calendar.add(start, working_minutes=within.working_minutes, working_hours=within.working_hours,
                                 working_days=within.working_days).timestamp()
    seconds = (within.minutes or 0) * 60 + (within.hours or 0) * 3600 + (within.days or 0) * 86400
    return (datetime.fromtimestamp(created, UTC) + timedelta(seconds=seconds)).timestamp()


def limit_of(term: CompiledTerm, priority: str | None) -> Within:
    """The time limit of a ticket of this priority: `targets_by_priority`, else `within`."""
    within = (term.term.targets_by_priority or {}).get(priority or "") or term.term.within
    assert within is not None  # `within` is required of ticket terms
    return within


def _span(term: CompiledTerm, within: Within, start: float, end: float) -> float:
    """Counted seconds between two instants: working time for a limit in working time, else plain time."""
    if not within.uses_working_time:
        return end - start
    assert term.calendar is not None
    as_utc = datetime.fromtimestamp
    return term.calendar.elapsed(as_utc(start, UTC), as_utc(end, UTC)).total_seconds()


def _after(term: CompiledTerm, within: Within, start: float, seconds: float) -> float:
    """The instant `seconds` counted seconds after `start`."""
    if not within.uses_working_time:
        return start + seconds
    assert term.calendar is not None
    return term.calendar.add_working_time(datetime.fromtimestamp(start, UTC), timedelta(seconds=seconds)).timestamp()


def _allowed(term: CompiledTerm, within: Within, created: float) -> float:
    """The limit in counted seconds; working days as the working time they hold from creation."""
    if within.working_days is not None:
        return _span(term, within, created, deadline(term, created, within))
    return ((within.working_minutes or 0) + (within.minutes or 0)) * 60 + (
        (within.working_hours or 0) + (within.hours or 0)) * 3600 + (within.days or 0) * 86400


def due_of(term: CompiledTerm, clock: Clock, priority: str | None, share: float = 1.0) -> float | None:
    """The clock's deadline: the instant its counted running time reaches the limit (None while paused with time
    left); with `share`, the instant it reaches that share of the limit. A clock never paused keeps the plain
    deadline from its start."""
    within = limit_of(term, priority)
    origin = clock.created if clock.start is None else clock.start
    if share == 1.0 and not clock.runs and clock.since == origin:
        return deadline(term, origin, within)
    left = _allowed(term, within, origin) * share
    for start, end in clock.runs:
        used = _span(term, within, start, end)
        if used >= left:
            return _after(term, within, start, left)
        left -= used
    return None if clock.since is None else _after(term, within, clock.since, left)


def _matches(term: CompiledTerm, event: TicketCreated) -> bool:
    t = term.term
    categories = t.categories or term.kind.spec.default_categories or None
    return ((categories is None or event.category in categories)
            and (not t.priorities or event.priority in t.priorities)
            and (not t.channels or event.channel in t.channels))


def _held(term: CompiledTerm, ticket: OpenTicket) -> bool:
    """True while the term's pause conditions hold for the ticket."""
    t = term.term
    return bool(t.pause_on and ticket.status in t.pause_on) or bool(t.pause_on_events and ticket.paused)


class TicketTracker:
    """Turns ticket events into contributions; stateless itself, the book holds the open tickets."""

    def __init__(self, terms: TermIndex) -> None:
        self.terms = terms.for_source("tickets")
        self.by_key = {t.key: t for t in self.terms}
        self.reopens = frozenset(t.key for t in self.terms if t.kind.events <= SOLUTIONS)
        """Terms whose clock stops at a solution: the ones a reopen concerns."""
        self.per_message = frozenset(t.key for t in self.terms if t.kind.starts)
        """Next-reply terms: a clock per customer message, none at creation."""

    def on_event(self, book: TicketBook, event: TicketEvent) -> list[Contribution]:
        """Contributions of one ticket event; raises CalendarUnknownDay before changing the book."""
        at = event.occurred_at.timestamp()
        if isinstance(event, TicketCreated):
            return self._created(book, event, at)
        ticket = book.tickets.get(event.ticket_id)
        if ticket is None:
            book.unknown += 1
            return []
        book.dirty.add(event.ticket_id)
        if isinstance(event, TicketStatusChanged):
            ticket.status, ticket.priority = event.status, event.priority or ticket.priority
        elif isinstance(event, TicketPaused | TicketResumed):
            ticket.paused = isinstance(event, TicketPaused)
        changes = isinstance(event, TicketStatusChanged | TicketPaused | TicketResumed)
        out: list[Contribution] = []
        for key, clock in list(ticket.clocks.items()):
            term = self.by_key.get(key)
            if term is None:  # the term left the contract
                del ticket.clocks[key]
            elif clock.open and event.type in term.kind.events:
                out.append(self._settle(book, event.ticket_id, term, clock, at, event.type))
            elif clock.open and event.type in term.kind.restarts:
                out += self._restart(book, event.ticket_id, ticket, term, clock, at, event.type)
            elif clock.open and changes:
                out += self._follow(book, event.ticket_id, ticket, term, clock, at, event.type)
            elif key in self.per_message and not clock.open:
                out += self._between(book, event.ticket_id, ticket, term, clock, at, event.type)
            elif event.type == "ticket.reopened" and clock.solved:
                out += self._reopen(book, event.ticket_id, ticket, term, clock, at)
            elif event.type in term.kind.events:
                self._solved_after(book, event.ticket_id, ticket, term, clock, at, event.type)
        if not ticket.clocks:
            del book.tickets[event.ticket_id]
        return out

    def _created(self, book: TicketBook, event: TicketCreated, at: float) -> list[Contribution]:
        """Start a clock per matching term in effect; announce the ticket in each matching term's window."""
        if event.ticket_id in book.tickets:
            return []
        matched = [t for t in self.terms if _matches(t, event)]
        timed = [t for t in matched if t.key not in self.per_message]
        # no clock outside the contract's effective period: its announcement is reported (and dropped) upstream
        clocks = {t.key: Clock(at, deadline(t, at, limit_of(t, event.priority)), at)
                  for t in timed if t.in_effect(at)}
        waiting = {t.key: Clock(at, None, None, open=False, solved=True) for t in matched if t.key in self.per_message}
        if clocks or waiting:  # a next-reply term waits for the first customer message
            book.tickets[event.ticket_id] = OpenTicket({**clocks, **waiting}, event.priority)
            book.dirty.add(event.ticket_id)
        for key, clock in clocks.items():
            self._warn(book, event.ticket_id, self.by_key[key], clock, event.priority, at)
            book.schedule(event.ticket_id, key, clock)
        return [Contribution(t, at, 0.0, 0.0, +1) for t in timed]

    def _follow(self, book: TicketBook, ticket_id: str, ticket: OpenTicket, term: CompiledTerm, clock: Clock,
                at: float, by: str) -> list[Contribution]:
        """Pause or restart an open clock as its conditions say; a new deadline (priority, pause) is queued, and
        one already passed (a retroactive priority) settles it as missed now."""
        if _held(term, ticket):
            clock.stop(at)
        elif clock.since is None:
            clock.since = max(at, clock.runs[-1][1] if clock.runs else at)
        warn = clock.warn
        self._warn(book, ticket_id, term, clock, ticket.priority, at)
        due = due_of(term, clock, ticket.priority)
        if due == clock.due:
            if clock.warn != warn:
                book.queue(clock.warn, ticket_id, term.key)
            return []
        clock.due = due
        if due is not None and due < at:
            return [self._settle(book, ticket_id, term, clock, at, by)]
        book.schedule(ticket_id, term.key, clock)
        return []

    def _restart(self, book: TicketBook, ticket_id: str, ticket: OpenTicket, term: CompiledTerm, clock: Clock,
                 at: float, by: str) -> list[Contribution]:
        """An update on a periodic-update clock: too late, it is missed; in time, the gap ends (a warned one with
        its `settled` step) and the next starts with the whole limit and no share raised."""
        self._warn(book, ticket_id, term, clock, ticket.priority, at)
        if clock.due is not None and at > clock.due:
            return [self._settle(book, ticket_id, term, clock, at, by)]
        if clock.warned:
            book.missed.append(_warning(term, ticket_id, clock, ticket.priority, at, by))
        clock.runs, clock.start, clock.warned = [], at, 0
        clock.since = None if _held(term, ticket) else at
        clock.due = due_of(term, clock, ticket.priority)
        self._warn(book, ticket_id, term, clock, ticket.priority, at)
        book.schedule(ticket_id, term.key, clock)
        return []

    def _reopen(self, book: TicketBook, ticket_id: str, ticket: OpenTicket, term: CompiledTerm, clock: Clock,
                at: float) -> list[Contribution]:
        """A solved clock after a reopen: a new cycle, or the same clock running again (see the module doc)."""
        clock.solved = False
        if term.term.on_reopen == "new_cycle":
            return self._cycle(book, ticket_id, ticket, term, at)
        if clock.counted != 1.0:  # missed stays missed
            return []
        clock.open = True
        if not _held(term, ticket):
            clock.since = at
        clock.due = due_of(term, clock, ticket.priority)
        self._warn(book, ticket_id, term, clock, ticket.priority, at)
        book.schedule(ticket_id, term.key, clock)
        return [Contribution(term, clock.created, 0.0, 0.0, +1)]

    def _cycle(self, book: TicketBook, ticket_id: str, ticket: OpenTicket, term: CompiledTerm,
               at: float) -> list[Contribution]:
        """A new clock with the whole limit from `at` (paused if the ticket is held), counted in the window of `at`;
        none outside the contract's effective period."""
        if not term.in_effect(at):
            return []
        fresh = ticket.clocks[term.key] = Clock(at, None, None if _held(term, ticket) else at)
        fresh.due = due_of(term, fresh, ticket.priority)
        self._warn(book, ticket_id, term, fresh, ticket.priority, at)
        book.schedule(ticket_id, term.key, fresh)
        book.dirty.add(ticket_id)
        return [Contribution(term, at, 0.0, 0.0, +1)]

    def _between(self, book: TicketBook, ticket_id: str, ticket: OpenTicket, term: CompiledTerm, clock: Clock,
                 at: float, by: str) -> list[Contribution]:
        """A next-reply term between clocks: a customer message after an answer starts a new clock, other events
        note an answer or the ticket's solution, reopen or close (`_rest`)."""
        if by not in term.kind.starts:
            self._rest(book, ticket_id, term, clock, at, by)
            return []
        out = self._cycle(book, ticket_id, ticket, term, at) if clock.solved else []
        if out:  # a solved ticket's new clock is still forgotten when the solution's window is
            ticket.clocks[term.key].forget = clock.forget
        return out

    def _rest(self, book: TicketBook, ticket_id: str, term: CompiledTerm, clock: Clock, at: float, by: str) -> None:
        """A settled next-reply clock after `by`: answered by an agent reply; kept while the ticket is open, until
        its window's retention once solved, dropped when it is closed."""
        if by == "ticket.closed":
            del book.tickets[ticket_id].clocks[term.key]
            return
        clock.solved = clock.solved or by in term.kind.events
        if by in SOLUTIONS:
            _, end = term.window.bounds(at)
            clock.forget = end + term.grace + term.retention
        elif by == "ticket.reopened":
            clock.forget = math.inf
        book.queue(clock.forget, ticket_id, term.key)  # none while kept without end (infinite)

    def _settle(self, book: TicketBook, ticket_id: str, term: CompiledTerm, clock: Clock, at: float, by: str,
                met: bool | None = None) -> Contribution:
        """Decide an open clock (met when `at` is within its deadline, unless `met` says); the contribution is the
        change of its window's count: the outcome the first time, a correction after a reopen."""
        if met is None:
            met = clock.due is None or at <= clock.due
        ticket = book.tickets[ticket_id]
        self._warn(book, ticket_id, term, clock, ticket.priority, at)  # shares passed before the outcome
        outcome = 1.0 if met else 0.0
        c = Contribution(term, clock.created, outcome - (clock.counted or 0.0),
                         0.0 if clock.counted is not None else 1.0, -1)
        due = clock.due
        if not met:
            assert due is not None
            book.missed.append(_missed(term, ticket_id, clock.created, due, at, by))
        if clock.warned:
            book.missed.append(_warning(term, ticket_id, clock, ticket.priority, at, by))
        clock.stop(at)
        clock.open, clock.due, clock.counted, clock.solved, clock.warn = False, None, outcome, by in SOLUTIONS, None
        book.dirty.add(ticket_id)
        if term.key in self.per_message:
            clock.solved = False  # answered only by an agent reply (`_rest`), not by the deadline
            self._rest(book, ticket_id, term, clock, at, by)
            return c
        kept = self._kept(term, met)
        if kept:
            _, end = term.window.bounds(clock.created)
            clock.forget = end + term.grace + term.retention
        if not met and due is not None and by not in term.kind.events and per_day_late(term.term):
            clock.late, horizon = due, _horizon(term, due)
            clock.forget = max(clock.forget, horizon) if kept else horizon
        if kept or clock.late is not None:
            book.schedule(ticket_id, term.key, clock)
        else:
            del ticket.clocks[term.key]
        return c

    def _kept(self, term: CompiledTerm, met: bool) -> bool:
        """Whether a settled clock is kept for a reopen: a clock stopping at a solution, met or counting anew."""
        return term.key in self.reopens and (term.term.on_reopen == "new_cycle" or met)

    def _solved_after(self, book: TicketBook, ticket_id: str, ticket: OpenTicket, term: CompiledTerm, clock: Clock,
                      at: float, by: str) -> None:
        """A solution of a settled clock: a new cycle may follow a reopen; a delay followed since the miss ends
        (its `TicketSolvedLate`), and the clock is dropped unless kept for a reopen."""
        clock.solved = True
        if clock.late is not None:
            iso = term.window.iso
            book.missed.append(TicketSolvedLate(term.contract, term.term.id, term.term.kpi, ticket_id,
                                                iso(clock.created), iso(clock.late), iso(at), by))
            clock.late = None
            if not self._kept(term, False):
                del ticket.clocks[term.key]

    def _warn(self, book: TicketBook, ticket_id: str, term: CompiledTerm, clock: Clock, priority: str | None,
              at: float) -> None:
        """Raise each of the term's `warn_at` shares the open clock passed before `at` (once each); note when it
        passes the next one (`clock.warn`, None when none is left or the clock is paused)."""
        shares = term.term.warn_at or ()
        clock.warn = None
        while clock.warned < len(shares):
            when = due_of(term, clock, priority, shares[clock.warned])
            if when is None or when >= at:
                clock.warn = when
                return
            iso = term.window.iso
            book.missed.append(TicketWarning(
                term.contract, term.term.id, term.term.kpi, ticket_id, iso(clock.created), shares[clock.warned],
                iso(when), None if clock.due is None else iso(clock.due), "warning"))
            clock.warned += 1
            book.dirty.add(ticket_id)

    def expire(self, book: TicketBook, watermark: float) -> list[Contribution]:
        """Settle as missed every clock whose deadline the event-time watermark has passed, raise the warnings it
        has passed; drop settled clocks whose window can no longer be revised."""
        out = []
        while book.deadlines and book.deadlines[0][0] < watermark:
            when, ticket_id, key = heapq.heappop(book.deadlines)
            ticket = book.tickets.get(ticket_id)
            clock = ticket.clocks.get(key) if ticket is not None else None
            if ticket is None or clock is None:
                continue  # settled in time already
            warn = clock.warn  # compared as a local: `clock.warn == when` would narrow the attribute to a float,
            if clock.open and clock.due == when:  # and mypyc would refuse the None `_warn` may then move it to
                out.append(self._settle(book, ticket_id, self.by_key[key], clock, when, "deadline", met=False))
            elif clock.open and warn == when:
                self._warn(book, ticket_id, self.by_key[key], clock, ticket.priority, watermark)
                book.queue(clock.warn, ticket_id, key)  # the next warning, as `_warn` moved it
            elif not clock.open and clock.forget == when:
                del ticket.clocks[key]
                book.dirty.add(ticket_id)
            else:
                continue  # an older deadline, since moved
            if not ticket.clocks:
                del book.tickets[ticket_id]
        return out


def _horizon(term: CompiledTerm, deadline: float) -> float:
    """When a missed ticket stops being followed: the end of the term's `max_days`-th day of delay."""
    assert term.term.penalty is not None
    return late_day_end(datetime.fromtimestamp(deadline, UTC), term.term.penalty.max_days,
                        late_calendar(term.term, term.calendar)).timestamp()


def _missed(term: CompiledTerm, ticket_id: str, created: float, due: float, settled: float, by: str) -> TicketMissed:
    iso = term.window.iso
    return TicketMissed(term.contract, term.term.id, term.term.kpi, ticket_id, iso(created), iso(due), iso(settled), by)


def _warning(term: CompiledTerm, ticket_id: str, clock: Clock, priority: str | None, settled: float,
             by: str) -> TicketWarning:
    """The end of a warned clock's warnings: the highest share raised, settled at `settled` by `by`."""
    share, iso = (term.term.warn_at or ())[clock.warned - 1], term.window.iso
    when = due_of(term, clock, priority, share)
    return TicketWarning(term.contract, term.term.id, term.term.kpi, ticket_id, iso(clock.created), share,
                         iso(when if when is not None else settled), None if clock.due is None else iso(clock.due),
                         "settled", iso(settled), by)
