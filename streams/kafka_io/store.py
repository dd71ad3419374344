"""Partitioned key-value state backed by compacted changelog topics: the state of every event family.

Each source partition (topic, partition) owns the keys written for it; a write goes to the same partition of the
source topic's changelog, so a worker that is assigned a source partition restores exactly its keys by reading that
changelog partition to its end. Values live in memory (a dict per source partition): the state is one entry per
clock plus its recent event ids, small enough that a memory store beats RocksDB (see the README's performance notes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.kafka_io.connect import kafka_client

log = logging.getLogger(__name__)


Source = tuple[str, int]
"""A source partition: (topic, partition)."""


class ChangelogStore:
    """In-memory values per source partition, every change also produced to `changelog(topic)` (compacted)."""

    def __init__(self, changelog: Callable[[str], str], producer: AIOKafkaProducer,
                 read_once: Callable[[bytes], bool] = lambda key: False) -> None:
        self.changelog = changelog
        """The changelog topic of a source topic (as many partitions as the source)."""
        self.producer = producer
        self.read_once = read_once
        """Keys whose written values are not kept in memory, only those restored (until `forget_read_once`): data
        read once after an assignment, like the seen ids a state's windows are rebuilt with."""
        self.partitions: dict[Source, dict[bytes, bytes]] = {}
        self.pending: list[asyncio.Future[object]] = []

    def get(self, source: Source, key: bytes, default: bytes | None = None) -> bytes | None:
        """The value of `key` in an owned source partition."""
        return self.partitions.get(source, {}).get(key, default)

    def items(self, source: Source) -> Iterator[tuple[bytes, bytes]]:
        """The entries of one owned source partition."""
        yield from list(self.partitions.get(source, {}).items())

    async def put(self, source: Source, key: bytes, value: bytes | None) -> None:
        """Set (or delete, for None) a key of a source partition; the changelog write is awaited by `flush`."""
        values = self.partitions.setdefault(source, {})
        keep = not self.read_once(key)
        if value is None:
            if values.pop(key, None) is None and keep:
                return
        elif keep:
            values[key] = value
        topic, partition = source
        self.pending.append(await self.producer.send(self.changelog(topic), key=key, value=value,
                                                     partition=partition))

    async def flush(self) -> None:
        """Wait until the broker has every write made so far (before the offsets that made them are committed)."""
        pending, self.pending = self.pending, []
        if pending:
            await asyncio.gather(*pending)

    def drop(self, sources: Iterable[Source]) -> None:
        """Forget source partitions this worker no longer owns."""
        for source in sources:
            self.partitions.pop(source, None)

    def forget_read_once(self, source: Source) -> None:
        """Drop a source partition's restored read-once entries (once they have been read into its states)."""
        values = self.partitions.get(source, {})
        for key in [k for k in values if self.read_once(k)]:
            del values[key]

    async def restore(self, bootstrap: str, sources: Iterable[Source]) -> int:
        """Read the changelog partitions of these sources from the start to their current end; returns the records
        read. `bootstrap` carries the security settings (`streams.kafka_io.connect.KafkaAddress`)."""
        wanted = {TopicPartition(self.changelog(topic), p): (topic, p) for topic, p in sources}
        if not wanted:
            return 0
        consumer = kafka_client(AIOKafkaConsumer, bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                                max_partition_fetch_bytes=8 << 20)
        await consumer.start()
        read = 0
        try:
            consumer.assign(list(wanted))
            ends = await consumer.end_offsets(list(wanted))
            for source in wanted.values():
                self.partitions[source] = {}
            await consumer.seek_to_beginning(*wanted)
            todo = {tp for tp in wanted if ends[tp] > 0}
            while todo:
                batches = await consumer.getmany(*todo, timeout_ms=200)
                for tp, messages in batches.items():
                    values = self.partitions[wanted[tp]]
                    for m in messages:
                        if m.offset >= ends[tp]:
                            break
                        read += 1
                        if m.value is None:
                            values.pop(m.key, None)
                        else:
                            values[m.key] = m.value
                for tp in list(todo):
                    if await consumer.position(tp) >= ends[tp]:
                        todo.discard(tp)
        finally:
            await consumer.stop()
        return read
