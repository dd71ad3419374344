"""Publishing events to Kafka at a chosen speed, with optional bad and late messages.

Used by the simulator (call events on one topic) and by `cckpi replay` (events of any family, each family on its
own topic). Every message is keyed by `routing_key(event)`, so all events of a queue, ticket or service share a
partition and keep their order.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from streams.app import topics
from streams.app.admin import ensure_topics
from streams.models.decode import encode_event
from streams.models.events import (
    AgentEventBase,
    CallEventBase,
    Event,
    SurveySubmitted,
    TicketEventBase,
    routing_key,
)

TopicChooser = Callable[[Event], str]
"""Picks the topic an event is published to."""


def topic_for(event: Event) -> str:
    """The topic of an event's family: calls (and agent states), tickets, surveys or availability."""
    if isinstance(event, CallEventBase | AgentEventBase):
        return topics.CALLS
    if isinstance(event, TicketEventBase):
        return topics.TICKETS
    if isinstance(event, SurveySubmitted):
        return topics.SURVEYS
    return topics.AVAILABILITY


@dataclass(frozen=True)
class Pacing:
    """How fast to publish: `speed` source seconds per wall second (None: as fast as possible)."""

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
    by_topic: dict[str, int] = field(default_factory=dict)
    """Events sent per topic."""
    source_time: float | None = None
    """Event time (epoch seconds) of the last event sent."""


def _schedule(events: Iterable[Event], pacing: Pacing) -> Iterable[tuple[float, Event | None]]:
    """(source publish time, event) in publish order; None marks a malformed message."""
    held: list[tuple[float, int, Event]] = []
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


async def publish(events: Iterable[Event], bootstrap: str, topic: str | TopicChooser, pacing: Pacing,
                  on_sent: Callable[[Published], None] | None = None, *, report_every: int = 100) -> Published:
    """Send events keyed by their routing key to `topic` (a name, or a function of the event).

    Events are paced to the wall clock unless `pacing.speed` is None. Topics are created first: the named one, or
    every event topic when a chooser is given. `on_sent` is called every `report_every` events and at the end.
    """
    choose: TopicChooser = (lambda _event: topic) if isinstance(topic, str) else topic
    await ensure_topics(bootstrap, [topic] if isinstance(topic, str) else list(topics.EVENT_TOPICS))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    counts = Published()
    sim0: float | None = None
    wall0 = time.monotonic()
    last_key, last_topic = "unknown", topic if isinstance(topic, str) else topics.CALLS
    try:
        for sim_t, event in _schedule(events, pacing):
            if pacing.speed:
                sim0 = sim_t if sim0 is None else sim0
                delay = wall0 + (sim_t - sim0) / pacing.speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            if event is None:
                await producer.send(last_topic, key=last_key.encode(),
                                    value=b'{"type": "call.answered", "oops": 1}')
                counts.bad += 1
                continue
            last_key, last_topic = routing_key(event), choose(event)
            await producer.send(last_topic, key=last_key.encode(), value=encode_event(event))
            counts.events += 1
            counts.by_topic[last_topic] = counts.by_topic.get(last_topic, 0) + 1
            counts.source_time = sim_t
            counts.late += int(event.occurred_at.timestamp() < sim_t)
            if on_sent is not None and counts.events % report_every == 0:
                on_sent(counts)
        await producer.flush()
    finally:
        await producer.stop()
    if on_sent is not None:
        on_sent(counts)
    return counts
