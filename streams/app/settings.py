"""Settings of one worker process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker connects, partitions, batches and reports."""

    broker: str = "kafka://127.0.0.1:9092"
    app_id: str = "cckpi"
    partitions: int = 4
    metrics_port: int | None = None
    metrics_addr: str = "127.0.0.1"
    store: str = "memory://"
    datadir: Path = Path(".cache/faust")
    idle_after: float = 10.0
    """Wall seconds without events after which a scope's clock follows the wall clock."""
    tick_interval: float = 1.0
    max_future: float = 7 * 86400.0
    """Events stamped further than this ahead of the worker clock are dead-lettered, not trusted."""
    batch_max: int = 5000
    batch_within: float = 0.05
    log_level: str = "warning"
    alertmanager_url: str | None = None
    """Post breach lifecycle alerts to this Alertmanager (e.g. http://127.0.0.1:9093)."""
    dashboard_url: str | None = None
    """Grafana dashboard linked from alerts (e.g. http://grafana:3000/d/cckpi-operations)."""
    session_timeout: float = 10.0
    """Seconds before a silent worker's partitions move to another; also bounds a rebalance."""


def bootstrap_servers(url: str) -> str:
    """`kafka://h1:9092;h2:9092` or `h1:9092,h2:9092` -> `h1:9092,h2:9092` for Kafka clients."""
    return url.removeprefix("kafka://").replace(";", ",")


def broker_url(url: str) -> str:
    """The Faust form of a broker address: `kafka://host:port`."""
    return url if "://" in url else "kafka://" + url
