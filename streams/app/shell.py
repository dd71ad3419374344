"""The stream side of the core: batches of Kafka messages in, state updates and output messages out.

Framework-free on purpose (Faust lives in `worker.py`), so the same batch handler is unit-testable
and the per-event path is plain Python over the pure core.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from streams.app.emitter import Emitter, RawMessage, Send
from streams.app.settings import MAX_FUTURE_SECONDS
from streams.calendar import CalendarUnknownDay
from streams.core.gauges import waiting_after
from streams.core.layout import STATE, load_state, state_writes
from streams.core.processor import Processor
from streams.core.records import Output, UnscopedEvent
from streams.core.state import ScopeState
from streams.models.decode import decode_call
from streams.models.families import CALLS
from streams.sinks.base import Sinks
from streams.sinks.metrics import Metrics
from streams.sinks.wiring import build_sinks

log = logging.getLogger(__name__)


class Stored(Protocol):
    """Where states not yet cached are read from (keys of `streams.core.layout`): a dict in tests, the changelog
    store in the worker."""

    def get(self, key: bytes, default: bytes | None = None, /) -> bytes | None: ...


@dataclass
class BatchResult:
    """What a batch changed: scope states (by queue: partition and state) to persist and messages to produce."""

    states: dict[bytes, tuple[int, ScopeState]] = field(default_factory=dict)
    sends: list[Send] = field(default_factory=list)

    def writes(self) -> list[tuple[int, bytes, bytes | None]]:
        """Store writes of the changed states (see `streams.core.layout`): (partition, key, value or None)."""
        return [(partition, key, value) for queue, (partition, state) in self.states.items()
                for key, value in state_writes(calls_clock(queue), state)]


def calls_clock(queue: bytes) -> bytes:
    """The stored name of a queue's state (`Family.clock`)."""
    return CALLS.clock(queue.decode()).encode()


class StreamShell:
    """Applies consumed batches to scope states through the core, and turns outputs into messages."""

    def __init__(self, processor: Processor, metrics: Metrics, idle_after: float,
                 max_future: float = MAX_FUTURE_SECONDS, sinks: Sinks | None = None) -> None:
        self.processor = processor
        self.metrics = metrics
        self.idle_after = idle_after
        self.max_future = max_future
        self.out = Emitter(metrics, sinks or build_sinks(metrics, processor.terms))
        self.cache: dict[bytes, tuple[int, ScopeState]] = {}
        self.waiting: dict[str, int] = {}
        """Calls waiting per queue, for `cckpi_calls_waiting`."""
        self.waiting_changed: set[str] = set()

    def forget(self, partitions: Iterable[int] | None = None) -> None:
        """Drop the cached states of these partitions (all by default: another worker owns them now, or the store is
        the truth) and their queues' calls-waiting counts."""
        gone = None if partitions is None else set(partitions)
        for queue in [q for q, (p, _) in self.cache.items() if gone is None or p in gone]:
            del self.cache[queue]
            name = queue.decode()
            if self.waiting.pop(name, None) is not None:  # another worker may own the queue now: stop reporting it
                self.metrics.calls_waiting.remove(name)
            self.waiting_changed.discard(name)

    def warm(self, partition: int, stored: Iterable[tuple[bytes, bytes | None]]) -> None:
        """Decode a partition's stored states into the cache now (with their seen ids, which need not stay
        in memory as stored bytes afterwards)."""
        entries = dict(stored)
        for key in entries:
            queue = _queue(key)
            if queue is not None and queue not in self.cache:
                self.cache[queue] = (partition, load_state(key.removeprefix(STATE), entries.get))

    def _count_waiting(self, queue: str, kind: str, outputs: list[Output]) -> None:
        """`cckpi_calls_waiting` (dashboards): offered minus answered or abandoned calls of the queue, in memory
        only (approximate after a restart or rebalance), never below 0; a duplicate event changes nothing."""
        waiting = waiting_after(self.waiting.get(queue, 0), kind, outputs)
        if waiting is not None:
            self.waiting[queue] = waiting
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
            cached = self.cache[key] = (partition, load_state(calls_clock(key), load.get))
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
            self.out.emit(result.sends, [UnscopedEvent("calls", event.event_id)], msg)
            return
        state = self._state(expected, msg.partition, stored)
        try:
            outputs = self.processor.ingest(state, event.queue, event, now, msg.offset)
        except CalendarUnknownDay as exc:  # raised before the state changed: the event is only parked
            self.out.dead_letter(result.sends, msg, str(exc), "calendar_unknown_day")
            return
        result.states[expected] = (msg.partition, state)
        self.out.emit(result.sends, outputs, msg)
        self._count_waiting(event.queue, event.type, outputs)

    def on_tick(self, partition: int, stored: Iterable[tuple[bytes, bytes | None]],
                wall_now: float | None = None) -> BatchResult:
        """Let quiet scopes of a partition (its stored entries, plus cached states) close windows by the wall clock."""
        now = time.time() if wall_now is None else wall_now
        self.warm(partition, stored)
        result = BatchResult()
        for queue, cached in self.cache.items():
            if cached[0] != partition:
                continue
            outputs = self.processor.idle(cached[1], queue.decode(), now, self.idle_after)
            if outputs:
                result.states[queue] = cached
                self.out.emit(result.sends, outputs, None)
        self._update_current(result.states)
        return result

    def _update_current(self, states: dict[bytes, tuple[int, ScopeState]]) -> None:
        for key, (_, state) in states.items():
            self.out.publish_current(self.processor, key.decode(), state)


def _queue(key: bytes) -> bytes | None:
    """The queue of a stored calls state entry (`state:calls:<queue>`), None for other entries."""
    prefix = STATE + CALLS.name.encode() + b":"
    return key[len(prefix):] if key.startswith(prefix) else None
