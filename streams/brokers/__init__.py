"""Local Kafka brokers for demos and tests: real Apache Kafka from Maven jars, and tansu.

``ApacheKafkaBroker`` (tests, faithful) and ``TansuBroker`` (no Java needed) share the ``LocalBroker``
interface: ``start()``/``stop()`` or ``with``, then ``.bootstrap`` for Kafka clients and ``.url`` for Faust.
"""

from __future__ import annotations

import logging

from streams.brokers.apache import (
    KAFKA_VERSION,
    ApacheKafkaBroker,
    ensure_kafka_jars,
    java_executable,
    kafka_home,
    kafka_jars_ready,
)
from streams.brokers.base import (
    BrokerError,
    BrokerStartError,
    LocalBroker,
    free_port,
    probe_metadata,
    wait_for_metadata,
)
from streams.brokers.tansu import TansuBroker, tansu_binary

__all__ = [
    "KAFKA_VERSION",
    "ApacheKafkaBroker",
    "BrokerError",
    "BrokerStartError",
    "LocalBroker",
    "TansuBroker",
    "ensure_kafka_jars",
    "free_port",
    "java_executable",
    "kafka_home",
    "kafka_jars_ready",
    "probe_metadata",
    "start_best_broker",
    "tansu_binary",
    "wait_for_metadata",
]

log = logging.getLogger(__name__)


def start_best_broker(
    port: int | None = None,
    *,
    prefer: str = "kafka",
    num_partitions: int = 1,
    assemble_timeout: float = 300.0,
) -> LocalBroker:
    """Start and return real Apache Kafka if Java and its jars are (or can be made) available, else tansu.

    ``prefer="tansu"`` skips Kafka; ``prefer="kafka-only"`` raises instead of falling back.
    """
    if prefer not in ("kafka", "kafka-only", "tansu"):
        raise ValueError(f"prefer must be 'kafka', 'kafka-only' or 'tansu', not {prefer!r}")
    if prefer != "tansu":
        try:
            if java_executable() is None:
                raise BrokerError("java not found")
            ensure_kafka_jars(timeout=assemble_timeout)
            return ApacheKafkaBroker(port, num_partitions=num_partitions).start()
        except BrokerError as exc:
            if prefer == "kafka-only":
                raise
            log.warning("Apache Kafka unavailable (%s); falling back to tansu", str(exc).splitlines()[0])
    return TansuBroker(port).start()
