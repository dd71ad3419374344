"""Messages near the broker's size limit on `cckpi.calls` (a 1 MB binary value, 1 MB of `"`, a 600 kB key, a
500 kB event id) are dead-lettered with a bounded excerpt, sizes and sha256 on a real Kafka broker with its
default `message.max.bytes`; the valid events after them count and every partition's offset is committed to its
end (an oversized dead letter used to be refused by the broker and stall the call path for good)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_topics
from streams.models import encode_event
from tests.helpers import abandoned, answered, at, offered
from tests.integration.support import metric, worker_process
from tools.brokers import ApacheKafkaBroker

pytestmark = pytest.mark.integration

APP_ID = "it-oversized"
PARTITIONS = 3  # general and cards land on different partitions
MB = 1_000_000  # the broker's default message.max.bytes is 1,048,588: these are just under it


@pytest.fixture
def kafka_broker() -> Iterator[ApacheKafkaBroker]:
    """A broker of its own, default configuration: this test reads whole topics and the group's offsets."""
    with ApacheKafkaBroker() as broker:
        yield broker


def partition_of(key: bytes) -> int:
    """The partition the default producer partitioner gives a key."""
    return int(DefaultPartitioner()(key, list(range(PARTITIONS)), list(range(PARTITIONS))))


def hostile(general: int) -> list[tuple[bytes, bytes, int]]:
    """(key, value, partition) of the oversized messages, on the partition of queue `general`."""
    big_id = orjson.loads(encode_event(answered(at("09:00"), queue="general")))
    big_id["event_id"] = "e" * 500_000  # valid JSON, an id far past any sane length
    return [(b"general", os.urandom(MB), general), (b"general", b'"' * MB, general),
            (b"k" * 600_000, encode_event(answered(at("09:00"), queue="general")), general),
            (b"general", orjson.dumps(big_id), general)]


async def produce(bootstrap: str, messages: list[tuple[bytes, bytes, int | None]]) -> None:
    """Send in order with a producer allowed to send messages as large as the broker accepts."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=2 << 20)
    await producer.start()
    try:
        for key, value, partition in messages:
            await (await producer.send(topics.CALLS, key=key, value=value, partition=partition))
    finally:
        await producer.stop()


async def read_raw(bootstrap: str, topic: str, count: int, timeout: float) -> list[tuple[bytes, bytes]]:
    """The first `count` (key, value) records of a topic, raw."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    got: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            got += [(m.key or b"", m.value or b"") for msgs in batch.values() for m in msgs]
    finally:
        await consumer.stop()
    return got


async def offsets(bootstrap: str, group: str) -> tuple[dict[int, int], dict[int, int]]:
    """(committed offset, end offset) of each `cckpi.calls` partition for the group."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        tps = [TopicPartition(topics.CALLS, p) for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
        await admin.close()
    return ({tp.partition: o.offset for tp, o in committed.items() if tp.topic == topics.CALLS},
            {tp.partition: end for tp, end in ends.items()})


def carried(letter: dict, field: str) -> bytes:
    return base64.b64decode(letter[f"{field}_base64"]) if f"{field}_base64" in letter else letter[field].encode()


def test_oversized_messages_are_dead_lettered_bounded_and_the_partition_moves_on(
        kafka_broker: ApacheKafkaBroker, tmp_path: Path) -> None:
    bootstrap = kafka_broker.bootstrap
    asyncio.run(ensure_topics(bootstrap, layout=topics.TopicLayout(partitions=PARTITIONS)))
    general = partition_of(b"general")
    assert partition_of(b"cards") != general  # the other queue's partition must move on as well
    bad = hostile(general)
    valid = [e for m in range(0, 60, 2) for e in (answered(at("09:00") + timedelta(minutes=m), queue="general"),
                                                   abandoned(at("09:01") + timedelta(minutes=m), queue="cards"))]
    valid += [offered(at("11:00"), queue=q) for q in ("general", "cards")]
    with worker_process(kafka_broker.url, tmp_path, "--app-id", APP_ID, "--idle-after", "3600") as url:
        asyncio.run(produce(bootstrap, [*bad, *((e.queue.encode(), encode_event(e), None) for e in valid)]))
        dead = asyncio.run(read_raw(bootstrap, topics.DEAD_LETTER, len(bad), 60))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            committed, ends = asyncio.run(offsets(bootstrap, f"{APP_ID}-sources"))
            if committed == {p: end for p, end in ends.items() if end}:
                break
            time.sleep(0.5)
        counted = sum(metric(url, "cckpi_events_total", type=t) or 0 for t in ("call.answered", "call.abandoned",
                                                                              "call.offered"))
        time.sleep(2.5)  # the lag is reported every 2 s
        lag = {p: metric(url, "cckpi_consumer_lag_messages", topic=topics.CALLS, partition=str(p))
               for p in range(PARTITIONS)}
    print(f"committed offsets {committed}, end offsets {ends}, partition of the bad messages {general}")

    assert len(dead) == len(bad)
    letters = [orjson.loads(value) for _key, value in dead]
    assert [d["kind"] for d in letters] == ["not_json", "not_json", "wrong_key", "invalid"]
    for (key, value), letter, (sent_key, sent_value, _p), offset in zip(dead, letters, bad, range(len(bad)),
                                                                       strict=True):
        assert len(key) + len(value) < 128 << 10
        assert (letter["topic"], letter["partition"], letter["offset"]) == (topics.CALLS, general, offset)
        assert (letter["value_bytes"], letter["value_sha256"]) == (len(sent_value),
                                                                   hashlib.sha256(sent_value).hexdigest())
        assert (letter["key_bytes"], letter["key_sha256"]) == (len(sent_key), hashlib.sha256(sent_key).hexdigest())
        excerpt = carried(letter, "value")
        assert sent_value.startswith(excerpt) and len(excerpt) >= min(len(sent_value), 4096) - 3
        assert letter["value_truncated"] == (len(sent_value) > 4096) and sent_key.startswith(carried(letter, "key"))
    assert letters[2]["key_truncated"] and len(dead[2][0]) <= 512
    assert counted == len(valid) + 1  # the wrong-keyed event decodes (it counts as valid) before its key is checked
    assert committed == {p: end for p, end in ends.items() if end} and len(committed) == 2
    assert ends[general] > len(bad)
    assert {p: lag[p] for p in committed} == {p: 0 for p in committed}
    log = (tmp_path / "worker.log").read_text()
    assert "call path stopped" not in log and "MessageSizeTooLarge" not in log
