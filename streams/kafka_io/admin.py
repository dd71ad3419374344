"""Creating cckpi's topics up front, so producers never auto-create them with the wrong partition count."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.kafka_io import topics

DEFAULT_PARTITIONS = 4


async def ensure_topics(bootstrap: str, names: Iterable[str] = (*topics.EVENT_TOPICS, *topics.OUTPUTS),
                        partitions: int = DEFAULT_PARTITIONS, timeout: float = 30.0) -> None:
    """Create missing topics (replication 1 is enough for local brokers); existing ones are left as they are.

    Tickets, surveys and availability get one partition (see `streams.app.shell`), the others `partitions`.
    """
    async with _admin(bootstrap, timeout) as admin:
        existing = set(await admin.list_topics())
        missing = [NewTopic(n, num_partitions=1 if n in topics.SINGLE_PARTITION else partitions, replication_factor=1)
                   for n in names if n not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)


async def ensure_changelog(bootstrap: str, topic: str, partitions: int, timeout: float = 30.0) -> None:
    """Create a compacted changelog topic with as many partitions as its source topic, if missing."""
    async with _admin(bootstrap, timeout) as admin:
        if topic not in set(await admin.list_topics()):
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                                    topic_configs={"cleanup.policy": "compact"})])


async def wait_for_broker(bootstrap: str, timeout: float) -> None:
    """Return once a broker at `bootstrap` answers a metadata request; raise its last error after `timeout`."""
    async with _admin(bootstrap, timeout) as admin:
        await admin.list_topics()


@contextlib.asynccontextmanager
async def _admin(bootstrap: str, timeout: float) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client, retried until the broker answers or `timeout` passes (brokers may still be starting)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await admin.start()
            break
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
    try:
        yield admin
    finally:
        await admin.close()
