"""Working-time arithmetic: SLA deadlines (add) and working durations (elapsed)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from streams.calendar import BusinessCalendar, CalendarSpec, CalendarUnknownDay

SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE_TO_SIX = [["09:00", "18:00"]]
MON_FRI = {day: NINE_TO_SIX for day in ("mon", "tue", "wed", "thu", "fri")}


def _calendar(**changes: Any) -> BusinessCalendar:
    """Mon-Fri 09:00-18:00 Asia/Shanghai with CN statutory holidays, with some keys changed."""
    data: dict[str, Any] = {"timezone": "Asia/Shanghai", "holidays": "CN", "working_hours": MON_FRI}
    data.update(changes)
    return BusinessCalendar(CalendarSpec.model_validate(data), name="test")


def at(text: str) -> datetime:
    """An aware instant from ISO 8601."""
    return datetime.fromisoformat(text)


# ----------------------------------------------------------------------------------- required examples


def test_one_working_day_skips_national_day() -> None:
    assert _calendar().add(at("2026-09-30T16:00+08:00"), working_days=1) == at("2026-10-08T16:00+08:00")


def test_three_working_days_land_on_makeup_saturday() -> None:
    deadline = _calendar().add(at("2026-09-30T16:00+08:00"), working_days=3)
    assert deadline == at("2026-10-10T16:00+08:00")
    assert deadline.isoformat() == "2026-10-10T16:00:00+08:00"
    assert deadline.weekday() == 5


def test_fifteen_working_minutes_across_national_day() -> None:
    calendar = _calendar()
    start = at("2026-09-30T17:55+08:00")
    assert calendar.add(start, working_minutes=15) == at("2026-10-08T09:10+08:00")
    assert calendar.elapsed(start, at("2026-10-08T09:10+08:00")) == timedelta(minutes=15)


# ------------------------------------------------------------------------------------ working time


@pytest.mark.parametrize(
    ("start", "amount", "expected"),
    [
        ("2026-09-29T10:00+08:00", timedelta(minutes=15), "2026-09-29T10:15+08:00"),
        ("2026-09-29T17:45+08:00", timedelta(minutes=15), "2026-09-29T18:00+08:00"),  # uses the interval up
        ("2026-09-29T17:45+08:00", timedelta(minutes=16), "2026-09-30T09:01+08:00"),
        ("2026-09-29T07:00+08:00", timedelta(minutes=15), "2026-09-29T09:15+08:00"),  # before opening
        ("2026-09-29T20:00+08:00", timedelta(hours=1), "2026-09-30T10:00+08:00"),  # after closing
        ("2026-10-11T12:00+08:00", timedelta(hours=9), "2026-10-12T18:00+08:00"),  # Sunday
        ("2026-09-29T10:00+08:00", timedelta(hours=18), "2026-10-08T10:00+08:00"),  # 8 h + 9 h + 1 h
        ("2026-09-29T02:00Z", timedelta(minutes=30), "2026-09-29T10:30+08:00"),  # UTC input
        ("2026-10-03T12:00+08:00", timedelta(0), "2026-10-03T12:00+08:00"),  # zero: start itself
    ],
)
def test_add_working_time(start: str, amount: timedelta, expected: str) -> None:
    deadline = _calendar().add(at(start), amount)
    assert deadline == at(expected)
    assert deadline.tzinfo == SHANGHAI


def test_add_forms_agree() -> None:
    calendar, start = _calendar(), at("2026-09-29T16:30+08:00")
    expected = calendar.add(start, timedelta(minutes=150))
    assert calendar.add(start, working_seconds=9000) == expected
    assert calendar.add(start, working_minutes=150) == expected
    assert calendar.add(start, working_hours=2.5) == expected
    assert calendar.add_working_time(start, timedelta(minutes=150)) == expected


def test_lunch_break_is_skipped() -> None:
    calendar = _calendar(working_hours={"tue": [["09:00", "12:00"], ["13:00", "18:00"]]}, holidays="none")
    assert calendar.add(at("2026-09-29T11:50+08:00"), working_minutes=20) == at("2026-09-29T13:10+08:00")
    assert calendar.elapsed(at("2026-09-29T11:00+08:00"), at("2026-09-29T14:00+08:00")) == timedelta(hours=2)


def test_round_the_clock_schedule_crosses_midnight() -> None:
    calendar = _calendar(holidays="none", working_hours={"mon": [["20:00", "24:00"]], "tue": [["00:00", "06:00"]]})
    assert calendar.add(at("2026-09-28T23:30+08:00"), working_hours=1) == at("2026-09-29T00:30+08:00")
    assert calendar.elapsed(at("2026-09-28T19:00+08:00"), at("2026-09-29T07:00+08:00")) == timedelta(hours=10)


# ------------------------------------------------------------------------------------ working days


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        ("2026-09-29T10:30+08:00", 1, "2026-09-30T10:30+08:00"),  # inside hours: same time next working day
        ("2026-09-29T18:00+08:00", 1, "2026-09-30T18:00+08:00"),  # at closing time: still inside (s, e]
        ("2026-09-29T20:00+08:00", 1, "2026-09-30T18:00+08:00"),  # after closing: counts from 18:00
        ("2026-09-29T07:00+08:00", 1, "2026-09-29T18:00+08:00"),  # before opening: from previous close
        ("2026-09-29T09:00+08:00", 1, "2026-09-29T18:00+08:00"),  # exactly at opening: previous close
        ("2026-10-17T10:00+08:00", 1, "2026-10-19T18:00+08:00"),  # Saturday: from Friday 18:00
        ("2026-10-04T10:00+08:00", 2, "2026-10-09T18:00+08:00"),  # inside the holiday: from 09-30 18:00
        ("2026-09-29T10:30+08:00", 0, "2026-09-29T10:30+08:00"),
        ("2026-09-29T02:30Z", 1, "2026-09-30T10:30+08:00"),  # UTC input, local time of day kept
    ],
)
def test_add_working_days(start: str, days: int, expected: str) -> None:
    assert _calendar().add(at(start), working_days=days) == at(expected)


def test_working_days_clamp_into_shorter_target_day() -> None:
    calendar = _calendar(workday_hours=[["10:00", "16:00"]])  # 2026-10-10 is a make-up Saturday
    assert calendar.add(at("2026-09-30T09:30+08:00"), working_days=3) == at("2026-10-10T10:00+08:00")
    assert calendar.add(at("2026-09-30T17:00+08:00"), working_days=3) == at("2026-10-10T16:00+08:00")
    assert calendar.add(at("2026-09-30T12:00+08:00"), working_days=3) == at("2026-10-10T12:00+08:00")


def test_working_days_clamp_out_of_a_gap() -> None:
    calendar = _calendar(
        holidays="none",
        working_hours={"mon": [["09:00", "18:00"]], "tue": [["09:00", "12:00"], ["13:00", "18:00"]]},
    )
    assert calendar.add(at("2026-09-28T12:30+08:00"), working_days=1) == at("2026-09-29T12:00+08:00")
    assert calendar.add(at("2026-09-29T12:30+08:00"), working_days=1) == at("2026-10-05T12:00+08:00")


def test_working_days_on_uniform_calendar_are_whole_days_of_working_time() -> None:
    calendar = _calendar()
    for start in ["2026-09-30T16:00+08:00", "2026-09-29T20:00+08:00", "2026-10-04T10:00+08:00"]:
        for days in (1, 3, 10):
            deadline = calendar.add(at(start), working_days=days)
            assert calendar.elapsed(at(start), deadline) == timedelta(hours=9 * days)


# ------------------------------------------------------------------------------------------ elapsed


def test_elapsed_is_antisymmetric() -> None:
    calendar, a, b = _calendar(), at("2026-09-30T17:00+08:00"), at("2026-10-08T10:00+08:00")
    assert calendar.elapsed(a, b) == timedelta(hours=2)
    assert calendar.elapsed(b, a) == -timedelta(hours=2)
    assert calendar.elapsed(a, a) == timedelta(0)


def test_elapsed_over_all_known_cn_years_matches_the_library() -> None:
    calendar = _calendar(workday_hours=NINE_TO_SIX)
    workdays = chinese_calendar.get_workdays(date(2004, 1, 1), date(2026, 12, 31))
    began = time.perf_counter()
    total = calendar.elapsed(at("2004-01-01T00:00+08:00"), at("2027-01-01T00:00+08:00"))  # 2027 not needed
    assert total == timedelta(hours=9) * len(workdays)
    assert time.perf_counter() - began < 5.0  # minute-by-minute would take minutes


def test_long_deadline_is_fast() -> None:
    calendar = _calendar()
    began = time.perf_counter()
    deadline = calendar.add(at("2004-01-05T09:00+08:00"), working_hours=9 * 5000)
    assert time.perf_counter() - began < 5.0  # minute-by-minute would take minutes
    assert calendar.elapsed(at("2004-01-05T09:00+08:00"), deadline) == timedelta(hours=9 * 5000)


# ------------------------------------------------------------------------------------------- errors


def test_unknown_day_during_a_computation() -> None:
    calendar = _calendar()
    with pytest.raises(CalendarUnknownDay, match="2027-01-01"):
        calendar.add(at("2026-12-31T17:55+08:00"), working_minutes=15)
    with pytest.raises(CalendarUnknownDay, match="2027-01-01"):
        calendar.elapsed(at("2026-12-31T17:55+08:00"), at("2027-01-04T10:00+08:00"))
    assert calendar.add(at("2026-12-31T17:00+08:00"), working_minutes=15) == at("2026-12-31T17:15+08:00")


def test_unknown_year_with_overrides_and_known_until() -> None:
    calendar = _calendar(
        overrides=[{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}], known_until="2027-12-31"
    )
    assert calendar.add(at("2026-12-31T17:55+08:00"), working_minutes=15) == at("2027-01-04T09:10+08:00")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.elapsed(datetime(2026, 9, 29, 10), at("2026-09-29T12:00+08:00")), ValueError, "timezone-aware"),
        (lambda c: c.add(datetime(2026, 9, 29, 10), working_minutes=5), ValueError, "timezone-aware"),
        (lambda c: c.add(at("2026-09-29T10:00+08:00")), TypeError, "exactly one"),
        (lambda c: c.add(at("2026-09-29T10:00+08:00"), working_minutes=5, working_days=1), TypeError, "exactly one"),
        (lambda c: c.add(at("2026-09-29T10:00+08:00"), working_minutes=-5), ValueError, "negative"),
        (lambda c: c.add(at("2026-09-29T10:00+08:00"), working_days=-1), ValueError, "negative"),
    ],
)
def test_bad_arguments(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call(_calendar())


def test_calendar_without_any_working_day_gives_up() -> None:
    overrides = [{"date": (date(2026, 1, 1) + timedelta(days=i)).isoformat(), "kind": "holiday"} for i in range(800)]
    calendar = _calendar(holidays="none", overrides=overrides)
    with pytest.raises(ValueError, match="no working time"):
        calendar.add(at("2026-01-01T10:00+08:00"), working_minutes=1)
