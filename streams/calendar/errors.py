"""Errors of business-calendar computations."""

from __future__ import annotations

from datetime import date


class CalendarUnknownDay(ValueError):
    """A computation needs a date the calendar cannot classify: raised instead of guessing.

    Typical cause: the holiday library does not know the year yet (China publishes next year's holidays and
    调休 make-up working days around November). The message names the date, the calendar and the fix.
    """

    def __init__(self, day: date, calendar: str, reason: str) -> None:
        self.day = day
        self.calendar = calendar
        self.reason = reason
        super().__init__(
            f"cannot classify {day.isoformat()} ({day:%A}) with calendar {calendar}: {reason}. "
            f"Fix the contract's `calendar:` section: add an override for {day.isoformat()} "
            "(`overrides: [{date: " + day.isoformat() + ", kind: holiday|workday}]`), or list that year's "
            "official holidays and make-up working days as overrides and set `known_until` to the last date "
            "they cover (or upgrade the holiday library once it knows the year)."
        )

    def __reduce__(self) -> tuple[type[CalendarUnknownDay], tuple[date, str, str]]:
        """Keep the exception picklable (worker processes) despite the custom constructor."""
        return (CalendarUnknownDay, (self.day, self.calendar, self.reason))
