"""`cckpi ledger-exporter` on a real Apache Kafka broker: it reads `cckpi.breaches` end to end, serves the money the
ledger books after caps (not the price before them), follows new breaches at its pace and stops cleanly on
SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_topics
from tests.integration.support import produce
from tests.unit.test_ledger_exporter import days
from tests.unit.test_money import HEAD, ar_term
from tools.brokers import ApacheKafkaBroker

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _booked(port: int, timeout: float = 60) -> float | None:
    """The October value of `cckpi_penalties_booked` once served (None when the wait runs out)."""
    line = 'cckpi_penalties_booked{contract="m",currency="CNY",period="2026-10"} '
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        except OSError:
            text = ""
        found = [float(x.removeprefix(line)) for x in text.splitlines() if x.startswith(line)]
        if found:
            return found[0]
        time.sleep(0.5)
    return None


def _messages(records: list[dict]) -> list[tuple[bytes, bytes]]:
    return [(r["breach_id"].encode(), orjson.dumps(r)) for r in records]


def test_the_exporter_books_after_caps_follows_new_breaches_and_stops_on_sigterm(
        kafka_broker: ApacheKafkaBroker, tmp_path: Path) -> None:
    contract = tmp_path / "m.yaml"
    contract.write_text(HEAD + "terms:\n" + ar_term("{amount: 500, cap: {amount: 1200, per: month}}", window="day"))
    asyncio.run(ensure_topics(kafka_broker.bootstrap, [topics.BREACHES], layout=topics.TopicLayout(partitions=3)))
    asyncio.run(produce(kafka_broker.bootstrap, topics.BREACHES, _messages(days(1) * 2)))  # replayed: booked once
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CCKPI_METRICS_PORT": str(port), "CCKPI_SETTLE_EVERY": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "streams", "ledger-exporter", "-c", str(contract),
                             "--broker", kafka_broker.url], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        assert _booked(port) == 500
        asyncio.run(produce(kafka_broker.bootstrap, topics.BREACHES, _messages(days(2, 3))))
        deadline = time.monotonic() + 60
        while _booked(port) != 1200 and time.monotonic() < deadline:  # 3 x 500 priced, the cap books 1,200
            time.sleep(0.5)
        assert _booked(port) == 1200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = proc.stdout.read().decode() if proc.stdout else ""
    assert "Traceback" not in output, output
