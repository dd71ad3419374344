"""Publishing events to Kafka at a chosen speed, with optional bad and late messages.

Used by the simulator (call events on one topic) and by `cckpi replay` (events of any family, each family on its
own topic). Every message is keyed by `routing_key(event)`, so all events of a queue, ticket or service share a
partition and keep their order.

Delivery is checked, not assumed: the producer is idempotent (acks=all; a batch resent after a broker outage is
written once), the send loop hands messages over without waiting for each one and settles their acknowledgements in
order as they arrive, and a message still unacknowledged `delivery_timeout` seconds after it was sent stops the run
with `DeliveryFailed` (aiokafka's idempotent producer itself retries a batch for as long as the broker is away).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError

from streams.app import topics
from streams.app.admin import ensure_topics
from streams.models.decode import encode_event
from streams.models.events import (
    AgentEventBase,
    CallEventBase,
    Event,
    SurveySubmitted,
    TicketEventBase,
    routing_key,
)

TopicChooser = Callable[[Event], str]
"""Picks the topic an event is published to."""

DELIVERY_TIMEOUT = 120.0
"""Default seconds a message may wait for the broker's acknowledgement, retries included (Kafka's own default)."""
CONNECT_TIMEOUT = 10.0
"""Default seconds the broker may take to answer at start."""
BAD_MESSAGE = b'{"type": "call.answered", "oops": 1}'
"""What a malformed message looks like (not a valid event of any type)."""
RETRY_BACKOFF = 0.1
"""Seconds between two tries of a send that the producer refused at once with a retriable error."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pacing:
    """How fast to publish: `speed` source seconds per wall second (None: as fast as possible)."""

    speed: float | None = 60.0
    bad_every: int = 0
    """Every n-th message is replaced by a malformed one (0: never), to exercise the dead-letter path."""
    late_every: int = 0
    """Every n-th event is held back and published `late_by` simulated seconds later (0: never)."""
    late_by: float = 1200.0


@dataclass
class Published:
    """Counts of what was sent."""

    events: int = 0
    bad: int = 0
    late: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)
    """Events sent per topic."""
    source_time: float | None = None
    """Event time (epoch seconds) of the last event sent."""
    acknowledged: int = 0
    """Messages (events and malformed ones) the broker acknowledged; known at the end."""
    unacknowledged: int = 0
    """Messages sent (or refused by a full buffer) that the broker did not acknowledge in time; known at the end."""
    complete: bool = False
    """True once every scheduled message was sent (False: sending stopped early, at a delivery failure)."""


class PublishError(Exception):
    """Publishing could not be completed; `str()` is one line for the user and `exit_code` the command's code."""

    exit_code = 1


class BrokerUnavailable(PublishError):
    """No broker answered at start, or the address is not one (nothing was sent): a user error, like a wrong
    `--broker`."""

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

    def __init__(self, published: Published, timeout: float) -> None:
        """Count what was lost, out of what was sent."""
        self.published = published
        sent = published.events + published.bad
        what = "events" if not published.bad else "messages (events and malformed ones)"
        rest = "" if published.complete else "; sending stopped there, later ones were not sent"
        super().__init__(f"{published.unacknowledged:,} of {sent:,} {what} sent were not acknowledged by the broker "
                         f"within {timeout:g} s (--delivery-timeout) and may be missing; "
                         f"{published.acknowledged:,} were acknowledged{rest}")


def topic_for(event: Event) -> str:
    """The topic of an event's family: calls (and agent states), tickets, surveys or availability."""
    if isinstance(event, CallEventBase | AgentEventBase):
        return topics.CALLS
    if isinstance(event, TicketEventBase):
        return topics.TICKETS
    if isinstance(event, SurveySubmitted):
        return topics.SURVEYS
    return topics.AVAILABILITY


def _schedule(events: Iterable[Event], pacing: Pacing) -> Iterable[tuple[float, Event | None]]:
    """(source publish time, event) in publish order; None marks a malformed message."""
    held: list[tuple[float, int, Event]] = []
    for n, event in enumerate(events, 1):
        t = event.occurred_at.timestamp()
        while held and held[0][0] <= t:
            yield held[0][0], heapq.heappop(held)[2]
        if pacing.bad_every and n % pacing.bad_every == 0:
            yield t, None
        if pacing.late_every and n % pacing.late_every == 0 and event.type != "call.offered":
            heapq.heappush(held, (t + pacing.late_by, n, event))
            continue
        yield t, event
    while held:
        yield held[0][0], heapq.heappop(held)[2]


class _Deliveries:
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


