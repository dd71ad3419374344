"""Acknowledged publishing to Kafka (aiokafka): every message handed over is acknowledged by the broker, or the
loss is counted and said.

Delivery is checked, not assumed: the producer is idempotent (acks=all; a batch resent after a broker outage is
written once), `AcknowledgedSender.send` hands messages over without waiting for each one and settles their
acknowledgements in order as they arrive, and a message still unacknowledged `delivery_timeout` seconds after it was
sent stops the sending (aiokafka's idempotent producer itself retries a batch for as long as the broker is away); the
caller then raises `DeliveryFailed` with its counts. Used by the simulator and `cckpi replay` (`streams.sim.producer`
paces and counts the events); `publish_records` is the synchronous form (kafka-python) for a command's few records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError

from streams.kafka_io.admin import DEFAULT_LAYOUT, ensure_topics
from streams.kafka_io.connect import BrokerRefused, kafka_client, quiet_kafka_client
from streams.kafka_io.topics import TopicConfigError, TopicLayout

DELIVERY_TIMEOUT = 120.0
"""Default seconds a message may wait for the broker's acknowledgement, retries included (Kafka's own default)."""
CONNECT_TIMEOUT = 10.0
"""Default seconds the broker may take to answer at start."""
RETRY_BACKOFF = 0.1
"""Seconds between two tries of a send that the producer refused at once with a retriable error."""

log = logging.getLogger(__name__)


class SentCounts(Protocol):
    """What a publisher counted, as `DeliveryFailed` says it (e.g. `streams.sim.producer.Published`)."""

    events: int
    bad: int
    """Malformed messages sent on purpose, besides the events."""
    acknowledged: int
    unacknowledged: int
    complete: bool
    """True once every scheduled message was sent."""


class PublishError(Exception):
    """Publishing could not be completed; `str()` is one line for the user and `exit_code` the command's code."""

    exit_code = 1


class BrokerUnavailable(PublishError):
    """No broker answered at start, the address is not one, or the broker refused the security settings (nothing
    was sent): a user error, like a wrong `--broker` or password."""

    exit_code = 2

    @classmethod
    def after(cls, bootstrap: str, timeout: float, cause: BaseException) -> BrokerUnavailable:
        """No answer: say where, for how long, and the client's last error (its first line)."""
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else "no answer"
        if not reason.startswith(type(cause).__name__):
            reason = f"{type(cause).__name__}: {reason}"
        return cls(f"no Kafka broker answered at {bootstrap} within {timeout:g} s ({reason})")


class DeliveryFailed(PublishError):
    """Messages were sent but not acknowledged in time (or refused); `published` has the counts."""

    def __init__(self, published: SentCounts, timeout: float) -> None:
        """Count what was lost, out of what was sent."""
        self.published = published
        sent = published.events + published.bad
        what = "events" if not published.bad else "messages (events and malformed ones)"
        rest = "" if published.complete else "; sending stopped there, later ones were not sent"
        super().__init__(f"{published.unacknowledged:,} of {sent:,} {what} sent were not acknowledged by the broker "
                         f"within {timeout:g} s (--delivery-timeout) and may be missing; "
                         f"{published.acknowledged:,} were acknowledged{rest}")


class Deliveries:
    """The delivery futures of sent messages, oldest first, settled in order as the broker acknowledges them (the
    send loop never waits on one message); the oldest unsettled one being older than `timeout` means give up."""

    def __init__(self, timeout: float) -> None:
        """Nothing pending yet."""
        self.timeout = timeout
        self.pending: deque[tuple[float, asyncio.Future[Any]]] = deque()
        self.acked = 0
        self.failed = 0

    def add(self, future: asyncio.Future[Any]) -> None:
        """A message was handed to the producer now."""
        self.pending.append((time.monotonic(), future))

    def settle(self) -> None:
        """Count the finished deliveries at the head of the queue (cheap enough to call after every send)."""
        pending = self.pending
        while pending and pending[0][1].done():
            self._count(pending.popleft()[1])

    def _count(self, future: asyncio.Future[Any]) -> None:
        """Count one finished delivery (reading its exception, so asyncio never reports it as unretrieved)."""
        if future.cancelled() or future.exception() is not None:
            self.failed += 1
        else:
            self.acked += 1

    def overdue(self) -> bool:
        """True when the oldest unsettled message has waited longer than the timeout."""
        return bool(self.pending) and time.monotonic() - self.pending[0][0] > self.timeout

    def stuck(self) -> bool:
        """True when sending more is pointless: a delivery failed or is overdue (a failed batch leaves a gap in the
        idempotent producer's sequence numbers, so the batches after it fail as well)."""
        return self.failed > 0 or self.overdue()

    async def drain(self) -> None:
        """Wait until every delivery is settled, or one failed, or the oldest unsettled one is overdue."""
        while True:
            self.settle()
            if not self.pending or self.stuck():
                return
            left = self.pending[0][0] + self.timeout - time.monotonic()
            await asyncio.wait([future for _, future in self.pending], timeout=max(left, 0.0) + 0.01,
                               return_when=asyncio.FIRST_EXCEPTION)

    def give_up(self) -> None:
        """Count everything still pending: finished ones as they ended, the others as unacknowledged."""
        for _, future in self.pending:
            if future.done():
                self._count(future)
            else:
                self.failed += 1
        self.pending.clear()


