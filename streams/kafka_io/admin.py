"""Creating cckpi's topics up front (so producers never auto-create them with the wrong partition count or
configs) and describing the ones that exist: every creation goes through `ensure_topics` / `ensure_compacted` with
one `TopicLayout`, and `topics.topic_spec` decides each topic's partitions, replication and configs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, for_code

from streams.kafka_io import topics
from streams.kafka_io.connect import kafka_client, refusal
from streams.kafka_io.topics import TopicConfigError, TopicLayout, TopicSpec

log = logging.getLogger(__name__)
DEFAULT_PARTITIONS = topics.DEFAULT_PARTITIONS
DEFAULT_LAYOUT = TopicLayout()
TOPIC_ALREADY_EXISTS = 36
"""Kafka's error code when a topic was created meanwhile (by another worker): not an error here."""
UNKNOWN_TOPIC = 3
"""Kafka's error code for a topic that does not exist (deleted meanwhile): left out of a description."""


class TopicCreationError(TopicConfigError):
    """The broker refused to create a topic as asked (e.g. a replication factor above its number of brokers)."""


async def ensure_topics(bootstrap: str, names: Iterable[str] = (*topics.EVENT_TOPICS, *topics.OUTPUTS),
                        layout: TopicLayout = DEFAULT_LAYOUT, timeout: float = 30.0) -> None:
    """Create the missing topics of `names` as `topics.topic_spec` says for `layout`; existing ones are left as
    they are (`topic_problems` judges them). Raises TopicCreationError when the broker refuses one."""
    async with _admin(bootstrap, timeout) as admin:
        await _create_missing(admin, [topics.topic_spec(n, layout) for n in names])


async def ensure_compacted(bootstrap: str, topic: str, partitions: int, layout: TopicLayout = DEFAULT_LAYOUT,
                           timeout: float = 30.0) -> None:
    """Create a compacted topic if missing: a state changelog (with its source topic's partition count) or the pooled
    terms' parts topic; `topics.topic_spec` gives it the configs of its name."""
    async with _admin(bootstrap, timeout) as admin:
        await _create_missing(admin, [topics.topic_spec(topic, layout, partitions)])


async def _create_missing(admin: AIOKafkaAdminClient, specs: Sequence[TopicSpec]) -> None:
    """Create the specs' topics that do not exist yet; raise TopicCreationError for the first one refused."""
    existing = set(await admin.list_topics())
    missing = {s.name: s for s in specs if s.name not in existing}
    if not missing:
        return
    response = await admin.create_topics([NewTopic(s.name, num_partitions=s.partitions,
                                                   replication_factor=s.replication_factor, topic_configs=s.configs)
                                          for s in missing.values()])
    for name, code, *message in response.topic_errors:
        if code and code != TOPIC_ALREADY_EXISTS:
            spec = missing[name]
            detail = (message[0] if message and message[0] else "") or for_code(code).__name__
            raise TopicCreationError(f"cannot create topic {name} ({spec.partitions} partitions, replication factor "
                                     f"{spec.replication_factor}): {detail}")


async def topic_configs(bootstrap: str, names: Iterable[str], timeout: float = 30.0
                        ) -> dict[str, dict[str, str] | None]:
    """The configs of the topics of `names` that exist (None for one whose configs the broker would not describe,
    e.g. not authorised, or a broker without DescribeConfigs); unknown topics are left out (some brokers, e.g.
    tansu, describe any name, so only listed topics are asked)."""
    async with _admin(bootstrap, timeout) as admin:
        listed = set(await admin.list_topics())
        wanted = [n for n in names if n in listed]
        if not wanted:
            return {}
        try:
            responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in wanted])
        except KafkaError:
            return dict.fromkeys(wanted)
    found: dict[str, dict[str, str] | None] = {}
    for response in responses:
        for code, _message, _type, name, entries, *_ in response.resources:
            if code != UNKNOWN_TOPIC:
                found[name] = None if code else _config_values(entries)
    return found


def _config_values(entries: Iterable[Sequence[Any]]) -> dict[str, str]:
    """Config name -> value of a DescribeConfigs resource's entries (`(name, value, ...)`)."""
    return {entry[0]: entry[1] for entry in entries if entry[1] is not None}


async def topic_problems(bootstrap: str, names: Iterable[str], timeout: float = 30.0) -> list[str]:
    """Warnings about the existing topics of `names` whose cleanup policy is not what cckpi creates (one line
    each; see `topics.policy_problems`, which raises TopicConfigError for a changelog that is not compacted). A
    topic whose policy the broker does not tell (not authorised; tansu, the demo's broker) is not judged."""
    warnings: list[str] = []
    for name, configs in (await topic_configs(bootstrap, names, timeout)).items():
        if configs is None or "cleanup.policy" not in configs:
            log.info("%s: the broker does not tell its cleanup policy; not checked", name)
        else:
            warnings += topics.policy_problems(name, configs)
    return warnings


async def prepare_worker_topics(bootstrap: str, app_id: str, layout: TopicLayout, timeout: float = 30.0
                                ) -> list[str]:
    """At worker start: judge the worker's existing topics and changelogs (TopicConfigError for a changelog that
    is not compacted), then create the missing source and record topics (TopicCreationError when the broker
    refuses, e.g. more replicas than brokers); the warnings to log. Changelogs are created by the source loop,
    with their source topic's partition count, the pooled terms' topics by the loops that use them."""
    changelogs = [topics.changelog(app_id, t) for t in topics.EVENT_TOPICS]
    pooled = [topics.pool_parts(app_id), topics.pool_changelog(app_id)]  # judged only where they exist
    warnings = await topic_problems(bootstrap, [*topics.EVENT_TOPICS, *topics.OUTPUTS, *changelogs, *pooled],
                                    timeout)
    await ensure_topics(bootstrap, layout=layout, timeout=timeout)
    return warnings


async def wait_for_broker(bootstrap: str, timeout: float) -> None:
    """Return once a broker at `bootstrap` answers a metadata request; raise its last error after `timeout`."""
    async with _admin(bootstrap, timeout) as admin:
        await admin.list_topics()


@contextlib.asynccontextmanager
async def _admin(bootstrap: str, timeout: float) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client, retried until the broker answers or `timeout` passes (brokers may still be starting);
    BrokerRefused at once when the broker refuses the address's security settings (retrying would not help)."""
    admin = kafka_client(AIOKafkaAdminClient, bootstrap, request_timeout_ms=int(timeout * 1000))
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await admin.start()
            break
        except Exception:
            refused = await refusal(bootstrap, min(timeout, 5.0))
            if refused is not None:
                raise refused from None
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
    try:
        yield admin
    finally:
        await admin.close()
