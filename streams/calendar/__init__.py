"""Business calendars: working hours, holidays, make-up days, working-time arithmetic.

`CalendarSpec` is the `calendar:` section of a contract; `BusinessCalendar(spec)` classifies dates and computes
SLA deadlines (`add`) and working durations (`elapsed`). A date no source can classify raises
`CalendarUnknownDay` instead of being guessed.
"""

from streams.calendar.arithmetic import BusinessCalendar, Interval
from streams.calendar.days import Day, DayKind, DaySource
from streams.calendar.errors import CalendarUnknownDay
from streams.calendar.spec import CHINESE_CALENDAR, NO_HOLIDAYS, WEEKDAYS, CalendarSpec, DateOverride, Weekday

__all__ = [
    "CHINESE_CALENDAR",
    "NO_HOLIDAYS",
    "WEEKDAYS",
    "BusinessCalendar",
    "CalendarSpec",
    "CalendarUnknownDay",
    "DateOverride",
    "Day",
    "DayKind",
    "DaySource",
    "Interval",
    "Weekday",
]
