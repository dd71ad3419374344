"""Partitioned key-value state backed by a compacted changelog topic: the state of the call path.

Each source partition owns the keys written for it; a write goes to the same partition of the changelog,
so a worker that is assigned a source partition restores exactly its keys by reading that changelog
partition to its end. Values live in memory (a dict per partition): the state is one entry per queue plus
its recent event ids, small enough that a memory store beats RocksDB (see the README's performance notes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

log = logging.getLogger(__name__)


class ChangelogStore:
    """In-memory values per partition, every change also produced to `topic` (compacted) for recovery."""

    def __init__(self, topic: str, producer: AIOKafkaProducer, keep_values: bool = True) -> None:
        self.topic = topic
        self.producer = producer
        self.keep_values = keep_values
        """False: values written are not kept in memory, only those restored (until `drop`): for data read
        once after an assignment, like the seen ids a state's windows are rebuilt with."""
        self.partitions: dict[int, dict[bytes, bytes]] = {}
        self.pending: list[asyncio.Future[object]] = []

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:
        """The value of `key` in any owned partition (keys never move between partitions)."""
        for values in self.partitions.values():
            value = values.get(key)
            if value is not None:
                return value
        return default

    def items(self, partition: int) -> Iterator[tuple[bytes, bytes]]:
        """The entries of one owned partition."""
        yield from list(self.partitions.get(partition, {}).items())

    async def put(self, partition: int, key: bytes, value: bytes | None) -> None:
        """Set (or delete, for None) a key of a partition; the changelog write is awaited by `flush`."""
        values = self.partitions.setdefault(partition, {})
        if value is None:
            if values.pop(key, None) is None and self.keep_values:
                return
        elif self.keep_values:
            values[key] = value
        self.pending.append(await self.producer.send(self.topic, key=key, value=value, partition=partition))

    async def flush(self) -> None:
        """Wait until the broker has every write made so far (before the offsets that made them are committed)."""
        pending, self.pending = self.pending, []
        if pending:
            await asyncio.gather(*pending)

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget partitions this worker no longer owns."""
        for p in partitions:
            self.partitions.pop(p, None)

    async def restore(self, bootstrap: str, partitions: Iterable[int]) -> int:
        """Read the changelog partitions from the start to their current end; returns the records read."""
        wanted = [TopicPartition(self.topic, p) for p in partitions]
        if not wanted:
            return 0
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                    auto_offset_reset="earliest", max_partition_fetch_bytes=8 << 20)
        await consumer.start()
        read = 0
        try:
            consumer.assign(wanted)
            ends = await consumer.end_offsets(wanted)
            for tp in wanted:
                self.partitions[tp.partition] = {}
            await consumer.seek_to_beginning(*wanted)
            todo = {tp for tp in wanted if ends[tp] > 0}
            while todo:
                batches = await consumer.getmany(*todo, timeout_ms=200)
                for tp, messages in batches.items():
                    values = self.partitions[tp.partition]
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

