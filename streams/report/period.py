"""The period a statement covers (a month, a quarter or a year) as local instants of the contract's timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from streams.ledger import in_period, parse_period_label, period_label
from streams.ledger.book import period_end


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
    year, first, _ = parse_period_label(text)
    end = period_end(text, timezone)
    return Period(period_label(text), datetime(year, first, 1, tzinfo=ZoneInfo(timezone)), end)
