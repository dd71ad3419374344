"""The second stage of pooled terms (`aggregate: pooled`) in a worker process: merges per-queue parts into pooled
windows wherever the queues' partitions are consumed.

The source loop publishes each queue's parts (`streams.core.pool.PoolPart`) to the compacted `<app-id>-pool-parts`
topic, partitioned by `contract/term`. This loop consumes that topic in its own group (`<app-id>-pool`), so exactly
one worker merges each term (`streams.core.pool.Pool`, one per owned partition); it publishes the pooled windows and
breach steps through the worker's sinks, writes each changed term's merge state to `<app-id>-pool-parts-changelog`
(the same partition), waits for both, then commits, and restores that state on assignment before the partition's
first part: a takeover continues exactly. Re-delivered parts change nothing (a part replaces its queue's older one
by version; clocks only move forward).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from streams.app.emitter import Emitter, Send
from streams.app.group import fetch_and_tick, group_consumer, stop_clients
from streams.app.rebalance import Listener
from streams.app.settings import WorkerSettings
from streams.core.pool import Pool, PoolPart, load_pool, pool_writes
from streams.core.terms import TermIndex
from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_compacted
from streams.kafka_io.connect import kafka_client
from streams.kafka_io.store import ChangelogStore

log = logging.getLogger(__name__)


def part_sends(parts: Iterable[PoolPart], topic: str) -> list[Send]:
    """The messages of a batch's parts (the loop sends them to their term's partition, `pool_partition`)."""
    return [(topic, part.key, part.to_bytes()) for part in parts]


async def ensure_pool_topics(bootstrap: str, settings: WorkerSettings, producer: AIOKafkaProducer) -> int:
    """Create the parts topic and its stage's changelog if missing; returns the parts topic's partition count."""
    topic = topics.pool_parts(settings.app_id)
    await ensure_compacted(bootstrap, topic, settings.partitions, settings.topic_layout())
    partitions = len(await producer.partitions_for(topic))
    await ensure_compacted(bootstrap, topics.pool_changelog(settings.app_id), partitions, settings.topic_layout())
    return partitions


class PoolLoop:
    """Consumes the parts topic for one worker process and merges the owned terms; `run` until cancelled."""

    def __init__(self, settings: WorkerSettings, terms: TermIndex, emitter: Emitter) -> None:
        self.settings = settings
        self.terms = terms
        self.emitter = emitter
        """The worker's sinks (records, metrics, alerts), shared with the source loop."""
        self.bootstrap = settings.bootstrap()
        self.topic = topics.pool_parts(settings.app_id)
        self.group = f"{settings.app_id}-pool"
        self.pools: dict[int, Pool] = {}
        """The merge of each owned partition of the parts topic, restored from the changelog."""
        self.lock = asyncio.Lock()
        self.consumer: AIOKafkaConsumer | None = None
        self.store: ChangelogStore | None = None
        self.readiness: tuple[bool, str] = (False, "pooled terms: starting")
        """What /readyz says of this loop (with the source loop's): ready once its group is joined and every assigned
        partition's merge restored (read from the metrics thread: replaced whole, never mutated)."""

    async def run(self) -> None:
        """Join the group and merge parts until cancelled."""
        s = self.settings
        producer = kafka_client(AIOKafkaProducer, self.bootstrap, acks="all", linger_ms=5)
        consumer = group_consumer(s, self.group)
        self.store = ChangelogStore(lambda _: topics.pool_changelog(s.app_id), producer)
        try:
            await producer.start()
            await ensure_pool_topics(self.bootstrap, s, producer)
            await consumer.start()
            self.consumer = consumer
            consumer.subscribe([self.topic], listener=Listener(self))
            self.readiness = (False, f"pooled terms: joining consumer group {self.group}")
            await fetch_and_tick(consumer, s, self, timeout_ms=int(s.batch_within * 1000) or 50)
        finally:
            self.readiness = (False, "pooled terms: not connected to Kafka (the pool loop restarts)")
            self.consumer = None
            self.pools.clear()
            await stop_clients(consumer, producer)

    async def on_fetch(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Merge one fetch of parts, publish what it closed or revised, persist the merge, then commit."""
        now = time.time()
        async with self.lock:
            mine = {tp: batch for tp, batch in fetched.items() if tp.partition in self.pools and batch}
            sends: list[Send] = []
            for tp, batch in mine.items():
                pool = self.pools[tp.partition]
                for message in batch:
                    try:
                        part = PoolPart.from_bytes(message.value or b"")
                    except (ValueError, TypeError, IndexError):
                        log.warning("not a pooled part at %s[%d]@%d: skipped", tp.topic, tp.partition, message.offset)
                        continue
                    self.emitter.emit(sends, pool.on_part(part, now), None)
            await self._apply(sends)
            await self._commit({tp: batch[-1].offset + 1 for tp, batch in mine.items()})

    async def on_tick(self) -> None:
        """Let quiet queues of the owned terms follow the others (`Pool.idle`)."""
        async with self.lock:
            sends: list[Send] = []
            for pool in self.pools.values():
                self.emitter.emit(sends, pool.idle(time.time(), self.settings.idle_after), None)
            await self._apply(sends)

    async def _apply(self, sends: list[Send]) -> None:
        """Outputs first, then the merge states that made them, all acknowledged before the caller commits."""
        store = self._store()
        pending = [await store.producer.send(name, key=key, value=value) for name, key, value in sends]
        if pending:
            await asyncio.gather(*pending)
        for partition, pool in sorted(self.pools.items()):
            for key, value in pool_writes(pool):
                await store.put((self.topic, partition), key, value)
        await store.flush()

    def _store(self) -> ChangelogStore:
        assert self.store is not None, "run() sets the store up"
        return self.store

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.consumer is None or not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:  # a rebalance: parts re-delivered change nothing
            log.info("pool offsets not committed (%r); re-delivered parts are recognised by version", exc)

    async def on_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        """Wait for the batch in hand, then forget the revoked partitions' merges."""
        async with self.lock:
            self.readiness = (False, "pooled terms: rebalancing")
            gone = {tp.partition for tp in revoked}
            for partition in gone:
                self.pools.pop(partition, None)
            self._store().drop((self.topic, p) for p in gone)

    async def on_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        """Restore the merge state of newly assigned partitions before their first part."""
        async with self.lock:
            store = self._store()
            new = sorted({tp.partition for tp in assigned} - set(self.pools))
            read = await store.restore(self.bootstrap, [(self.topic, p) for p in new])
            for partition in new:
                self.pools[partition] = load_pool(self.terms, store.items((self.topic, partition)))
            log.info("restored pool partitions %s: %d changelog records", new, read)
            self.readiness = (True, f"joined {self.group}, {len(self.pools)} pool partitions restored")
