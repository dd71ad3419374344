"""Pooled terms (`aggregate: pooled`): one window over all of a call term's queues, merged from per-queue parts.

Each queue's engine keeps its own window of a pooled term as for any other term, but hands it on as a `PoolPart`
(its sums, whether it is final, its version) instead of publishing it; `Pool` merges the parts of every queue of the
term: the pooled window's sums are the sums of the latest part of each queue, judged once (minimum volume over the
pool, scope `all`); it closes when every queue's clock has passed its end plus grace (a final part says so for its
queue; a queue quiet for `idle_after` wall seconds follows the others), is revised when a part is revised (late
data) and forgotten once every clock has passed its retention. `cckpi compute` (`LocalPool`) and the stream
(`streams.app.pool`, the parts crossing Kafka) run the same two steps, so both give the same pooled windows.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from streams.core.lifecycle import assess, finalize, remember_sample
from streams.core.processor import Processor
from streams.core.records import BreachUpdate, ClosedBy, LateContribution, Output, WindowResult
from streams.core.state import SCALE, ScopeState, WindowAgg
from streams.core.terms import CompiledTerm, TermIndex
from streams.models.families import CALLS, WHOLE, scope_of

POOLED = WHOLE
"""The scope of a pooled window (`all`: every queue of the term), as for ticket, survey and availability terms."""
Version = tuple[int, int]
"""(applied input position of the queue's state, the window's revision): a part with a lower version is stale."""


@dataclass(frozen=True)
class PoolPart:
    """One queue's share of a pooled term's window (`start` None: only the queue's clock, its watermark)."""

    term: str
    queue: str
    clock: float
    start: float | None = None
    end: float = 0.0
    n: int = 0
    """Numerator in millionths (`streams.core.state.SCALE`)."""
    d: int = 0
    closed: bool = False
    version: Version = (-1, -1)
    sample: tuple[str, ...] = ()

    @property
    def key(self) -> bytes:
        """Kafka key: one per term, window and queue (a compacted topic keeps each queue's latest part)."""
        return f"{self.term}/{'clock' if self.start is None else repr(self.start)}/{self.queue}".encode()

    def to_bytes(self) -> bytes:
        """JSON value of the internal parts topic."""
        return orjson.dumps([self.term, self.queue, _finite(self.clock), self.start, self.end, self.n, self.d,
                             self.closed, list(self.version), list(self.sample)])

    @classmethod
    def from_bytes(cls, raw: bytes) -> PoolPart:
        """Inverse of `to_bytes`."""
        term, queue, clock, start, end, n, d, closed, version, sample = orjson.loads(raw)
        return cls(term, queue, _infinite(clock), start, end, n, d, closed, (version[0], version[1]), tuple(sample))


def pool_partition(key: bytes, partitions: int) -> int:
    """The partition of the parts topic a part key goes to: one per `contract/term`, so one owner merges a term."""
    contract, term, _ = key.split(b"/", 2)
    return zlib.crc32(contract + b"/" + term) % partitions


def hide_parts(outputs: list[Output], pooled: frozenset[str]) -> list[Output]:
    """A queue engine's outputs without its own windows and breach steps of pooled terms (their parts go to `Pool`)."""
    return [o for o in outputs
            if not (isinstance(o, WindowResult | BreachUpdate) and f"{o.contract}/{o.term}" in pooled)]


def closed_parts(outputs: list[Output], pooled: frozenset[str], states: Mapping[str, ScopeState]) -> list[PoolPart]:
    """The final parts of the pooled terms' windows that queue engines' outputs closed or revised, taken per event:
    a window may close and be forgotten within one batch, before `PartTracker` would see it."""
    found: list[PoolPart] = []
    for o in outputs:
        if isinstance(o, WindowResult) and f"{o.contract}/{o.term}" in pooled:
            state = states[CALLS.clock(o.scope)]
            found.append(PoolPart(f"{o.contract}/{o.term}", o.scope, state.watermark, _epoch(o.window_start),
                                  _epoch(o.window_end), round(o.numerator * SCALE), round(o.denominator * SCALE),
                                  True, (state.applied, o.revision)))
    return found


class PartTracker:
    """What each queue has handed on of its pooled terms' open windows, so only changed ones (and clocks) are sent;
    closed windows are handed on from the outputs that close them (`closed_parts`)."""

    def __init__(self, terms: TermIndex) -> None:
        self.pooled = {q: ts for q, all_terms in terms.by_queue.items() if (ts := tuple(t for t in all_terms
                                                                                        if t.pooled))}
        self.sent: dict[str, dict[tuple[str, float], tuple[int, int, bool, int]]] = {}
        self.clocks: dict[str, float] = {}

    def updates(self, queue: str, state: ScopeState) -> list[PoolPart]:
        """The parts of the queue's open pooled windows changed since the last call, then its clock if it moved."""
        terms = self.pooled.get(queue)
        if not terms:
            return []
        keys = {t.key for t in terms}
        before = self.sent.get(queue, {})
        now: dict[tuple[str, float], tuple[int, int, bool, int]] = {}
        found: list[PoolPart] = []
        for agg in state.windows.values():
            if agg.closed or agg.term not in keys:
                continue
            sig = now[agg.term, agg.start] = (agg.n, agg.d, agg.closed, agg.revision)
            if before.get((agg.term, agg.start)) != sig:
                found.append(PoolPart(agg.term, queue, state.watermark, agg.start, agg.end, agg.n, agg.d, agg.closed,
                                      (state.applied, agg.revision), tuple(agg.sample)))
        self.sent[queue] = now
        if state.watermark > self.clocks.get(queue, -math.inf):
            self.clocks[queue] = state.watermark
            found += [PoolPart(t.key, queue, state.watermark) for t in terms]
        return found

    def forget(self, queues: Iterable[str]) -> None:
        """Drop what was sent for these queues (another worker owns them now)."""
        for queue in queues:
            self.sent.pop(queue, None)
            self.clocks.pop(queue, None)


@dataclass
class PoolWindow:
    """A pooled window: its sums and lifecycle (`agg`) and the latest part of each queue."""

    agg: WindowAgg
    parts: dict[str, tuple[int, int, bool, int, int]] = field(default_factory=dict)
    """queue -> (n, d, closed, applied, revision) of its latest part."""


@dataclass
class TermPool:
    """The merge state of one pooled term: each queue's clock, when it was last heard of, and the open and recent
    pooled windows."""

    clocks: dict[str, float] = field(default_factory=dict)
    heard: dict[str, float] = field(default_factory=dict)
    """Wall time each queue last sent a part (the idle rule)."""
    created: float = 0.0
    windows: dict[float, PoolWindow] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Serialization for the pool stage's changelog."""
        return orjson.dumps({
            "c": {q: _finite(v) for q, v in self.clocks.items()}, "h": self.heard, "t": self.created,
            "w": [[a.start, a.end, a.n, a.d, a.revision, a.closed, a.alert, a.alert_revision, a.alert_since,
                   a.sample, {q: list(p) for q, p in w.parts.items()}] for w in self.windows.values() for a in [w.agg]],
        })

    @classmethod
    def from_bytes(cls, term: str, raw: bytes) -> TermPool:
        """Inverse of `to_bytes`."""
        data: dict[str, Any] = orjson.loads(raw)
        pool = cls({q: _infinite(v) for q, v in data["c"].items()}, data["h"], data["t"])
        for start, end, n, d, revision, closed, alert, alert_revision, since, sample, parts in data["w"]:
            agg = WindowAgg(term, start, end, n, d, revision, closed, 0, alert, alert_revision, since, sample)
            pool.windows[start] = PoolWindow(agg, {q: (p[0], p[1], p[2], p[3], p[4]) for q, p in parts.items()})
        return pool


class Pool:
    """Merges the parts of pooled terms into pooled windows, judged and closed like any other window."""

    def __init__(self, terms: TermIndex) -> None:
        self.terms = terms
        self.states: dict[str, TermPool] = {}
        self.dirty: set[str] = set()
        """Terms whose merge state changed since the caller last drained it (the stream persists only those)."""

    def on_part(self, part: PoolPart, wall_now: float = 0.0) -> list[Output]:
        """Take one part (or clock); return the pooled windows it closed or revised and their breach steps."""
        term = self.terms.by_key.get(part.term)
        if term is None or not term.pooled or part.queue not in term.queues:
            return []
        pool = self.states.get(term.key)
        if pool is None:
            pool = self.states[term.key] = TermPool(created=wall_now)
        pool.heard[part.queue] = wall_now
        self.dirty.add(term.key)
        out = [] if part.start is None else self._merge(term, pool, part)
        clock = max(part.clock, part.end + term.grace) if part.start is not None and part.closed else part.clock
        if clock > pool.clocks.get(part.queue, -math.inf):
            pool.clocks[part.queue] = clock
        return out + self._advance(term, pool, "watermark")

    def _merge(self, term: CompiledTerm, pool: TermPool, part: PoolPart) -> list[Output]:
        """Put a queue's part in its pooled window (a stale or repeated part changes nothing)."""
        assert part.start is not None
        window = pool.windows.get(part.start)
        due = part.end + term.grace
        if window is None:
            clock = _clock(term, pool)
            if due + term.retention <= clock:
                return [LateContribution(term.key, POOLED, term.window.iso(part.start), part.sample[-1]
                                         if part.sample else "", "pooled window closed and past its retention of "
                                         f"{term.term.retention}")]
            window = pool.windows[part.start] = PoolWindow(WindowAgg(term.key, part.start, part.end,
                                                                     closed=due <= clock))
        new = (part.n, part.d, part.closed, *part.version)
        old = window.parts.get(part.queue)
        if old is not None and (old == new or old[3:] > new[3:]):
            return []
        window.parts[part.queue] = new
        agg = window.agg
        n, d = sum(p[0] for p in window.parts.values()), sum(p[1] for p in window.parts.values())
        changed = (n, d) != (agg.n, agg.d)
        agg.n, agg.d = n, d
        for event_id in part.sample:
            if event_id not in agg.sample:
                remember_sample(agg, event_id)
        if agg.closed:
            return _close(agg, term, "late_event") if changed or agg.revision < 0 else []
        update = assess(agg, term, POOLED, part.clock if math.isfinite(part.clock) else agg.start) if changed else None
        return [] if update is None else [update]

    def idle(self, wall_now: float, idle_after: float) -> list[Output]:
        """A queue quiet for `idle_after` wall seconds (or never heard of) follows the term's most advanced clock,
        so a pooled window does not wait for ever for a queue without calls."""
        out: list[Output] = []
        for key, pool in self.states.items():
            term = self.terms.by_key.get(key)
            if term is None or not pool.clocks:
                continue
            ahead = max(pool.clocks.values())
            for queue in term.queues:
                quiet = wall_now - pool.heard.get(queue, pool.created) >= idle_after
                if quiet and pool.clocks.get(queue, -math.inf) < ahead:
                    pool.clocks[queue] = ahead
                    self.dirty.add(key)
            closed = self._advance(term, pool, "idle")
            if closed:
                self.dirty.add(key)
            out += closed
        return out

    def flush(self) -> list[Output]:
        """Close every pooled window (end of a batch input)."""
        out: list[Output] = []
        for key, pool in self.states.items():
            term = self.terms.by_key[key]
            pool.clocks = dict.fromkeys(term.queues, math.inf)
            out += self._advance(term, pool, "end_of_input")
        return out

    def _advance(self, term: CompiledTerm, pool: TermPool, closed_by: ClosedBy) -> list[Output]:
        """Close the pooled windows every queue's clock has passed (end plus grace); forget those past retention."""
        clock = _clock(term, pool)
        closing: list[WindowAgg] = []
        for start, window in list(pool.windows.items()):
            agg = window.agg
            due = agg.end + term.grace
            if not agg.closed and due <= clock:
                agg.closed = True
                closing.append(agg)
            if agg.closed and due + term.retention <= clock:
                del pool.windows[start]
        closing.sort(key=lambda agg: agg.end)
        return [o for agg in closing for o in _close(agg, term, closed_by)]


class LocalPool:
    """Both steps in one process (`cckpi compute`): each queue's parts go straight into the merge after each
    event, as the stream's go after each batch."""

    def __init__(self, terms: TermIndex) -> None:
        self.tracker = PartTracker(terms)
        self.pool = Pool(terms)
        self.hidden = terms.pooled_keys

    def after(self, outputs: list[Output], states: dict[str, ScopeState], clock: str) -> list[Output]:
        """An event's outputs, its queue's pooled parts replaced by what the merge makes of them."""
        merged = self._merge(outputs, [clock], states)
        return hide_parts(outputs, self.hidden) + merged if merged or outputs else outputs

    def flush(self, outputs: list[Output], states: dict[str, ScopeState]) -> list[Output]:
        """The engine's flush outputs, then every pooled window closed."""
        merged = self._merge(outputs, sorted(states), states)
        return hide_parts(outputs, self.hidden) + merged + self.pool.flush()

    def _merge(self, outputs: list[Output], clocks: Iterable[str], states: dict[str, ScopeState]) -> list[Output]:
        """The parts of these outputs and clocks' states through the merge."""
        parts = closed_parts(outputs, self.hidden, states)
        for clock in clocks:
            state = states.get(clock)
            if state is not None and clock.startswith(CALLS.name + ":"):
                parts += self.tracker.updates(scope_of(clock), state)
        return [o for part in parts for o in self.pool.on_part(part)]


def pool_writes(pool: Pool) -> list[tuple[bytes, bytes]]:
    """Store writes of the terms whose merge state changed since the last call (`pool:<contract/term>`)."""
    writes = [(POOL_KEY + key.encode(), pool.states[key].to_bytes()) for key in sorted(pool.dirty)]
    pool.dirty.clear()
    return writes


def load_pool(terms: TermIndex, stored: Iterable[tuple[bytes, bytes]]) -> Pool:
    """A merge restored from its store entries (those of one partition of the parts topic)."""
    pool = Pool(terms)
    for key, value in stored:
        if key.startswith(POOL_KEY):
            term = key[len(POOL_KEY):].decode()
            pool.states[term] = TermPool.from_bytes(term, value)
    return pool


POOL_KEY = b"pool:"


def _close(agg: WindowAgg, term: CompiledTerm, closed_by: ClosedBy) -> list[Output]:
    """The pooled window's result and, if it was ever at risk or ends breached, its final breach step."""
    result = Processor._result(agg, term, POOLED, closed_by)
    final = finalize(agg, term, POOLED)
    return [result] if final is None else [result, final]


def _clock(term: CompiledTerm, pool: TermPool) -> float:
    """The pool's clock: the least advanced of its queues' (-inf until every queue has been heard of)."""
    return min((pool.clocks.get(q, -math.inf) for q in term.queues), default=-math.inf)


def _epoch(iso: str) -> float:
    """Epoch seconds of a window bound as records write it."""
    return datetime.fromisoformat(iso).timestamp()


def _finite(value: float) -> float | None:
    return None if math.isinf(value) and value < 0 else value


def _infinite(value: float | None) -> float:
    return -math.inf if value is None else value
