"""Turning core outputs and rejected input into output messages and metrics, shared by every agent."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, TypeVar

from streams.app import topics
from streams.app.settings import span_text
from streams.core.processor import Processor
from streams.core.records import (
    BreachUpdate,
    DuplicateEvent,
    LateContribution,
    Output,
    OutsideContract,
    QueueForecast,
    TicketMissed,
    WindowResult,
)
from streams.core.state import ScopeState
from streams.models.decode import InvalidEvent
from streams.models.events import EventBase
from streams.sinks.alertmanager import AlertmanagerSink
from streams.sinks.metrics import Metrics
from streams.sinks.records import breach_message, dead_letter_message, late_message, window_message

Send = tuple[str, bytes, bytes]
"""(topic, key, value) of a message to produce."""
E = TypeVar("E", bound=EventBase)


class RawMessage(NamedTuple):
    """One consumed Kafka message, as the shells need it (a tuple: one is made per message)."""

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int


class Emitter:
    """Appends the messages for outputs and dead letters to a batch's sends, and counts them."""

    def __init__(self, metrics: Metrics, alerts: AlertmanagerSink | None = None) -> None:
        self.metrics = metrics
        self.alerts = alerts
        """Where breach lifecycle events also go, as on-call alerts (optional)."""
        self.counted: dict[str, int] = {}
        """Valid events per type since the last `flush_counts` (one counter update per batch, not per event)."""

    def vet(self, sends: list[Send], msg: RawMessage, now: float, decode: Callable[[bytes], E],
            max_future: float) -> E | None:
        """The message's event, or None after dead-lettering it (malformed, or stamped too far ahead)."""
        try:
            event = decode(msg.value or b"")
        except InvalidEvent as exc:
            self.dead_letter(sends, msg, exc.reason, exc.kind)
            return None
        ahead = event.ts - now
        if ahead > max_future:
            self.dead_letter(sends, msg, f"occurred_at is {span_text(ahead)} ahead of the worker's clock (more "
                             f"than {span_text(max_future)}, --max-future): it would close open windows too early",
                             "future_event")
            return None
        kind = getattr(event, "type", "unknown")
        self.counted[kind] = self.counted.get(kind, 0) + 1
        return event

    def flush_counts(self) -> None:
        """Add the events vetted since the last call to `cckpi_events_total`."""
        for kind, n in self.counted.items():
            self.metrics.events.labels(kind).inc(n)
        self.counted.clear()

    def emit(self, sends: list[Send], outputs: list[Output], msg: RawMessage | None) -> None:
        """Messages and metrics for what the core produced."""
        for out in outputs:
            if isinstance(out, WindowResult):
                sends.append((topics.KPI_WINDOWS, *window_message(out)))
                if out.closed_by == "late_event":
                    self.metrics.late.labels(out.contract, out.term, "revised").inc()
                self.metrics.on_result(out)
            elif isinstance(out, BreachUpdate):
                sends.append((topics.BREACHES, *breach_message(out)))
                self.metrics.breach_updates.labels(out.contract, out.term, out.state).inc()
                if self.alerts is not None:
                    self.alerts.on_update(out)
            elif isinstance(out, TicketMissed):
                sends.append((topics.BREACHES, *breach_message(out)))
                self.metrics.ticket_breaches.labels(out.contract, out.term).inc()
            elif isinstance(out, QueueForecast):
                self.metrics.on_forecast(out)
            elif isinstance(out, DuplicateEvent):
                self.metrics.duplicates.inc()
            elif isinstance(out, LateContribution):
                source = (msg.topic, msg.partition, msg.offset) if msg else None
                sends.append((topics.DEAD_LETTER, *late_message(out, msg.value if msg else None, source)))
                contract, _, term = out.term.partition("/")
                self.metrics.late.labels(contract, term, "dropped").inc()
                self.metrics.dead_letters.labels("late").inc()
            elif isinstance(out, OutsideContract) and msg is not None:  # not judged: one letter per contract
                self.dead_letter(sends, msg, out.reason, "outside_contract")

    def publish_current(self, processor: Processor, scope: str, state: ScopeState, clock: str | None = None) -> None:
        """Period-to-date gauges: the value of each term's latest open window, and the watermark of the clock
        (the scope, or the source for tickets, surveys and availability)."""
        self.metrics.watermark.labels(clock or scope).set(max(state.watermark, 0.0))
        latest: dict[str, tuple[float, float, float]] = {}
        for term, agg in processor.open_windows(state):
            if agg.den and agg.start >= latest.get(term.key, (-1.0, 0.0, 0.0))[0]:
                latest[term.key] = (agg.start, agg.num, agg.den)
        for term_key, (_, num, den) in latest.items():
            term = processor.terms.by_key[term_key]
            self.metrics.set_current(term.term.kpi, term.contract, term.term.id, scope, num / den)

    def dead_letter(self, sends: list[Send], msg: RawMessage, reason: str, kind: str) -> None:
        """Park a message with the reason (a bounded excerpt of it, with its sizes and sha256: see `DeadLetter`)."""
        key, value = dead_letter_message(msg.value, msg.key, reason, kind, (msg.topic, msg.partition, msg.offset))
        sends.append((topics.DEAD_LETTER, key, value))
        self.metrics.dead_letters.labels(kind).inc()
