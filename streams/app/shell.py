"""The stream side of the core: batches of Kafka messages of every event family in, state updates and output
messages out.

One shell for every family: it holds, per owned source partition, the core `Engine` of that partition (the scope
states of its queues for calls; the family's clock and ticket or service book otherwise), and takes each message
through decode -> vet (dead letters, wrong key or topic, future, unscoped) -> engine -> sinks, then writes the
changed state in the one key layout (`streams.core.layout`). Framework-free on purpose (Faust lives in
`worker.py`), so the same batch handler is unit-testable and the per-event path is plain Python over the pure core.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from streams.app.emitter import Consumed, Emitter, Send
from streams.app.settings import MAX_FUTURE_SECONDS
from streams.calendar import CalendarUnknownDay
from streams.core.batch import Engine
from streams.core.gauges import waiting_after
from streams.core.layout import STATE, engine_writes, load_engine, load_state, state_key
from streams.core.pool import PartTracker, PoolPart, closed_parts, hide_parts
from streams.core.processor import Processor
from streams.core.records import Output
from streams.models.decode import decode_call, decode_event
from streams.models.events import Event
from streams.models.families import BY_TOPIC, CALLS, family_of, scope_of
from streams.sinks.base import Sinks
from streams.sinks.metrics import Metrics
from streams.sinks.wiring import build_sinks

log = logging.getLogger(__name__)
Source = tuple[str, int]
"""A source partition: (topic, partition)."""


class Stored(Protocol):
    """Where states not yet loaded are read from (keys of `streams.core.layout`): a dict in tests, the changelog
    store in the worker."""

    def get(self, key: bytes, default: bytes | None = None, /) -> bytes | None: ...


@dataclass
class BatchResult:
    """What a batch or tick changed: the store writes of every changed entry and the messages to produce."""

    sends: list[Send] = field(default_factory=list)
    stored: list[tuple[Source, bytes, bytes | None]] = field(default_factory=list)
    parts: list[PoolPart] = field(default_factory=list)
    """Parts of pooled terms' windows changed by the batch (the loop publishes them, see `streams.core.pool`)."""

    def writes(self) -> list[tuple[Source, bytes, bytes | None]]:
        """Store writes of the changed entries (see `streams.core.layout`): (source partition, key, value or None)."""
        return self.stored


@dataclass
class Batch:
    """A batch being fed to the shell in parts: one wall-clock reading, the partitions touched, what it changed."""

    now: float
    result: BatchResult = field(default_factory=BatchResult)
    touched: set[Source] = field(default_factory=set)


