"""Local Kafka brokers for tests and the benchmark: real Apache Kafka from Maven jars, and tansu (the demo's broker).

A developer's tool of the repository, not shipped in the `cckpi` package (`streams` never imports it; an
import-linter contract checks). ``ApacheKafkaBroker`` (faithful) and ``TansuBroker`` share the ``LocalBroker``
interface: ``start()``/``stop()``/``restart()`` or ``with``, then ``.bootstrap`` for Kafka clients and ``.url`` for
Faust.
"""

from __future__ import annotations

from tools.brokers.apache import (
    KAFKA_VERSION,
    ApacheKafkaBroker,
    ensure_kafka_jars,
    java_executable,
    kafka_home,
    kafka_jars_ready,
)
from tools.brokers.base import (
    BrokerError,
    BrokerStartError,
    LocalBroker,
    free_port,
    probe_metadata,
    wait_for_metadata,
)
from tools.brokers.tansu import TansuBroker, tansu_binary

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
    "tansu_binary",
    "wait_for_metadata",
]
