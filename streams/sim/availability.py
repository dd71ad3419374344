"""Simulated service monitoring: each service reports its state every few minutes (`service.up` or
`service.down`) and at each change; every few hours it has an outage of a random length. Pure: yields events in
time order.

The periodic reports keep the availability clock moving while nothing changes (cckpi counts the time between two
reports as up or down), so hourly availability windows close on time; an outage breaches the hour it falls in.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count, takewhile

from streams.models.events import ServiceDown, ServiceUp


@dataclass(frozen=True)
class Monitoring:
    """Outage schedule (minutes) and report interval; the n-th service's outages come `stagger_minutes` later."""

    report_every: float = 5.0
    first_outage_minute: float = 40.0
    outage_every_hours: float = 8.0
    outage_minutes: tuple[float, float] = (8.0, 16.0)
    """Shortest and longest outage."""
    stagger_minutes: float = 240.0


def outages(index: int, seconds: float, monitoring: Monitoring, rng: random.Random) -> Iterator[tuple[float, float]]:
    """The n-th service's outages as (down at, up at) seconds since the start, in order, starting before `seconds`."""
    t = 60 * (monitoring.first_outage_minute + index * monitoring.stagger_minutes)
    while t < seconds:
        yield t, t + 60 * rng.uniform(*monitoring.outage_minutes)
        t += 3600 * monitoring.outage_every_hours


def _service_reports(service: str, index: int, start: datetime, seconds: float, monitoring: Monitoring,
                     seed: int, run_id: str) -> Iterator[ServiceUp | ServiceDown]:
    """One service's reports and changes, in time order (lazily: the demo's horizon is years)."""
    def schedule() -> Iterator[tuple[float, float]]:
        return outages(index, seconds, monitoring, random.Random(f"{seed}-availability-{service}"))

    step = 60 * monitoring.report_every
    ticks = takewhile(lambda t: t <= seconds, (k * step for k in count()))
    changes = (t for span in schedule() for t in span if t <= seconds)
    spans = schedule()
    span, previous = next(spans, None), -1.0
    for n, t in enumerate(heapq.merge(ticks, changes)):
        if t == previous:
            continue
        previous = t
        while span is not None and t >= span[1]:
            span = next(spans, None)
        kind = ServiceDown if span is not None and span[0] <= t else ServiceUp
        yield kind(event_id=f"{run_id}-{service}-{n}", service=service,
                   occurred_at=start + timedelta(seconds=round(t, 3)))


def simulate_availability(services: Sequence[str], start: datetime, seconds: float, monitoring: Monitoring,
                          seed: int, run_id: str) -> Iterator[ServiceUp | ServiceDown]:
    """Every service's events merged in time order."""
    streams = [_service_reports(s, i, start, seconds, monitoring, seed, run_id) for i, s in enumerate(services)]
    return heapq.merge(*streams, key=lambda e: e.occurred_at)
