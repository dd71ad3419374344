"""The period a statement covers (a month, a quarter or a year) as local instants of the contract's timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from streams.ledger import PeriodError, in_period, parse_period_label, period_label


@dataclass(frozen=True)
class Period:
    """A statement period: `label` as given (2026-10, 2026-Q4, 2026) and its local start and end (exclusive)."""

    label: str
    start: datetime
    end: datetime

    def contains(self, window_start: str) -> bool:
        """True when a window starting at this local ISO time belongs to the period (the ledger's rule)."""
        return in_period(window_start, self.label)


def parse_period(text: str, timezone: str) -> Period:
    """`2026-10`, `2026-Q4` or `2026` in the contract's timezone (the ledger's parser); PeriodError (a ValueError)
    for anything else."""
    year, first, months = parse_period_label(text)
    after = first - 1 + months
    tz = ZoneInfo(timezone)
    try:
        end = datetime(year + after // 12, after % 12 + 1, 1, tzinfo=tz)
    except ValueError:  # the year 9999's end is past what datetime holds
        raise PeriodError(f"period {text!r} ends after the year 9999") from None
    return Period(period_label(text), datetime(year, first, 1, tzinfo=tz), end)
