"""Windows aligned to the contract's local calendar (midnight, Monday, 1st of month, quarter): tumbling, or rolling
(the span of `length` ending at each step boundary, judged at each step)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from streams.contracts.model import CALENDAR_WINDOWS, RollingWindow, parse_duration


@dataclass(frozen=True)
class WindowSpec:
    """A tumbling window: `seconds` dividing a day, or a calendar unit, in a timezone; with a `length`, a rolling
    window whose steps are those tumbling windows: each step's end closes the span of `length` before it."""

    unit: str
    seconds: int
    tz: ZoneInfo
    length: int = 0
    """Rolling: seconds of local wall time each window spans (0: tumbling)."""
    _last: list[float] = field(default_factory=lambda: [1.0, 0.0], compare=False, repr=False)
    """The last window computed: events mostly come in time order, so most lookups hit it."""

    @classmethod
    def parse(cls, text: str, tz: ZoneInfo) -> WindowSpec:
        """Build from a contract's `window` field."""
        if text in CALENDAR_WINDOWS:
            return cls(text, 0, tz)
        return cls("seconds", parse_duration(text), tz)

    @classmethod
    def of(cls, window: str | RollingWindow, tz: ZoneInfo) -> WindowSpec:
        """Build from a term's `window`: tumbling text or {rolling: 7d, step: 1d}."""
        if isinstance(window, str):
            return cls.parse(window, tz)
        step = cls.parse(window.step, tz)
        return cls(step.unit, step.seconds, tz, length=window.seconds)

    @property
    def max_seconds(self) -> float:
        """Longest possible window (a quarter has at most 92 days; a rolling span may gain a daylight-saving hour)."""
        if self.length:
            return self.length + 3600
        return self.seconds or {"day": 86400, "week": 7 * 86400, "month": 31 * 86400, "quarter": 92 * 86400}[self.unit]

    def bounds(self, epoch: float) -> tuple[float, float]:
        """[start, end) of the window holding the instant `epoch`, as epoch seconds."""
        last = self._last
        if last[0] <= epoch < last[1]:
            return last[0], last[1]
        last[0], last[1] = found = self._bounds(epoch)
        return found

    def _bounds(self, epoch: float) -> tuple[float, float]:
        local = datetime.fromtimestamp(epoch, self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        if self.unit == "seconds":
            offset = (local.replace(tzinfo=None) - midnight).total_seconds()
            start = midnight + timedelta(seconds=offset // self.seconds * self.seconds)
            end = start + timedelta(seconds=self.seconds)
        elif self.unit == "day":
            start, end = midnight, midnight + timedelta(days=1)
        elif self.unit == "week":
            start = midnight - timedelta(days=midnight.weekday())
            end = start + timedelta(days=7)
        else:
            months = 1 if self.unit == "month" else 3
            first = (midnight.month - 1) // months * months + 1
            start = midnight.replace(month=first, day=1)
            year, month = divmod(first - 1 + months, 12)
            end = start.replace(year=start.year + year, month=month + 1)
        return self._epoch(start), self._epoch(end)

    def covering(self, epoch: float) -> list[tuple[float, float]]:
        """[start, end) of every window holding `epoch`: the tumbling one, or each rolling span ending at one of
        the next step boundaries whose start is at or before `epoch`."""
        if not self.length:
            return [self.bounds(epoch)]
        found = []
        end = self.bounds(epoch)[1]
        while (start := self.rolling_start(end)) <= epoch:
            found.append((start, end))
            end = self.bounds(end)[1]
        return found

    def rolling_start(self, end: float) -> float:
        """Start of the rolling span ending at `end`: `length` of local wall time before it."""
        wall = datetime.fromtimestamp(end, self.tz).replace(tzinfo=None)
        return self._epoch(wall - timedelta(seconds=self.length))

    def ends_between(self, start: float, end: float) -> int:
        """How many windows (rolling: steps) end in (start, end]: those whose last instant lies in [start, end)."""
        first = self.bounds(start)[1]
        if first > end:
            return 0
        if self.unit == "seconds":
            return int((end - first) // self.seconds) + 1
        count = 0
        while first <= end:
            count += 1
            first = self.bounds(first)[1]
        return count

    def _epoch(self, wall: datetime) -> float:
        return wall.replace(tzinfo=self.tz).timestamp()

    def iso(self, epoch: float) -> str:
        """ISO 8601 with the contract's UTC offset."""
        return datetime.fromtimestamp(epoch, self.tz).isoformat()
