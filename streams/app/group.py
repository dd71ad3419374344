"""What the worker's two consumer loops (the source loop, the pool loop) share around their own batch handling: how
their group's consumer is set up, the fetch-and-tick cycle they run, and how they let go of Kafka on the way out."""

from __future__ import annotations

import contextlib
import time
from typing import Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from streams.app.settings import WorkerSettings
from streams.kafka_io.connect import kafka_client


class Consuming(Protocol):
    """A loop that applies fetched batches and moves its quiet clocks on its timer."""

    async def on_fetch(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> None: ...

    async def on_tick(self) -> None: ...


def group_consumer(settings: WorkerSettings, group: str, **fetch_sizes: int) -> AIOKafkaConsumer:
    """A consumer of `group` as both loops need it: offsets committed by the loop once a batch is applied, from the
    earliest offset without a commit, with the worker's batch size and session timing."""
    s = settings
    return kafka_client(
        AIOKafkaConsumer, s.bootstrap(), group_id=group, enable_auto_commit=False, auto_offset_reset="earliest",
        max_poll_records=s.batch_max, session_timeout_ms=int(s.session_timeout * 1000),
        rebalance_timeout_ms=int(s.session_timeout * 1000),
        heartbeat_interval_ms=int(min(3.0, s.session_timeout / 3) * 1000), **fetch_sizes)


async def fetch_and_tick(consumer: AIOKafkaConsumer, settings: WorkerSettings, loop: Consuming,
                         timeout_ms: int) -> None:
    """Hand each fetch (waiting up to `timeout_ms` for one) to the loop, and a tick every `tick_interval`, until
    cancelled."""
    next_tick = time.monotonic() + settings.tick_interval
    while True:
        fetched = await consumer.getmany(timeout_ms=timeout_ms, max_records=settings.batch_max)
        if fetched:
            await loop.on_fetch(fetched)
        if time.monotonic() >= next_tick:
            next_tick = time.monotonic() + settings.tick_interval
            await loop.on_tick()


async def stop_clients(consumer: AIOKafkaConsumer, producer: AIOKafkaProducer) -> None:
    """Stop both clients whatever went wrong: the consumer first, leaving the group now, so the others take its
    partitions over without waiting for a session timeout."""
    with contextlib.suppress(Exception):
        await consumer.stop()
    with contextlib.suppress(Exception):
        await producer.stop()
