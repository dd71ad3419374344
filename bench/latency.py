"""End-to-end latency: from sending a call event to the moment the window or breach record it caused can be
read from `cckpi.kpi-windows` / `cckpi.breaches`.

Which event caused a record:
- a window closed by the watermark (`closed_by: watermark`, and `state: final` breach records): the first event
  of its queue stamped at or after `window_end + grace` (the queue's watermark passes the close point with it);
- a breach lifecycle step of an open window (`warning`, `breached`, `recovered`): the latest-sent event among the
  record's `sample` (the last contributing event ids, the one that crossed the level among them).
Records closed otherwise (idle advance, late revisions) are counted but not timed.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from bench import steady
from streams.core.terms import TermIndex
from streams.kafka_io import topics
from streams.models.events import Event
from streams.models.families import routing_key


@dataclass
class SendLog:
    """Wall send time of every event: by id, and per queue in event-time order."""

    by_id: dict[str, float] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    walls: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def sent(self, event: Event, wall: float) -> None:
        """Remember one event."""
        queue = routing_key(event)
        self.by_id[event.event_id] = wall
        self.times[queue].append(event.occurred_at.timestamp())
        self.walls[queue].append(wall)

    def first_at_or_after(self, queue: str, instant: float) -> float | None:
        """Send time of the first event of `queue` stamped at or after `instant`."""
        times = self.times.get(queue, [])
        i = bisect.bisect_left(times, instant)
        return self.walls[queue][i] if i < len(times) else None


@dataclass
class Seen:
    """An output record and when it was read."""

    topic: str
    record: dict[str, Any]
    wall: float


def cause(seen: Seen, log: SendLog, terms: TermIndex) -> float | None:
    """Send time of the event that made this record, or None when it cannot be told (see the module doc)."""
    r = seen.record
    if r.get("kind") == "ticket" or "scope" not in r:
        return None
    state = r.get("state")
    if seen.topic == topics.BREACHES and state in ("warning", "breached", "recovered"):
        sends = [log.by_id[i] for i in r.get("sample", ()) if i in log.by_id]
        return max(sends) if sends else None
    if r.get("revision", 0) or (seen.topic == topics.KPI_WINDOWS and r.get("closed_by") != "watermark"):
        return None
    term = terms.by_key.get(f"{r['contract']}/{r['term']}")
    if term is None:
        return None
    close_at = datetime.fromisoformat(r["window_end"]).timestamp() + term.grace
    return log.first_at_or_after(r["scope"], close_at)


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0-1) by the nearest-rank method."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class LatencyResult:
    """Latencies of the timed records and counts of what was seen."""

    events: int
    seconds: float
    rate: float
    """Events sent per second over the planned span (the tail of calls still ending after it is left out)."""
    latencies: list[float]
    records: int
    untimed: int
    by_topic: dict[str, int]

    def summary(self) -> dict[str, Any]:
        """The figures for results.json."""
        return {"latency_events": self.events, "latency_seconds": round(self.seconds, 1),
                "latency_rate_events_per_s": round(self.rate, 1),
                "latency_records": self.records, "latency_records_timed": len(self.latencies),
                "latency_records_untimed": self.untimed, "latency_records_by_topic": self.by_topic,
                "p50_latency_s": _round(percentile(self.latencies, 0.50)),
                "p99_latency_s": _round(percentile(self.latencies, 0.99)),
                "max_latency_s": _round(max(self.latencies, default=None))}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


async def measure(bootstrap: str, plan: steady.Plan, terms: TermIndex, settle: float = 5.0) -> LatencyResult:
    """Send the plan's events and read the output topics meanwhile (and `settle` seconds after); time each record.

    The worker must already be running and assigned; the output topics are read from their start.
    """
    log = SendLog()
    seen: list[Seen] = []
    consumer = AIOKafkaConsumer(topics.KPI_WINDOWS, topics.BREACHES, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", fetch_max_wait_ms=10, enable_auto_commit=False)
    await consumer.start()
    done = asyncio.Event()

    async def read() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=50)
            now = time.time()
            seen.extend(Seen(tp.topic, orjson.loads(m.value), now) for tp, msgs in batch.items()
                        for m in msgs if m.value)
            if done.is_set() and not batch:
                return

    reader = asyncio.create_task(read())
    try:
        sent, seconds = await steady.produce(bootstrap, topics.CALLS, plan, log.sent, prepare=True,
                                             librdkafka=True)
        await asyncio.sleep(settle)
        done.set()
        await asyncio.wait_for(reader, timeout=30)
    finally:
        reader.cancel()
        await consumer.stop()
    latencies: list[float] = []
    untimed = 0
    by_topic: dict[str, int] = defaultdict(int)
    for s in seen:
        by_topic[s.topic] += 1
        sent_at = cause(s, log, terms)
        if sent_at is None:
            untimed += 1
        else:
            latencies.append(max(0.0, s.wall - sent_at))
    walls = sorted(log.by_id.values())
    steady_rate = sum(1 for w in walls if w - walls[0] <= plan.seconds) / plan.seconds if walls else 0.0
    return LatencyResult(sent, seconds, steady_rate, latencies, len(seen), untimed, dict(by_topic))
