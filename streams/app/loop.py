"""The one source loop: every event family through one aiokafka consumer, one changelog-backed store and one
commit protocol.

The consumer reads all four event topics (`cckpi.calls` keyed by queue over many partitions; tickets, surveys and
availability on one partition each, so one worker holds each of those families' clock). Each fetch goes through the
one shell of the pure core (`StreamShell`: one core `Engine` per owned source partition, whatever its family), and
per batch: the outputs are produced, each changed state is written once to its source's changelog, the broker has
both, and only then are the offsets committed, per (topic, partition). Rebalances wait for the batch in hand, drop
revoked partitions' state and restore newly assigned ones from the changelog before their first message is
processed, so a takeover continues from exactly the committed state. The loop's own timer lets every owned
partition's quiet clocks move with the wall clock (windows close, ticket deadlines fire without a later event).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from streams.app.emitter import Send
from streams.app.group import fetch_and_tick, group_consumer, stop_clients
from streams.app.pool import ensure_pool_topics, part_sends
from streams.app.rebalance import Listener
from streams.app.settings import WorkerSettings
from streams.app.shell import BatchResult, StreamShell
from streams.core.batch import Engine
from streams.core.layout import read_once
from streams.core.pool import pool_partition
from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_compacted, ensure_topics
from streams.kafka_io.connect import kafka_client
from streams.kafka_io.store import ChangelogStore, Source
from streams.models.families import CALLS, FAMILIES
from streams.sinks.metrics import Metrics

log = logging.getLogger(__name__)
Writes = list[tuple[Source, bytes, bytes | None]]
"""Store writes of a batch: (source partition, key, value or None to delete)."""
GC_THRESHOLDS = (50_000, 20, 10)
"""Cyclic collections far rarer than CPython's default (700, 10, 10): a batch's ~60,000 short-lived records and
events made the default run ~1,300 young and 10 full collections per 850,000 events (4.5% of the worker's CPU);
nearly all of it is freed by reference counting anyway."""
PART = 500
"""Messages applied between two turns of the event loop: a turn costs ~10 us, 500 call events ~7 ms, and each step
of the last batch's sends and acknowledgements waits for a turn (so for up to one part)."""
FETCH_BYTES_PER_MESSAGE = 200
"""Bytes per message a partition's fetch is sized for (`partition_fetch_bytes`): call events are ~150 on the wire."""


def partition_fetch_bytes(batch_max: int) -> int:
    """The most one fetch brings of a partition: about one batch (at least Kafka's default, 1 MiB). The client asks a
    broker for more only once every partition it leads is drained (or its data older than 0.1 s), so larger
    fetches make the worker wait on the broker: with 16 MiB it waited 35% of its time, with 4 MiB 13%."""
    return max(1 << 20, batch_max * FETCH_BYTES_PER_MESSAGE)


class SourceLoop:
    """Consumes every event topic in batches for one worker process; `run` until cancelled."""

    def __init__(self, settings: WorkerSettings, shell: StreamShell, metrics: Metrics) -> None:
        self.settings = settings
        self.shell = shell
        """The one shell of every owned source partition (an engine each)."""
        self.metrics = metrics
        self.bootstrap = settings.bootstrap()
        self.group = f"{settings.app_id}-sources"
        """The consumer group of every source topic (a new name with the one state layout: a worker upgraded from
        the layout of `<app-id>-calls` starts from the retained events, never from old offsets with no state)."""
        self.readiness: tuple[bool, str] = (False, "starting")
        """What /readyz says: ready once the group is joined and every assigned partition restored (read from the
        metrics thread: replaced whole, never mutated)."""
        self.owned: set[Source] = set()
        """Source partitions assigned to this worker whose state is restored: only their messages are processed."""
        self.lock = asyncio.Lock()
        """Held while a batch or tick is applied, so a rebalance waits for it to be committed."""
        self.consumer: AIOKafkaConsumer | None = None
        self.store: ChangelogStore | None = None
        self.lagging: set[Source] = set()
        self.pool_topic = topics.pool_parts(settings.app_id) if shell.hidden else None
        """Where the parts of pooled terms go (`streams.app.pool`), None without pooled terms."""
        self.pool_partitions = 1
        self.inflight: asyncio.Task[None] | None = None
        """The acknowledgements and commit of the last batch, awaited while the next batch is processed (see
        `on_fetch`); every other step that sends or changes ownership waits for it first (`settle`)."""

    def changelog(self, topic: str) -> str:
        """The compacted changelog of a source topic's state."""
        return topics.changelog(self.settings.app_id, topic)

    async def run(self) -> None:
        """Join the group and process batches until cancelled; leaves the group cleanly on the way out."""
        s = self.settings
        await ensure_topics(self.bootstrap, layout=s.topic_layout())
        producer = kafka_client(AIOKafkaProducer, self.bootstrap, acks="all", linger_ms=5,
                                max_batch_size=1 << 20, max_request_size=16 << 20)
        consumer = group_consumer(s, self.group, fetch_max_bytes=64 << 20,
                                  max_partition_fetch_bytes=partition_fetch_bytes(s.batch_max))
        self.store = ChangelogStore(self.changelog, producer, read_once)
        try:
            await producer.start()
            for family in FAMILIES:  # each changelog has its source's partition count
                partitions = len(await producer.partitions_for(family.topic))
                await ensure_compacted(self.bootstrap, self.changelog(family.topic), partitions, s.topic_layout())
            if self.pool_topic is not None:
                self.pool_partitions = await ensure_pool_topics(self.bootstrap, s, producer)
            await consumer.start()
            self.consumer = consumer
            consumer.subscribe([f.topic for f in FAMILIES], listener=Listener(self))
            self.readiness = (False, f"joining consumer group {self.group}")
            gc.collect()
            gc.freeze()  # start-up objects (Faust, aiokafka, contracts) are never garbage: full collections skip them
            gc.set_threshold(*GC_THRESHOLDS)
            await fetch_and_tick(consumer, s, self, timeout_ms=int(s.batch_within * 1000))
        finally:
            with contextlib.suppress(Exception):  # a clean stop acknowledges and commits the last batch
                await self.settle()
            self.readiness = (False, "not connected to Kafka (the source loop restarts)")
            self.consumer = None
            self.owned.clear()
            self.shell.forget()
            await stop_clients(consumer, producer)

    async def on_fetch(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Process one fetch (all partitions' messages, each partition in order), then send its outputs and state
        and commit it in the background: the next fetch is processed while the broker acknowledges this one.

        Order is kept: a batch's messages are sent only once the previous batch is acknowledged and committed,
        and a batch is committed only once its own outputs and state are acknowledged (a crash in between
        re-derives what was lost, as before)."""
        consumed = time.monotonic()
        async with self.lock:
            mine = {tp: batch for tp, batch in fetched.items() if (tp.topic, tp.partition) in self.owned and batch}
            if not mine:
                return
            sends, writes = await self._process(mine)
            await self.settle()
            offsets = {tp: batch[-1].offset + 1 for tp, batch in mine.items()}
            self.inflight = asyncio.create_task(self._finish(sends, writes, offsets, consumed))
            await asyncio.sleep(0)  # the task hands its sends to the producer now, not after the next batch's part

    async def _finish(self, sends: list[Send], writes: Writes, offsets: dict[TopicPartition, int],
                      consumed: float) -> None:
        """A processed batch's outputs and state, acknowledged, then its offsets committed."""
        await self._apply(sends, writes, consumed)
        self.metrics.batch_seconds.observe(time.monotonic() - consumed)
        await self._commit(offsets)

    async def settle(self) -> None:
        """Wait for the last batch's acknowledgements and commit (raising what they raised: the loop restarts)."""
        inflight, self.inflight = self.inflight, None
        if inflight is not None:
            await inflight

    async def _process(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> tuple[list[Send], Writes]:
        """Run the fetched messages of every partition through the shell, each partition in order, in parts of
        `PART` messages with a turn of the event loop between them: meanwhile the client fetches the next batch
        and the broker acknowledges the last one (`on_fetch`)."""
        records = [m for batch in fetched.values() for m in batch]  # the shell reads them as they are (`Consumed`)
        stored = _Partitioned(self._store())
        batch = self.shell.begin()
        for start in range(0, len(records), PART):
            self.shell.feed(batch, records[start:start + PART], stored)
            await asyncio.sleep(0)
        result = self.shell.end(batch)
        return self._sends(result), result.writes()

    def _sends(self, result: BatchResult) -> list[Send]:
        """A batch's output messages, then its pooled parts (none without pooled terms)."""
        if self.pool_topic is None or not result.parts:
            return result.sends
        return result.sends + part_sends(result.parts, self.pool_topic)

    async def on_tick(self) -> None:
        """Let quiet clocks of the owned partitions move with the wall clock."""
        consumed = time.monotonic()
        async with self.lock:
            await self.settle()
            store = self._store()
            for source in sorted(self.owned):
                result = self.shell.on_tick(source, store.items(source))
                if result.sends or result.writes() or result.parts:
                    await self._apply(self._sends(result), result.writes(), consumed)

    async def _apply(self, sends: list[Send], writes: Writes, consumed: float) -> None:
        """Outputs first, then the state that made them, all acknowledged before the caller commits: a crash
        in between re-derives (and re-sends, idempotently by key) what was lost, never skips it."""
        store = self._store()
        pending = [await store.producer.send(name, key=key, value=value, partition=self._partition(name, key))
                   for name, key, value in sends]
        if pending:
            await asyncio.gather(*pending)
        for source, key, value in writes:
            await store.put(source, key, value)
        await store.flush()
        observe_close_delay(self.metrics, sends, consumed)

    def _partition(self, topic: str, key: bytes) -> int | None:
        """The partition of a pooled part (its term's, see `pool_partition`); None lets the key choose."""
        return pool_partition(key, self.pool_partitions) if topic == self.pool_topic else None

    def _store(self) -> ChangelogStore:
        assert self.store is not None, "run() sets the store up"
        return self.store

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        consumer = self.consumer
        if consumer is None or not offsets:
            return
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:  # a rebalance: the new owner skips what is applied
            log.info("offsets not committed (%r); the state's applied offsets keep re-delivery exact", exc)

    async def on_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        """Wait for the batch in hand, then forget the revoked partitions."""
        async with self.lock:
            await self.settle()  # the batch in hand is committed while this worker still owns its partitions
            self.readiness = (False, "rebalancing")
            gone = {(tp.topic, tp.partition) for tp in revoked} & self.owned
            self.owned -= gone
            self._store().drop(gone)
            self.shell.forget(gone)
            for topic, partition in gone & self.lagging:
                self.metrics.consumer_lag.remove(topic, str(partition))
            self.lagging -= gone

    async def on_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        """Restore the state of newly assigned partitions from their changelogs before processing them."""
        async with self.lock:
            await self.settle()
            store = self._store()
            new = {(tp.topic, tp.partition) for tp in assigned} - self.owned
            for topic in sorted({topic for topic, _ in new}, key=lambda t: (t == CALLS.topic, t)):  # calls last
                started = time.monotonic()
                parts = sorted(p for t, p in new if t == topic)
                read = await store.restore(self.bootstrap, [(topic, p) for p in parts])
                log.info("restored partitions %s of %s: %d changelog records in %.2f s", parts, topic, read,
                         time.monotonic() - started)
            self.owned |= new
            for source in sorted(new):
                self.shell.warm(source, store.items(source))
                store.forget_read_once(source)  # the seen ids now live in the loaded states only
            self.readiness = (True, f"joined {self.group}, {len(self.owned)} source partitions restored")

    async def report_lag(self) -> None:
        """`cckpi_consumer_lag_messages` of the source partitions this worker owns: highwater minus the committed
        offset (the fetch position before the first commit), so a batch that is fetched again and again but never
        committed shows as lag, not as 0."""
        consumer = self.consumer
        if consumer is None:
            return
        for topic, partition in sorted(self.owned):
            tp = TopicPartition(topic, partition)
            highwater = consumer.highwater(tp)
            done = await consumer.committed(tp)
            if done is None:
                done = await consumer.position(tp)
            if highwater is not None and done is not None:
                self.metrics.consumer_lag.labels(topic, str(partition)).set(max(0, highwater - done))
                self.lagging.add((topic, partition))

    def tickets(self) -> Engine | None:
        """The engine holding the ticket book, if this worker owns the tickets partition."""
        return self.shell.engine(topics.TICKETS)


class _Partitioned:
    """The store as `StreamShell` reads states not loaded yet: every owned partition is looked in (a state's key
    names its clock, unique across families, and never moves between partitions)."""

    def __init__(self, store: ChangelogStore) -> None:
        self.store = store

    def get(self, key: bytes, default: bytes | None = None, /) -> bytes | None:
        for values in self.store.partitions.values():
            if key in values:
                return values[key]
        return default


def observe_close_delay(metrics: Metrics, sends: Iterable[Send], consumed: float) -> None:
    """`cckpi_window_close_delay_seconds`: from consuming a batch or tick to having sent the windows it closed."""
    delay = time.monotonic() - consumed
    for name, _, _ in sends:
        if name == topics.KPI_WINDOWS:
            metrics.close_delay.observe(delay)
