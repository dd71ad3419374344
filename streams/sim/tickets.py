"""A simulated service desk: tickets created at random (requests, faults, complaints), each with its life of
first response, progress updates, resolution, an occasional reopening, and closure. Pure: yields events in time order.

Every few hours the desk runs a backlog: tickets created then wait much longer for their first response, so hourly
first-response terms breach; a share of complaints escalates and is closed only after a day or more, so daily
complaint-closure terms breach too. A ticket's whole life is drawn when it is created (from its own random
stream), so the same seed gives the same tickets whatever the horizon.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from streams.models.events import (
    TicketClosed,
    TicketCreated,
    TicketEvent,
    TicketEventBase,
    TicketFirstResponse,
    TicketReopened,
    TicketResolved,
    TicketUpdated,
)
from streams.sim.poisson import arrival_times

CATEGORIES: tuple[tuple[str, float], ...] = (("request", 0.55), ("fault", 0.30), ("complaint", 0.15))
"""Ticket categories and their shares."""
CHANNELS = ("email", "web", "phone", "chat")
Step = tuple[float, type[TicketEventBase], dict[str, Any]]
"""One event of a ticket's life: seconds since the start, its class, its fields beyond the ids and time."""


@dataclass(frozen=True)
class Desk:
    """Load and pace of the service desk (times in minutes); the backlog repeats every `backlog_every_hours`."""

    tickets_per_hour: float = 12.0
    first_response_mean: float = 10.0
    backlog_first_response_mean: float = 55.0
    backlog_every_hours: float = 4.0
    backlog_start_minute: float = 45.0
    backlog_minutes: float = 60.0
    resolve_mean: float = 150.0
    complaint_resolve_mean: float = 360.0
    escalated_share: float = 0.25
    """Complaints that escalate: resolved only after a day or more."""
    update_every: float = 180.0
    """Open tickets get a progress update this often after their first response."""
    reopen_share: float = 0.05
    close_after_mean: float = 60.0
    high_priority_share: float = 0.2

    def in_backlog(self, minutes_since_start: float) -> bool:
        """True while the desk is behind (tickets created now wait longer for a first response)."""
        minute = minutes_since_start % (self.backlog_every_hours * 60)
        return self.backlog_start_minute <= minute < self.backlog_start_minute + self.backlog_minutes


def _category(rng: random.Random) -> str:
    return rng.choices([c for c, _ in CATEGORIES], [w for _, w in CATEGORIES])[0]


def ticket_life(created: float, desk: Desk, rng: random.Random, queues: Sequence[str]) -> list[Step]:
    """The events of one ticket as (seconds since start, event class, extra fields), in time order."""
    category = _category(rng)
    fields: dict[str, Any] = {"category": category, "channel": rng.choice(CHANNELS),
                              "priority": "high" if rng.random() < desk.high_priority_share else "normal"}
    if queues:
        fields["queue"] = rng.choice(list(queues))
    life: list[Step] = [(created, TicketCreated, fields)]
    mean = desk.backlog_first_response_mean if desk.in_backlog(created / 60) else desk.first_response_mean
    responded = created + 60 * rng.expovariate(1 / mean)
    life.append((responded, TicketFirstResponse, {}))
    if category == "complaint" and rng.random() < desk.escalated_share:
        work = 60 * (24 * 60 + rng.uniform(60, 16 * 60))  # escalated: a day and more
    else:
        work = 60 * rng.expovariate(1 / (desk.complaint_resolve_mean if category == "complaint"
                                         else desk.resolve_mean))
    resolved = responded + work
    update = responded + 60 * desk.update_every
    while update < resolved:
        life.append((update, TicketUpdated, {}))
        update += 60 * desk.update_every
    life.append((resolved, TicketResolved, {}))
    if category != "complaint" and rng.random() < desk.reopen_share:
        reopened = resolved + 60 * rng.uniform(20, 120)
        resolved = reopened + 60 * rng.expovariate(1 / 60)
        life += [(reopened, TicketReopened, {}), (resolved, TicketResolved, {})]
    life.append((resolved + 60 * rng.expovariate(1 / desk.close_after_mean), TicketClosed, {}))
    return life


def simulate_tickets(start: datetime, seconds: float, desk: Desk, seed: int, run_id: str,
                     queues: Sequence[str] = ()) -> Iterator[TicketEvent]:
    """Ticket events of `seconds` of simulated time from `start`, in time order (lives cut at the horizon)."""
    arrivals = random.Random(f"{seed}-tickets")
    heap: list[tuple[float, int, int, type[TicketEventBase], dict[str, Any]]] = []
    seq = 0

    def due(until: float) -> Iterator[TicketEvent]:
        while heap and heap[0][0] <= until:
            t, _, n, kind, fields = heapq.heappop(heap)
            ticket_id = f"{run_id}-T{n}"
            event = kind(event_id=f"{ticket_id}:{kind.model_fields['type'].default}:{t:.0f}", ticket_id=ticket_id,
                         occurred_at=start + timedelta(seconds=round(t, 3)), **fields)
            yield cast(TicketEvent, event)

    for n, created in enumerate(arrival_times(arrivals, desk.tickets_per_hour, seconds)):
        yield from due(created)
        for t, kind, fields in ticket_life(created, desk, random.Random(f"{seed}-ticket-{n}"), queues):
            if t <= seconds:
                seq += 1
                heapq.heappush(heap, (t, seq, n, kind, fields))
    yield from due(seconds)
