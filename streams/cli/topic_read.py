"""Reading a topic from its start to its current end: the raw messages (for digests and timestamps) or records."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.cli.replay import _quiet_kafka_client as quiet_kafka_client


@dataclass(frozen=True)
class Message:
    """One message as stored: where it is, when it was published (ms since the epoch), its key and value."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes


async def read_messages(bootstrap: str, topic: str, timeout: float = 30.0) -> list[Message]:
    """Every message of a topic from the start to its end when reading began, by partition and offset (the Kafka
    client's own logging silenced: an unreachable broker is reported once, by the command)."""
    with quiet_kafka_client():
        return await _read_messages(bootstrap, topic, timeout)


async def _read_messages(bootstrap: str, topic: str, timeout: float) -> list[Message]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for d in described if d.get("error_code", 0) == 0
                  for p in d.get("partitions", [])]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        messages: list[Message] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and any([await consumer.position(tp) < end for tp, end in ends.items()]):
            batch = await consumer.getmany(timeout_ms=500)
            messages += [Message(m.topic, m.partition, m.offset, m.timestamp, m.key, m.value)
                         for msgs in batch.values() for m in msgs if m.value and m.offset < ends[
                             TopicPartition(m.topic, m.partition)]]
        if any([await consumer.position(tp) < end for tp, end in ends.items()]):
            raise TimeoutError(f"{topic}: not read to its end within {timeout:g} s")
        return sorted(messages, key=lambda m: (m.partition, m.offset))
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Every record (JSON value) of a topic, from the start to its current end."""
    return [orjson.loads(m.value) for m in await read_messages(bootstrap, topic, timeout)]
