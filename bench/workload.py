"""The benchmark workload: the anonymous-bank 1999 months as cckpi call events, produced once at full speed.

The base stream is the adapter's output (about 0.85 million events). Larger workloads (the RSS run up to 5
million) append copies shifted by whole 52-week steps in event time, with their own call and event ids, so each
copy is new traffic in later years, still in event-time order, on the same weekdays.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from streams.adapters import ReadStats, adapter_for
from streams.models.decode import encode_event
from streams.models.families import routing_key

DATA_ENV = "CCKPI_DATA_DIR"
"""Environment variable naming the folder of the real data sets (anonymous-bank-1999/, asterisk-queue-log/,
servicenow-incidents/); by default `../shared/data` relative to the repository root."""


def data_dir() -> Path:
    """The folder of the real data sets: `$CCKPI_DATA_DIR`, else `shared/data` beside the repository."""
    configured = os.environ.get(DATA_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "data"


DATA = data_dir() / "anonymous-bank-1999"
"""The data set of the benchmark: the Anonymous Bank months."""
SHIFT = timedelta(weeks=52)
"""Event-time step between copies: longer than the data's span (Jan-Oct), a whole number of weeks."""

Message = tuple[bytes, bytes]
"""(key, value) of one Kafka message."""


def base_events(data: Path = DATA, fraction: float = 1.0) -> list[Message]:
    """The months in date order as (queue, JSON event) messages; `fraction` < 1 keeps that share from the start."""
    files = sorted(data.glob("[0-9][0-9]_*.txt"))
    if not files:
        raise FileNotFoundError(f"no monthly files (NN_Month.txt) in {data}")
    events = adapter_for("anonymous-bank", None).read(files, lambda _line: None, ReadStats())
    messages = [(routing_key(e).encode(), encode_event(e)) for e in events]
    return messages[: max(1, int(len(messages) * fraction))] if fraction < 1 else messages


def _shift_time(text: str, by: timedelta) -> str:
    """An ISO 8601 instant moved by `by`, keeping its UTC offset."""
    return (datetime.fromisoformat(text) + by).isoformat()


def shifted(base: list[Message], copy: int) -> Iterator[Message]:
    """Copy number `copy` (1, 2, ...) of the base: event time moved by `copy` x 52 weeks, ids made unique."""
    by = SHIFT * copy
    tag = f"r{copy}-"
    for key, value in base:
        event = orjson.loads(value)
        event["occurred_at"] = _shift_time(event["occurred_at"], by)
        if event.get("offered_at"):
            event["offered_at"] = _shift_time(event["offered_at"], by)
        event["event_id"] = tag + event["event_id"]
        event["call_id"] = tag + event["call_id"]
        yield key, orjson.dumps(event)


def extended(base: list[Message], total: int, start_copy: int = 1) -> Iterator[Message]:
    """Shifted copies after the base until `total` messages exist in all (the base counts `len(base)`)."""
    remaining = total - len(base)
    copy = start_copy
    while remaining > 0:
        for message in shifted(base, copy):
            if remaining <= 0:
                return
            yield message
            remaining -= 1
        copy += 1


def produce(bootstrap: str, topic: str, messages: Iterator[Message] | list[Message],
            on_progress: Callable[[int], None] | None = None) -> int:
    """Send messages with a batching librdkafka producer, partitioned like the Java client and aiokafka
    (murmur2 of the key), so the queue -> partition map is the one the simulator and `cckpi replay` give.
    Returns how many were acknowledged; raises if any failed."""
    from confluent_kafka import KafkaException, Producer  # the `bench` extra

    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 50, "batch.size": 1 << 20,
        "batch.num.messages": 100_000, "queue.buffering.max.messages": 500_000,
        "queue.buffering.max.kbytes": 1 << 20, "partitioner": "murmur2_random", "enable.idempotence": False,
    })
    failed: list[str] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failed.append(str(err))

    sent = 0
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        sent += 1
        if sent % 20_000 == 0:
            producer.poll(0)
            if on_progress is not None:
                on_progress(sent)
    remaining = producer.flush(120)
    if remaining or failed:
        raise KafkaException(f"{remaining} messages not delivered, {len(failed)} failed: {failed[:3]}")
    if on_progress is not None:
        on_progress(sent)
    return sent
