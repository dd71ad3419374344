"""The idle timer closes a quiet queue's window on a real broker; `cckpi demo` runs end to end, from any
directory."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def test_demo_runs_shows_breaches_and_exits_cleanly(tmp_path: Path) -> None:
    """Run from an empty directory: the default contract is the one shipped in the package."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streams", "demo", "--duration", "90", "--metrics-port", str(port)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/metrics"
    breaches, gauge = 0.0, None
    deadline = time.monotonic() + 85
    while time.monotonic() < deadline and not (breaches > 0 and gauge is not None):
        time.sleep(2)
        try:
            gauge = metric(url, "cckpi_answer_rate_ratio", contract="demo", term="answer-rate-15m", scope="general",
                           window="last_closed")
            breaches = sum(metric(url, "cckpi_breaches_total", contract="demo", term="answer-rate-15m", scope=q) or 0
                           for q in ("general", "cards"))
        except OSError:
            continue
    out, _ = proc.communicate(timeout=120)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text
    assert gauge is not None and breaches > 0, text
    assert "latest breaches" in text
    assert list(tmp_path.iterdir()) == []  # nothing written to the current directory
    leftovers = subprocess.run(["pgrep", "-f", f"--metrics-port {port}"], capture_output=True, text=True).stdout
    assert leftovers == ""