class StreamShell:
    """Applies consumed batches of every family to the engine of their source partition, and turns the outputs
    into messages."""

    def __init__(self, processor: Processor, metrics: Metrics, idle_after: float,
                 max_future: float = MAX_FUTURE_SECONDS, sinks: Sinks | None = None) -> None:
        self.processor = processor
        """The core's processor, shared by every partition's engine (its caches serve them all)."""
        self.metrics = metrics
        self.idle_after = idle_after
        self.max_future = max_future
        self.out = Emitter(metrics, sinks or build_sinks(metrics, processor.terms))
        self.engines: dict[Source, Engine] = {}
        """The core of each source partition held here (created on assignment or first message)."""
        self.waiting: dict[str, int] = {}
        """Calls waiting per queue, for `cckpi_calls_waiting`."""
        self.waiting_changed: set[str] = set()
        self.parts = PartTracker(processor.terms)
        """What each queue handed on of its pooled terms' windows (`aggregate: pooled`)."""
        self.hidden = processor.terms.pooled_keys
        """Pooled terms: a queue's own windows of them are not published, its parts are."""

    def engine(self, topic: str) -> Engine | None:
        """The engine of a partition of this topic held here (the one of a single-partition family), if any."""
        return next((engine for (t, _), engine in sorted(self.engines.items()) if t == topic), None)

    def forget(self, sources: Iterable[Source] | None = None) -> None:
        """Drop the engines of these source partitions (all by default: another worker owns them now, or the store
        is the truth) and their queues' calls-waiting counts."""
        gone = list(self.engines) if sources is None else [s for s in sources if s in self.engines]
        for source in gone:
            for clock in self.engines.pop(source).states:
                name = scope_of(clock)
                if source[0] == CALLS.topic and self.waiting.pop(name, None) is not None:
                    self.metrics.calls_waiting.remove(name)  # another worker may own the queue now: stop reporting
                self.waiting_changed.discard(name)
                self.parts.forget([name])

    def warm(self, source: Source, stored: Iterable[tuple[bytes, bytes | None]]) -> None:
        """Decode a partition's stored entries into its engine now (with their seen ids, which need not stay in
        memory as stored bytes afterwards); an engine held already only gains the states no engine holds."""
        entries = {key: value for key, value in stored if value is not None}
        engine = self.engines.get(source)
        if engine is None:
            self.engines[source] = load_engine(self.processor.terms, entries.items(), self.processor)
            return
        for key in entries:
            if not key.startswith(STATE):
                continue
            clock = key[len(STATE):]
            name = clock.decode()
            if name not in engine.states and not any(name in e.states for e in self.engines.values()):
                engine.states[name] = load_state(clock, entries.get)

    def _engine(self, source: Source) -> Engine:
        engine = self.engines.get(source)
        if engine is None:
            engine = self.engines[source] = Engine(self.processor.terms, self.processor)
        return engine

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

    def on_batch(self, messages: Sequence[Consumed], stored: Stored,
                 wall_now: float | None = None) -> BatchResult:
        """Process messages (of any source partitions, each in order); `stored` holds the table values of states
        not yet loaded."""
        batch = self.begin(wall_now)
        self.feed(batch, messages, stored)
        return self.end(batch)

    @staticmethod
    def begin(wall_now: float | None = None) -> Batch:
        """Start a batch fed in parts (`feed`, then `end`): the loop gives the event loop a turn between parts."""
        return Batch(time.time() if wall_now is None else wall_now)

    def feed(self, batch: Batch, messages: Sequence[Consumed], stored: Stored) -> None:
        """Apply a part of a batch (messages of any source partitions, each in order)."""
        result, touched, now = batch.result, batch.touched, batch.now
        source, engine = ("", -1), None
        for msg in messages:
            try:
                if engine is None or msg.partition != source[1] or msg.topic != source[0]:  # a partition's run
                    source = (msg.topic, msg.partition)
                    touched.add(source)
                    engine = self._engine(source)
                self._one(msg, engine, stored, now, result)
            except Exception as exc:  # a bug must not stop the stream: park the message and say why
                log.exception("could not process %s[%d]@%d", msg.topic, msg.partition, msg.offset)
                self.out.dead_letter(result.sends, msg, f"internal error: {exc!r}", "internal_error")

    def end(self, batch: Batch) -> BatchResult:
        """Finish a batch: the gauges and store writes of every state it changed (once per batch, not per part)."""
        self._settle(batch.touched, batch.result)
        self._publish_counts()
        return batch.result

    def _one(self, msg: Consumed, engine: Engine, stored: Stored, now: float, result: BatchResult) -> None:
        """One message through vetting, its partition's engine and the sinks."""
        calls = msg.topic == CALLS.topic
        event: Event
        if calls:  # the hot path: decode_call yields the calls family's events only
            call = self.out.vet(result.sends, msg, now, decode_call, self.max_future)
            if call is None:
                return
            event, family, scope = call, CALLS, call.queue
        else:
            other = self.out.vet(result.sends, msg, now, decode_event, self.max_future)
            if other is None:
                return
            event = other
            family = family_of(event)
            if family is not BY_TOPIC.get(msg.topic):
                self.out.dead_letter(result.sends, msg, f"a {event.type} event belongs on {family.topic}",
                                     "wrong_topic")
                return
            scope = family.scope(event)
        clock = family.clock(scope)  # for a partitioned family the scope is the message key (the queue of calls)
        if family.partitioned:
            if msg.key != scope.encode():
                self.out.dead_letter(result.sends, msg, f"message key {msg.key!r} must be the queue name {scope!r}, "
                                     "so all events of a queue land in one partition", "wrong_key")
                return
            if clock not in engine.states and stored.get(state_key(clock.encode())) is not None:
                engine.states[clock] = load_state(clock.encode(), stored.get)  # not loaded on assignment (tests)
        try:
            outputs = engine.ingest_at(family, scope, clock, event, now, msg.offset)
        except CalendarUnknownDay as exc:  # raised before the state changed: the event is only parked
            self.out.dead_letter(result.sends, msg, str(exc), "calendar_unknown_day")
            return
        if self.hidden and calls:
            result.parts += closed_parts(outputs, self.hidden, engine.states)
            outputs = hide_parts(outputs, self.hidden)
        self.out.emit(result.sends, outputs, msg)
        if calls and clock in engine.states:  # unscoped events get no state and no series
            self._count_waiting(scope, event.type, outputs)

    def on_tick(self, source: Source, stored: Iterable[tuple[bytes, bytes | None]],
                wall_now: float | None = None) -> BatchResult:
        """Let the quiet clocks of a source partition close windows and settle ticket deadlines by the wall clock
        (its stored entries are read only when no engine is held for it: the loop warms it on assignment)."""
        now = time.time() if wall_now is None else wall_now
        if source not in self.engines:
            self.warm(source, stored)
        result = BatchResult()
        outputs = self.engines[source].idle(now, self.idle_after)
        if self.hidden and source[0] == CALLS.topic:
            result.parts += closed_parts(outputs, self.hidden, self.engines[source].states)
            outputs = hide_parts(outputs, self.hidden)
        self.out.emit(result.sends, outputs, None)
        self._settle({source}, result)
        return result

    def _settle(self, sources: Iterable[Source], result: BatchResult) -> None:
        """Publish the period-to-date gauges of the states changed in these partitions and add their store writes."""
        for source in sorted(sources):
            engine = self.engines[source]
            for clock in engine.dirty:
                state, scope = engine.states[clock], scope_of(clock)
                self.out.publish_current(engine.processor, scope, state, clock=scope if ":" in clock else clock)
                if self.hidden and source[0] == CALLS.topic:
                    result.parts += self.parts.updates(scope, state)
            result.stored += [(source, key, value) for key, value in engine_writes(engine)]
