"""Adapters on the full real data sets (tests/realdata.py: skipped when absent, failed then under CI), and
`cckpi replay` of a fixture to a real Kafka broker."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
import typer
from aiokafka import AIOKafkaConsumer
from typer.testing import CliRunner

from streams.adapters import ADAPTERS, ReadStats
from streams.adapters import anonymous_bank as ab
from streams.cli.replay import replay_command
from streams.kafka_io import topics
from streams.models import Event, decode_event, encode_event, routing_key
from tests.realdata import real_data

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adapters"


@pytest.fixture(scope="module")
def data() -> Path:
    """The real data folder; the only reason these tests skip is its absence (under CI they fail then)."""
    return real_data()


def run(name: str, files: list[Path]) -> tuple[list[Event], ReadStats, list[str]]:
    """Events, stats and reported problems of one adapter over whole files."""
    stats, problems = ReadStats(), []
    events = list(ADAPTERS[name].read(files, problems.append, stats))
    return events, stats, problems


def assert_ordered_and_unique(events: list[Event]) -> None:
    """Time order overall (so per routing key too); unique event ids."""
    times = [e.occurred_at.timestamp() for e in events]
    assert times == sorted(times)
    assert len({e.event_id for e in events}) == len(events)


def test_anonymous_bank_full_year(data: Path) -> None:
    files = sorted((data / "anonymous-bank-1999").glob("*.txt"))
    assert len(files) == 9
    stats, problems = ReadStats(), []
    zone = ZoneInfo("Asia/Jerusalem")
    ids: set[str] = set()
    keys: Counter[str] = Counter()
    first = last = None
    previous, unordered, count = float("-inf"), 0, 0
    started = time.perf_counter()
    for e in ADAPTERS["anonymous-bank"].read(files, problems.append, stats):  # streamed: 0.85M events
        count += 1
        t = e.occurred_at.timestamp()
        unordered += t < previous
        previous = t
        ids.add(e.event_id)
        keys[routing_key(e)] += 1
        first = first or e
        last = e
        if count % 1_700 == 0:  # offsets agree with the IANA zone (+03:00 from 1999-04-02 to 1999-09-03)
            assert e.occurred_at.replace(tzinfo=None) == datetime.fromtimestamp(t, zone).replace(tzinfo=None)
            assert e.occurred_at.utcoffset() == datetime.fromtimestamp(t, zone).utcoffset()
    print(f"anonymous-bank: {count:,} events, {count / (time.perf_counter() - started):,.0f} events/s")
    assert stats.rows == 318_286 and stats.malformed == 0
    assert stats.skipped == {ab.SKIP_PHANTOM: 2_658, ab.SKIP_VRU_HANG: 16_950}
    assert stats.quirks[ab.QUIRK_NEGATIVE_VRU] == 291 and stats.quirks[ab.QUIRK_NO_SERVER] == 4_119
    assert stats.quirks[ab.QUIRK_MIDNIGHT] == 264
    assert stats.events == {"call.offered": 298_678, "call.answered": 254_287, "call.ended": 254_287,
                            "call.abandoned": 44_391}
    assert count == len(ids) == stats.events.total() == 851_643 and unordered == 0
    # every call not skipped is offered once, then answered or abandoned
    assert stats.events["call.offered"] == 318_286 - 2_658 - 16_950
    assert stats.events["call.offered"] == stats.events["call.answered"] + stats.events["call.abandoned"]
    assert set(keys) == {"PS", "PE", "IN", "NE", "NW", "TT"}
    assert first is not None and last is not None
    assert (first.occurred_at.isoformat(), last.occurred_at.isoformat()) == (
        "1999-01-01T00:00:08+02:00", "1999-10-31T23:59:26+02:00")
    assert not [p for p in problems if not p.startswith("anonymous-bank: ")]


def test_asterisk_queue_log_export(data: Path) -> None:
    events, stats, problems = run("asterisk-queue-log", [data / "asterisk-queue-log" / "queue_log.csv"])
    assert stats.rows == 1_000 and stats.malformed == 0
    assert stats.events == {"call.offered": 108, "call.answered": 93, "call.ended": 91, "call.abandoned": 13}
    assert sum(stats.skipped.values()) == 1_000 - len(events)
    assert stats.skipped["RINGNOANSWER lines (not a call event)"] == 360
    assert {routing_key(e) for e in events} == {"IT"}
    assert_ordered_and_unique(events)
    assert (events[0].occurred_at.isoformat(), events[-1].occurred_at.isoformat()) == (
        "2018-11-30T18:31:17+00:00", "2018-12-04T17:00:51+00:00")
    # the export's durations are consistent with its timestamps: an answer comes holdtime after its offer
    offered = {e.call_id: e.occurred_at for e in events if e.type == "call.offered"}  # type: ignore[union-attr]
    for e in events:
        if e.type == "call.answered" and e.call_id in offered:  # type: ignore[union-attr]
            assert abs((e.offered_at - offered[e.call_id]).total_seconds()) <= 1  # type: ignore[union-attr]
    assert len(problems) == len(stats.skipped)


def test_servicenow_incident_subset(data: Path) -> None:
    files = [data / "servicenow-incidents" / "incident_event_log_subset.csv"]
    events, stats, problems = run("servicenow-incidents", files)
    assert stats.rows == 5_998 and stats.malformed == 0
    assert stats.events == {"ticket.created": 890, "ticket.first_response": 890, "ticket.updated": 344,
                            "ticket.resolved": 901, "ticket.reopened": 11, "ticket.closed": 890}
    assert len({routing_key(e) for e in events}) == 890
    assert_ordered_and_unique(events)
    assert stats.quirks == {"events stamped before the previous event of their ticket (moved to that time)": 2,
                            "incidents resolved without resolved_at (sys_updated_at used)": 29,
                            "incidents without a category (`unknown` used)": 8}
    assert len(problems) == 3


async def consume_keyed(bootstrap: str, topic: str, wanted: set[str], timeout: float) -> list[tuple[str, dict]]:
    """(key, value) of the messages on `topic` whose event_id is wanted, until all arrived or the timeout."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    got: list[tuple[str, dict]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < len(wanted) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for message in (m for messages in batch.values() for m in messages):
                value = orjson.loads(message.value or b"{}")
                if value.get("event_id") in wanted:
                    got.append(((message.key or b"").decode(), value))
    finally:
        await consumer.stop()
    return got


