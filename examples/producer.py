"""Send contact-center events to cckpi over Kafka, keyed the way the worker expects.

    python examples/producer.py --broker 127.0.0.1:9092                 # a sample hour of the minimal contract
    python examples/producer.py --broker 127.0.0.1:9092 --events my.jsonl  # your events, one JSON object a line

Each event goes to its family's topic with its routing key as the message key (the table `ROUTES` below, the
same rule as `streams/models/families.py`): calls and agent states to `cckpi.calls` keyed by queue (the worker
dead-letters a call whose key is not its queue), tickets to `cckpi.tickets` by ticket id, surveys to
`cckpi.surveys` by queue (else survey id), availability to `cckpi.availability` by service. The producer is
idempotent with acks=all, and the script exits 1 unless the broker acknowledged every event.

Only aiokafka is needed (`pip install aiokafka`). For SASL or TLS pass aiokafka's own options
(`security_protocol`, `sasl_mechanism`, `sasl_plain_username`, `ssl_context`, ...) to `AIOKafkaProducer`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer

ROUTES: dict[str, tuple[str, tuple[str, ...]]] = {
    "call": ("cckpi.calls", ("queue",)),
    "agent": ("cckpi.calls", ("queue",)),
    "ticket": ("cckpi.tickets", ("ticket_id",)),
    "survey": ("cckpi.surveys", ("queue", "survey_id")),
    "service": ("cckpi.availability", ("service",)),
}
"""Event type prefix -> (topic, the fields whose first non-empty value is the message key)."""

QUEUE = "hotline"
"""The queue of the minimal contract (examples/minimal.yaml)."""
SAMPLE_DAY = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/London"))
SAMPLE_WINDOWS = ((19, 1), (14, 6), (18, 2))
"""(answered, abandoned) calls offered in each 15-minute window from 09:00: met, breached, met at the threshold."""


def route(event: dict[str, Any]) -> tuple[str, bytes]:
    """The topic and message key of one event; ValueError for a type no family takes."""
    prefix = str(event.get("type", "")).partition(".")[0]
    if prefix not in ROUTES:
        raise ValueError(f"unknown event type {event.get('type')!r}")
    topic, fields = ROUTES[prefix]
    key = next((str(event[f]) for f in fields if event.get(f)), "")
    return topic, key.encode()


def call(call_id: str, offered: datetime, wait: float, answered: bool) -> list[dict[str, Any]]:
    """The events of one call: offered, then answered (and ended after 3 minutes' talk) or abandoned."""
    base = {"schema_version": 1, "call_id": call_id, "queue": QUEUE}
    picked = offered + timedelta(seconds=wait)
    events = [{**base, "event_id": f"{call_id}.offered", "type": "call.offered", "occurred_at": offered}]
    if not answered:
        return [*events, {**base, "event_id": f"{call_id}.abandoned", "type": "call.abandoned",
                          "occurred_at": picked, "wait_seconds": wait}]
    return [*events,
            {**base, "event_id": f"{call_id}.answered", "type": "call.answered", "occurred_at": picked,
             "wait_seconds": wait, "agent_id": "agent-1"},
            {**base, "event_id": f"{call_id}.ended", "type": "call.ended", "occurred_at": picked + timedelta(
                minutes=3), "talk_seconds": 180, "hold_seconds": 0, "wrap_seconds": 30, "offered_at": offered}]


def sample() -> list[dict[str, Any]]:
    """Three 15-minute windows of calls in time order, one call at 09:48 that closes them (their end plus the
    2-minute grace has passed), then a late answered call of 09:20 that revises the closed 09:15 window."""
    events: list[dict[str, Any]] = []
    for w, (answered, abandoned) in enumerate(SAMPLE_WINDOWS):
        for i in range(answered + abandoned):
            offered = SAMPLE_DAY + timedelta(minutes=15 * w, seconds=40 * i)
            events += call(f"sample-{w}-{i:02d}", offered, wait=12 if i < answered else 45, answered=i < answered)
    events += call("sample-close", SAMPLE_DAY + timedelta(minutes=48), wait=5, answered=True)
    events.sort(key=lambda e: e["occurred_at"])
    events += call("sample-late", SAMPLE_DAY + timedelta(minutes=20), wait=10, answered=True)
    return [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in e.items()} for e in events]


def read_events(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """JSON objects, one per non-blank line."""
    for n, line in enumerate(lines, 1):
        if line.strip():
            event = json.loads(line)
            if not isinstance(event, dict):
                raise ValueError(f"line {n}: not a JSON object")
            yield event


async def send(bootstrap: str, events: Iterable[dict[str, Any]]) -> int:
    """Publish every event to its topic under its key, in order; return how many the broker acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        pending = []
        for event in events:
            topic, key = route(event)
            value = json.dumps(event, ensure_ascii=False).encode()
            pending.append(await producer.send(topic, value=value, key=key))
        results = await asyncio.gather(*pending, return_exceptions=True)
    finally:
        await producer.stop()
    return sum(not isinstance(r, BaseException) for r in results)


def main(argv: list[str] | None = None) -> int:
    """Send the sample or the given events; 0 when all were acknowledged, 1 when not, 2 on bad input."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="127.0.0.1:9092", help="Kafka bootstrap address host:port")
    parser.add_argument("--events", help="JSON lines file of cckpi events ('-': standard input); default: a sample")
    args = parser.parse_args(argv)
    try:
        if args.events is None:
            events = sample()
        else:
            with sys.stdin if args.events == "-" else open(args.events, encoding="utf-8") as lines:
                events = list(read_events(lines))
        for event in events:
            route(event)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    acked = asyncio.run(send(args.broker.removeprefix("kafka://"), events))
    print(f"{acked} of {len(events)} events acknowledged", file=sys.stderr)
    return 0 if acked == len(events) else 1


if __name__ == "__main__":
    sys.exit(main())
