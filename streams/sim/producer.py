"""Publishing events to Kafka at a chosen speed, with optional bad and late messages.

Used by the simulator (call events on one topic) and by `cckpi replay` (events of any family, each family on its
own topic). Every message is keyed by `routing_key(event)`, so all events of a queue, ticket or service share a
partition and keep their order. This module paces and counts; the acknowledged delivery itself (idempotent
producer, delivery deadline, `DeliveryFailed`, `BrokerUnavailable`) is `streams.kafka_io.publish`.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from streams.kafka_io import topics
from streams.kafka_io.admin import DEFAULT_LAYOUT
from streams.kafka_io.publish import (
    CONNECT_TIMEOUT,
    DELIVERY_TIMEOUT,
    AcknowledgedSender,
    BrokerUnavailable,
    DeliveryFailed,
    PublishError,
    acknowledged_sender,
)
from streams.kafka_io.topics import TopicLayout
from streams.models.decode import encode_event
from streams.models.events import Event
from streams.models.families import family_of, routing_key

__all__ = ["BAD_MESSAGE", "DELIVERY_TIMEOUT", "BrokerUnavailable", "DeliveryFailed", "Pacing", "PublishError",
           "Published", "TopicChooser", "publish", "topic_for"]

TopicChooser = Callable[[Event], str]
"""Picks the topic an event is published to."""

BAD_MESSAGE = b'{"type": "call.answered", "oops": 1}'
"""What a malformed message looks like (not a valid event of any type)."""


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
    acknowledged: int = 0
    """Messages (events and malformed ones) the broker acknowledged; known at the end."""
    unacknowledged: int = 0
    """Messages sent (or refused by a full buffer) that the broker did not acknowledge in time; known at the end."""
    complete: bool = False
    """True once every scheduled message was sent (False: sending stopped early, at a delivery failure)."""


def topic_for(event: Event) -> str:
    """The topic of an event's family: calls (and agent states), tickets, surveys or availability."""
    return family_of(event).topic


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
                  on_sent: Callable[[Published], None] | None = None, *, report_every: int = 100,
                  delivery_timeout: float = DELIVERY_TIMEOUT, connect_timeout: float = CONNECT_TIMEOUT,
                  layout: TopicLayout = DEFAULT_LAYOUT) -> Published:
    """Send events keyed by their routing key to `topic` (a name, or a function of the event); return once the
    broker has acknowledged every one of them.

    Events are paced to the wall clock unless `pacing.speed` is None. Topics are created first, as `layout` says:
    the named one, or every event topic when a chooser is given. `on_sent` is called every `report_every` events and
    at the end.
    Raises BrokerUnavailable if no broker answers within `connect_timeout` seconds at start, and DeliveryFailed when
    a message is not acknowledged within `delivery_timeout` seconds of being sent, retries included (sending stops).
    """
    choose: TopicChooser = (lambda _event: topic) if isinstance(topic, str) else topic
    names = [topic] if isinstance(topic, str) else list(topics.EVENT_TOPICS)
    counts = Published()
    async with acknowledged_sender(bootstrap, names, delivery_timeout, connect_timeout, layout) as sender:
        counts.complete = await _send_all(sender, _schedule(events, pacing), choose, names[0], pacing, counts,
                                          on_sent, report_every)
        await sender.drain()
    counts.acknowledged, counts.unacknowledged = sender.acknowledged, sender.unacknowledged
    if on_sent is not None:
        on_sent(counts)
    if counts.unacknowledged:
        raise DeliveryFailed(counts, delivery_timeout)
    return counts


async def _send_all(sender: AcknowledgedSender, schedule: Iterable[tuple[float, Event | None]],
                    choose: TopicChooser, first_topic: str, pacing: Pacing, counts: Published,
                    on_sent: Callable[[Published], None] | None, report_every: int) -> bool:
    """Send the scheduled messages in order, paced; stop early (False) when a delivery is overdue or a send is
    refused; True when all were sent."""
    sim0: float | None = None
    wall0 = time.monotonic()
    last_key, last_topic = "unknown", first_topic
    for sim_t, event in schedule:
        if pacing.speed:
            sim0 = sim_t if sim0 is None else sim0
            delay = wall0 + (sim_t - sim0) / pacing.speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if event is not None:
            last_key, last_topic = routing_key(event), choose(event)
        value = BAD_MESSAGE if event is None else encode_event(event)
        going = await sender.send(last_topic, last_key.encode(), value)
        if event is None:
            counts.bad += 1
        else:
            counts.events += 1
            counts.by_topic[last_topic] = counts.by_topic.get(last_topic, 0) + 1
            counts.source_time = sim_t
            counts.late += int(event.occurred_at.timestamp() < sim_t)
            if on_sent is not None and counts.events % report_every == 0:
                on_sent(counts)
        if not going:
            return False
    return True
