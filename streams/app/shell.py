"""The stream side of the core: batches of Kafka messages in, state updates and output messages out.

Framework-free on purpose (Faust lives in `worker.py`), so the same batch handler is unit-testable
and the per-event path is plain Python over the pure core.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from streams.app.emitter import Emitter, RawMessage, Send
from streams.app.settings import MAX_FUTURE_SECONDS
from streams.calendar import CalendarUnknownDay
from streams.core.processor import Processor
from streams.core.records import ConflictingDuplicate, DuplicateEvent, Output, UnscopedEvent
from streams.core.state import ScopeState
from streams.models.decode import decode_call
from streams.sinks.metrics import Metrics

log = logging.getLogger(__name__)
WAITING_STEP = {"call.offered": 1, "call.answered": -1, "call.abandoned": -1}
"""How a call event changes the number of calls waiting in its queue."""


class Stored(Protocol):
    """Where states not yet cached are read from: a dict in tests, the changelog store in the worker."""

    def get(self, key: bytes, default: bytes | None = None, /) -> bytes | None: ...


@dataclass
class BatchResult:
    """What a batch changed: scope states to persist and messages to produce, in order."""

    states: dict[bytes, tuple[int, ScopeState]] = field(default_factory=dict)
    sends: list[Send] = field(default_factory=list)

    def seen_writes(self) -> list[tuple[bytes, int, bytes | None]]:
        """New parts of seen event ids: (key in the seen-ids table, partition, value or None to delete)."""
        writes = []
        for key, (partition, state) in self.states.items():
            for part, value in state.seen.take_writes():
                writes.append((seen_key(key, part), partition, value))
        return writes


def encode_state(partition: int, state: ScopeState) -> bytes:
    """Table value: the partition (so timers know where the scope lives) and the state."""
    return partition.to_bytes(4, "big") + state.to_bytes()


def decode_state(raw: bytes | None, key: bytes = b"",
                 load_seen: Callable[[bytes], bytes | None] | None = None) -> tuple[int | None, ScopeState]:
    """Inverse of encode_state; `load_seen` reads the seen-ids table for the scope `key`."""
    if not raw:
        return None, ScopeState()
    loader = None if load_seen is None else (lambda part: load_seen(seen_key(key, part)))
    return int.from_bytes(raw[:4], "big"), ScopeState.from_bytes(raw[4:], loader)


def seen_key(scope_key: bytes, part: str) -> bytes:
    """Key of one stored part of a scope's seen event ids (`<hour>.<part>`, see `SeenIds`)."""
    return scope_key + b"@" + part.encode()


def report_rejected(out: Emitter, sends: list[Send], outputs: list[Output], msg: RawMessage | None) -> None:
    """What `Emitter.emit` leaves to the shells: a conflicting duplicate goes to the dead letters (and
    `cckpi_events_conflicting_duplicate_total`), an event outside every scope counts in
    `cckpi_events_unscoped_total` by family only."""
    for o in outputs:
        if isinstance(o, ConflictingDuplicate):
            out.metrics.conflicting_duplicates.inc()
            if msg is not None:
                out.dead_letter(sends, msg, o.reason, "conflicting_duplicate")
        elif isinstance(o, UnscopedEvent):
            out.metrics.unscoped.labels(o.family).inc()


