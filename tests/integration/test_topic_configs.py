"""Topics as operators run them, on the real Apache Kafka broker: every topic created with the partitions,
replication and configs the layout asks (record topics and changelogs compacted, dead letters with a retention), a
replication factor the cluster cannot give refused in one line, an uncompacted changelog refused at worker start,
and `report --from-topic` / `ledger --broker` refusing a period whose oldest records a delete-policy topic lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.records_to_delete import RecordsToDelete
from typer.testing import CliRunner, Result

from streams.cli.main import app
from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_compacted, prepare_worker_topics, topic_configs, topic_problems
from streams.kafka_io.topics import TopicLayout
from tests.unit.test_report import PENALISED, records
from tools.brokers import ApacheKafkaBroker

pytestmark = pytest.mark.integration

APP = "cfg"
CHANGELOGS = [topics.changelog(APP, t) for t in topics.EVENT_TOPICS]
ALL = [*topics.EVENT_TOPICS, *topics.OUTPUTS, topics.ESCALATIONS, *CHANGELOGS]


async def _drop(bootstrap: str, names: list[str]) -> None:
    """Delete these topics if they exist and wait until the broker no longer lists them (the session's broker is
    shared: each test starts from no cckpi topics and leaves none behind)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        present = [n for n in names if n in set(await admin.list_topics())]
        if present:
            await admin.delete_topics(present)
        for _ in range(100):
            if not set(present) & set(await admin.list_topics()):
                await asyncio.sleep(0.5)  # deletion is also propagated to the controller's metadata
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"topics not deleted: {present}")
    finally:
        await admin.close()


@pytest.fixture
def bootstrap(kafka_broker: ApacheKafkaBroker) -> Iterator[str]:
    """The session broker without any cckpi topic, before and after the test."""
    asyncio.run(_drop(kafka_broker.bootstrap, ALL))
    yield kafka_broker.bootstrap
    asyncio.run(_drop(kafka_broker.bootstrap, ALL))


async def _partitions(bootstrap: str, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(names)}
    finally:
        await admin.close()


async def _described(bootstrap: str, names: list[str]) -> dict[str, dict[str, str] | None]:
    """The topics' configs, once the broker knows every one (a topic just created may take a moment to appear in the
    metadata of the broker asked)."""
    for _ in range(50):
        configs = await topic_configs(bootstrap, names, timeout=10)
        if configs.keys() == set(names):
            return configs
        await asyncio.sleep(0.2)
    raise AssertionError(f"topics not described: {sorted(set(names) - configs.keys())}")


def test_every_topic_is_created_with_the_layout_and_the_configs_promised(bootstrap: str) -> None:
    layout = TopicLayout(partitions=3, dead_letter_retention_ms=3_600_000)
    assert asyncio.run(prepare_worker_topics(bootstrap, APP, layout, timeout=10)) == []
    for topic in topics.EVENT_TOPICS:  # as the source loop does: a changelog has its source's partitions
        asyncio.run(ensure_compacted(bootstrap, topics.changelog(APP, topic), 1 if topic in topics.SINGLE_PARTITION
                                     else layout.partitions, layout))
    names = [*topics.EVENT_TOPICS, *topics.OUTPUTS, *CHANGELOGS]
    configs = asyncio.run(_described(bootstrap, names))
    policies = {name: c["cleanup.policy"] for name, c in configs.items() if c is not None}
    assert policies == {name: "compact" if name in (topics.KPI_WINDOWS, topics.BREACHES, *CHANGELOGS) else "delete"
                        for name in names}
    assert configs[topics.DEAD_LETTER]["retention.ms"] == "3600000"  # type: ignore[index]
    partitions = asyncio.run(_partitions(bootstrap, names))
    assert partitions == {n: 1 if n in topics.SINGLE_PARTITION or n in CHANGELOGS[1:] else 3 for n in names}
    assert asyncio.run(topic_problems(bootstrap, names, timeout=10)) == []


def test_more_replicas_than_brokers_is_refused_in_one_line(bootstrap: str) -> None:
    runner = CliRunner()
    worker = runner.invoke(app, ["worker", "-c", "contracts/examples/demo.yaml", "--broker", bootstrap,
                                 "--app-id", APP, "--replication-factor", "3", "--broker-wait", "10"])
    assert worker.exit_code == 2, worker.output
    [line] = worker.stderr.strip().splitlines()
    assert "cannot create topic" in line and "replication factor 3" in line, line
    simulate = runner.invoke(app, ["simulate", "-c", "contracts/examples/demo.yaml", "--broker", bootstrap,
                                   "--duration", "60", "--as-fast-as-possible", "--replication-factor", "2"])
    assert simulate.exit_code == 2, simulate.output
    assert "cannot create topic cckpi.calls" in simulate.stderr and "replication factor 2" in simulate.stderr