def test_replay_fixture_to_kafka(kafka_broker) -> None:
    """`cckpi replay --as-fast-as-possible` puts exactly the adapter's call events on `cckpi.calls`, keyed by
    queue, in the adapter's order per queue (each queue's first and last event included)."""
    files = [FIXTURES / "anonymous-bank-01.txt", FIXTURES / "anonymous-bank-02.txt"]
    expected = list(ADAPTERS["anonymous-bank"].read(files))
    cli = typer.Typer()
    cli.command("replay")(replay_command)
    cli.callback()(lambda: None)
    result = CliRunner().invoke(cli, ["replay", "--source", "anonymous-bank", *map(str, files), "--broker",
                                      kafka_broker.url, "--as-fast-as-possible"])
    assert result.exit_code == 0, result.output
    assert f"published {len(expected)} events from 14 rows: {topics.CALLS} {len(expected)}" in result.stderr
    got = asyncio.run(consume_keyed(kafka_broker.bootstrap, topics.CALLS, {e.event_id for e in expected}, 60))
    assert len(got) == len(expected) == 27
    assert all(key == value["queue"] for key, value in got)
    assert [encode_event(decode_event(orjson.dumps(v))) for _, v in got if v["event_id"] == expected[0].event_id] \
        == [encode_event(expected[0])]
    for queue in {routing_key(e) for e in expected}:
        sent = [e.event_id for e in expected if routing_key(e) == queue]
        received = [v["event_id"] for _, v in got if v["queue"] == queue]
        assert (received[0], received[-1], received) == (sent[0], sent[-1], sent)