class AcknowledgedSender:
    """An idempotent producer whose every send is tracked until the broker acknowledges it (see the module)."""

    def __init__(self, producer: AIOKafkaProducer, delivery_timeout: float) -> None:
        """Track the sends of a started producer."""
        self.producer = producer
        self.deliveries = Deliveries(delivery_timeout)

    async def send(self, topic: str, key: bytes, value: bytes) -> bool:
        """Hand one message over; False when sending more is pointless (it never got in, a delivery failed or is
        overdue)."""
        sent = await _send(self.producer, self.deliveries, topic, key, value)
        self.deliveries.settle()
        return sent and not self.deliveries.stuck()

    async def drain(self) -> None:
        """Wait until every message is acknowledged, or one failed, or the oldest unacknowledged one is overdue."""
        await self.deliveries.drain()

    @property
    def acknowledged(self) -> int:
        """Messages the broker acknowledged (all known once the sender is closed)."""
        return self.deliveries.acked

    @property
    def unacknowledged(self) -> int:
        """Messages not acknowledged in time, or refused (all known once the sender is closed)."""
        return self.deliveries.failed

    async def close(self) -> None:
        """Count what is still pending as unacknowledged and stop the producer (flushing only when nothing failed)."""
        self.deliveries.give_up()  # nothing left after a complete drain; after an error, what was not acknowledged
        await _shut(self.producer, grace=0.0 if self.deliveries.failed else self.deliveries.timeout)


@contextlib.asynccontextmanager
async def acknowledged_sender(bootstrap: str, names: list[str], delivery_timeout: float = DELIVERY_TIMEOUT,
                              connect_timeout: float = CONNECT_TIMEOUT, layout: TopicLayout = DEFAULT_LAYOUT
                              ) -> AsyncIterator[AcknowledgedSender]:
    """A sender to the topics `names` (created first with `layout` if missing), closed on exit; raises
    BrokerUnavailable if no broker answers within `connect_timeout` seconds or refuses a topic (nothing is sent)."""
    sender = AcknowledgedSender(await _connect(bootstrap, names, delivery_timeout, connect_timeout, layout),
                                delivery_timeout)
    try:
        yield sender
    finally:
        await sender.close()


async def _connect(bootstrap: str, names: list[str], delivery_timeout: float,
                   connect_timeout: float, layout: TopicLayout = DEFAULT_LAYOUT) -> AIOKafkaProducer:
    """Create the topics and start an idempotent producer that knows their partitions, or raise BrokerUnavailable."""
    _check_address(bootstrap)
    try:
        async with asyncio.timeout(connect_timeout + 5.0):  # ensure_topics' own retries end first, with the reason
            await ensure_topics(bootstrap, names, layout, timeout=connect_timeout)
            try:
                producer = await _start_producer(bootstrap, names, delivery_timeout, idempotent=True)
            except KafkaError as exc:  # e.g. tansu, the demo's broker, has no InitProducerId
                log.warning("the broker refused an idempotent producer (%r): sending with acks=all and retries; "
                            "a resent event is counted once by its event id", exc)
                producer = await _start_producer(bootstrap, names, delivery_timeout, idempotent=False)
    except TopicConfigError as exc:  # e.g. more replicas asked than there are brokers
        raise BrokerUnavailable(str(exc)) from None
    except BrokerRefused as exc:
        raise BrokerUnavailable(str(exc)) from None
    except (KafkaError, OSError, ValueError) as exc:  # TimeoutError is an OSError
        raise BrokerUnavailable.after(bootstrap, connect_timeout, exc) from None
    return producer


