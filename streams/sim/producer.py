"""Publishing simulated events to Kafka at a chosen speed, with optional bad and late messages."""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from streams.app.admin import ensure_topics
from streams.models.decode import encode_event
from streams.models.events import CallEvent


@dataclass(frozen=True)
class Pacing:
    """How fast to publish: `speed` simulated seconds per wall second (None: as fast as possible)."""

    speed: float | None = 60.0
    bad_every: int = 0
    """Every n-th message is replaced by a malformed one (0: never), to exercise the dead-letter path."""
    late_every: int = 0
    """Every n-th event is held back and published `late_by` simulated seconds later (0: never)."""
    late_by: float = 1200.0


@dataclass
class Published:
    """Counts of what was sent."""

    events: int = 0
    bad: int = 0
    late: int = 0


def _schedule(events: Iterable[CallEvent], pacing: Pacing) -> Iterable[tuple[float, CallEvent | None]]:
    """(simulated publish time, event) in publish order; None marks a malformed message."""
    held: list[tuple[float, int, CallEvent]] = []
    for n, event in enumerate(events, 1):
        t = event.occurred_at.timestamp()
        while held and held[0][0] <= t:
            yield held[0][0], heapq.heappop(held)[2]
        if pacing.bad_every and n % pacing.bad_every == 0:
            yield t, None
        if pacing.late_every and n % pacing.late_every == 0 and event.type != "call.offered":
            heapq.heappush(held, (t + pacing.late_by, n, event))
            continue
        yield t, event
    while held:
        yield held[0][0], heapq.heappop(held)[2]


async def publish(events: Iterable[CallEvent], bootstrap: str, topic: str, pacing: Pacing,
                  on_sent: Callable[[Published], None] | None = None) -> Published:
    """Send events keyed by queue; pace them to the wall clock unless speed is None."""
    await ensure_topics(bootstrap, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    counts = Published()
    sim0: float | None = None
    wall0 = time.monotonic()
    last_queue = "unknown"
    try:
        for sim_t, event in _schedule(events, pacing):
            if pacing.speed:
                sim0 = sim_t if sim0 is None else sim0
                delay = wall0 + (sim_t - sim0) / pacing.speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            if event is None:
                await producer.send(topic, key=last_queue.encode(), value=b'{"type": "call.answered", "oops": 1}')
                counts.bad += 1
                continue
            last_queue = event.queue
            await producer.send(topic, key=event.queue.encode(), value=encode_event(event))
            counts.events += 1
            counts.late += int(event.occurred_at.timestamp() < sim_t)
            if on_sent is not None and counts.events % 100 == 0:
                on_sent(counts)
        await producer.flush()
    finally:
        await producer.stop()
    if on_sent is not None:
        on_sent(counts)
    return counts
