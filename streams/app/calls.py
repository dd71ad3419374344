"""The call path: a batch loop over a plain aiokafka consumer, with state in a changelog-backed store.

Calls are the high-volume source. Faust's per-event stream machinery caps a worker near 5,000 events/s
(see the README's performance notes), so this path reads whole fetches with `getmany`, runs them through
`StreamShell` (the pure core), and per batch: produces the outputs, writes each changed scope once to
the changelog, waits for the broker to have both, and only then commits the offsets. Rebalances wait for
the batch in hand, drop revoked partitions' state and restore newly assigned ones from the changelog
before their first message is processed, so a takeover continues from exactly the committed state.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from streams.app import topics
from streams.app.admin import ensure_changelog, ensure_topics
from streams.app.emitter import RawMessage, Send
from streams.app.settings import WorkerSettings, bootstrap_servers
from streams.app.shell import BatchResult, StreamShell, encode_state
from streams.app.store import ChangelogStore
from streams.sinks.metrics import Metrics

log = logging.getLogger(__name__)


class CallsLoop:
    """Consumes `cckpi.calls` in batches for one worker process; `run` until cancelled."""

    def __init__(self, settings: WorkerSettings, shell: StreamShell, metrics: Metrics) -> None:
        self.settings = settings
        self.shell = shell
        self.metrics = metrics
        self.bootstrap = bootstrap_servers(settings.broker)
        self.group = f"{settings.app_id}-calls"
        self.changelogs = (f"{settings.app_id}-calls-state-changelog", f"{settings.app_id}-calls-seen-changelog")
        """Scope states (one per queue) and the event ids seen per queue and hour, as two stores."""
        self.owned: set[int] = set()
        """Partitions assigned to this worker whose state is restored: only their messages are processed."""
        self.lock = asyncio.Lock()
        """Held while a batch or tick is applied, so a rebalance waits for it to be committed."""
        self.consumer: AIOKafkaConsumer | None = None
        self.stores: tuple[ChangelogStore, ChangelogStore] | None = None
        self.lagging: set[int] = set()

    async def run(self) -> None:
        """Join the group and process batches until cancelled; leaves the group cleanly on the way out."""
        s = self.settings
        await ensure_topics(self.bootstrap, (*topics.OUTPUTS, topics.CALLS), s.partitions)
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5,
                                    max_batch_size=1 << 20, max_request_size=16 << 20)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.group, enable_auto_commit=False,
            auto_offset_reset="earliest", max_poll_records=s.batch_max, fetch_max_bytes=64 << 20,
            max_partition_fetch_bytes=16 << 20, session_timeout_ms=int(s.session_timeout * 1000),
            rebalance_timeout_ms=int(s.session_timeout * 1000),
            heartbeat_interval_ms=int(min(3.0, s.session_timeout / 3) * 1000))
        self.stores = (ChangelogStore(self.changelogs[0], producer),
                       ChangelogStore(self.changelogs[1], producer, keep_values=False))
        self.shell.load_seen = self.stores[1].get
        try:
            await producer.start()
            partitions = len(await producer.partitions_for(topics.CALLS))  # the changelogs must match it
            for changelog in self.changelogs:
                await ensure_changelog(self.bootstrap, changelog, partitions)
            await consumer.start()
            self.consumer = consumer
            consumer.subscribe([topics.CALLS], listener=_Listener(self))
            gc.collect()
            gc.freeze()  # start-up objects (Faust, aiokafka, contracts) are never garbage: full collections skip them
            await self._loop(consumer)
        finally:
            self.consumer = None
            self.owned.clear()
            with contextlib.suppress(Exception):
                await consumer.stop()  # leave the group now: the others take over without waiting for a timeout
            with contextlib.suppress(Exception):
                await producer.stop()

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        next_tick = time.monotonic() + self.settings.tick_interval
        timeout_ms = int(self.settings.batch_within * 1000)
        while True:
            fetched = await consumer.getmany(timeout_ms=timeout_ms, max_records=self.settings.batch_max)
            if fetched:
                await self.on_fetch(fetched)
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self.settings.tick_interval
                await self.on_tick()

    async def on_fetch(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Process one fetch (all partitions' messages, each partition in order) and commit it."""
        consumed = time.monotonic()
        async with self.lock:
            messages = [RawMessage(m.key, m.value, m.topic, m.partition, m.offset)
                        for tp, batch in fetched.items() if tp.partition in self.owned for m in batch]
            if not messages:
                return
            with self.metrics.batch_seconds.time():
                result = self.shell.on_batch(messages, self._stores()[0])
                await self._apply(result, consumed)
            offsets = {tp: batch[-1].offset + 1 for tp, batch in fetched.items() if tp.partition in self.owned}
            await self._commit(offsets)

    async def on_tick(self) -> None:
        """Let quiet scopes of the owned partitions close their windows by the wall clock."""
        consumed = time.monotonic()
        async with self.lock:
            for partition in sorted(self.owned):
                result = self.shell.on_tick(partition, self._stores()[0].items(partition))
                if result.states or result.sends:
                    await self._apply(result, consumed)

    async def _apply(self, result: BatchResult, consumed: float) -> None:
        """Outputs first, then the state that made them, all acknowledged before the caller commits: a crash
        in between re-derives (and re-sends, idempotently by key) what was lost, never skips it."""
        states, seen = self._stores()
        await self._deliver(result.sends)
        for key, partition, value in result.seen_writes():
            await seen.put(partition, key, value)
        for key, (partition, state) in result.states.items():
            await states.put(partition, key, encode_state(partition, state))
        await states.flush()
        await seen.flush()
        observe_close_delay(self.metrics, result.sends, consumed)

    def _stores(self) -> tuple[ChangelogStore, ChangelogStore]:
        assert self.stores is not None, "run() sets the stores up"
        return self.stores

    async def _deliver(self, sends: list[Send]) -> None:
        producer = self._stores()[0].producer
        pending = [await producer.send(name, key=key, value=value) for name, key, value in sends]
        if pending:
            await asyncio.gather(*pending)

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
            gone = {tp.partition for tp in revoked if tp.topic == topics.CALLS}
            self.owned -= gone
            for store in self.stores or ():
                store.drop(gone)
            self.shell.forget()
            for partition in gone & self.lagging:
                self.metrics.consumer_lag.remove(topics.CALLS, str(partition))
            self.lagging -= gone

    async def on_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        """Restore the state of newly assigned partitions from the changelog before processing them."""
        async with self.lock:
            new = {tp.partition for tp in assigned if tp.topic == topics.CALLS} - self.owned
            if new:
                started = time.monotonic()
                read = sum([await store.restore(self.bootstrap, new) for store in self._stores()])
                log.info("restored partitions %s of %s: %d changelog records in %.2f s", sorted(new),
                         topics.CALLS, read, time.monotonic() - started)
            self.owned |= new
            self.shell.forget()
            states, seen = self._stores()
            for partition in sorted(self.owned):
                self.shell.warm(partition, states.items(partition))
            seen.drop(new)  # the seen ids now live in the warmed states only

    async def report_lag(self) -> None:
        """`cckpi_consumer_lag_messages` of the calls partitions this worker owns: highwater minus the committed
        offset (the fetch position before the first commit), so a batch that is fetched again and again but never
        committed shows as lag, not as 0."""
        consumer = self.consumer
        if consumer is None:
            return
        for partition in sorted(self.owned):
            tp = TopicPartition(topics.CALLS, partition)
            highwater = consumer.highwater(tp)
            done = await consumer.committed(tp)
            if done is None:
                done = await consumer.position(tp)
            if highwater is not None and done is not None:
                self.metrics.consumer_lag.labels(topics.CALLS, str(partition)).set(max(0, highwater - done))
                self.lagging.add(partition)


class _Listener(ConsumerRebalanceListener):
    """Hands aiokafka's rebalance callbacks to the loop."""

    def __init__(self, loop: CallsLoop) -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.loop.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.loop.on_assigned(assigned)


def observe_close_delay(metrics: Metrics, sends: Iterable[Send], consumed: float) -> None:
    """`cckpi_window_close_delay_seconds`: from consuming a batch or tick to having sent the windows it closed."""
    delay = time.monotonic() - consumed
    for name, _, _ in sends:
        if name == topics.KPI_WINDOWS:
            metrics.close_delay.observe(delay)