async def _start_producer(bootstrap: str, names: list[str], delivery_timeout: float,
                          idempotent: bool) -> AIOKafkaProducer:
    """A started acks=all producer that already knows the partitions of `names`."""
    producer = kafka_client(AIOKafkaProducer, bootstrap, acks="all", enable_idempotence=idempotent, linger_ms=5,
                            request_timeout_ms=_request_timeout_ms(delivery_timeout))
    try:
        await producer.start()
        for name in names:  # so that a send during an outage never waits for a topic's metadata
            await producer.partitions_for(name)
    except BaseException:
        await producer.stop()
        raise
    return producer


def _check_address(bootstrap: str) -> None:
    """Raise BrokerUnavailable unless `bootstrap` is a comma-separated list of `host[:port]` (no point retrying)."""
    for server in bootstrap.split(","):
        host, colon, port = server.strip().rpartition(":") if ":" in server else (server.strip(), "", "")
        if not host.strip("[]") or (colon and not (port.isdigit() and 0 < int(port) < 65536)):
            raise BrokerUnavailable(f"not a broker address: {bootstrap!r} (expected host:port, comma-separated)")


def _request_timeout_ms(delivery_timeout: float) -> int:
    """aiokafka's request timeout, a little past the delivery timeout. It is also how long a batch may wait while
    its partition has no known leader (the broker is away) before aiokafka fails it, even when idempotent; and such a
    failure leaves a gap in the producer's sequence numbers that makes every later batch fail too. So no batch may
    expire before the delivery deadline; the deadline itself is kept by `Deliveries`."""
    return int((max(delivery_timeout, 1.0) + 1.0) * 1000)


async def _send(producer: AIOKafkaProducer, deliveries: Deliveries, topic: str, key: bytes, value: bytes) -> bool:
    """Hand one message to the producer, retrying while its buffer stays full (the broker is away) until the
    delivery deadline; False (and the message counted as unacknowledged) if it never got in."""
    deadline = time.monotonic() + deliveries.timeout
    while True:
        try:
            deliveries.add(await producer.send(topic, key=key, value=value))
            return True
        except KafkaError as exc:
            deliveries.settle()
            if not (isinstance(exc, KafkaTimeoutError) or exc.retriable) or time.monotonic() >= deadline \
                    or deliveries.stuck():
                deliveries.failed += 1
                return False
            if not isinstance(exc, KafkaTimeoutError):
                await asyncio.sleep(RETRY_BACKOFF)  # an error raised at once: no busy loop


async def _shut(producer: AIOKafkaProducer, grace: float) -> None:
    """Stop the producer, letting it flush for at most `grace` seconds. Past that its sender task is cancelled
    first: aiokafka's idempotent producer retries unacknowledged batches for ever, so `stop()` alone would wait
    for as long as the broker is away."""
    stopping = asyncio.ensure_future(producer.stop())
    await asyncio.wait([stopping], timeout=grace)
    if not stopping.done():
        sender = producer._sender.sender_task
        if sender is not None:
            sender.cancel()
    await stopping


def publish_records(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]],
                    timeout: float = CONNECT_TIMEOUT) -> int:
    """Send (key, value) messages to `topic` (created first if missing) with acks=all, synchronously, and wait until
    the broker acknowledged them all; return how many. Raises kafka-python's KafkaError when no broker answers or a
    message is not acknowledged within `timeout` seconds, BrokerRefused when the broker refuses the address's
    security settings."""
    from kafka import KafkaProducer  # imported here: slow, and only this path needs it

    with quiet_kafka_client():
        asyncio.run(ensure_topics(bootstrap, [topic], timeout=timeout))
        producer = kafka_client(KafkaProducer, bootstrap, acks="all", bootstrap_timeout_ms=int(timeout * 1000))
        try:
            futures = [producer.send(topic, key=key, value=value) for key, value in records]
            producer.flush(timeout=timeout)
            for future in futures:
                future.get(timeout=timeout)
            return len(futures)
        finally:
            producer.close(timeout=timeout)
