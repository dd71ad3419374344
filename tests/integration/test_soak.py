"""Short soak: one worker under steady simulated traffic for 80 s on a broker of its own.

Measured, not timed: once windows close and their state expires (15-minute and hourly windows with 30 minutes of
retention; 8 simulated minutes pass per wall second, so about 10 simulated hours in all), the worker's RSS must
stay in a band and stop trending up, the consumer lag must not build up while traffic flows, and it must drain
to ~0 when the traffic stops. `make soak` is the 30-minute version (bench/soak.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench import soak, steady
from tools.brokers import ApacheKafkaBroker, ensure_kafka_jars

CONTRACT = """\
id: soak
name: Soak test contract (short windows and retention, so state turns over within a minute of traffic)
timezone: UTC
scope:
  queues: [q1, q2, q3]
terms:
  - {id: answer-rate-15m, description: answer rate, kpi: answer_rate, threshold: 0.9, window: 15m, grace: 1m,
     retention: 30m, min_volume: 5}
  - {id: service-level-20s-15m, description: service level, kpi: service_level, answer_within_seconds: 20,
     threshold: 0.8, window: 15m, grace: 1m, retention: 30m, min_volume: 5}
  - {id: asa-1h, description: speed of answer, kpi: asa, threshold: 30, window: 1h, grace: 1m, retention: 30m,
     min_volume: 5}
  - {id: talk-time-1h, description: talk time, kpi: avg_talk_time, threshold: 240, window: 1h, grace: 1m,
     retention: 30m, min_volume: 5}
"""
SECONDS = 80.0
RATE = 500.0
SPEED = 480.0
WARMUP = 40.0
"""Wall seconds before state can be steady: the longest window, grace and retention (1h31m) is 11 s at SPEED; the
rest is margin (measured here: RSS flat within 1 MiB from about 40 s on; a leak of a few hundred bytes per event
would add ~10 MiB a minute)."""


@pytest.fixture(scope="module")
def own_broker() -> Iterator[ApacheKafkaBroker]:
    """A broker for this test alone: the soak's lag and memory must not depend on other tests' traffic."""
    ensure_kafka_jars()
    broker = ApacheKafkaBroker(num_partitions=4)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_soak_memory_bounded_and_lag_drains(own_broker: ApacheKafkaBroker, tmp_path: Path) -> None:
    contract = tmp_path / "soak.yaml"
    contract.write_text(CONTRACT)
    start = (datetime.now(UTC) - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    plan = steady.Plan(["q1", "q2", "q3"], RATE, SECONDS, SPEED, start)
    run = soak.soak(own_broker.bootstrap, tmp_path, plan, every=2.0, contract=contract, max_drained_lag=50,
                    drain_timeout=60.0)
    result = soak.analyse(run, max_slope_mib_per_min=4.0, max_drained_lag=50)
    steady_rss = [s.rss for s in run.samples if WARMUP <= s.t <= run.seconds]
    summary = {k: v for k, v in result.items() if k != "samples"}

    assert run.events > RATE * SECONDS * 0.5, summary  # the traffic really flowed
    assert not run.dead_letters, summary  # and was measured, not rejected
    assert len(steady_rss) >= 10, summary
    # Memory: after warm-up, the worker's RSS stays within a band, and does not trend upwards.
    assert max(steady_rss) - steady_rss[0] < 16 * 2**20, (steady_rss, summary)
    assert result["rss_slope_second_half_mib_per_min"] < 4.0, summary
    # Lag: does not build up while traffic flows, and returns to ~0 once it stops.
    assert result["lag_slope_second_half_per_s"] < 0.02 * RATE, summary
    assert result["drained_lag"] is not None and result["drained_lag"] <= 50, summary
    assert result["passed"], summary
