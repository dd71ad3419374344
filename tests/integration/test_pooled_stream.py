"""Pooled call terms (`aggregate: pooled`, issue 16) on a real Apache Kafka broker: each queue's parts cross the
internal `<app-id>-pool-parts` topic to the pool stage (`streams.app.pool`), which publishes the pooled windows.
With one worker, and with two workers one of which is SIGKILLed mid-replay (the survivor takes over both its
source partitions and its pooled terms' merges), the latest revision of every window on `cckpi.kpi-windows` and
every pooled breach's final record equal `cckpi compute` over the same events."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import DefaultPartitioner
from typer.testing import CliRunner

from streams.cli.main import app
from streams.contracts import load_contract
from streams.core import BreachUpdate, compile_terms, compute
from streams.core.pool import pool_partition
from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_topics, prepare_worker_topics, topic_configs
from streams.kafka_io.topics import TopicConfigError, TopicLayout
from streams.models import Event, encode_event
from tests.helpers import abandoned, answered, at, offered
from tests.integration.support import consume_until, metric, produce, worker_process
from tools.brokers import ApacheKafkaBroker

pytestmark = pytest.mark.integration

PARTITIONS = 4
"""Of `cckpi.calls` and the parts topic (the worker's default `--partitions`)."""
QUEUES = ("a", "west", "north", "south")
"""Murmur2 (the producer's default partitioner) puts them on partitions 0, 1, 2 and 3: every worker owns some."""
POOLED = ("hotline/answer-rate-15m", "hotline/service-level-15m")
"""On parts partitions 2 and 1: with two workers the range and round-robin assignors both give one to each."""
CONTRACT = """
id: hotline
name: pooled hotline (integration test)
timezone: Asia/Shanghai
scope: {queues: [a, west, north, south]}
terms:
  - id: answer-rate-15m
    kpi: answer_rate
    aggregate: pooled
    threshold: 0.9
    warning: 0.93
    window: 15m
    grace: 2m
    retention: 1d
    min_volume: 5
  - id: service-level-15m
    kpi: service_level
    aggregate: pooled
    answer_within_seconds: 20
    threshold: 0.8
    window: 15m
    grace: 2m
    retention: 1d
    min_volume: 5
  - id: answer-rate-queue-15m
    kpi: answer_rate
    aggregate: per_queue
    threshold: 0.9
    window: 15m
    grace: 2m
    retention: 1d
    min_volume: 5
"""
ARGS = ("--idle-after", "3600", "--max-future-days", "100000", "--log-level", "info")
FLUSH = at("10:00") + timedelta(days=2)
"""One call per queue two days on closes every window of the test by event time, in the stream as in compute."""


def test_queue_and_term_choice_spreads_over_partitions_and_workers() -> None:
    every = list(range(PARTITIONS))
    assert [DefaultPartitioner()(q.encode(), every, every) for q in QUEUES] == [0, 1, 2, 3]
    assert [pool_partition(f"{key}/x".encode(), PARTITIONS) for key in POOLED] == [2, 1]


@pytest.fixture
def kafka_broker() -> Iterator[ApacheKafkaBroker]:
    """A broker of its own: the test reads whole output topics and must see only its own records."""
    with ApacheKafkaBroker() as broker:
        yield broker


def events(hours: int = 4, seed: int = 16) -> list[Event]:
    """Every queue a call a minute for some hours (90% answered, waits 0-40 s), some abandoned 10-70 minutes after
    they were offered (in a window's grace, or revising a closed one), then the calls that close everything."""
    rng = random.Random(seed)
    found: list[Event] = []
    for minute in range(8 * 60, (8 + hours) * 60):
        for queue in QUEUES:
            when = at(f"{minute // 60:02d}:{minute % 60:02d}", rng.randrange(60))
            found.append(answered(when, wait=rng.randrange(40), queue=queue) if rng.random() < 0.9
                         else abandoned(when, queue=queue))
            if rng.random() < 0.04:
                found.append(abandoned(when, wait=rng.randrange(600, 4200), queue=queue))
    return found


def flush() -> list[Event]:
    return [offered(FLUSH, queue=q) for q in QUEUES]


def messages(batch: list[Event]) -> list[tuple[bytes, bytes]]:
    return [(e.queue.encode(), encode_event(e)) for e in batch]


def computed(contract: Path, batch: list[Event], tmp_path: Path) -> dict[str, dict]:
    """`cckpi compute --events`: the last revision of each window before the flush, by key."""
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(encode_event(e) for e in batch) + b"\n")
    result = CliRunner().invoke(app, ["compute", "-c", str(contract), "--events", str(path)])
    assert result.exit_code == 0, result.output[-2000:]
    return latest([orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")])


def latest(records: list[dict]) -> dict[str, dict]:
    """The last revision of each window of the test's day (the flush's own windows never close in the stream)."""
    found: dict[str, dict] = {}
    for r in records:
        if r["window_start"] < FLUSH.isoformat()[:10] and r["revision"] >= found.get(r["key"], {"revision": -1})[
                "revision"]:
            found[r["key"]] = r
    return found


def judged(windows: dict[str, dict]) -> dict[str, tuple]:
    """What batch and stream must agree on: the value, sums, status and bounds (not the revision count, which
    for a pooled window depends on when the parts arrive; nor how it was closed)."""
    return {k: (r["scope"], r["window_end"], r["value"], r["numerator"], r["denominator"], r["status"])
            for k, r in windows.items()}


def final_breaches(records: list[dict], pooled: bool = True) -> dict[str, tuple]:
    """The breached verdict of each pooled window's breach id: its last `final` step's status and sums."""
    finals: dict[str, dict] = {}
    for r in records:
        if r["state"] == "final" and (r["scope"] == "all") == pooled and \
                r["revision"] >= finals.get(r["breach_id"], {"revision": -1})["revision"]:
            finals[r["breach_id"]] = r
    return {k: (r["status"], r["value"], r["numerator"], r["denominator"]) for k, r in finals.items()
            if r["status"] == "breached"}


def expected_breaches(contract: Path, batch: list[Event]) -> dict[str, tuple]:
    steps = [o.to_breach() for o in compute(batch, compile_terms([load_contract(contract)]))
             if isinstance(o, BreachUpdate) and o.window_start < FLUSH.isoformat()[:10]]
    return final_breaches(orjson.loads(orjson.dumps(steps)))


def replay_and_compare(bootstrap: str, batch: list[Event], expected: dict[str, dict], breaches: dict[str, tuple],
                       url: str, app_id: str) -> dict[str, dict]:
    """Produce the events, then read the output topics until the latest revision of every window and the final
    breach records agree with compute (or time out) and assert they do, and that the worker is ready with its pool
    loop; returns the stream's windows."""
    asyncio.run(produce(bootstrap, topics.CALLS, messages(batch)))
    got = latest(asyncio.run(consume_until(bootstrap, topics.KPI_WINDOWS,
                                           lambda rs: judged(latest(rs)) == judged(expected), 60)))
    records = asyncio.run(consume_until(bootstrap, topics.BREACHES, lambda rs: final_breaches(rs) == breaches, 20))
    assert judged(got) == judged(expected)
    assert final_breaches(records) == breaches
    status, reason = readyz(url)
    assert status == 200 and f"joined {app_id}-pool, 4 pool partitions restored" in reason, reason
    return got


def contract_file(tmp_path: Path) -> Path:
    path = tmp_path / "hotline.yaml"
    path.write_text(CONTRACT)
    return path


def test_one_worker_publishes_the_pooled_windows_of_compute(kafka_broker: ApacheKafkaBroker, tmp_path: Path) -> None:
    contract = contract_file(tmp_path)
    batch = events(hours=2)
    expected = computed(contract, batch + flush(), tmp_path)
    pooled = {k for k in expected if "/all/" in k}
    assert len(pooled) >= 2 * 8 and len(expected) - len(pooled) >= 4 * 8  # 2 pooled terms, 4 queues per-queue
    assert {r["status"] for r in expected.values()} >= {"met", "breached"}
    breaches = expected_breaches(contract, batch + flush())
    assert breaches  # some pooled windows breach

    asyncio.run(ensure_topics(kafka_broker.bootstrap))
    with worker_process(kafka_broker.url, tmp_path, "--app-id", "it-pooled", *ARGS, contract=contract) as url:
        replay_and_compare(kafka_broker.bootstrap, batch + flush(), expected, breaches, url, "it-pooled")
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert "Traceback" not in log and "restored pool partitions" in log, log[-3000:]
    assert (tmp_path / "worker.exit").read_text() == "0", log[-3000:]  # SIGTERM: a clean stop
    pooled_topics = [topics.pool_parts("it-pooled"), topics.pool_changelog("it-pooled")]
    configs = asyncio.run(topic_configs(kafka_broker.bootstrap, pooled_topics))
    assert {n: (c or {}).get("cleanup.policy") for n, c in configs.items()} == dict.fromkeys(pooled_topics, "compact")
    asyncio.run(create_deleting(kafka_broker.bootstrap, topics.pool_changelog("it-bad")))
    with pytest.raises(TopicConfigError, match=r"it-bad-pool-parts-changelog has cleanup\.policy=delete"):
        asyncio.run(prepare_worker_topics(kafka_broker.bootstrap, "it-bad", TopicLayout(), timeout=10))


async def create_deleting(bootstrap: str, name: str) -> None:
    """A topic created by hand with the broker's default policy, deleting old records."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs={"cleanup.policy": "delete"})])
    finally:
        await admin.close()


def readyz(metrics_url: str) -> tuple[int, str]:
    """/readyz of a worker: its status and reason."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(metrics_url.replace("/metrics", "/readyz"), timeout=2) as answer:
            return answer.status, answer.read().decode().strip()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode().strip()


def owned(workdir: Path, what: str) -> set[int]:
    """The partitions a worker owns by its last 'restored <what> [..]' line (rebalances are eager: each logs all)."""
    lines = [line for line in (workdir / "worker.log").read_text(errors="replace").splitlines()
             if f"restored {what} [" in line]
    return {int(p) for p in lines[-1].split("[")[-1].split("]")[0].split(",") if p.strip()} if lines else set()


def wait_for(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_two_workers_one_killed_mid_replay_pooled_windows_equal_compute(kafka_broker: ApacheKafkaBroker,
                                                                        tmp_path: Path) -> None:
    contract = contract_file(tmp_path)
    batch = events(hours=4)
    first, rest = batch[:len(batch) * 3 // 8], batch[len(batch) * 3 // 8:]  # killed at about 09:30
    expected = computed(contract, batch + flush(), tmp_path)
    assert len([k for k in expected if "/all/" in k]) >= 2 * 16
    assert any(r["revision"] > 0 for k, r in expected.items() if "/all/" in k)  # late calls revise pooled windows
    breaches = expected_breaches(contract, batch + flush())
    assert breaches

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    args = ("--app-id", "it-pooled-takeover", *ARGS)
    asyncio.run(ensure_topics(kafka_broker.bootstrap))
    with worker_process(kafka_broker.url, a, *args, contract=contract) as survivor, \
            worker_process(kafka_broker.url, b, *args, contract=contract) as victim:
        # Both groups split before any event arrives, so the victim owns queues and a pooled term from the start.
        wait_for(lambda: owned(a, "partitions") and owned(b, "partitions") and owned(a, "pool partitions") and
                 owned(b, "pool partitions") and not owned(a, "pool partitions") & owned(b, "pool partitions"),
                 "the groups did not split")
        victim_queues = {QUEUES[p] for p in owned(b, "partitions")}
        victim_terms = {k for k in POOLED if pool_partition(f"{k}/x".encode(), PARTITIONS) in
                        owned(b, "pool partitions")}
        assert victim_queues and victim_terms
        asyncio.run(produce(kafka_broker.bootstrap, topics.CALLS, messages(first)))
        wait_for(lambda: (metric(victim, "cckpi_events_total", type="call.answered") or 0) >= 50,
                 "the victim did not get going")
        os.killpg(int((b / "worker.pid").read_text()), signal.SIGKILL)
        wait_for(lambda: owned(a, "partitions") == set(range(PARTITIONS)) and
                 owned(a, "pool partitions") == set(range(PARTITIONS)), "the survivor did not take over", 60)
        got = replay_and_compare(kafka_broker.bootstrap, rest + flush(), expected, breaches, survivor,
                                 "it-pooled-takeover")
    print(f"victim owned {sorted(victim_queues)} and {sorted(victim_terms)}; pooled windows revised: "
          f"{sum(r['revision'] > 0 for k, r in got.items() if '/all/' in k)} in the stream, "
          f"{sum(r['revision'] > 0 for k, r in expected.items() if '/all/' in k)} in compute")
