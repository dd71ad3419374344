"""Shared pytest fixtures: real brokers started once per session on free loopback ports.

Tests that use ``kafka_broker`` or ``tansu_broker`` (and everything under tests/integration) are marked
``integration`` automatically, so ``pytest -m "not integration"`` runs without Java or Maven.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.brokers import ApacheKafkaBroker, TansuBroker, ensure_kafka_jars

_BROKER_FIXTURES = frozenset({"kafka_broker", "tansu_broker"})
_INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests that need a broker, or live in tests/integration, as ``integration``."""
    for item in items:
        in_dir = _INTEGRATION_DIR in Path(str(item.path)).parents
        if in_dir or _BROKER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[ApacheKafkaBroker]:
    """A real Apache Kafka 4.1 broker (never tansu) shared by the whole session; jars assembled if missing."""
    ensure_kafka_jars()
    broker = ApacheKafkaBroker(num_partitions=1)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def tansu_broker() -> Iterator[TansuBroker]:
    """A tansu broker (memory storage) shared by the whole session, for demo-path tests."""
    with TansuBroker() as broker:
        yield broker
