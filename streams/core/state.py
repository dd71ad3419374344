"""Per-scope state: event-time clock and windows (one table entry per scope), and seen event ids
(one table entry per scope and hour, so a batch rewrites only the hours it touched)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from streams.core.dedupe import SeenIds
from streams.core.load import QueueLoad
from streams.core.staffing import StaffingBook

SCALE: Final = 1_000_000
"""Sums are kept as integers of millionths, so they are exact and do not depend on the order of addition
(float sums do, in the last digits: stream and batch, or a replay, could otherwise differ)."""


def millionths(value: float) -> int:
    """`round(value * SCALE)` (halves to even), in arithmetic the compiled core does natively (the builtin is a
    generic call on the per-contribution path)."""
    scaled = value * SCALE
    low = math.floor(scaled)
    rest = scaled - low  # exact: the fraction of a float (and 0 beyond 2**52, where floats are whole)
    return low + 1 if rest > 0.5 or (rest == 0.5 and low % 2) else low


@dataclass(slots=True)
class WindowAgg:
    """Running sums of one window of one term; `revision` is -1 until first emitted."""

    term: str
    start: float
    end: float
    n: int = 0
    """Numerator in millionths."""
    d: int = 0
    """Denominator in millionths."""
    revision: int = -1
    closed: bool = False
    pending: int = 0
    """Contributions announced but not decided yet (open tickets): the window waits for them."""
    alert: str = "ok"
    """Breach lifecycle state of the window: ok, warning or breached (see `streams.core.lifecycle`)."""
    alert_revision: int = 0
    alert_since: float = 0.0
    sample: list[str] = field(default_factory=list)
    """The last few contributing event ids: evidence for a breach."""

    @property
    def num(self) -> float:
        """The numerator sum."""
        return self.n / SCALE

    @property
    def den(self) -> float:
        """The denominator sum."""
        return self.d / SCALE

    def add(self, num: float, den: float) -> None:
        """Add one contribution, exactly to the millionth."""
        self.n += millionths(num)
        self.d += millionths(den)


@dataclass
class ScopeState:
    """Event-time clock and open/recent windows of one scope (queue)."""

    watermark: float = -math.inf
    stream_time: float = -math.inf
    last_event_wall: float = 0.0
    late: int = 0
    applied: int = -1
    """Input position (Kafka offset) of the last message applied; a message delivered again is skipped."""
    windows: dict[tuple[str, float], WindowAgg] = field(default_factory=dict)
    seen: SeenIds = field(default_factory=SeenIds)
    next_due: float = field(default=-math.inf, compare=False)  # transient: earliest close or purge time
    load: QueueLoad | None = None
    """Smoothed load, staffing and forecast warnings of a queue (streams.core.load); None elsewhere."""
    staffing: StaffingBook | None = None
    """A queue's agents for its staffing-floor terms (streams.core.staffing); None before its first agent event."""

    def to_bytes(self) -> bytes:
        """Compact serialization for the state table; `fc` (forecast load) and `sf` (staffing floor) only when
        present, so states written before they existed read back unchanged."""
        extra = {} if self.load is None else {"fc": self.load.to_json()}
        if self.staffing is not None:
            extra["sf"] = self.staffing.to_json()
        return orjson.dumps({
            **extra,
            "wm": _finite(self.watermark),
            "st": _finite(self.stream_time),
            "lw": self.last_event_wall,
            "late": self.late,
            "ap": self.applied,
            "w": [[a.term, a.start, a.end, a.n, a.d, a.revision, a.closed, a.pending, a.alert, a.alert_revision,
                   a.alert_since, a.sample] for a in self.windows.values()],
            "seen": self.seen.stored_parts(),
        })

    @classmethod
    def from_bytes(cls, raw: bytes | None, read_seen: Callable[[str], bytes | None] | None = None) -> ScopeState:
        """Inverse of to_bytes; empty state for None. `read_seen` reads a stored part of seen ids by name."""
        if not raw:
            return cls()
        data: dict[str, Any] = orjson.loads(raw)
        state = cls(_infinite(data["wm"]), _infinite(data["st"]), data["lw"], data["late"], data["ap"])
        for fields in data["w"]:
            agg = WindowAgg(*fields)
            state.windows[window_id(agg.term, agg.start)] = agg
        state.seen.load(data["seen"], read_seen)
        if "fc" in data:
            state.load = QueueLoad.from_json(data["fc"])
        if "sf" in data:
            state.staffing = StaffingBook.from_json(data["sf"])
        return state


def window_id(term: str, start: float) -> tuple[str, float]:
    """Key of a window within a scope's state (a tuple: hashing it is cheaper than formatting a string)."""
    return term, start


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


def _infinite(value: float | None) -> float:
    return -math.inf if value is None else value
