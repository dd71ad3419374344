"""Day classification: which local dates have working time, and which local intervals.

Rule, first match wins, for a local date D:
1. an override for D: `holiday` -> no working time; `workday` -> its `hours`, else `workday_hours`;
2. the holiday library knows D: statutory holiday -> no working time; make-up working day (调休) ->
   `workday_hours`; regular day -> `working_hours` of D's weekday;
3. the library cannot classify D (unknown year) and D <= `known_until` -> `working_hours` of D's weekday
   (the contract vouches that its overrides list every exception up to then);
4. otherwise `CalendarUnknownDay`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache

from streams.calendar.errors import CalendarUnknownDay
from streams.calendar.sources import HolidaySource, LibraryKind, Unknown, source_for
from streams.calendar.spec import WEEKDAYS, CalendarSpec, DateOverride, clock_minutes

#: A working interval as (start, end) minutes after local midnight, end exclusive, end <= 1440.
MinuteRange = tuple[int, int]


class DayKind(StrEnum):
    """How a date was classified."""

    REGULAR = "regular"  # the weekly working hours of its weekday
    HOLIDAY = "holiday"  # no working time (library holiday or override)
    WORKDAY = "workday"  # declared working day: library make-up day (调休) or workday override


class DaySource(StrEnum):
    """Which rule classified a date."""

    OVERRIDE = "override"
    LIBRARY = "library"
    KNOWN_UNTIL = "known_until"  # library did not know it, the contract vouches via known_until


@dataclass(frozen=True)
class Day:
    """One classified local date and its working intervals (local minutes, sorted, merged)."""

    date: date
    kind: DayKind
    source: DaySource
    intervals: tuple[MinuteRange, ...]
    name: str | None = None

    @property
    def is_working(self) -> bool:
        """True when the date has any working time."""
        return bool(self.intervals)


def to_minute_ranges(ranges: list[tuple[str, str]]) -> tuple[MinuteRange, ...]:
    """`[["09:00","12:00"], ["12:00","18:00"]]` -> `((540, 1080),)`: sorted, touching intervals merged."""
    merged: list[MinuteRange] = []
    for start, end in sorted((clock_minutes(s), clock_minutes(e)) for s, e in ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


class DayClassifier:
    """Classifies local dates for one `CalendarSpec`; results are cached per instance (LRU)."""

    def __init__(self, spec: CalendarSpec, *, name: str | None = None, cache_size: int = 4096) -> None:
        self.spec = spec
        self.source: HolidaySource = source_for(spec)
        self.description = f"{name!r} " if name else ""
        self.description += f"[holidays: {self.source.description}, timezone {spec.timezone}]"
        self._weekly = tuple(to_minute_ranges(spec.working_hours.get(weekday, [])) for weekday in WEEKDAYS)
        self._workday = to_minute_ranges(spec.effective_workday_hours())
        self._overrides: dict[date, DateOverride] = {o.date: o for o in spec.overrides}
        self.classify = lru_cache(maxsize=cache_size)(self._classify)

    def _classify(self, day: date) -> Day:
        """Apply the classification rule (module docstring) to one local date."""
        if isinstance(day, datetime):
            raise TypeError(f"expected a local date, got the datetime {day!r}; use .astimezone(tz).date()")
        override = self._overrides.get(day)
        if override is not None:
            if override.kind == "holiday":
                return Day(day, DayKind.HOLIDAY, DaySource.OVERRIDE, (), override.name)
            hours = to_minute_ranges(override.hours) if override.hours is not None else self._workday
            return Day(day, DayKind.WORKDAY, DaySource.OVERRIDE, hours, override.name)
        verdict = self.source.classify(day)
        if isinstance(verdict, Unknown):
            known_until = self.spec.known_until
            if known_until is not None and day <= known_until:
                return Day(day, DayKind.REGULAR, DaySource.KNOWN_UNTIL, self._weekly[day.weekday()])
            if known_until is not None:
                raise CalendarUnknownDay(day, self.description, f"{verdict.reason}, and known_until is {known_until}")
            raise CalendarUnknownDay(day, self.description, verdict.reason)
        if verdict.kind is LibraryKind.HOLIDAY:
            return Day(day, DayKind.HOLIDAY, DaySource.LIBRARY, (), verdict.name)
        if verdict.kind is LibraryKind.MAKEUP:
            return Day(day, DayKind.WORKDAY, DaySource.LIBRARY, self._workday, verdict.name)
        return Day(day, DayKind.REGULAR, DaySource.LIBRARY, self._weekly[day.weekday()])
