"""The README's downstream path on a real Apache Kafka broker: examples/producer.py sends the sample hour, a worker
on examples/minimal.yaml closes and revises its windows, and examples/consumer.py prints the latest revision of
each window key, which is what `cckpi compute` gives for the same events."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from streams.contracts import load_contract
from streams.core import WindowResult, compile_terms, compute
from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_topics
from streams.models import decode_event
from tests.integration.support import ROOT, consume_until, worker_process
from tests.unit.test_user_examples import MINIMAL, example
from tools.brokers import ApacheKafkaBroker

pytestmark = pytest.mark.integration


def script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `examples/<name>.py` as a user would (its own process, from the repository root)."""
    return subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def expected_latest() -> dict[str, dict]:
    """The batch engine's latest revision of every window the stream closes, by key."""
    events = [decode_event(json.dumps(e)) for e in example("producer").sample()]
    results = sorted((r for r in compute(events, compile_terms([load_contract(MINIMAL)]))
                      if isinstance(r, WindowResult) and r.closed_by != "end_of_input"), key=lambda r: r.revision)
    return {r.key: r.to_dict() for r in results}


def test_producer_worker_consumer(kafka_broker: ApacheKafkaBroker, tmp_path: Path) -> None:
    expected = expected_latest()
    revised = [k for k, r in expected.items() if r["revision"] == 1]
    assert revised, "the sample revises a window late"
    asyncio.run(ensure_topics(kafka_broker.bootstrap))
    with worker_process(kafka_broker.url, tmp_path, "--app-id", f"it-examples-{uuid.uuid4().hex[:8]}",
                        contract=MINIMAL):
        sent = script("producer", "--broker", kafka_broker.bootstrap)
        assert sent.returncode == 0, sent.stderr
        assert "177 of 177 events acknowledged" in sent.stderr
        asyncio.run(consume_until(kafka_broker.bootstrap, topics.KPI_WINDOWS, lambda rs: all(
            any(r.get("key") == k and r["revision"] == 1 for r in rs) for k in revised), 30))
        got = script("consumer", "--broker", kafka_broker.bootstrap, "--contract", "minimal")
    assert got.returncode == 0, got.stderr
    latest = {r["key"]: r for r in map(json.loads, got.stdout.splitlines())}

    def comparable(r: dict) -> dict:
        return {k: v for k, v in r.items() if k != "closed_by"}

    assert {k: comparable(r) for k, r in latest.items()} == {k: comparable(r) for k, r in expected.items()}
    assert [latest[k]["status"] for k in revised] == ["breached", "breached"]
