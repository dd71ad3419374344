"""`cckpi replay` with its broker stopped mid-replay (real Apache Kafka, a broker of the test's own): either every
event is on the topic exactly once and the exit code is 0, or the exit code and a one-line message say how many
events were not acknowledged. Never a silent loss (issue 14, defect 3)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from bench.offsets import end_offsets
from streams.adapters import ReadStats, adapter_for
from streams.kafka_io import topics
from tests.integration.test_replay_month import ROOT
from tests.realdata import real_data
from tools.brokers import ApacheKafkaBroker

pytestmark = pytest.mark.integration

SPEED = "100000"
"""Source seconds per wall second: January (31 days) takes ~27 s, so the outage surely starts mid-replay."""
LOST = re.compile(r"^error: ([\d,]+) of ([\d,]+) events sent were not acknowledged by the broker within 5 s "
                  r"\(--delivery-timeout\).*; ([\d,]+) were acknowledged")


def january() -> Path:
    """The real January file (skipped without it, failed under CI)."""
    return real_data("anonymous-bank-1999", "01_January.txt")


def january_ids() -> Counter[str]:
    """The event ids the adapter makes of January, each once."""
    ids = Counter(e.event_id for e in adapter_for("anonymous-bank", None).read([january()], lambda _: None,
                                                                                  ReadStats()))
    assert len(ids) > 80_000 and max(ids.values()) == 1
    return ids


def start_replay(broker: ApacheKafkaBroker, workdir: Path, *extra: str) -> subprocess.Popen[bytes]:
    """`cckpi replay` of January as its own process, stderr to `workdir/replay.err`."""
    return subprocess.Popen(
        [sys.executable, "-m", "streams", "replay", "--source", "anonymous-bank", str(january()), "--broker",
         broker.url, "--speed", SPEED, *extra],
        stdout=subprocess.DEVNULL, stderr=(workdir / "replay.err").open("wb"), cwd=ROOT)


def wait_until_replaying(broker: ApacheKafkaBroker, replay: subprocess.Popen[bytes], events: int = 2000) -> None:
    """Return once `events` events are on the topic, the replay still running."""
    deadline = time.monotonic() + 120
    while sum(end_offsets(broker.bootstrap, topics.CALLS).values()) < events:
        assert replay.poll() is None, "the replay ended before the outage"
        assert time.monotonic() < deadline, "the replay did not get going"
        time.sleep(0.2)
    assert replay.poll() is None, "the replay ended before the outage"


def topic_ids(bootstrap: str) -> Counter[str]:
    """Every event id on the calls topic, with how often it is there."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topics.CALLS, p) for p in consumer.partitions_for_topic(topics.CALLS) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        ids: Counter[str] = Counter()
        deadline = time.monotonic() + 120
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            assert time.monotonic() < deadline, "could not read the topic back"
            for messages in consumer.poll(timeout_ms=1000).values():
                ids.update(orjson.loads(m.value)["event_id"] for m in messages)
        return ids
    finally:
        consumer.close()


def error_lines(workdir: Path) -> list[str]:
    """What the replay said on stderr, apart from its progress bar and the adapter's row summary."""
    text = (workdir / "replay.err").read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    return [line for line in text.splitlines() if line.startswith("error")]


def test_an_outage_shorter_than_the_delivery_timeout_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    expected = january_ids()
    with ApacheKafkaBroker() as broker:
        replay = start_replay(broker, tmp_path)  # default --delivery-timeout: 120 s
        wait_until_replaying(broker, replay)
        broker.restart(down_for=45)  # the outage (the old producer lost events in it and exited 0)
        assert replay.wait(300) == 0, (tmp_path / "replay.err").read_text()[-3000:]
        got = topic_ids(broker.bootstrap)
    assert error_lines(tmp_path) == []
    assert got == expected  # every event, each exactly once (idempotent producer: resent batches written once)


def test_an_outage_longer_than_the_delivery_timeout_exits_1_with_the_count_of_unacknowledged_events(
        tmp_path: Path) -> None:
    expected = january_ids()
    with ApacheKafkaBroker() as broker:
        replay = start_replay(broker, tmp_path, "--delivery-timeout", "5")
        wait_until_replaying(broker, replay)
        outage = threading.Thread(target=broker.restart, kwargs={"down_for": 40})
        outage.start()
        try:
            code = replay.wait(120)
            broker_away = outage.is_alive()
        finally:
            outage.join()
        got = topic_ids(broker.bootstrap)
    assert code == 1
    assert broker_away, "the replay waited for the broker instead of giving up after --delivery-timeout"
    lines = error_lines(tmp_path)
    assert len(lines) == 1, lines
    found = LOST.match(lines[0])
    assert found, lines[0]
    lost, sent, acknowledged = (int(n.replace(",", "")) for n in found.groups())
    assert lost > 0 and lost + acknowledged == sent
    assert max(got.values()) == 1 and set(got) <= set(expected)
    assert acknowledged <= sum(got.values()) <= sent < len(expected)  # what was acknowledged is there
