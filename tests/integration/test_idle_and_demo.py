"""The idle timer closes a quiet queue's window on a real broker; `cckpi demo` runs end to end, from any
directory, and feeds every event family."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_topics
from streams.models import encode_event
from tests.helpers import abandoned, answered, at
from tests.integration.support import ROOT, consume_until, metric, produce, worker_process
from tools.brokers import ApacheKafkaBroker, free_port

pytestmark = pytest.mark.integration
FAST = ROOT / "tests" / "fixtures" / "fast.yaml"


def test_quiet_queue_closes_its_window_by_the_idle_timer(tmp_path: Path) -> None:
    with ApacheKafkaBroker() as broker:  # its own broker: the shared one carries other tests' clocks
        asyncio.run(ensure_topics(broker.bootstrap))
        events = [answered(at("10:00", 10), queue="general"), abandoned(at("10:00", 40), queue="general"),
                  answered(at("10:00", 58), queue="general")]
        with worker_process(broker.url, tmp_path, "--idle-after", "1", contract=FAST) as url:
            started = time.monotonic()
            asyncio.run(produce(broker.bootstrap, topics.CALLS, [(b"general", encode_event(e)) for e in events]))
            [record] = asyncio.run(consume_until(broker.bootstrap, topics.KPI_WINDOWS, lambda rs: len(rs) >= 1, 45))
            waited = time.monotonic() - started
            assert metric(url, "cckpi_windows_closed_total", contract="fast", term="answer-rate-1m",
                          status="breached") == 1.0
    assert (record["closed_by"], record["numerator"], record["denominator"]) == ("idle", 2, 3)
    assert record["window_end"] == "2026-11-23T10:01:00+08:00"
    assert waited < 45


NON_CALL_TERMS = {"first-response-30m": "tickets", "updated-4h": "tickets", "availability-1h": "availability",
                  "csat-day": "surveys"}
"""Terms of the demo contract over the families beside calls, whose windows close within the run."""


def totals(url: str, name: str) -> dict[str, float]:
    """The samples of a counter of the demo contract summed by term."""
    text = urllib.request.urlopen(url, timeout=2).read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("contract") == "demo-centre":
                out[sample.labels["term"]] = out.get(sample.labels["term"], 0.0) + sample.value
    return out


def test_demo_runs_every_family_shows_breaches_and_exits_cleanly(tmp_path: Path) -> None:
    """Run from an empty directory: the default contract is the one shipped in the package. Started at 22:30 and
    ten simulated minutes a second, the run sees hourly ticket and availability windows and the first day close."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streams", "demo", "--duration", "75", "--metrics-port", str(port),
                             "--speed", "600", "--start", "2026-11-23T22:30"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/metrics"
    closed: dict[str, float] = {}
    breaches: dict[str, float] = {}
    deadline = time.monotonic() + 72

    def done() -> bool:
        return set(NON_CALL_TERMS) <= set(closed) and breaches.get("answer-rate-15m", 0) > 0 and any(
            breaches.get(t, 0) > 0 for t in NON_CALL_TERMS)

    while time.monotonic() < deadline and not done():
        time.sleep(2)
        try:
            closed = totals(url, "cckpi_windows_closed_total")
            breaches = totals(url, "cckpi_breaches_total")
        except OSError:
            continue
    out, _ = proc.communicate(timeout=120)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text
    assert set(NON_CALL_TERMS) <= set(closed), (closed, text)  # windows of ticket, survey and availability terms
    assert breaches.get("answer-rate-15m", 0) > 0, text
    assert any(breaches.get(t, 0) > 0 for t in NON_CALL_TERMS), (breaches, text)
    assert "breaches: warnings and breaches" in text and "2026-11-2" in text  # the simulated clock
    assert "(final)" not in text and " met (" not in text  # no "final met" breach lines
    assert list(tmp_path.iterdir()) == []  # nothing written to the current directory
    leftovers = subprocess.run(["pgrep", "-f", f"--metrics-port {port}"], capture_output=True, text=True).stdout
    assert leftovers == ""
