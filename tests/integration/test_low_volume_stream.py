"""Tickets, surveys and availability through a worker on real Kafka: the windows equal `cckpi compute`,
and a ticket that is never answered breaches at its deadline by the idle timer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from streams.contracts import parse_contract
from streams.core import WindowResult, compile_terms, compute
from streams.kafka_io.admin import ensure_topics
from streams.models import encode_event
from streams.sim.producer import topic_for
from tests.integration.support import consume_until, metric, produce, worker_process
from tests.unit.test_low_volume import scenario
from tests.unit.test_tickets_surveys_availability import HELPDESK

pytestmark = pytest.mark.integration


def test_low_volume_sources_stream_equals_batch(kafka_broker, tmp_path: Path) -> None:
    contract = tmp_path / "helpdesk.yaml"
    contract.write_text(HELPDESK)
    events = scenario()
    expected = [r for r in compute(events, compile_terms([parse_contract(HELPDESK)]))
                if isinstance(r, WindowResult) and r.closed_by != "end_of_input"]
    asyncio.run(ensure_topics(kafka_broker.bootstrap))
    messages = [(topic_for(e), e) for e in events]
    with worker_process(kafka_broker.url, tmp_path, "--app-id", "it-low-volume", "--max-future-days", "400",
                        contract=contract) as url:
        for topic in sorted({t for t, _ in messages}):
            asyncio.run(produce(kafka_broker.bootstrap, topic, [(b"k", encode_event(e)) for t, e in messages
                                                                 if t == topic]))
        got = asyncio.run(consume_until(
            kafka_broker.bootstrap, "cckpi.kpi-windows",
            lambda rs: len([r for r in rs if r["contract"] == "hd"]) >= len(expected), 60))
        breaches = asyncio.run(consume_until(
            kafka_broker.bootstrap, "cckpi.breaches",
            lambda rs: any(r.get("kind") == "ticket" and r.get("ticket_id") == "t2" for r in rs), 30))
        ticket_breaches = metric(url, "cckpi_ticket_breaches_total", contract="hd", term="fr15")

    def key(r: dict) -> tuple:
        return r["key"], r["numerator"], r["denominator"], r["status"]

    assert sorted(key(r) for r in got if r["contract"] == "hd") == sorted(key(r.to_dict()) for r in expected)
    [t2] = [b for b in breaches if b.get("ticket_id") == "t2" and b["term"] == "fr15"]
    assert t2["deadline"] == "2026-11-24T09:13:00+08:00"
    assert ticket_breaches == 2.0
