"""What every adapter offers, and the bookkeeping they share.

An adapter reads the files of one real source format and yields cckpi events in time order. Rows it cannot use
are never dropped silently: each malformed row is reported through `on_problem` (up to a cap per file), and every
row left out on purpose or kept despite a known data quirk is counted in `ReadStats` and summarized through
`on_problem` when reading ends.
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import tzinfo
from pathlib import Path
from typing import Any, Protocol, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from streams.models.events import Event

ProblemSink = Callable[[str], None]
"""Receives one human-readable line per problem (`file:line: reason`) and the summary lines at the end."""

MAX_ROW_PROBLEMS = 20
"""Malformed rows reported one by one per file; beyond that only their count is reported."""

Timed = TypeVar("Timed", bound=tuple[Any, ...])
"""A tuple (epoch seconds, sequence number, ...) describing one event to come."""


class AdapterError(ValueError):
    """A file cannot be read by this adapter at all (wrong format, missing columns, unknown timezone)."""


@dataclass
class ReadStats:
    """What one `read` did: rows seen, events made per type, rows skipped and quirks kept, by reason."""

    rows: int = 0
    """Data rows (lines) of the expected shape, whether they became events or not."""
    events: Counter[str] = field(default_factory=Counter)
    """Events yielded, by type."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Rows (or source events) deliberately left out, by reason."""
    quirks: Counter[str] = field(default_factory=Counter)
    """Rows kept although they show a known data quirk, by quirk."""
    malformed: int = 0
    """Rows that could not be parsed (each reported through `on_problem`)."""

    def summary(self, name: str) -> list[str]:
        """One line per skip reason and quirk, for `on_problem`."""
        lines = [f"{name}: skipped {n}: {reason}" for reason, n in sorted(self.skipped.items())]
        lines += [f"{name}: kept {n} with quirk: {quirk}" for quirk, n in sorted(self.quirks.items())]
        if self.malformed:
            lines.append(f"{name}: skipped {self.malformed} malformed rows")
        return lines


class Problems:
    """Reports malformed rows of one file through a sink, at most `MAX_ROW_PROBLEMS` of them one by one."""

    def __init__(self, path: Path, sink: ProblemSink | None, stats: ReadStats) -> None:
        self.path, self.sink, self.stats, self.count = path, sink, stats, 0

    def row(self, line: int, reason: str) -> None:
        """Count a malformed row and report it (or, past the cap, only count it)."""
        self.count += 1
        self.stats.malformed += 1
        if self.sink is not None and self.count <= MAX_ROW_PROBLEMS:
            self.sink(f"{self.path}:{line}: skipped: {reason}")

    def fields(self, line: int, found: int, expected: int, what: str = "fields") -> bool:
        """Whether a row has the header's field count; if not (a missing or an extra column shifts or cuts the
        values), count and report it as malformed, so the caller skips it."""
        if found == expected:
            return True
        self.row(line, f"expected {expected} {what}, found {found}")
        return False

    def close(self) -> None:
        """Report how many malformed rows were not shown one by one."""
        if self.sink is not None and self.count > MAX_ROW_PROBLEMS:
            self.sink(f"{self.path}: {self.count - MAX_ROW_PROBLEMS} more malformed rows skipped")


class Adapter(Protocol):
    """A source format: its registry name, a one-line description, its default timezone and a reader."""

    @property
    def name(self) -> str:
        """The `--source` name."""
        ...

    @property
    def description(self) -> str:
        """One line saying what files it reads."""
        ...

    @property
    def timezone(self) -> str:
        """IANA timezone of local times in the files (or of the offsets given to epoch times)."""
        ...

    def read(self, paths: Sequence[Path], on_problem: ProblemSink | None = None,
             stats: ReadStats | None = None) -> Iterator[Event]:
        """Events of the files (read in the given order), in time order; problems and skips reported, not raised."""
        ...

    def with_timezone(self, timezone: str) -> Self:
        """The same adapter reading local times in another timezone."""
        ...


@dataclass(frozen=True)
class BaseAdapter:
    """Shared fields and helpers of the concrete adapters (frozen: configure with `with_timezone`)."""

    name: str
    description: str
    timezone: str = "UTC"

    def with_timezone(self, timezone: str) -> Self:
        """A copy reading times in `timezone` (checked when reading starts)."""
        return replace(self, timezone=timezone)

    def zone(self) -> tzinfo:
        """The configured timezone, or AdapterError naming it."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise AdapterError(f"unknown timezone {self.timezone!r} (use an IANA name such as Europe/Paris)") from None

    def finish(self, stats: ReadStats, on_problem: ProblemSink | None) -> None:
        """Report the skip and quirk summary at the end of a read."""
        if on_problem is not None:
            for line in stats.summary(self.name):
                on_problem(line)


def in_time_order(batches: Iterable[list[Timed]]) -> Iterator[Timed]:
    """Items of consecutive batches (one per file), each sorted by (time, sequence), in time order overall.

    Items are tuples starting with (epoch seconds, sequence number). Files are usually consecutive periods whose
    edges overlap a little (a call crossing midnight at the end of a month file ends in the next month): the tail
    of a batch later than the start of the next batch is merged into it. Sequence numbers must be unique across
    batches, so ties keep source order.
    """
    pending: list[Timed] = []
    for batch in batches:
        if not batch:
            continue
        cut = bisect.bisect_right(pending, (batch[0][0], batch[0][1]), key=_time_and_seq)
        yield from pending[:cut]
        pending = list(heapq.merge(pending[cut:], batch, key=_time_and_seq)) if cut < len(pending) else batch
    yield from pending


def _time_and_seq(item: tuple[Any, ...]) -> tuple[float, int]:
    return item[0], item[1]
