"""Working-time arithmetic over a contract's business calendar: SLA deadlines and working durations.

Semantics (all instants are timezone-aware; results are in the calendar's timezone):

- Working time is the union of the working intervals of the local dates (see `streams.calendar.days`).
  An interval ["09:00", "18:00"] is the instants 09:00 <= t < 18:00 local; durations are measured in real
  (UTC) time, so DST changes inside an interval count as they really are.
- `elapsed(start, end)`: working time inside [start, end). Antisymmetric: if end < start the result is
  `-elapsed(end, start)` (negative), which keeps `elapsed(a, b) + elapsed(b, c) == elapsed(a, c)` for any order.
- `add_working_time(start, amount)`: the earliest instant t >= start with `elapsed(start, t) == amount`.
  Working time is consumed interval by interval from start; a deadline that exactly uses up an interval is
  that interval's end (15 working minutes from 17:45 with hours 09:00-18:00 -> 18:00 the same day).
  amount 0 -> start itself.
- `add_working_days(start, n)`: "n working days from start" =
  1. anchor: if start lies inside a working interval (s < start <= e, local), the anchor is start; otherwise
     (before opening, after closing, on a day off, or exactly at an opening time) the anchor is the end of
     the last working interval before start (same point in working time: no working time between them);
  2. the target day is the n-th working day after the anchor's local date;
  3. the deadline is the anchor's local time of day on the target day, clamped into that day's working
     intervals: inside an interval [s, e] -> unchanged; in a gap or after the last interval -> the end of
     the last interval before it; before the first interval -> the first interval's start.
  With equal hours every working day this is exactly n days' worth of working time. n 0 -> start itself.
- Any date the computation has to classify and cannot raises `CalendarUnknownDay`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from streams.calendar.days import Day, DayClassifier
from streams.calendar.spec import CalendarSpec

#: Give up after this many consecutive local dates without working time (e.g. all days overridden as holidays).
MAX_IDLE_DAYS = 400

_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0, 0)

Interval = tuple[datetime, datetime]


def _require_aware(value: datetime, what: str) -> None:
    """Naive datetimes are ambiguous across timezones: refuse them."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (e.g. 2026-09-30T16:00+08:00), got {value.isoformat()}")


