"""Tickets, surveys and availability in the stream: low-volume sources on single-partition topics, so one
worker holds each source's whole clock and ticket book and runs the batch `Engine` over it (stream = batch).
One shell per owned source partition; its state is stored in the layout of `streams.core.layout`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence

from streams.app.emitter import Emitter, RawMessage, Send
from streams.app.settings import MAX_FUTURE_SECONDS
from streams.calendar import CalendarUnknownDay
from streams.core.batch import WHOLE, Engine
from streams.core.layout import Write, engine_writes, load_engine
from streams.core.terms import TermIndex
from streams.models.decode import decode_event
from streams.models.families import family_of
from streams.sinks.base import Sinks
from streams.sinks.metrics import Metrics
from streams.sinks.wiring import build_sinks

log = logging.getLogger(__name__)



class LowVolumeShell:
    """Runs the batch engine over consumed batches; reloads it from the table after a rebalance."""

    def __init__(self, terms: TermIndex, metrics: Metrics, idle_after: float,
                 max_future: float = MAX_FUTURE_SECONDS, sinks: Sinks | None = None) -> None:
        self.terms = terms
        self.out = Emitter(metrics, sinks or build_sinks(metrics, terms))
        self.idle_after = idle_after
        self.max_future = max_future
        self.engine: Engine | None = None

    def forget(self) -> None:
        """Drop the in-memory engine (after a rebalance the table is the truth)."""
        self.engine = None

    def load(self, stored: Iterable[tuple[bytes, bytes]]) -> None:
        """Rebuild the engine from the partition's stored entries now (after an assignment)."""
        self.engine = load_engine(self.terms, stored)

    def _engine(self, stored: Iterable[tuple[bytes, bytes]]) -> Engine:
        if self.engine is None:
            self.engine = load_engine(self.terms, stored)
        return self.engine

    def on_batch(self, messages: Sequence[RawMessage], stored: Iterable[tuple[bytes, bytes]],
                 wall_now: float | None = None) -> tuple[list[Write], list[Send]]:
        """Process messages in order; return the table writes and the messages to produce."""
        now = time.time() if wall_now is None else wall_now
        engine, sends = self._engine(stored), list[Send]()
        for msg in messages:
            try:
                event = self.out.vet(sends, msg, now, decode_event, self.max_future)
                if event is None:
                    continue
                expected = family_of(event).topic
                if expected != msg.topic:
                    self.out.dead_letter(sends, msg, f"a {event.type} event belongs on {expected}",
                                         "wrong_topic")
                    continue
                try:
                    outputs = engine.ingest(event, now, msg.offset)
                    self.out.emit(sends, outputs, msg)
                except CalendarUnknownDay as exc:
                    self.out.dead_letter(sends, msg, str(exc), "calendar_unknown_day")
            except Exception as exc:  # a bug must not stop the stream: park the message and say why
                log.exception("could not process %s[%d]@%d", msg.topic, msg.partition, msg.offset)
                self.out.dead_letter(sends, msg, f"internal error: {exc!r}", "internal_error")
        self._publish_current(engine)
        self.out.flush_counts()
        return engine_writes(engine), sends

    def _publish_current(self, engine: Engine) -> None:
        for clock in engine.dirty:
            self.out.publish_current(engine.processor, WHOLE, engine.states[clock], clock=clock)

    def on_tick(self, stored: Iterable[tuple[bytes, bytes]], wall_now: float | None = None
                ) -> tuple[list[Write], list[Send]]:
        """Let quiet sources close windows and settle ticket deadlines by the wall clock."""
        now = time.time() if wall_now is None else wall_now
        engine, sends = self._engine(stored), list[Send]()
        self.out.emit(sends, engine.idle(now, self.idle_after), None)
        return engine_writes(engine), sends
