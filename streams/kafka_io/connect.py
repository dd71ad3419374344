"""Kafka clients, built in one place from a broker address and its `KafkaSecurity`; addresses as users write them,
turned into what the clients and Faust expect; why a broker refuses a client; the clients' logging."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from streams.kafka_io.security import PLAINTEXT, KafkaSecurity, client_options

Client = TypeVar("Client")
REFUSED = ("SaslAuthenticationFailed", "AuthenticationFailedError", "UnsupportedSaslMechanismError",
           "IllegalSaslStateError")
"""aiokafka errors that mean the broker refused the credentials (retrying does not help)."""
CLIENT_LOGGERS = ("aiokafka", "kafka")
"""The Kafka clients' loggers (aiokafka's, kafka-python's)."""


class KafkaAddress(str):
    """Bootstrap servers (`h1:9092,h2:9092`) that carry the `KafkaSecurity` to connect with. Every function taking
    a bootstrap address builds its clients with `kafka_client`, so the settings follow the address wherever it is
    passed, with no parameter of their own; a plain `str` address means PLAINTEXT."""

    security: KafkaSecurity

    def __new__(cls, servers: str, security: KafkaSecurity = PLAINTEXT) -> KafkaAddress:
        """The servers as given, with their security settings."""
        address = super().__new__(cls, servers)
        address.security = security
        return address

    def __repr__(self) -> str:
        """The servers and the settings (secrets redacted)."""
        return f"KafkaAddress({str(self)!r}, {self.security!r})"


def security_of(bootstrap: str) -> KafkaSecurity:
    """The security settings an address carries (PLAINTEXT for a plain `str`)."""
    return bootstrap.security if isinstance(bootstrap, KafkaAddress) else PLAINTEXT


def bootstrap_servers(url: str, security: KafkaSecurity | None = None) -> KafkaAddress:
    """`kafka://h1:9092;h2:9092` or `h1:9092,h2:9092` -> `h1:9092,h2:9092` for Kafka clients, with `security`
    (None: the settings `url` carries already, if any)."""
    return KafkaAddress(url.removeprefix("kafka://").replace(";", ","), security or security_of(url))


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


def kafka_client(client: Callable[..., Client], bootstrap: str, *topics: str, **options: Any) -> Client:
    """A client of either library (aiokafka's producer, consumer or admin client; kafka-python's producer or
    consumer) at `bootstrap`, secured as it says (`security_of`): the one place cckpi's Kafka clients are made."""
    return client(*topics, bootstrap_servers=str(bootstrap), **client_options(security_of(bootstrap)), **options)


class BrokerRefused(Exception):
    """A broker answered but refused this client (credentials, a certificate not trusted, or the wrong security
    protocol for its listener): retrying does not help. `str()` is one line."""


async def refusal(bootstrap: str, timeout: float = 5.0) -> BrokerRefused | None:
    """Why the first broker of `bootstrap` refuses a client with its settings, or None when it accepts it or does
    not answer at all (it may be starting): one connection, authenticated and asked for metadata. Called after a
    client failed to start, since the clients themselves only say that they could not bootstrap."""
    from aiokafka.conn import create_conn
    from aiokafka.errors import KafkaConnectionError, KafkaError
    from aiokafka.protocol.metadata import MetadataRequest

    security = security_of(bootstrap)
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    how = f"the Kafka broker at {host}:{port} refused the connection ({security.describe()})"
    try:
        async with asyncio.timeout(timeout):
            conn = await create_conn(host.strip("[]"), int(port), request_timeout_ms=int(timeout * 1000),
                                     **client_options(security))
            try:
                await conn.send(MetadataRequest([]))
            finally:
                conn.close()
    except ssl.SSLError as exc:
        detail = getattr(exc, "verify_message", None)
        return BrokerRefused(f"{how}: TLS: {exc.reason or exc}" + (f" ({detail})" if detail else ""))
    except KafkaError as exc:
        if type(exc).__name__ in REFUSED:
            return BrokerRefused(f"{how}: {_first_line(exc)}")
        if isinstance(exc, KafkaConnectionError) and "closed" in str(exc):
            return BrokerRefused(f"{how}: it closed the connection at once; does this listener expect another "
                                 f"security protocol (TLS or SASL)?")
    except (OSError, TimeoutError, ValueError):
        pass
    return None


def _first_line(exc: BaseException) -> str:
    """The first line of an error's text (aiokafka's start with `[Error nn] Name:`, left out)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(": ", 1)[1] if text.startswith("[Error") and ": " in text else text
