"""`cckpi report --from-topic` on a real Apache Kafka broker: the statement read from `cckpi.kpi-windows` and
`cckpi.breaches` (replayed, mixed with another contract, over several partitions) equals the batch statement of
the same events; revisions carry their publish time; the digest is that of the records written next to it."""

from __future__ import annotations

import asyncio
import csv
import hashlib
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_topics
from streams.models import encode_event
from tests.integration.support import produce
from tests.unit.test_report import PENALISED, october_events, records
from tools.brokers import ApacheKafkaBroker, ensure_kafka_jars

pytestmark = pytest.mark.integration


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_statement_from_the_topics_equals_the_batch_statement(tmp_path: Path) -> None:
    contract = tmp_path / "t.yaml"
    contract.write_text(PENALISED)
    events = tmp_path / "calls.jsonl"
    events.write_bytes(b"".join(encode_event(e) + b"\n" for e in october_events()))
    windows, breaches = records()
    other = [{**w, "contract": "other", "key": "other/" + w["key"]} for w in windows]
    window_messages = [(w["key"].encode(), orjson.dumps(w)) for w in [*windows, *other]]
    breach_messages = [(b["breach_id"].encode(), orjson.dumps(b)) for b in breaches]
    runner = CliRunner()
    ensure_kafka_jars()
    with ApacheKafkaBroker() as broker:
        asyncio.run(ensure_topics(broker.bootstrap, [topics.KPI_WINDOWS, topics.BREACHES],
                                   layout=topics.TopicLayout(partitions=3)))
        asyncio.run(produce(broker.bootstrap, topics.KPI_WINDOWS, window_messages + window_messages))  # replayed
        asyncio.run(produce(broker.bootstrap, topics.BREACHES, breach_messages + breach_messages))
        streamed = runner.invoke(app, ["report", "-c", str(contract), "--period", "2026-10", "--from-topic",
                                       "--broker", broker.url, "--out", str(tmp_path / "topic")])
    assert streamed.exit_code == 0, streamed.output
    batch = runner.invoke(app, ["report", "-c", str(contract), "--period", "2026-10", "--events", str(events),
                                "--out", str(tmp_path / "batch")])
    assert batch.exit_code == 0, batch.output

    topic, batch_dir = tmp_path / "topic", tmp_path / "batch"
    for name in ("windows.csv", "terms.csv", "breaches.csv", "volumes.csv", "totals.csv", "escalations.csv"):
        assert _csv(topic / name) == _csv(batch_dir / name), name
    assert [r["amount"] for r in _csv(topic / "totals.csv")] == ["1000.00"]
    [revision] = _csv(topic / "revisions.csv")
    assert (revision["status_before"], revision["status_after"]) == ("breached", "met")
    assert revision["published_at"] and revision["after_period_end"] == "True"  # published now, after October
    [batch_revision] = _csv(batch_dir / "revisions.csv")
    assert batch_revision["published_at"] == "" and batch_revision["after_period_end"] == ""

    inputs = {r["name"]: r for r in _csv(topic / "inputs.csv")}
    for name, file in ((topics.KPI_WINDOWS, "kpi-windows.jsonl"), (topics.BREACHES, "breaches.jsonl")):
        assert inputs[name]["sha256"] == hashlib.sha256((topic / "records" / file).read_bytes()).hexdigest()
    kept = (topic / "records" / "kpi-windows.jsonl").read_bytes().splitlines()
    assert len(kept) == 2 * len(windows)  # both copies of this contract's records, none of the other contract
    page = (topic / "statement.html").read_text()
    assert "1,000.00 CNY" in page and inputs["(all inputs)"]["sha256"] in page and "after the period end" in page
