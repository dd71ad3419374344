"""Tickets, surveys and availability in the stream: low-volume sources on single-partition topics, so one
worker holds each source's whole clock and ticket book and runs the batch `Engine` itself (stream = batch).

State lives in one single-partition table, under these keys:
`state:<source>` (clock and windows), `seen:<source>@<hour>.<part>` (event ids, see `SeenIds`),
`ticket:<id>` (open clocks), `service:<name>` (last transition).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence

import orjson

from streams.app import topics
from streams.app.emitter import Emitter, RawMessage, Send
from streams.app.settings import MAX_FUTURE_SECONDS
from streams.app.shell import report_rejected
from streams.calendar import CalendarUnknownDay
from streams.core.batch import WHOLE, Engine
from streams.core.processor import event_family
from streams.core.state import ScopeState
from streams.core.terms import TermIndex
from streams.models.decode import decode_event
from streams.sinks.metrics import Metrics

log = logging.getLogger(__name__)

FAMILY_TOPIC = {"tickets": topics.TICKETS, "surveys": topics.SURVEYS, "availability": topics.AVAILABILITY}
Write = tuple[bytes, bytes | None]
"""(table key, value or None to delete)."""


class LowVolumeShell:
    """Runs the batch engine over consumed batches; reloads it from the table after a rebalance."""

    def __init__(self, terms: TermIndex, metrics: Metrics, idle_after: float,
                 max_future: float = MAX_FUTURE_SECONDS) -> None:
        self.terms = terms
        self.out = Emitter(metrics)
        self.idle_after = idle_after
        self.max_future = max_future
        self.engine: Engine | None = None

    def forget(self) -> None:
        """Drop the in-memory engine (after a rebalance the table is the truth)."""
        self.engine = None

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
                expected = FAMILY_TOPIC.get(event_family(event))
                if expected != msg.topic:
                    self.out.dead_letter(sends, msg, f"a {event.type} event belongs on {expected or topics.CALLS}",
                                         "wrong_topic")
                    continue
                try:
                    outputs = engine.ingest(event, now)
                    self.out.emit(sends, outputs, msg)
                    report_rejected(self.out, sends, outputs, msg)
                except CalendarUnknownDay as exc:
                    self.out.dead_letter(sends, msg, str(exc), "calendar_unknown_day")
            except Exception as exc:  # a bug must not stop the stream: park the message and say why
                log.exception("could not process %s[%d]@%d", msg.topic, msg.partition, msg.offset)
                self.out.dead_letter(sends, msg, f"internal error: {exc!r}", "internal_error")
        self._publish_current(engine)
        self.out.flush_counts()
        return dump_dirty(engine), sends

    def _publish_current(self, engine: Engine) -> None:
        for source, state in engine.states.items():
            self.out.publish_current(engine.processor, WHOLE, state, clock=source)

    def on_tick(self, stored: Iterable[tuple[bytes, bytes]], wall_now: float | None = None
                ) -> tuple[list[Write], list[Send]]:
        """Let quiet sources close windows and settle ticket deadlines by the wall clock."""
        now = time.time() if wall_now is None else wall_now
        engine, sends = self._engine(stored), list[Send]()
        self.out.emit(sends, engine.idle(now, self.idle_after), None)
        return dump_dirty(engine), sends


def load_engine(terms: TermIndex, stored: Iterable[tuple[bytes, bytes]]) -> Engine:
    """Rebuild the engine from the table's entries."""
    engine = Engine(terms)
    entries = dict(stored)
    for key, value in entries.items():
        kind, _, name = key.partition(b":")
        if kind == b"state":
            engine.states[name.decode()] = ScopeState.from_bytes(value, _bucket_reader(entries, name))
        elif kind == b"ticket":
            engine.ticket_book.load_ticket(name.decode(), value)
        elif kind == b"service":
            up, since = orjson.loads(value)
            engine.service_book.status[name.decode()] = (up, since)
    return engine


def _bucket_reader(entries: dict[bytes, bytes], source: bytes) -> Callable[[str], bytes | None]:
    prefix = b"seen:" + source + b"@"
    return lambda part: entries.get(prefix + part.encode())


def dump_dirty(engine: Engine) -> list[Write]:
    """Table writes for everything the engine changed since the last dump."""
    writes: list[Write] = []
    for source, state in engine.states.items():
        prefix = b"seen:" + source.encode() + b"@"
        writes += [(prefix + part.encode(), value) for part, value in state.seen.take_writes()]
        writes.append((b"state:" + source.encode(), state.to_bytes()))  # after: it records the parts just taken
    book = engine.ticket_book
    writes += [(b"ticket:" + t.encode(), book.ticket_bytes(t)) for t in sorted(book.dirty)]
    book.dirty.clear()
    services = engine.service_book
    for name in sorted(services.dirty):
        status = services.status.get(name)
        writes.append((b"service:" + name.encode(), None if status is None else orjson.dumps(status)))
    services.dirty.clear()
    return writes
