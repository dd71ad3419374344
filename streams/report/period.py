"""The period a statement covers (a month, a quarter or a year) as local instants of the contract's timezone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from streams.ledger import in_period

_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?$")


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
    """`2026-10`, `2026-Q4` or `2026` in the contract's timezone; ValueError for anything else."""
    match = _PERIOD.match(text.strip())
    if not match:
        raise ValueError(f"period {text!r} is not YYYY-MM, YYYY-Qn or YYYY")
    year, month, quarter = int(match.group(1)), match.group(2), match.group(3)
    first, months = (int(month), 1) if month else ((int(quarter) - 1) * 3 + 1, 3) if quarter else (1, 12)
    after = first - 1 + months
    tz = ZoneInfo(timezone)
    start = datetime(year, first, 1, tzinfo=tz)
    end = datetime(year + after // 12, after % 12 + 1, 1, tzinfo=tz)
    return Period(text.strip(), start, end)
