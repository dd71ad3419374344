"""Reading a topic from its start to its current end, synchronously (kafka-python): the raw messages (for digests
and publish times) or the records. The commands that read topics (`report`, `ledger`, `grafana annotate`) are
synchronous, so they read without an event loop.

kafka-python is imported when a topic is read, not with this module: it takes a noticeable part of a second, and
every `cckpi` command imports the CLI modules that use this one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import orjson

from streams.kafka_io.connect import kafka_client, quiet_kafka_client, refusal
from streams.kafka_io.topics import PartitionLog

CONNECT_TIMEOUT = 10.0
"""Seconds the broker may take to answer at start (as for publishing), at most the read's own timeout."""
POLL_MS = 500
"""Milliseconds one poll waits for messages."""


@dataclass(frozen=True)
class Message:
    """One message as stored: where it is, when it was published (ms since the epoch), its key and value."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class TopicRead:
    """A topic read to its end: its messages, and what each partition still holds (for `topics.answers_from`)."""

    messages: list[Message]
    logs: list[PartitionLog]


def read_messages(bootstrap: str, topic: str, timeout: float = 30.0) -> list[Message]:
    """Every message of a topic from the start to its end when reading began, by partition and offset; [] when the
    topic does not exist (it is not created). Raises kafka-python's KafkaError when no broker answers within
    `CONNECT_TIMEOUT` (or `timeout`, if shorter), BrokerRefused at once when it refuses the address's security
    settings, and TimeoutError when the topic is not read to its end in `timeout` seconds."""
    return read_topic_log(bootstrap, topic, timeout).messages


def read_topic_log(bootstrap: str, topic: str, timeout: float = 30.0) -> TopicRead:
    """`read_messages`, with each partition's log start and end offsets and first retained publish time."""
    from kafka import KafkaConsumer  # imported here: see the module docstring

    deadline = time.monotonic() + timeout
    with quiet_kafka_client():
        _check_accepted(bootstrap, min(timeout, CONNECT_TIMEOUT))
        consumer = kafka_client(KafkaConsumer, bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                                allow_auto_create_topics=False,
                                bootstrap_timeout_ms=int(min(timeout, CONNECT_TIMEOUT) * 1000))
        try:
            return _read_to_end(consumer, topic, deadline, timeout)
        finally:
            consumer.close(autocommit=False)


def _check_accepted(bootstrap: str, timeout: float) -> None:
    """Raise `BrokerRefused` at once when the broker refuses the address's security settings: kafka-python would
    retry them until its bootstrap timeout, then only say it could not bootstrap."""
    refused = asyncio.run(refusal(bootstrap, timeout))
    if refused is not None:
        raise refused


def _read_to_end(consumer: Any, topic: str, deadline: float, timeout: float) -> TopicRead:
    """The messages of every partition of `topic` below the end offsets it had when reading began."""
    from kafka import TopicPartition  # imported here: see the module docstring

    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    if not partitions:
        return TopicRead([], [])
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    starts: dict[Any, int] = consumer.beginning_offsets(partitions, timeout_ms=_left_ms(deadline))
    ends: dict[Any, int] = consumer.end_offsets(partitions, timeout_ms=_left_ms(deadline))
    messages: list[Message] = []
    first: dict[Any, int] = {}
    while not _at_ends(consumer, ends, deadline):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{topic}: not read to its end within {timeout:g} s")
        for tp, batch in consumer.poll(timeout_ms=POLL_MS).items():
            if batch:
                first.setdefault(tp, batch[0].timestamp)
            messages += [Message(m.topic, m.partition, m.offset, m.timestamp, m.key, m.value) for m in batch
                         if m.value and m.offset < ends[tp]]
    logs = [PartitionLog(tp.partition, starts[tp], ends[tp], first.get(tp)) for tp in partitions]
    return TopicRead(sorted(messages, key=lambda m: (m.partition, m.offset)), logs)


def _at_ends(consumer: Any, ends: dict[Any, int], deadline: float) -> bool:
    """True when every partition's position has reached its end offset."""
    for tp, end in ends.items():
        position = consumer.position(tp, timeout_ms=_left_ms(deadline)) if end else 0
        if position is None or position < end:
            return False
    return True


def _left_ms(deadline: float) -> int:
    """Milliseconds left until `deadline` (at least one, so a call never waits without bound)."""
    return max(int((deadline - time.monotonic()) * 1000), 1)


def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> list[Any]:
    """Every record (JSON value) of a topic, from the start to its current end."""
    return [orjson.loads(m.value) for m in read_messages(bootstrap, topic, timeout)]
