"""The `calendar:` section of a contract file: timezone, holiday source, working hours, overrides."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: Weekday keys in `datetime.date.weekday()` order (Monday = 0).
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: `holidays:` value selecting chinese-calendar (statutory holidays and 调休 make-up working days).
CHINESE_CALENDAR = "CN"
#: `holidays:` value selecting no holiday library: only the weekly hours and the overrides count.
NO_HOLIDAYS = "none"

_CLOCK = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")


def clock_minutes(clock: str) -> int:
    """Minutes after local midnight of an `HH:MM` clock time (`24:00` is 1440, the end of the day)."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _clock_from_yaml(value: Any) -> Any:
    """Explain the YAML 1.1 trap: unquoted `18:00` is read as the sexagesimal number 1080."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            f'got the number {value}: YAML reads an unquoted time such as 18:00 as a base-60 number; quote it ("18:00")'
        )
    return value


ClockTime = Annotated[
    str,
    StringConstraints(pattern=_CLOCK.pattern),
    BeforeValidator(_clock_from_yaml),
    Field(
        description='Local wall-clock time "HH:MM" (00:00 to 24:00; 24:00 means the end of the day).',
        examples=["09:00", "24:00"],
    ),
]


def _check_range(value: tuple[str, str]) -> tuple[str, str]:
    """A working interval must not be empty."""
    start, end = value
    if clock_minutes(start) >= clock_minutes(end):
        raise ValueError(f"interval [{start!r}, {end!r}] is empty or reversed: the start must be before the end")
    return value


TimeRange = Annotated[
    tuple[ClockTime, ClockTime],
    AfterValidator(_check_range),
    Field(
        description='A working interval ["start", "end") in local wall-clock time, e.g. ["09:00", "18:00"].',
        examples=[["09:00", "18:00"]],
    ),
]


def _check_disjoint(ranges: list[tuple[str, str]], where: str) -> None:
    """Intervals of one day must not overlap (touching, like 12:00-12:00, is fine)."""
    ordered = sorted(ranges, key=lambda r: clock_minutes(r[0]))
    for (s1, e1), (s2, e2) in itertools.pairwise(ordered):
        if clock_minutes(s2) < clock_minutes(e1):
            raise ValueError(f"{where}: intervals [{s1}, {e1}] and [{s2}, {e2}] overlap")


def _supported_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes the `holidays` package has calendars for."""
    return frozenset(holidays.list_supported_countries(include_aliases=False))



def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r} (use an IANA name such as Asia/Shanghai)") from None
    return value


TimezoneName = Annotated[str, AfterValidator(_check_timezone)]
"""An IANA timezone name, checked against the tz database."""

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateOverride(_Strict):
    """An explicit classification of one local date, taking precedence over the holiday library."""

    date: dt.date = Field(description="The local calendar date (YYYY-MM-DD) being classified.")
    kind: Literal["holiday", "workday"] = Field(
        description="holiday: no working time that day. workday: a working day (e.g. a 调休 make-up Saturday)."
    )
    name: str | None = Field(default=None, description="Human name, e.g. 元旦 or 'National Day make-up day'.")
    hours: list[TimeRange] | None = Field(
        default=None,
        description="workday only: the working intervals of that date (e.g. a half day); "
        "default: the calendar's workday_hours.",
    )

    @model_validator(mode="after")
    def _hours(self) -> DateOverride:
        if self.hours is not None:
            if self.kind == "holiday":
                raise ValueError(f"override {self.date}: a holiday has no hours (remove `hours` or use kind: workday)")
            if not self.hours:
                raise ValueError(f"override {self.date}: a workday needs at least one interval (or use kind: holiday)")
            _check_disjoint(self.hours, f"override {self.date}")
        return self


