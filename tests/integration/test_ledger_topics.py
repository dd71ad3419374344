"""`cckpi ledger` reads `cckpi.breaches` from Kafka, books replayed breaches once, and publishes escalations."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_topics
from tests.integration.support import consume_until, produce
from tests.unit.test_ledger import PENALISED, breach
from tools.brokers import ApacheKafkaBroker

pytestmark = pytest.mark.integration


def test_ledger_from_the_breaches_topic_and_escalations_published(tmp_path: Path) -> None:
    contract = tmp_path / "t.yaml"
    contract.write_text(PENALISED)
    records = [breach("2026-10-05T10:00:00+08:00"), breach("2026-10-09T10:00:00+08:00")]
    with ApacheKafkaBroker() as broker:
        asyncio.run(ensure_topics(broker.bootstrap))
        messages = [(r["breach_id"].encode(), orjson.dumps(r)) for r in records]
        asyncio.run(produce(broker.bootstrap, topics.BREACHES, messages + messages))  # every breach replayed
        result = CliRunner().invoke(app, ["ledger", "-c", str(contract), "--period", "2026-Q4", "--broker",
                                          broker.url, "--format", "json", "--publish-to", broker.url])
        assert result.exit_code == 0, result.output
        escalations = asyncio.run(consume_until(broker.bootstrap, topics.ESCALATIONS, lambda rs: len(rs) >= 1, 20))
    data = orjson.loads(result.stdout)
    assert len(data["entries"]) == 2 and data["totals"][0]["amount"] == "1000.00"
    assert len(data["escalations"]) == 1, data
    [escalation] = escalations
    assert (escalation["breaches"], escalation["right"], escalation["period"]) == (2, "terminate", "2026-Q4")