class StreamShell:
    """Applies consumed batches to scope states through the core, and turns outputs into messages."""

    def __init__(self, processor: Processor, metrics: Metrics, idle_after: float,
                 max_future: float = MAX_FUTURE_SECONDS,
                 load_seen: Callable[[bytes], bytes | None] | None = None) -> None:
        self.load_seen = load_seen
        self.processor = processor
        self.metrics = metrics
        self.idle_after = idle_after
        self.max_future = max_future
        self.out = Emitter(metrics)
        self.cache: dict[bytes, tuple[int, ScopeState]] = {}
        self.waiting: dict[str, int] = {}
        """Calls waiting per queue, for `cckpi_calls_waiting`."""
        self.waiting_changed: set[str] = set()

    def forget(self) -> None:
        """Drop cached states (after a rebalance the table is the truth) and the calls-waiting counts."""
        self.cache.clear()
        for queue in self.waiting:  # another worker may own the queue now: stop reporting it
            self.metrics.calls_waiting.remove(queue)
        self.waiting.clear()
        self.waiting_changed.clear()

    def warm(self, partition: int, stored: Iterable[tuple[bytes, bytes]]) -> None:
        """Decode a partition's stored states into the cache now (with their seen ids, which need not stay
        in memory as stored bytes afterwards)."""
        for key, raw in stored:
            if key not in self.cache:
                self.cache[key] = (partition, decode_state(raw, key, self.load_seen)[1])

    def _count_waiting(self, queue: str, kind: str, outputs: list[Output]) -> None:
        """`cckpi_calls_waiting` (dashboards): offered minus answered or abandoned calls of the queue, in memory
        only (approximate after a restart or rebalance), never below 0; a duplicate event changes nothing."""
        step = WAITING_STEP.get(kind)
        if step is None or (outputs and any(isinstance(o, DuplicateEvent | ConflictingDuplicate) for o in outputs)):
            return
        self.waiting[queue] = max(0, self.waiting.get(queue, 0) + step)
        self.waiting_changed.add(queue)

    def _publish_counts(self) -> None:
        """Metrics kept per batch rather than per event: events by type, calls waiting per queue."""
        self.out.flush_counts()
        for queue in self.waiting_changed:
            self.metrics.calls_waiting.labels(queue).set(self.waiting[queue])
        self.waiting_changed.clear()

    def _state(self, key: bytes, partition: int, load: Stored) -> ScopeState:
        cached = self.cache.get(key)
        if cached is None:
            _, state = decode_state(load.get(key), key, self.load_seen)
            cached = self.cache[key] = (partition, state)
        return cached[1]

    def on_batch(self, messages: Sequence[RawMessage], stored: Stored,
                 wall_now: float | None = None) -> BatchResult:
        """Process messages in order; `stored` holds table values for keys not yet cached."""
        now = time.time() if wall_now is None else wall_now
        result = BatchResult()
        for msg in messages:
            try:
                self._one(msg, stored, now, result)
            except Exception as exc:  # a bug must not stop the stream: park the message and say why
                log.exception("could not process %s[%d]@%d", msg.topic, msg.partition, msg.offset)
                self.out.dead_letter(result.sends, msg, f"internal error: {exc!r}", "internal_error")
        self._update_current(result.states)
        self._publish_counts()
        return result

    def _one(self, msg: RawMessage, stored: Stored, now: float, result: BatchResult) -> None:
        event = self.out.vet(result.sends, msg, now, decode_call, self.max_future)
        if event is None:
            return
        expected = event.queue.encode()
        if msg.key != expected:
            self.out.dead_letter(result.sends, msg, f"message key {msg.key!r} must be the queue name {event.queue!r}, "
                                 "so all events of a queue land in one partition", "wrong_key")
            return
        if not self.processor.in_scope(event, "calls"):  # no state, no series: only a count
            report_rejected(self.out, result.sends, [UnscopedEvent("calls", event.event_id)], msg)
            return
        state = self._state(expected, msg.partition, stored)
        try:
            outputs = self.processor.ingest(state, event.queue, event, now, msg.offset)
        except CalendarUnknownDay as exc:  # raised before the state changed: the event is only parked
            self.out.dead_letter(result.sends, msg, str(exc), "calendar_unknown_day")
            return
        result.states[expected] = (msg.partition, state)
        self.out.emit(result.sends, outputs, msg)
        report_rejected(self.out, result.sends, outputs, msg)
        self._count_waiting(event.queue, event.type, outputs)

    def on_tick(self, partition: int, stored: Iterable[tuple[bytes, bytes | None]],
                wall_now: float | None = None) -> BatchResult:
        """Let quiet scopes of a partition close their windows by the wall clock."""
        now = time.time() if wall_now is None else wall_now
        result = BatchResult()
        for key, raw in stored:
            cached = self.cache.get(key)
            if cached is None:
                part, state = decode_state(raw, key, self.load_seen)
                if part is None:
                    continue
                cached = self.cache[key] = (part, state)
            if cached[0] != partition:
                continue
            outputs = self.processor.idle(cached[1], key.decode(), now, self.idle_after)
            if outputs:
                result.states[key] = cached
                self.out.emit(result.sends, outputs, None)
        self._update_current(result.states)
        return result

    def _update_current(self, states: dict[bytes, tuple[int, ScopeState]]) -> None:
        for key, (_, state) in states.items():
            self.out.publish_current(self.processor, key.decode(), state)
