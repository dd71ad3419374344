"""Small Kafka helpers shared by the benchmark and the soak run: topics, end offsets, committed group lag.

Written with kafka-python (a project dependency) so the CI soak test needs nothing from the `bench` extra.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError


def create_topic(bootstrap: str, name: str, partitions: int, timeout: float = 30.0) -> None:
    """Create a topic with `partitions` partitions if it does not exist (before any producer auto-creates it)."""
    admin = _admin(bootstrap, timeout)
    try:
        if name not in admin.list_topics():
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        deadline = time.monotonic() + timeout
        while not end_offsets(bootstrap, name) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        admin.close()


def _admin(bootstrap: str, timeout: float) -> KafkaAdminClient:
    """An admin client, retried while the broker is still starting."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The end offset (next offset to be written) of every partition of `topic`; {} when it does not exist."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            return {}
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        return {tp.partition: int(off) for tp, off in ends.items()}
    finally:
        consumer.close()


class GroupLag:
    """Lag of consumer groups on a topic as the broker sees it: end offsets minus committed offsets.

    The worker's own group name is its business (`APP_ID` or `APP_ID-calls`), so every group whose id is the
    app id or starts with `APP_ID-` and has committed offsets on the topic counts (the smallest lag of them);
    a partition nobody committed yet counts from offset 0.
    """

    def __init__(self, bootstrap: str, topic: str, app_id: str) -> None:
        """Connect once; `measure()` may then be called every few seconds."""
        self.bootstrap, self.topic, self.app_id = bootstrap, topic, app_id
        self.admin = _admin(bootstrap, 30.0)
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap)
        self.readers: dict[str, KafkaConsumer] = {}

    def groups(self) -> list[str]:
        """Groups that belong to the app."""
        names = []
        for g in self.admin.list_groups():  # dicts in kafka-python 3, tuples before
            names.append(str(g["group_id"] if isinstance(g, dict) else g[0]))
        return [n for n in names if n == self.app_id or n.startswith(self.app_id + "-")]

    def measure(self) -> int | None:
        """Total messages of the topic not yet committed by the app's group (None before any commit)."""
        parts = self.consumer.partitions_for_topic(self.topic) or set()
        tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        ends = self.consumer.end_offsets(tps)
        best: int | None = None
        for group in self.groups():
            reader = self.readers.get(group)
            if reader is None:  # never subscribes: only reads the group's committed offsets
                reader = self.readers[group] = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=group,
                                                             enable_auto_commit=False)
            committed = {tp: reader.committed(tp) for tp in tps}
            if all(c is None for c in committed.values()):
                continue
            lag = sum(max(0, int(ends[tp]) - int(committed[tp] or 0)) for tp in tps)
            best = lag if best is None else min(best, lag)
        return best

    def close(self) -> None:
        """Close every client."""
        self.admin.close()
        self.consumer.close()
        for reader in self.readers.values():
            reader.close()


def total(offsets: Iterable[int]) -> int:
    """Sum of per-partition end offsets: the message count of a topic written from offset 0."""
    return sum(offsets)
