"""Day classification: holiday libraries, make-up working days, overrides, known_until, unknown years."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from streams.calendar import BusinessCalendar, CalendarSpec, CalendarUnknownDay, DayKind, DaySource

SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE_TO_SIX = [["09:00", "18:00"]]
MON_FRI = {day: NINE_TO_SIX for day in ("mon", "tue", "wed", "thu", "fri")}


def _calendar(name: str | None = "demo", **changes: Any) -> BusinessCalendar:
    """A Mon-Fri 09:00-18:00 Asia/Shanghai calendar with CN holidays, with some keys changed."""
    data: dict[str, Any] = {"timezone": "Asia/Shanghai", "holidays": "CN", "working_hours": MON_FRI}
    data.update(changes)
    return BusinessCalendar(CalendarSpec.model_validate(data), name=name)


def test_chinese_calendar_really_knows_national_day_2026() -> None:
    """The dates the deadline examples rely on, straight from the library."""
    for day in range(1, 8):
        assert not chinese_calendar.is_workday(date(2026, 10, day))
        assert chinese_calendar.get_holiday_detail(date(2026, 10, day)) == (True, "National Day")
    assert chinese_calendar.is_workday(date(2026, 9, 30))
    assert chinese_calendar.is_workday(date(2026, 10, 8))
    assert chinese_calendar.is_workday(date(2026, 10, 10))  # Saturday, make-up working day (调休)
    assert chinese_calendar.is_workday(date(2026, 9, 20))  # Sunday, make-up working day
    assert not chinese_calendar.is_workday(date(2026, 10, 11))  # ordinary Sunday
    with pytest.raises(NotImplementedError, match="2027"):
        chinese_calendar.is_workday(date(2027, 1, 4))


def test_every_known_cn_day_agrees_with_chinese_calendar() -> None:
    calendar, day = _calendar(), date(2004, 1, 1)
    while day <= date(2026, 12, 31):
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_cn_classification_around_national_day_2026() -> None:
    calendar = _calendar()
    assert calendar.day(date(2026, 9, 30)).kind is DayKind.REGULAR
    holiday = calendar.day(date(2026, 10, 6))  # Tuesday, day off in lieu
    assert (holiday.kind, holiday.source, holiday.name, holiday.is_working) == (
        DayKind.HOLIDAY,
        DaySource.LIBRARY,
        "National Day",
        False,
    )
    makeup = calendar.day(date(2026, 10, 10))
    assert (makeup.kind, makeup.intervals) == (DayKind.WORKDAY, ((540, 1080),))
    assert calendar.is_working_day(date(2026, 9, 20))
    assert not calendar.is_working_day(date(2026, 10, 11))
    assert [calendar.is_working_day(date(2026, 10, d)) for d in range(1, 12)] == [False] * 7 + [True] * 3 + [False]


def test_weekend_inside_holiday_is_closed_even_with_weekend_hours() -> None:
    calendar = _calendar(working_hours={**MON_FRI, "sat": [["10:00", "16:00"]]})
    assert not calendar.is_working_day(date(2026, 10, 3))  # Saturday inside National Day
    assert calendar.day(date(2026, 10, 17)).intervals == ((600, 960),)  # ordinary Saturday: Saturday hours
    assert calendar.day(date(2026, 10, 10)).intervals == ((540, 1080),)  # make-up Saturday: workday hours


def test_makeup_days_use_workday_hours() -> None:
    calendar = _calendar(workday_hours=[["10:00", "16:00"]])
    assert calendar.working_intervals(date(2026, 10, 10)) == [
        (datetime(2026, 10, 10, 10, tzinfo=SHANGHAI), datetime(2026, 10, 10, 16, tzinfo=SHANGHAI))
    ]


def test_working_intervals_are_aware_and_merged() -> None:
    calendar = _calendar(working_hours={"mon": [["13:00", "18:00"], ["09:00", "12:00"], ["12:00", "13:00"]]})
    intervals = calendar.working_intervals(date(2026, 9, 28))
    assert intervals == [(datetime(2026, 9, 28, 9, tzinfo=SHANGHAI), datetime(2026, 9, 28, 18, tzinfo=SHANGHAI))]
    assert intervals[0][0].utcoffset() == timedelta(hours=8)
    assert calendar.working_intervals(date(2026, 10, 1)) == []


def test_end_of_day_interval_ends_at_next_midnight() -> None:
    calendar = _calendar(holidays="none", working_hours={"mon": [["20:00", "24:00"]], "tue": [["00:00", "06:00"]]})
    ((start, end),) = calendar.working_intervals(date(2026, 9, 28))
    assert (start, end) == (datetime(2026, 9, 28, 20, tzinfo=SHANGHAI), datetime(2026, 9, 29, tzinfo=SHANGHAI))


def test_dst_day_intervals_have_real_length() -> None:
    spec = CalendarSpec.model_validate(
        {"timezone": "Europe/Berlin", "holidays": "none", "working_hours": {"sun": [["00:00", "24:00"]]}}
    )
    calendar = BusinessCalendar(spec)
    ((start, end),) = calendar.working_intervals(date(2026, 3, 29))  # spring forward
    assert end - start == timedelta(hours=24)  # same tzinfo: Python subtracts wall clocks...
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)  # ...the real length is 23 h
    assert calendar.elapsed(start, end) == timedelta(hours=23)
    autumn = calendar.working_intervals(date(2026, 10, 25))
    assert calendar.elapsed(*autumn[0]) == timedelta(hours=25)


def test_overrides_win_over_the_library() -> None:
    calendar = _calendar(
        overrides=[
            {"date": "2026-10-08", "kind": "holiday", "name": "company day"},
            {"date": "2026-10-03", "kind": "workday", "hours": [["09:00", "13:00"]]},
            {"date": "2026-10-11", "kind": "workday"},
        ]
    )
    closed = calendar.day(date(2026, 10, 8))
    assert (closed.kind, closed.source, closed.name, closed.is_working) == (
        DayKind.HOLIDAY,
        DaySource.OVERRIDE,
        "company day",
        False,
    )
    assert calendar.day(date(2026, 10, 3)).intervals == ((540, 780),)
    assert calendar.day(date(2026, 10, 11)).intervals == ((540, 1080),)


def test_unknown_cn_year_raises_naming_date_calendar_and_fix() -> None:
    calendar = _calendar(name="acme-hotline")
    with pytest.raises(CalendarUnknownDay) as info:
        calendar.is_working_day(date(2027, 1, 4))
    error = info.value
    assert isinstance(error, ValueError)
    assert error.day == date(2027, 1, 4)
    message = str(error)
    assert "2027-01-04 (Monday)" in message
    assert "'acme-hotline'" in message
    assert "chinese-calendar" in message and "2004-2026" in message
    assert "add an override for 2027-01-04" in message
    assert "known_until" in message
    assert str(pickle.loads(pickle.dumps(error))) == message
    with pytest.raises(CalendarUnknownDay):
        calendar.is_working_day(date(2003, 12, 31))


def test_unknown_year_is_covered_by_overrides_and_known_until() -> None:
    calendar = _calendar(
        overrides=[
            {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
            {"date": "2027-02-07", "kind": "workday"},
        ],
        known_until="2027-03-31",
    )
    assert calendar.day(date(2027, 1, 1)).source is DaySource.OVERRIDE
    assert not calendar.is_working_day(date(2027, 1, 1))
    monday = calendar.day(date(2027, 1, 4))
    assert (monday.kind, monday.source, monday.is_working) == (DayKind.REGULAR, DaySource.KNOWN_UNTIL, True)
    assert not calendar.is_working_day(date(2027, 1, 9))  # Saturday: weekly hours
    assert calendar.is_working_day(date(2027, 2, 7))  # Sunday declared working
    assert calendar.day(date(2026, 10, 1)).source is DaySource.LIBRARY  # known_until never hides library days
    with pytest.raises(CalendarUnknownDay, match=r"2027-04-01 .*known_until is 2027-03-31"):
        calendar.is_working_day(date(2027, 4, 1))


def test_none_calendar_knows_every_date() -> None:
    calendar = _calendar(holidays="none")
    assert calendar.is_working_day(date(2026, 10, 1))  # no statutory holidays without a library
    assert calendar.is_working_day(date(2999, 1, 1))  # a Tuesday
    assert not calendar.is_working_day(date(2026, 10, 10))  # no make-up days either


def test_holidays_package_country() -> None:
    calendar = _calendar(timezone="Europe/Berlin", holidays="DE", subdivision="BY")
    christmas = calendar.day(date(2026, 12, 25))
    assert (christmas.kind, christmas.source) == (DayKind.HOLIDAY, DaySource.LIBRARY)
    assert christmas.name
    assert not calendar.is_working_day(date(2026, 1, 6))  # Epiphany, Bavaria only
    assert _calendar(timezone="Europe/Berlin", holidays="DE", subdivision="BE").is_working_day(date(2026, 1, 6))
    assert calendar.is_working_day(date(2026, 12, 28))


def test_holidays_package_makeup_days() -> None:
    calendar = _calendar(timezone="Europe/Budapest", holidays="HU")
    assert calendar.day(date(2026, 1, 10)).kind is DayKind.WORKDAY  # Saturday worked for a bridge day


@pytest.mark.parametrize(
    ("country", "day", "reason"),
    [
        ("DE", date(2101, 3, 1), "covers DE only for 1991-2100"),
        ("RU", date(2099, 3, 2), "RU moves working days by annual decree"),
        ("HU", date(2099, 3, 2), "HU moves working days by annual decree"),
        ("ID", date(2099, 3, 2), "only estimates 2099's holidays"),
    ],
)
def test_holidays_package_unknown_years(country: str, day: date, reason: str) -> None:
    calendar = _calendar(holidays=country)
    with pytest.raises(CalendarUnknownDay, match=reason):
        calendar.is_working_day(day)


def test_datetime_is_not_a_date() -> None:
    with pytest.raises(TypeError, match="local date"):
        _calendar().is_working_day(datetime(2026, 10, 8, 9, tzinfo=SHANGHAI))