async def publish(events: Iterable[Event], bootstrap: str, topic: str | TopicChooser, pacing: Pacing,
                  on_sent: Callable[[Published], None] | None = None, *, report_every: int = 100,
                  delivery_timeout: float = DELIVERY_TIMEOUT, connect_timeout: float = CONNECT_TIMEOUT) -> Published:
    """Send events keyed by their routing key to `topic` (a name, or a function of the event); return once the
    broker has acknowledged every one of them.

    Events are paced to the wall clock unless `pacing.speed` is None. Topics are created first: the named one, or
    every event topic when a chooser is given. `on_sent` is called every `report_every` events and at the end.
    Raises BrokerUnavailable if no broker answers within `connect_timeout` seconds at start, and DeliveryFailed when
    a message is not acknowledged within `delivery_timeout` seconds of being sent, retries included (sending stops).
    """
    choose: TopicChooser = (lambda _event: topic) if isinstance(topic, str) else topic
    names = [topic] if isinstance(topic, str) else list(topics.EVENT_TOPICS)
    producer = await _connect(bootstrap, names, delivery_timeout, connect_timeout)
    deliveries = _Deliveries(delivery_timeout)
    counts = Published()
    try:
        counts.complete = await _send_all(producer, deliveries, _schedule(events, pacing), choose, names[0],
                                          pacing, counts, on_sent, report_every)
        await deliveries.drain()
    finally:
        deliveries.give_up()  # nothing left after a complete drain; after an error, what was not acknowledged
        await _shut(producer, grace=0.0 if deliveries.failed else delivery_timeout)
        counts.acknowledged, counts.unacknowledged = deliveries.acked, deliveries.failed
    if on_sent is not None:
        on_sent(counts)
    if counts.unacknowledged:
        raise DeliveryFailed(counts, delivery_timeout)
    return counts


async def _connect(bootstrap: str, names: list[str], delivery_timeout: float,
                   connect_timeout: float) -> AIOKafkaProducer:
    """Create the topics and start an idempotent producer that knows their partitions, or raise BrokerUnavailable."""
    _check_address(bootstrap)
    try:
        async with asyncio.timeout(connect_timeout + 5.0):  # ensure_topics' own retries end first, with the reason
            await ensure_topics(bootstrap, names, timeout=connect_timeout)
            try:
                producer = await _start_producer(bootstrap, names, delivery_timeout, idempotent=True)
            except KafkaError as exc:  # e.g. tansu, the demo's broker, has no InitProducerId
                log.warning("the broker refused an idempotent producer (%r): sending with acks=all and retries; "
                            "a resent event is counted once by its event id", exc)
                producer = await _start_producer(bootstrap, names, delivery_timeout, idempotent=False)
    except (KafkaError, OSError, ValueError) as exc:  # TimeoutError is an OSError
        raise BrokerUnavailable.after(bootstrap, connect_timeout, exc) from None
    return producer


async def _start_producer(bootstrap: str, names: list[str], delivery_timeout: float,
                          idempotent: bool) -> AIOKafkaProducer:
    """A started acks=all producer that already knows the partitions of `names`."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=idempotent,
                                linger_ms=5, request_timeout_ms=_request_timeout_ms(delivery_timeout))
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
    expire before the delivery deadline; the deadline itself is kept by `_Deliveries`."""
    return int((max(delivery_timeout, 1.0) + 1.0) * 1000)


async def _send_all(producer: AIOKafkaProducer, deliveries: _Deliveries,
                    schedule: Iterable[tuple[float, Event | None]], choose: TopicChooser, first_topic: str,
                    pacing: Pacing, counts: Published, on_sent: Callable[[Published], None] | None,
                    report_every: int) -> bool:
    """Send the scheduled messages in order, paced; stop early (False) when a delivery is overdue or a send is
    refused; True when all were sent."""
    sim0: float | None = None
    wall0 = time.monotonic()
    last_key, last_topic = "unknown", first_topic
    for sim_t, event in schedule:
        if pacing.speed:
            sim0 = sim_t if sim0 is None else sim0
            delay = wall0 + (sim_t - sim0) / pacing.speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if event is not None:
            last_key, last_topic = routing_key(event), choose(event)
        value = BAD_MESSAGE if event is None else encode_event(event)
        sent = await _send(producer, deliveries, last_topic, last_key.encode(), value)
        if event is None:
            counts.bad += 1
        else:
            counts.events += 1
            counts.by_topic[last_topic] = counts.by_topic.get(last_topic, 0) + 1
            counts.source_time = sim_t
            counts.late += int(event.occurred_at.timestamp() < sim_t)
            if on_sent is not None and counts.events % report_every == 0:
                on_sent(counts)
        deliveries.settle()
        if not sent or deliveries.stuck():
            return False
    return True


async def _send(producer: AIOKafkaProducer, deliveries: _Deliveries, topic: str, key: bytes, value: bytes) -> bool:
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
