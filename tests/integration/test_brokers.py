"""Both local brokers carry JSON messages through a 3-partition topic and a consumer group."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tools.brokers import ApacheKafkaBroker, LocalBroker, TansuBroker, probe_metadata

pytestmark = pytest.mark.integration

N_MESSAGES = 100
PARTITIONS = 3


async def _create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Create ``topic`` and wait until every partition has a leader."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        result = await admin.create_topics([NewTopic(topic, partitions, 1)])
        assert all(err[1] == 0 for err in result.topic_errors), result
        for _ in range(100):
            described = await admin.describe_topics([topic])
            parts = described[0]["partitions"]
            if len(parts) == partitions and all(p["leader"] >= 0 for p in parts):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{topic}: partitions without leader: {described}")
    finally:
        await admin.close()


async def _roundtrip(broker: LocalBroker, **consumer_options: Any) -> None:
    """Produce N keyed JSON messages, consume them back in a group, check count, content and order."""
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    await _create_topic(broker.bootstrap, topic, PARTITIONS)

    sent: list[dict[str, Any]] = [
        {"seq": i, "call_id": f"c{i:03d}", "agent": f"a{i % 7}", "wait_s": i * 0.5} for i in range(N_MESSAGES)
    ]
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap,
        acks="all",
        value_serializer=lambda v: json.dumps(v).encode(),
    )
    await producer.start()
    try:
        for msg in sent:
            await producer.send(topic, msg, key=msg["agent"].encode())
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap,
        group_id=f"g-{topic}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        value_deserializer=lambda b: json.loads(b),
        **consumer_options,
    )
    await consumer.start()
    received: list[tuple[int, str, dict[str, Any]]] = []
    try:
        async with asyncio.timeout(30):
            while len(received) < N_MESSAGES:
                batches = await consumer.getmany(timeout_ms=500)
                for tp, records in batches.items():
                    received += [(tp.partition, r.key.decode(), r.value) for r in records]
        await consumer.commit()
    finally:
        await consumer.stop()

    assert len(received) == N_MESSAGES
    assert sorted((v for _, _, v in received), key=lambda v: v["seq"]) == sent
    by_partition: dict[int, list[int]] = defaultdict(list)
    partition_of_key: dict[str, set[int]] = defaultdict(set)
    for partition, key, value in received:
        by_partition[partition].append(value["seq"])
        partition_of_key[key].add(partition)
    assert set(by_partition) == set(range(PARTITIONS)), "7 keys should spread over all 3 partitions"
    assert all(seqs == sorted(seqs) for seqs in by_partition.values()), "order within a partition"
    assert all(len(parts) == 1 for parts in partition_of_key.values()), "a key stays on one partition"


async def test_apache_kafka_roundtrip(kafka_broker: ApacheKafkaBroker) -> None:
    """Real Kafka 4.1: create a 3-partition topic, produce 100 JSON messages, consume them in a group."""
    assert kafka_broker.url == f"kafka://127.0.0.1:{kafka_broker.port}"
    await _roundtrip(kafka_broker)


async def test_tansu_roundtrip(tansu_broker: TansuBroker) -> None:
    """Tansu: same round trip (short session timeout: tansu holds JoinGroup for half of it)."""
    await _roundtrip(tansu_broker, session_timeout_ms=2000, heartbeat_interval_ms=500)


def test_metadata_probe(kafka_broker: ApacheKafkaBroker, tansu_broker: TansuBroker) -> None:
    """Both brokers answer the raw Metadata probe that ``start()`` waits for, with one broker."""
    assert probe_metadata(kafka_broker.host, kafka_broker.port) == 1
    assert probe_metadata(tansu_broker.host, tansu_broker.port) == 1
