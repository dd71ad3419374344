"""A breach produced from call events reaches an on-call webhook through a real Alertmanager's routing, then its
resolution; the same events replayed again change nothing (one alert)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_topics
from streams.models import encode_event
from tests.helpers import abandoned, answered, at
from tests.integration.services import alertmanager_process
from tests.integration.support import produce, worker_process
from tools.brokers import free_port

pytestmark = pytest.mark.integration

CONTRACT = """
id: oncall
name: on-call test
timezone: Asia/Shanghai
scope: {queues: [am-queue]}
terms:
  - {id: ar, kpi: answer_rate, threshold: 0.8, window: day, min_volume: 3}
"""
ROUTING = """
route:
  receiver: nobody
  group_by: [contract, term, scope]
  routes:
    - matchers: ['contract=~".+"', 'severity="breach"']
      receiver: on-call
      group_wait: 1s
      group_interval: 1s
      repeat_interval: 1h
receivers:
  - name: nobody
  - name: on-call
    webhook_configs:
      - url: {webhook}
        send_resolved: true
inhibit_rules:
  - source_matchers: ['severity="breach"']
    target_matchers: ['severity="warning"']
    equal: [contract, term, scope]
"""


class Webhook:
    """A local HTTP receiver recording what Alertmanager posts."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, status: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for note in self.received:
                if note["status"] == status:
                    return note
            time.sleep(0.2)
        raise AssertionError(f"no {status} notification in {timeout}s; got {self.received}")


def test_breach_reaches_on_call_then_resolves(kafka_broker, tmp_path: Path) -> None:
    contract = tmp_path / "oncall.yaml"
    contract.write_text(CONTRACT)
    webhook = Webhook()
    config = tmp_path / "alertmanager.yml"
    config.write_text(ROUTING.replace("{webhook}", webhook.url))
    breach = [answered(at("10:00"), queue="am-queue"), abandoned(at("10:01"), queue="am-queue"),
              abandoned(at("10:02"), queue="am-queue")]  # 1 of 3: breached while the day is open
    recovery = [answered(at("10:10") + timedelta(minutes=i), queue="am-queue") for i in range(10)]  # 11/13: ok
    asyncio.run(ensure_topics(kafka_broker.bootstrap))
    (tmp_path / "am").mkdir()
    with alertmanager_process(config, tmp_path / "am") as am, worker_process(
            kafka_broker.url, tmp_path, "--app-id", "it-alerting", "--alertmanager-url", am, contract=contract):
        send = [(b"am-queue", encode_event(e)) for e in breach]
        asyncio.run(produce(kafka_broker.bootstrap, topics.CALLS, send))
        firing = webhook.wait_for("firing", 30)
        [alert] = firing["alerts"]
        assert {"contract": "oncall", "term": "ar", "scope": "am-queue", "severity": "breach",
                "alertname": "CckpiTermBreach"}.items() <= alert["labels"].items()
        assert "Answer rate 33.3% < 80.0%" in alert["annotations"]["summary"]
        asyncio.run(produce(kafka_broker.bootstrap, topics.CALLS, send))  # the same breach replayed: duplicates
        asyncio.run(produce(kafka_broker.bootstrap, topics.CALLS,
                            [(b"am-queue", encode_event(e)) for e in recovery]))
        resolved = webhook.wait_for("resolved", 30)
        assert resolved["alerts"][0]["labels"]["term"] == "ar"
    firing_notes = [n for n in webhook.received if n["status"] == "firing"]
    assert len(firing_notes) == 1 and len(firing_notes[0]["alerts"]) == 1  # one alert, though replayed
    webhook.server.shutdown()
