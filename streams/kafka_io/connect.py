"""Broker addresses as users write them, turned into what Kafka clients and Faust expect; the clients' logging."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

CLIENT_LOGGERS = ("aiokafka", "kafka")
"""The Kafka clients' loggers (aiokafka's, kafka-python's)."""


def bootstrap_servers(url: str) -> str:
    """`kafka://h1:9092;h2:9092` or `h1:9092,h2:9092` -> `h1:9092,h2:9092` for Kafka clients."""
    return url.removeprefix("kafka://").replace(";", ",")


def broker_url(url: str) -> str:
    """The Faust form of a broker address: `kafka://host:port`."""
    return url if "://" in url else "kafka://" + url


@contextlib.contextmanager
def quiet_kafka_client() -> Iterator[None]:
    """Silence the Kafka clients' own logging meanwhile: while a broker is away they log every reconnect attempt
    (ten a second), and the command reports the outcome itself, once."""
    clients = [logging.getLogger(name) for name in CLIENT_LOGGERS]
    levels = [client.level for client in clients]
    for client in clients:
        client.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for client, level in zip(clients, levels, strict=True):
            client.setLevel(level)
