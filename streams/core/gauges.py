"""What the dashboards' gauges show, computed from core state (pure): calls waiting per queue, the value of each
term's latest open window, and open ticket clocks by time left to their deadline."""

from __future__ import annotations

import math
from collections.abc import Iterable

from streams.core.processor import Processor
from streams.core.records import ConflictingDuplicate, DuplicateEvent, Output
from streams.core.state import ScopeState
from streams.core.terms import TermIndex
from streams.core.tickets import TicketBook

WAITING_STEP = {"call.offered": 1, "call.answered": -1, "call.abandoned": -1}
"""How a call event changes the number of calls waiting in its queue."""
DUE_WITHIN = ((3600.0, "1h"), (4 * 3600.0, "4h"), (86400.0, "24h"))
"""`due_within` buckets of `cckpi_tickets_open`: deadline within 1 hour, 1-4 hours, 4-24 hours, else `later`."""


def waiting_after(waiting: int, kind: str, outputs: Iterable[Output]) -> int | None:
    """Calls waiting in a queue after an event of type `kind` with these outputs (offered minus answered or
    abandoned, never below 0); None when the event changes nothing (not such a type, or a duplicate)."""
    step = WAITING_STEP.get(kind)
    if step is None or (outputs and any(isinstance(o, DuplicateEvent | ConflictingDuplicate) for o in outputs)):
        return None
    return max(0, waiting + step)


def latest_open(processor: Processor, state: ScopeState) -> dict[str, float]:
    """Term key -> value so far of its latest open window that has a denominator (period-to-date gauges); of a
    rolling term's, the one closing next (the span up to now)."""
    latest: dict[str, tuple[float, float, float]] = {}
    for term, agg in processor.open_windows(state):
        rank = -agg.end if term.window.length else agg.start
        if agg.den and rank >= latest.get(term.key, (-math.inf, 0.0, 0.0))[0]:
            latest[term.key] = (rank, agg.num, agg.den)
    return {key: num / den for key, (_, num, den) in latest.items()}


def open_tickets(terms: TermIndex, book: TicketBook | None, now: float) -> dict[tuple[str, str, str], int]:
    """(contract, term id, due_within bucket) -> open ticket clocks, every bucket of every ticket term listed."""
    buckets = [name for _, name in DUE_WITHIN] + ["later"]
    counts = {(t.contract, t.term.id, b): 0 for t in terms.for_source("tickets") for b in buckets}
    for ticket in book.tickets.values() if book is not None else ():
        for key, clock in ticket.clocks.items():
            if not clock.open:
                continue  # settled, kept only in case of a reopen
            term, due = terms.by_key[key], clock.due
            bucket = "later" if due is None else next(  # paused: no deadline yet
                (name for limit, name in DUE_WITHIN if due - now <= limit), "later")
            counts[(term.contract, term.term.id, bucket)] += 1
    return counts
