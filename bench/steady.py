"""A steady stream of simulated calls (`streams.sim`) produced in-process at a chosen rate, for latency and soak.

Events are paced by their event time: `speed` simulated seconds pass per wall second, and the call arrival rate
is set so that about `rate` events a second come out. Each produced event is reported with its wall send time.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer

from streams.models.decode import encode_event
from streams.models.events import Event
from streams.models.families import routing_key
from streams.sim.callcenter import Traffic, simulate

EVENTS_PER_CALL = 2.85
"""Events the simulator makes per call on average (offered, answered or abandoned, ended when answered)."""


@dataclass(frozen=True)
class Plan:
    """What to send: `rate` events/s for `seconds` of wall time, `speed` simulated seconds per wall second."""

    queues: Sequence[str]
    rate: float
    seconds: float
    speed: float
    start: datetime
    seed: int = 7

    @property
    def traffic(self) -> Traffic:
        """Arrivals per queue and minute of simulated time that give `rate` events per wall second, and staffing
        for that load: most calls answered, a dip every hour that breaches some windows."""
        return staffed_traffic(self.rate * 60 / (len(self.queues) * EVENTS_PER_CALL * self.speed))


def staffed_traffic(per_minute: float) -> Traffic:
    """`per_minute` arrivals per queue and simulated minute, staffed for that load: most calls answered, a dip
    every hour that breaches some windows."""
    base = Traffic()
    erlangs = per_minute * (base.talk_mean_seconds + base.wrap_mean_seconds) / 60
    return Traffic(calls_per_minute=per_minute, agents=math.ceil(erlangs * 1.1) + 1,
                   dip_agents=max(1, math.floor(erlangs * 0.9)))


def month_start_before(timezone: str, days: float = 0.0, seconds: float = 0.0, until: date | None = None) -> datetime:
    """`days` and `seconds` before local midnight of the first of the current month (of `until`'s month when that
    is earlier: a contract's last day, so the events are inside its effective period): in the past, and a run
    from there crosses a month boundary soon, so daily and monthly windows close during it."""
    now = datetime.now(ZoneInfo(timezone))
    if until is not None and until < now.date():
        now = datetime(until.year, until.month, until.day, tzinfo=ZoneInfo(timezone))
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first - timedelta(days=days, seconds=seconds)


def _messages(events: Iterable[Event]) -> Iterator[tuple[float, bytes, bytes, Event]]:
    """(event time, key, value, event) of each event."""
    for event in events:
        yield event.occurred_at.timestamp(), routing_key(event).encode(), encode_event(event), event


class Sender(Protocol):
    """Hands messages to a Kafka producer and flushes them at the end."""

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Queue one message (returns once the producer holds it)."""

    async def close(self) -> None:
        """Deliver what is queued and stop; raises if messages were not delivered."""


class AiokafkaSender:
    """aiokafka's producer: a project dependency, enough for the soak's 1,000 events/s (about 8,000/s at most on
    2 shared cores: its per-message Python cost)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    @classmethod
    async def start(cls, bootstrap: str) -> AiokafkaSender:
        """A started producer (acks from all replicas, 2 ms linger)."""
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
        await producer.start()
        return cls(producer)

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Queue one message."""
        await self.producer.send(topic, key=key, value=value)

    async def close(self) -> None:
        """Flush, then stop."""
        try:
            await self.producer.flush()
        finally:
            await self.producer.stop()


class LibrdkafkaSender:
    """librdkafka's producer (confluent-kafka, the `bench` extra): a few microseconds per message, so 20,000
    events/s leave the CPU to the worker and the broker. Partitioned by murmur2 like aiokafka."""

    POLL_EVERY = 1000
    """Messages between two serves of delivery reports."""

    def __init__(self, bootstrap: str) -> None:
        from confluent_kafka import Producer  # the `bench` extra

        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2,
                                  "partitioner": "murmur2_random", "enable.idempotence": False,
                                  "queue.buffering.max.messages": 1_000_000})
        self.queued = 0

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Queue one message; waits while librdkafka's queue is full."""
        while True:
            try:
                self.producer.produce(topic, value=value, key=key)
                break
            except BufferError:
                self.producer.poll(0)
                await asyncio.sleep(0.005)
        self.queued += 1
        if self.queued % self.POLL_EVERY == 0:
            self.producer.poll(0)

    async def close(self) -> None:
        """Flush (in a thread, so the event loop's readers go on)."""
        remaining = await asyncio.to_thread(self.producer.flush, 60.0)
        if remaining:
            raise RuntimeError(f"{remaining} messages not delivered")


async def produce(bootstrap: str, topic: str, plan: Plan, on_sent: Callable[[Event, float], None] | None = None,
                  stop: asyncio.Event | None = None, prepare: bool = False,
                  librdkafka: bool = False) -> tuple[int, float]:
    """Send the plan's events paced to the wall clock; returns (events sent, wall seconds taken).

    `prepare` simulates and encodes every event before the clock starts (for latency: the producer then only
    sends); otherwise they are made as they go (for long runs, in constant memory). `librdkafka` sends with
    `LibrdkafkaSender` (for rates aiokafka's producer cannot keep up), else with `AiokafkaSender`."""
    events = simulate(list(plan.queues), plan.start, plan.seconds * plan.speed, plan.traffic, plan.seed,
                      run_id=secrets.token_hex(3))
    messages: Iterable[tuple[float, bytes, bytes, Event]] = _messages(events)
    if prepare:
        messages = list(messages)
    sender: Sender = LibrdkafkaSender(bootstrap) if librdkafka else await AiokafkaSender.start(bootstrap)
    sent = 0
    wall0 = time.monotonic()
    sim0 = plan.start.timestamp()
    try:
        for at, key, value, event in messages:
            if stop is not None and stop.is_set():
                break
            delay = wall0 + (at - sim0) / plan.speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if on_sent is not None:
                on_sent(event, time.time())
            await sender.send(topic, key, value)
            sent += 1
    finally:
        await sender.close()
    return sent, time.monotonic() - wall0
