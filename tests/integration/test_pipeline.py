"""End to end on a real Apache Kafka broker: simulated and hand-made call events through a `cckpi worker`
process; the windows it publishes must equal `cckpi compute` on the same events (batch = stream)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from streams.contracts import load_contract
from streams.core import BreachUpdate, LateContribution, WindowResult, compile_terms, compute
from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_topics
from streams.models import Event, encode_event
from streams.sim import Traffic, simulate
from tests.helpers import abandoned, answered, at, offered
from tests.integration.support import DEMO, consume_until, metric, produce, worker_process
from tools.brokers import ApacheKafkaBroker

pytestmark = pytest.mark.integration


def scenario() -> tuple[list[Event], list[Event]]:
    """Two simulated hours on both queues, then hand-made edge cases on `general`.

    Returns (events before the flush, events after it)."""
    sim = list(simulate(["general", "cards"], at("09:00"), 7200, Traffic(), 11, "it"))
    g = "general"
    edge = [
        answered(at("11:20"), queue=g),
        answered(at("11:31"), queue=g),
        abandoned(at("11:32"), wait=200, queue=g),  # offered 11:28:40: out of order, within grace of 11:15-11:30
        answered(at("11:40"), queue=g),  # watermark 11:40 closes 11:15-11:30 (due 11:35)
        answered(at("11:41"), wait=900, queue=g),  # offered 11:26: that window is closed, so it is revised
    ]
    flush = [offered(at("11:00") + timedelta(days=2), queue=q) for q in ("general", "cards")]
    too_late = [answered(at("11:05"), queue=g)]  # after the flush its window is past its 1-day retention
    replayed = sim[400:700]  # a producer retry re-sends a stretch: same event ids, counted once
    return sim[:900] + replayed + sim[900:] + edge + flush, too_late


@pytest.fixture
def kafka_broker() -> Iterator[ApacheKafkaBroker]:
    """A broker of its own: this test reads whole output topics and must see only its own records."""
    with ApacheKafkaBroker() as broker:
        yield broker


def test_stream_equals_batch_with_late_duplicate_and_bad_data(kafka_broker: ApacheKafkaBroker, tmp_path: Path) -> None:
    before, after = scenario()
    expected = compute(before + after, compile_terms([load_contract(DEMO)]))
    windows = [r for r in expected if isinstance(r, WindowResult)]
    late = [r for r in expected if isinstance(r, LateContribution)]
    lifecycle = [r.to_breach() for r in expected if isinstance(r, BreachUpdate)]
    assert any(r.revision == 1 for r in windows) and len(windows) > 40  # the scenario bites
    assert len(late) == 3 and len({x.event_id for x in late}) == 1  # one event, late for each of the 3 terms
    assert any(r.status == "breached" for r in windows)

    bootstrap = kafka_broker.bootstrap
    asyncio.run(ensure_topics(bootstrap))
    messages = [(e.queue.encode(), encode_event(e)) for e in before]
    messages.insert(100, (b"general", b'{"type": "call.answered", "queue": "general"}'))  # invalid
    messages.insert(200, (b"nobody", encode_event(answered(at("09:30"), queue="cards"))))  # wrong key
    messages += [(e.queue.encode(), encode_event(e)) for e in after]

    with worker_process(kafka_broker.url, tmp_path, "--app-id", "it-pipeline", "--idle-after", "3600") as url:
        asyncio.run(produce(bootstrap, topics.CALLS, messages))
        got = asyncio.run(consume_until(bootstrap, topics.KPI_WINDOWS, lambda rs: len(rs) >= len(windows), 90))
        breaches = asyncio.run(consume_until(bootstrap, topics.BREACHES, lambda rs: len(rs) >= len(lifecycle), 30))
        dead = asyncio.run(consume_until(bootstrap, topics.DEAD_LETTER, lambda rs: len(rs) >= 5, 30))
        duplicates = metric(url, "cckpi_events_duplicate_total")
        revised = metric(url, "cckpi_events_late_total", contract="demo", term="answer-rate-15m", outcome="revised")
        dropped = metric(url, "cckpi_events_late_total", contract="demo", term="answer-rate-15m", outcome="dropped")
        gauge = metric(url, "cckpi_answer_rate_ratio", contract="demo", term="answer-rate-15m", scope="general",
                       window="last_closed")

    def comparable(record: dict) -> tuple:
        return tuple(sorted((k, v) for k, v in record.items() if k not in ("closed_by", "key")))

    stream = sorted(comparable(r) for r in got)
    batch = sorted(comparable(r.to_dict()) for r in windows)
    assert stream == batch
    def update(record: dict) -> tuple:
        return tuple(sorted((k, str(v)) for k, v in record.items()))

    assert sorted(map(update, breaches)) == sorted(map(update, lifecycle))  # the whole lifecycle, step by step
    finals = {b["breach_id"]: b for b in sorted(breaches, key=lambda b: b["revision"]) if b["state"] == "final"}
    final_windows = {r.key: r for r in windows}  # the last revision of each window
    assert {k for k, b in finals.items() if b["status"] == "breached"} == {
        k for k, r in final_windows.items() if r.status == "breached"}
    assert sorted(d["kind"] for d in dead) == ["invalid", "late", "late", "late", "wrong_key"]
    late_letters = [d for d in dead if d["kind"] == "late"]
    assert {(d["term"], d["window_start"], d["event_id"]) for d in late_letters} == {
        (x.term, x.window_start, x.event_id) for x in late}
    assert (revised, dropped, duplicates) == (1.0, 1.0, 300.0)
    assert gauge is not None and 0 <= gauge <= 1
