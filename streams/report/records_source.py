"""Where the published records come from, for `cckpi report`, `cckpi ledger` and `cckpi grafana annotate`: the
topics the stream writes, a file of their records, or the batch engine of `cckpi compute` (exactly those records).
One place, so the three commands read the same records the same way, and refuse the same way a period that a topic
no longer fully holds (`PeriodNotRetained`, judged by `topics.answers_from`)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from streams.contracts.model import Contract
from streams.core.batch import compute
from streams.core.records import (
    BreachUpdate,
    Output,
    OutsideContract,
    RejectedEvent,
    TicketMissed,
    TicketSolvedLate,
    WindowResult,
)
from streams.core.terms import compile_terms
from streams.kafka_io import topics
from streams.kafka_io.admin import topic_configs
from streams.kafka_io.read import TopicRead, read_topic_log
from streams.ledger.book import lookback_start
from streams.models.events import Event
from streams.report.digest import InputDigest, lines_digest
from streams.report.period import Period, parse_period
from streams.report.statement import Published

STDIN = "-"
"""A records file named `-`: standard input."""
WINDOW_BREACH_FIELDS = frozenset({"kind", "breach_id", "revision", "state", "status", "contract", "term", "kpi",
                                  "scope", "window_start", "window_end", "value", "threshold"})
"""Fields of a window breach record that its readers (ledger, annotations) use."""

OnRead = Callable[[str, int, int], None]
"""Told, per topic read: its name, the messages read, and how many of them are records of the contract."""


class RecordsError(ValueError):
    """A records file holds something that is not a record, or a topic cannot give the records asked; `str()` is
    one line naming the file and line, or the topic."""


class PeriodNotRetained(RecordsError):
    """A topic's oldest records were deleted (it is not compacted) after the start of the period asked, so its
    statement or ledger would silently miss some: refused, naming the topic, from when it answers and the period."""


@dataclass(frozen=True)
class Records:
    """What a statement, a ledger or annotations are built from: window records (with publish times when read from
    Kafka), breach records, and the digests of the inputs they came from."""

    windows: list[Published]
    breaches: list[dict[str, Any]]
    inputs: list[InputDigest] = field(default_factory=list)
    left_out: list[Output] = field(default_factory=list)
    """Batch only: events the engine rejected or did not judge (outside a contract's period), for the command to
    say, as the stream dead-letters them."""


def from_topics(bootstrap: str, contract: Contract, timeout: float, on_read: OnRead | None = None,
                period: Period | None = None) -> Records:
    """This contract's records on `cckpi.kpi-windows` and `cckpi.breaches`, digested as read, windows stamped with
    their publish time in the contract's timezone; PeriodNotRetained when a topic no longer holds all of `period`."""
    tz = ZoneInfo(contract.timezone)
    found: dict[str, list[tuple[dict[str, Any], bytes, int]]] = {}
    for topic in (topics.KPI_WINDOWS, topics.BREACHES):
        messages = read_retained(bootstrap, topic, timeout, period).messages
        decoded = [(orjson.loads(m.value), m.value, m.timestamp_ms) for m in messages]
        found[topic] = [d for d in decoded if isinstance(d[0], dict) and d[0].get("contract") == contract.id]
        if on_read is not None:
            on_read(topic, len(messages), len(found[topic]))
    windows = [Published(r, datetime.fromtimestamp(ts / 1000, tz)) for r, _, ts in found[topics.KPI_WINDOWS]]
    inputs = [lines_digest(topic, "topic", [raw for _, raw, _ in found[topic]]) for topic in found]
    return Records(windows, [r for r, _, _ in found[topics.BREACHES]], inputs)


def breaches_from_topic(bootstrap: str, timeout: float = 30.0, period: Period | None = None) -> list[dict[str, Any]]:
    """Every breach record on `cckpi.breaches`, from its start to its current end (values that are not JSON
    objects are not records, and left out); PeriodNotRetained when it no longer holds all of `period`."""
    return _records_of(bootstrap, topics.BREACHES, timeout, period)


def windows_from_topic(bootstrap: str, timeout: float = 30.0, period: Period | None = None) -> list[dict[str, Any]]:
    """Every window record on `cckpi.kpi-windows` (what cure periods look at), refused like `breaches_from_topic`."""
    return _records_of(bootstrap, topics.KPI_WINDOWS, timeout, period)


def _records_of(bootstrap: str, topic: str, timeout: float, period: Period | None) -> list[dict[str, Any]]:
    messages = read_retained(bootstrap, topic, timeout, period).messages
    return [r for r in (orjson.loads(m.value) for m in messages) if isinstance(r, dict)]


def ledger_period(contracts: Sequence[Contract], label: str) -> Period:
    """The span whose breaches the ledger of period `label` needs: from the earliest `lookback_start` of the
    contracts (each in its own timezone; escalations may count earlier breaches) to the period's end."""
    spans = [parse_period(label, c.timezone) for c in contracts]
    start = min(datetime.combine(lookback_start(c, label), time(), ZoneInfo(c.timezone)) for c in contracts)
    return Period(label, start, max(p.end for p in spans))


def read_retained(bootstrap: str, topic: str, timeout: float, period: Period | None) -> TopicRead:
    """A topic read to its end, refused (PeriodNotRetained) when it no longer holds every record from the start of
    `period` (None: no check). The broker is asked the topic's cleanup policy only when a partition lost records."""
    read = read_topic_log(bootstrap, topic, timeout)
    if period is not None and any(log.start > 0 for log in read.logs):
        configs = asyncio.run(topic_configs(bootstrap, [topic], timeout)).get(topic)
        horizon = topics.answers_from(None if configs is None else configs.get("cleanup.policy"), read.logs)
        if horizon.since is not None and horizon.since > period.start:
            since = horizon.since.astimezone(period.start.tzinfo).isoformat(timespec="seconds")
            raise PeriodNotRetained(
                f"{topic} cannot answer for period {period.label}: it needs the records from "
                f"{period.start.isoformat()} on but holds every record only from {since} on, older ones were "
                f"deleted ({horizon.reason})")
    return read


def read_breaches(path: Path) -> list[dict[str, Any]]:
    """Breach records of a JSON-lines file (`-`: standard input), as on `cckpi.breaches`; blank lines are skipped.
    Raises RecordsError naming the line that is not JSON or not a breach record."""
    raw = sys.stdin.buffer.read() if str(path) == STDIN else path.read_bytes()
    return [_breach(line, f"{path}:{n}") for n, line in enumerate(raw.splitlines(), 1) if line.strip()]


def _breach(line: bytes, where: str) -> dict[str, Any]:
    """One line's breach record (window breaches need their ledger fields, others a `kind`)."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise RecordsError(f"{where}: not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise RecordsError(f"{where}: not a `cckpi.breaches` record (missing: all)")
    needed = WINDOW_BREACH_FIELDS if record.get("kind") == "window" else {"kind"}
    missing = ", ".join(sorted(needed - record.keys()))
    if missing:
        raise RecordsError(f"{where}: not a `cckpi.breaches` record (missing: {missing})")
    return record


def from_batch(events: Iterable[Event], contracts: Sequence[Contract],
               inputs: Sequence[InputDigest] = ()) -> Records:
    """The records the batch engine of `cckpi compute` gives for these events: the windows it prints and the
    breaches the stream would publish (window breaches, missed tickets and their late solutions)."""
    outputs = compute(events, compile_terms(list(contracts)))
    return Records(windows=[Published(o.to_dict()) for o in outputs if isinstance(o, WindowResult)],
                   breaches=[o.to_breach() for o in outputs
                             if isinstance(o, BreachUpdate | TicketMissed | TicketSolvedLate)],
                   inputs=list(inputs),
                   left_out=[o for o in outputs if isinstance(o, RejectedEvent | OutsideContract)])


def write_records(folder: Path, records: Records) -> None:
    """The records a statement was built from, as JSON lines (`kpi-windows.jsonl`, `breaches.jsonl`) in `folder`,
    so the other party can check them."""
    folder.mkdir(exist_ok=True)
    (folder / "kpi-windows.jsonl").write_bytes(b"".join(orjson.dumps(p.record) + b"\n" for p in records.windows))
    (folder / "breaches.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records.breaches))