async def _create(bootstrap: str, configs: dict[str, dict[str, str]]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, 1, 1, topic_configs=c) for n, c in configs.items()])
    finally:
        await admin.close()


def test_an_uncompacted_changelog_stops_the_worker_a_deleting_record_topic_is_warned(bootstrap: str) -> None:
    asyncio.run(_create(bootstrap, {CHANGELOGS[0]: {"cleanup.policy": "delete"},
                                    topics.KPI_WINDOWS: {"cleanup.policy": "delete"}}))
    [warning] = asyncio.run(topic_problems(bootstrap, [topics.KPI_WINDOWS], timeout=10))
    assert warning.startswith("cckpi.kpi-windows has cleanup.policy=delete, not compact")
    result = CliRunner().invoke(app, ["worker", "-c", "contracts/examples/demo.yaml", "--broker", bootstrap,
                                      "--app-id", APP, "--broker-wait", "10"])
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert f"{CHANGELOGS[0]} has cleanup.policy=delete, but a state changelog must be compacted" in line


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


async def _publish_then_truncate(bootstrap: str, topic: str, rows: list[dict], key: str, keep_from: str) -> None:
    """Publish the records at their window's end (as a live stream does), then delete those that end before
    `keep_from`, so the log start offset moves past them."""
    rows = sorted(rows, key=lambda r: _ms(r["window_end"]))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for r in rows:
            await producer.send_and_wait(topic, orjson.dumps(r), key=r[key].encode(), timestamp_ms=_ms(r["window_end"]))
    finally:
        await producer.stop()
    cut = sum(_ms(r["window_end"]) < _ms(keep_from) for r in rows)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        assert await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(cut)}) == {
            TopicPartition(topic, 0): cut}
    finally:
        await admin.close()


def test_a_period_the_deleting_topics_no_longer_hold_is_refused(bootstrap: str, tmp_path: Path) -> None:
    contract = tmp_path / "t.yaml"
    contract.write_text(PENALISED)  # its escalation counts breaches per quarter
    kept = {"cleanup.policy": "delete", "retention.ms": "-1"}  # the records are stamped October 2026: a week's
    asyncio.run(_create(bootstrap, {topics.KPI_WINDOWS: kept, topics.BREACHES: kept}))  # retention would drop them
    windows, breaches = records()
    asyncio.run(_publish_then_truncate(bootstrap, topics.KPI_WINDOWS, windows, "key", "2026-10-20T00:00:00+08:00"))
    asyncio.run(_publish_then_truncate(bootstrap, topics.BREACHES, breaches, "breach_id", "2026-10-20T00:00:00+08:00"))
    runner = CliRunner()

    def report(period: str) -> Result:
        return runner.invoke(app, ["report", "-c", str(contract), "--period", period, "--from-topic", "--broker",
                                   bootstrap, "--out", str(tmp_path / period), "--timeout", "20"])

    def ledger(period: str) -> Result:
        return runner.invoke(app, ["ledger", "-c", str(contract), "--period", period, "--broker", bootstrap,
                                   "--format", "json"])

    refused = report("2026-10")
    assert refused.exit_code == 2, refused.output
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("error: cckpi.kpi-windows cannot answer for period 2026-10: it needs the records from "
                           "2026-10-01T00:00:00+08:00 on but holds every record only from "
                           "2026-10-20T09:15:00+08:00"), line
    assert "cleanup.policy=delete" in line and "partition 0 starts at offset" in line
    later = report("2026-11")
    assert later.exit_code == 0, later.output
    assert "statement t 2026-11: 0 breaches booked" in later.stdout

    [line] = ledger("2026-10").stderr.strip().splitlines()
    assert line.startswith("error: cckpi.breaches cannot answer for period 2026-10"), line
    quarter = ledger("2026-11")  # its escalations count the quarter's breaches, from October 1st on
    assert quarter.exit_code == 2 and "from 2026-10-01T00:00:00+08:00 on" in quarter.stderr
    assert ledger("2027-01").exit_code == 0
