"""Holiday libraries behind `calendar.holidays`: what they say about a date, and which dates they do not know.

Each source answers `classify(day)` with a `LibraryDay`, or with the reason it cannot classify the day;
it never guesses. Sources hold per-instance caches only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

import chinese_calendar
import holidays

from streams.calendar.spec import CHINESE_CALENDAR, NO_HOLIDAYS, CalendarSpec


class LibraryKind(StrEnum):
    """What a holiday library says about a date."""

    REGULAR = "regular"  # nothing special: the weekly working hours apply
    HOLIDAY = "holiday"  # statutory holiday or day off in lieu: no working time
    MAKEUP = "makeup"  # make-up working day (调休), usually a weekend day worked instead of a holiday


@dataclass(frozen=True)
class LibraryDay:
    """A library's verdict on one date."""

    kind: LibraryKind
    name: str | None = None


@dataclass(frozen=True)
class Unknown:
    """The library cannot classify the date; `reason` says why (for the error message)."""

    reason: str


class HolidaySource(Protocol):
    """A holiday library as seen by the calendar."""

    @property
    def description(self) -> str:
        """Human description for messages, e.g. `CN (chinese-calendar 1.11.0, years 2004-2026)`."""
        ...

    def classify(self, day: date) -> LibraryDay | Unknown:
        """The library's verdict on `day`, or why it has none."""
        ...


def _package_version(distribution: str) -> str:
    """Installed version of a distribution, for messages."""
    try:
        return version(distribution)
    except PackageNotFoundError:  # pragma: no cover - vendored or renamed install
        return "?"


_REGULAR = LibraryDay(LibraryKind.REGULAR)


class NoHolidays:
    """`holidays: none`: every date is a regular day."""

    description = "none (weekly working hours and overrides only)"

    def classify(self, day: date) -> LibraryDay | Unknown:
        """Every date is regular."""
        return _REGULAR


class ChineseCalendar:
    """chinese-calendar: statutory holidays and 调休 make-up working days of mainland China.

    Unknown years: chinese-calendar raises NotImplementedError outside the years it ships data for (1.11:
    2004-2026, the span of its `holidays` table); those dates are `Unknown`. Lookups go to its published
    `holidays`/`workdays` tables directly, with the same year check and precedence as `get_holiday_detail`,
    because that function recomputes the year span on every call (too slow for multi-year spans).
    """

    def __init__(self) -> None:
        years = [day.year for day in chinese_calendar.holidays]
        self.first_year, self.last_year = min(years), max(years)
        self.version = _package_version("chinese-calendar")
        self.description = (
            f"{CHINESE_CALENDAR} (chinese-calendar {self.version}, years {self.first_year}-{self.last_year})"
        )

    def classify(self, day: date) -> LibraryDay | Unknown:
        """Statutory holiday, make-up working day, or regular day."""
        if not self.first_year <= day.year <= self.last_year:
            return Unknown(
                f"chinese-calendar {self.version} has no holiday schedule for {day.year} "
                f"(it knows {self.first_year}-{self.last_year})"
            )
        weekend = day.weekday() >= 5
        if day in chinese_calendar.workdays:
            name = chinese_calendar.workdays[day]
            return LibraryDay(LibraryKind.MAKEUP, name) if weekend else _REGULAR
        if day in chinese_calendar.holidays:
            return LibraryDay(LibraryKind.HOLIDAY, chinese_calendar.holidays[day])
        return _REGULAR


class HolidaysPackage:
    """The `holidays` package for one country (and subdivision).

    The package silently returns no holidays outside its class's `start_year`..`end_year` and extrapolates
    rules into years no decree covers yet. A year is treated as unknown when:
    - it is outside `start_year`..`end_year`;
    - the country moves working days by annual decree (`has_substituted_holidays`, e.g. RU, BY, VN) and the
      package has no substituted days for that year or any later one (its last decree year is earlier);
    - any holiday of that year is labelled estimated (e.g. Islamic holidays computed ahead of announcement).
    """

    def __init__(self, country: str, subdivision: str | None = None) -> None:
        self.country = country
        self.subdivision = subdivision
        self._calendar: Any = holidays.country_holidays(country, subdiv=subdivision)
        self._estimated = self._estimated_patterns()
        self._last_decree_year = self._find_last_decree_year()
        self._verdicts: dict[int, Unknown | None] = {}
        where = f"{country}-{subdivision}" if subdivision else country
        self.description = f"{where} (holidays {_package_version('holidays')})"

    def _estimated_patterns(self) -> list[re.Pattern[str]]:
        """Regexes matching the package's `(estimated)` holiday names in the calendar's language."""
        patterns = []
        for attribute in ("estimated_label", "observed_estimated_label"):
            label = getattr(self._calendar, attribute, None)
            if label:
                text = self._calendar.tr(label)
                patterns.append(re.compile("^" + re.escape(text).replace("%s", ".+") + "$"))
        return patterns

    def _find_last_decree_year(self) -> int | None:
        """Last year with substituted (moved) days, for countries that move working days by decree."""
        if not getattr(self._calendar, "has_substituted_holidays", False):
            return None
        years: list[int] = []
        for attribute in dir(self._calendar):
            table = getattr(self._calendar, attribute, None) if attribute.startswith("special_") else None
            if not isinstance(table, dict):
                continue
            for year, entries in table.items():
                items = entries if entries and isinstance(entries[0], tuple) else (entries,)
                if any(len(item) >= 4 for item in items):  # (to_month, to_day, from_month, from_day[, year])
                    years.append(year)
        return max(years, default=None)

    def _year_verdict(self, year: int) -> Unknown | None:
        """None when the package knows `year`, else why not (cached per instance)."""
        if year in self._verdicts:
            return self._verdicts[year]
        calendar = self._calendar
        verdict: Unknown | None = None
        if not calendar.start_year <= year <= calendar.end_year:
            verdict = Unknown(
                f"the holidays package covers {self.country} only for {calendar.start_year}-{calendar.end_year}"
            )
        elif self._last_decree_year is not None and year > self._last_decree_year:
            verdict = Unknown(
                f"{self.country} moves working days by annual decree and the holidays package "
                f"{_package_version('holidays')} has none after {self._last_decree_year}"
            )
        else:
            for y in (year - 1, year, year + 1):  # make-up days may sit in the neighbouring year's decree
                _ = date(y, 1, 1) in calendar
            estimated = sorted(
                f"{day} {name}"
                for day, names in calendar.items()
                if day.year == year
                for name in str(names).split("; ")
                if any(pattern.match(name) for pattern in self._estimated)
            )
            if estimated:
                verdict = Unknown(f"the holidays package only estimates {year}'s holidays ({estimated[0]}, ...)")
        self._verdicts[year] = verdict
        return verdict

    def classify(self, day: date) -> LibraryDay | Unknown:
        """Holiday (any named public holiday), make-up weekend working day, or regular day."""
        verdict = self._year_verdict(day.year)
        if verdict is not None:
            return verdict
        names = self._calendar.get_list(day)
        if names:
            return LibraryDay(LibraryKind.HOLIDAY, "; ".join(names))
        if day in self._calendar.weekend_workdays:
            return LibraryDay(LibraryKind.MAKEUP)
        return _REGULAR


def source_for(spec: CalendarSpec) -> HolidaySource:
    """The holiday library a calendar spec asks for."""
    if spec.holidays == NO_HOLIDAYS:
        return NoHolidays()
    if spec.holidays == CHINESE_CALENDAR:
        return ChineseCalendar()
    return HolidaysPackage(spec.holidays, spec.subdivision)
