"""Between the shells and the sinks: vetting consumed messages, and handing core outputs and rejected input to the
sinks (`streams.sinks`: records, metrics, alerts, annotations), shared by every agent."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from streams.app.settings import span_text
from streams.core.gauges import latest_open
from streams.core.processor import Processor
from streams.core.records import Output, RejectedEvent
from streams.core.state import ScopeState
from streams.models.decode import InvalidEvent
from streams.models.events import EventBase
from streams.sinks.base import Consumed, RawMessage, Send, Sinks
from streams.sinks.metrics import Metrics

__all__ = ["Consumed", "Emitter", "RawMessage", "Send"]

E = TypeVar("E", bound=EventBase)


class Emitter:
    """Hands outputs and dead letters to the sinks (which append a batch's sends), and counts valid events."""

    def __init__(self, metrics: Metrics, sinks: Sinks) -> None:
        self.metrics = metrics
        self.sinks = sinks
        """Every output goes through these (see `streams.sinks.wiring.build_sinks`)."""
        self.counted: dict[str, int] = {}
        """Valid events per type since the last `flush_counts` (one counter update per batch, not per event)."""

    def vet(self, sends: list[Send], msg: Consumed, now: float, decode: Callable[[bytes], E],
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

    def emit(self, sends: list[Send], outputs: list[Output], msg: Consumed | None) -> None:
        """Every output of the core to the sinks that take it (`msg`: the consumed message, None for ticks)."""
        if outputs:
            self.sinks.emit(outputs, sends, msg)

    def publish_current(self, processor: Processor, scope: str, state: ScopeState, clock: str | None = None) -> None:
        """Period-to-date gauges: the value of each term's latest open window, and the watermark of the clock
        (the scope, or the source for tickets, surveys and availability)."""
        self.metrics.watermark.labels(clock or scope).set(max(state.watermark, 0.0))
        for term_key, value in latest_open(processor, state).items():
            term = processor.terms.by_key[term_key]
            self.metrics.set_current(term.term.kpi, term.contract, term.term.id, term.scope or scope, value)

    def dead_letter(self, sends: list[Send], msg: Consumed, reason: str, kind: str) -> None:
        """Park a message the shell rejected, with the reason: a `RejectedEvent` through the sinks (the records sink
        writes a bounded excerpt with sizes and sha256, see `DeadLetter`; the metrics sink counts it)."""
        self.sinks.emit([RejectedEvent("", kind, reason)], sends, msg)