class BusinessCalendar:
    """A contract's business calendar: working days, working intervals and working-time arithmetic.

    Day classifications and per-day intervals are cached per instance, so deadline computations iterate
    over days and intervals, never over minutes.
    """

    def __init__(self, spec: CalendarSpec, *, name: str | None = None, cache_size: int = 4096) -> None:
        """`name` (e.g. the contract id) appears in error messages."""
        self.spec = spec
        self.tz = ZoneInfo(spec.timezone)
        self._days = DayClassifier(spec, name=name, cache_size=cache_size)
        self._utc_intervals = lru_cache(maxsize=cache_size)(self._compute_utc_intervals)
        self._day_total = lru_cache(maxsize=cache_size)(self._compute_day_total)

    @property
    def description(self) -> str:
        """The calendar as named in error messages."""
        return self._days.description

    # ----------------------------------------------------------------------------------------- days

    def day(self, day: date) -> Day:
        """Classification of a local date (kind, source, holiday name, local working intervals)."""
        return self._days.classify(day)

    def is_working_day(self, day: date) -> bool:
        """True when the local date has working time."""
        return self.day(day).is_working

    def is_working_time(self, instant: datetime) -> bool:
        """True when an aware instant lies in a working interval (service hours)."""
        _require_aware(instant, "instant")
        return any(start <= instant < end for start, end in self._utc_intervals(self._local_date(instant)))

    def working_intervals(self, day: date) -> list[Interval]:
        """Working intervals [start, end) of a local date as aware datetimes in the calendar's timezone."""
        return [(start.astimezone(self.tz), end.astimezone(self.tz)) for start, end in self._utc_intervals(day)]

    def _wall(self, day: date, offset: timedelta) -> datetime:
        """The aware instant at local wall-clock `offset` after midnight of `day` (offset may be 24:00)."""
        naive = datetime.combine(day, _MIDNIGHT) + offset
        return naive.replace(tzinfo=self.tz).astimezone(UTC)

    def _compute_utc_intervals(self, day: date) -> tuple[Interval, ...]:
        """Working intervals of a local date in UTC; intervals emptied by a DST gap are dropped."""
        result: list[Interval] = []
        for start_minute, end_minute in self.day(day).intervals:
            start = self._wall(day, timedelta(minutes=start_minute))
            end = self._wall(day, timedelta(minutes=end_minute))
            if result and start < result[-1][1]:
                start = result[-1][1]
            if end > start:
                result.append((start, end))
        return tuple(result)

    def _compute_day_total(self, day: date) -> timedelta:
        """Working time of a whole local date."""
        return sum((end - start for start, end in self._utc_intervals(day)), timedelta(0))

    def _local_date(self, instant: datetime) -> date:
        """The calendar-local date of an instant."""
        return instant.astimezone(self.tz).date()

    # -------------------------------------------------------------------------------------- elapsed

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two aware instants; negative when end < start (see module docstring)."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        lo, hi = start.astimezone(UTC), end.astimezone(UTC)
        if hi < lo:
            return -self.elapsed(end, start)
        total = timedelta(0)
        if hi == lo:
            return total
        day, last = self._local_date(lo), self._local_date(hi)
        if last > day and hi.astimezone(self.tz).time() == _MIDNIGHT:
            last -= _ONE_DAY  # nothing of `last` lies before its own midnight: no need to classify it
        first = day
        while day <= last:
            if first < day < last:
                total += self._day_total(day)  # whole day inside [start, end)
            else:
                for s, e in self._utc_intervals(day):
                    s, e = max(s, lo), min(e, hi)
                    if e > s:
                        total += e - s
            day += _ONE_DAY
        return total

    # ------------------------------------------------------------------------------------------ add

    def add(
        self,
        start: datetime,
        working_time: timedelta | None = None,
        *,
        working_seconds: float | None = None,
        working_minutes: float | None = None,
        working_hours: float | None = None,
        working_days: int | None = None,
    ) -> datetime:
        """Deadline: `start` plus exactly one amount of working time or working days (see module docstring)."""
        given = {
            name: value
            for name, value in (
                ("working_time", working_time),
                ("working_seconds", working_seconds),
                ("working_minutes", working_minutes),
                ("working_hours", working_hours),
                ("working_days", working_days),
            )
            if value is not None
        }
        if len(given) != 1:
            raise TypeError(
                f"give exactly one of working_time, working_seconds, working_minutes, working_hours, "
                f"working_days (got {', '.join(given) or 'none'})"
            )
        if working_days is not None:
            return self.add_working_days(start, working_days)
        if working_time is None:
            working_time = timedelta(
                seconds=working_seconds or 0, minutes=working_minutes or 0, hours=working_hours or 0
            )
        return self.add_working_time(start, working_time)

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """Earliest instant t >= start with `elapsed(start, t) == amount`."""
        _require_aware(start, "start")
        if amount < timedelta(0):
            raise ValueError(f"working time must not be negative, got {amount}")
        cursor = start.astimezone(UTC)
        if not amount:
            return start.astimezone(self.tz)
        remaining = amount
        day, idle = self._local_date(cursor), 0
        while True:
            intervals = self._utc_intervals(day)
            if not intervals:
                idle += 1
                if idle > MAX_IDLE_DAYS:
                    raise ValueError(
                        f"calendar {self.description} has no working time in the {MAX_IDLE_DAYS} days up to {day}"
                    )
            elif cursor <= intervals[0][0] and self._day_total(day) < remaining:
                idle = 0
                remaining -= self._day_total(day)  # the whole day is used up: no need to look at its intervals
                cursor = intervals[-1][1]
            else:
                idle = 0
                for s, e in intervals:
                    if e <= cursor:
                        continue
                    s = max(s, cursor)
                    if e - s >= remaining:
                        return (s + remaining).astimezone(self.tz)
                    remaining -= e - s
                    cursor = e
            day += _ONE_DAY

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Same local time of day on the `days`-th next working day, clamped (see module docstring)."""
        _require_aware(start, "start")
        if days < 0:
            raise ValueError(f"working days must not be negative, got {days}")
        if days == 0:
            return start.astimezone(self.tz)
        anchor_day, time_of_day = self._anchor(start.astimezone(self.tz))
        target = anchor_day
        for _ in range(days):
            target = self._next_working_day(target)
        return self._wall(target, self._clamp(self.day(target), time_of_day)).astimezone(self.tz)

    def _anchor(self, local: datetime) -> tuple[date, timedelta]:
        """(local date, wall time of day) of start, or of the last closing time before it when outside hours."""
        day = local.date()
        time_of_day = local.replace(tzinfo=None) - datetime.combine(day, _MIDNIGHT)
        ends_before: list[timedelta] = []
        for start_minute, end_minute in self.day(day).intervals:
            s, e = timedelta(minutes=start_minute), timedelta(minutes=end_minute)
            if s < time_of_day <= e:
                return day, time_of_day
            if e <= time_of_day:
                ends_before.append(e)
        if ends_before:
            return day, max(ends_before)
        for _ in range(MAX_IDLE_DAYS):
            day -= _ONE_DAY
            intervals = self.day(day).intervals
            if intervals:
                return day, timedelta(minutes=intervals[-1][1])
        raise ValueError(
            f"calendar {self.description} has no working time in the {MAX_IDLE_DAYS} days before {local.date()}"
        )

    def _next_working_day(self, day: date) -> date:
        """The first local date after `day` with working time."""
        for _ in range(MAX_IDLE_DAYS):
            day += _ONE_DAY
            if self.day(day).is_working:
                return day
        raise ValueError(
            f"calendar {self.description} has no working time in the {MAX_IDLE_DAYS} days after "
            f"{day - MAX_IDLE_DAYS * _ONE_DAY}"
        )

    @staticmethod
    def _clamp(day: Day, time_of_day: timedelta) -> timedelta:
        """Move a wall time of day into the day's working intervals (rule 3 of the module docstring)."""
        bounds = [(timedelta(minutes=s), timedelta(minutes=e)) for s, e in day.intervals]
        if time_of_day <= bounds[0][0]:
            return bounds[0][0]
        best = bounds[0][1]
        for s, e in bounds:
            if s <= time_of_day <= e:
                return time_of_day
            if e <= time_of_day:
                best = e
        return best
