"""Settings of one worker process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from streams.kafka_io.connect import KafkaAddress, bootstrap_servers
from streams.kafka_io.security import PLAINTEXT, KafkaSecurity
from streams.kafka_io.topics import DEAD_LETTER_RETENTION_MS, DEFAULT_REPLICATION, TopicLayout

MAX_FUTURE_SECONDS = 60.0
"""Default tolerance for events stamped ahead of the worker clock: well below the shortest grace of the examples
(2 minutes by default) and any retention, so one event stamped ahead can close windows at most this early."""


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker connects, partitions, batches and reports."""

    broker: str = "kafka://127.0.0.1:9092"
    kafka_security: KafkaSecurity = PLAINTEXT
    """How every Kafka client of the worker (Faust's included) authenticates and encrypts."""
    app_id: str = "cckpi"
    partitions: int = 4
    replication_factor: int = DEFAULT_REPLICATION
    """Replicas of every topic the worker creates (changelogs included); above 1, `min.insync.replicas` is set."""
    dead_letter_retention_ms: int = DEAD_LETTER_RETENTION_MS
    metrics_port: int | None = None
    metrics_addr: str = "127.0.0.1"
    store: str = "memory://"
    datadir: Path = Path(".cache/faust")
    idle_after: float = 10.0
    """Wall seconds without events after which a scope's clock follows the wall clock."""
    tick_interval: float = 1.0
    max_future: float = MAX_FUTURE_SECONDS
    """Events stamped further than this ahead of the worker clock are dead-lettered, not trusted (they would move
    their scope's watermark, closing windows that real-time events still belong to)."""
    batch_max: int = 20000
    batch_within: float = 0.05
    log_level: str = "warning"
    log_format: str = "text"
    """`text` or `json` (one JSON object per line; see `streams.app.process.JsonFormatter`)."""
    alertmanager_url: str | None = None
    """Post breach lifecycle alerts to this Alertmanager (e.g. http://127.0.0.1:9093)."""
    dashboard_url: str | None = None
    """Grafana dashboard linked from alerts (e.g. http://grafana:3000/d/cckpi-operations)."""
    broker_wait: float = 30.0
    """Seconds to wait at start for the broker to answer; then the worker gives up (one line, exit 2)."""
    session_timeout: float = 10.0
    """Seconds before a silent worker's partitions move to another; also bounds a rebalance."""

    def bootstrap(self) -> KafkaAddress:
        """The broker's bootstrap servers, carrying `kafka_security` to every client built from them."""
        return bootstrap_servers(self.broker, self.kafka_security)

    def topic_layout(self) -> TopicLayout:
        """How the worker creates its topics (see `streams.kafka_io.topics.topic_spec`)."""
        return TopicLayout(self.partitions, self.replication_factor, self.dead_letter_retention_ms)


def span_text(seconds: float) -> str:
    """A span as people read it in a dead letter's reason: `45 s`, `5.5 min`, `3.2 h`, `6.0 days`."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"

