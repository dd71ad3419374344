"""Tumbling windows aligned to the contract's local calendar (midnight, Monday, 1st of month, quarter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from streams.contracts.model import CALENDAR_WINDOWS, parse_duration


@dataclass(frozen=True)
class WindowSpec:
    """A tumbling window: `seconds` dividing a day, or a calendar unit, in a timezone."""

    unit: str
    seconds: int
    tz: ZoneInfo
    _last: list[float] = field(default_factory=lambda: [1.0, 0.0], compare=False, repr=False)
    """The last window computed: events mostly come in time order, so most lookups hit it."""

    @classmethod
    def parse(cls, text: str, tz: ZoneInfo) -> WindowSpec:
        """Build from a contract's `window` field."""
        if text in CALENDAR_WINDOWS:
            return cls(text, 0, tz)
        return cls("seconds", parse_duration(text), tz)

    @property
    def max_seconds(self) -> float:
        """Longest possible window (a quarter has at most 92 days)."""
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

    def _epoch(self, wall: datetime) -> float:
        return wall.replace(tzinfo=self.tz).timestamp()

    def iso(self, epoch: float) -> str:
        """ISO 8601 with the contract's UTC offset."""
        return datetime.fromtimestamp(epoch, self.tz).isoformat()