class CalendarSpec(_Strict):
    """Business calendar of a contract: when working time runs, used for SLA deadlines and working-time durations.

    A local date is classified, first match wins: an override for that date; the holiday library
    (statutory holiday: closed; make-up working day: `workday_hours`; any other day: `working_hours` of its
    weekday); if the library cannot classify the date (unknown year), the weekly `working_hours` but only up
    to `known_until`; otherwise it is an error, never a guess.
    """

    timezone: TimezoneName = Field(description="IANA timezone of the working hours, e.g. Asia/Shanghai.")
    holidays: str = Field(
        description="Holiday library: CN = chinese-calendar (statutory holidays and 调休 make-up working days); "
        "another ISO 3166-1 alpha-2 country code = the `holidays` package; none = no library, only "
        "working_hours and overrides.",
        examples=["CN", "DE", "none"],
    )
    subdivision: str | None = Field(
        default=None,
        description="Subdivision (state, province) for the `holidays` package, e.g. BY for Bavaria with DE.",
    )
    working_hours: dict[Weekday, list[TimeRange]] = Field(
        description="Working intervals per weekday (mon..sun) in local time; a missing weekday or an empty list "
        "is a day without working time."
    )
    workday_hours: list[TimeRange] | None = Field(
        default=None,
        description="Working intervals of make-up working days (调休, e.g. a Saturday worked in exchange for a "
        "holiday) and of workday overrides without hours; default: the Monday working_hours.",
    )
    overrides: list[DateOverride] = Field(
        default_factory=list,
        description="Explicit classification of single dates, taking precedence over the library; use them for "
        "years the library does not know yet, or for local deviations.",
    )
    known_until: date | None = Field(
        default=None,
        description="Last date the contract vouches for: dates up to it that the library cannot classify "
        "(e.g. next year's 调休 schedule not yet in chinese-calendar) follow working_hours plus overrides. "
        "Without it such dates are an error. It never hides dates the library knows.",
    )

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: str) -> str:
        if value.strip().lower() == NO_HOLIDAYS:
            return NO_HOLIDAYS
        code = value.strip().upper()
        if code != CHINESE_CALENDAR and code not in _supported_countries():
            raise ValueError(
                f"unknown holiday calendar {value!r}: use CN (chinese-calendar), none, or an ISO 3166-1 alpha-2 "
                "country code supported by the `holidays` package"
            )
        return code

    @field_validator("working_hours")
    @classmethod
    def _working_hours(cls, value: dict[Weekday, list[tuple[str, str]]]) -> dict[Weekday, list[tuple[str, str]]]:
        for weekday, ranges in value.items():
            _check_disjoint(ranges, f"working_hours.{weekday}")
        if not any(value.values()):
            raise ValueError("working_hours has no working interval at all")
        return value

    @field_validator("workday_hours")
    @classmethod
    def _workday_hours(cls, value: list[tuple[str, str]] | None) -> list[tuple[str, str]] | None:
        if value is not None:
            _check_disjoint(value, "workday_hours")
        return value

    @model_validator(mode="after")
    def _consistency(self) -> CalendarSpec:
        seen: set[date] = set()
        for override in self.overrides:
            if override.date in seen:
                raise ValueError(f"overrides: date {override.date} appears twice")
            seen.add(override.date)
        if self.subdivision is not None:
            if self.holidays in (CHINESE_CALENDAR, NO_HOLIDAYS):
                raise ValueError(f"subdivision applies to `holidays` package countries, not to {self.holidays!r}")
            known = holidays.country_holidays(self.holidays).subdivisions
            if self.subdivision not in known:
                raise ValueError(
                    f"unknown subdivision {self.subdivision!r} of {self.holidays}; known: {', '.join(known)}"
                )
        return self

    @property
    def tz(self) -> ZoneInfo:
        """The timezone as a `ZoneInfo`."""
        return ZoneInfo(self.timezone)

    def effective_workday_hours(self) -> list[tuple[str, str]]:
        """Hours of make-up working days: `workday_hours`, else the Monday hours (possibly none)."""
        if self.workday_hours is not None:
            return list(self.workday_hours)
        return list(self.working_hours.get("mon", []))
