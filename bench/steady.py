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
from datetime import datetime, timedelta
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
        per_minute = self.rate * 60 / (len(self.queues) * EVENTS_PER_CALL * self.speed)
        base = Traffic()
        erlangs = per_minute * (base.talk_mean_seconds + base.wrap_mean_seconds) / 60
        return Traffic(calls_per_minute=per_minute, agents=math.ceil(erlangs * 1.1) + 1,
                       dip_agents=max(1, math.floor(erlangs * 0.9)))


def month_start_before(timezone: str, days: float = 0.0, seconds: float = 0.0) -> datetime:
    """`days` and `seconds` before local midnight of the first of the current month: in the past, and a run
    from there crosses a month boundary soon, so daily and monthly windows close during it."""
    now = datetime.now(ZoneInfo(timezone))
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first - timedelta(days=days, seconds=seconds)


def _messages(events: Iterable[Event]) -> Iterator[tuple[float, bytes, bytes, Event]]:
    """(event time, key, value, event) of each event."""
    for event in events:
        yield event.occurred_at.timestamp(), routing_key(event).encode(), encode_event(event), event


async def produce(bootstrap: str, topic: str, plan: Plan, on_sent: Callable[[Event, float], None] | None = None,
                  stop: asyncio.Event | None = None, prepare: bool = False) -> tuple[int, float]:
    """Send the plan's events paced to the wall clock; returns (events sent, wall seconds taken).

    `prepare` simulates and encodes every event before the clock starts (for latency: the producer then only
    sends); otherwise they are made as they go (for long runs, in constant memory)."""
    events = simulate(list(plan.queues), plan.start, plan.seconds * plan.speed, plan.traffic, plan.seed,
                      run_id=secrets.token_hex(3))
    messages: Iterable[tuple[float, bytes, bytes, Event]] = _messages(events)
    if prepare:
        messages = list(messages)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
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
            await producer.send(topic, key=key, value=value)
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent, time.monotonic() - wall0
