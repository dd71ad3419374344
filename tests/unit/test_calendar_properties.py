"""Property tests of working-time arithmetic: add inverts elapsed, elapsed is additive and monotone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.calendar import BusinessCalendar, CalendarSpec

FIRST, LAST = datetime(2025, 1, 1), datetime(2026, 6, 30)  # inside the years chinese-calendar 1.11 knows
MAX_WORKING = timedelta(hours=250)  # with LAST, keeps every deadline before 2027, even at 4 working hours a day

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

CALENDARS: dict[str, dict[str, Any]] = {
    # the contract of the required examples: uniform hours, statutory holidays, make-up Saturdays
    "cn-uniform": {
        "timezone": "Asia/Shanghai",
        "holidays": "CN",
        "working_hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    },
    # lunch break, short Friday, Saturday hours, different make-up hours, round-the-clock Sunday with DST
    "de-irregular": {
        "timezone": "Europe/Berlin",
        "holidays": "DE",
        "working_hours": {
            **{d: [["08:00", "12:00"], ["13:00", "17:30"]] for d in ("mon", "tue", "wed", "thu")},
            "fri": [["08:00", "14:00"]],
            "sat": [["10:00", "14:00"]],
            "sun": [["00:00", "24:00"]],
        },
        "workday_hours": [["09:00", "15:00"]],
        "overrides": [{"date": "2026-03-29", "kind": "workday", "hours": [["01:00", "04:00"], ["04:00", "24:00"]]}],
    },
    # night shift across midnight, China holidays
    "cn-night": {
        "timezone": "Asia/Shanghai",
        "holidays": "CN",
        "working_hours": {
            **{d: [["20:00", "24:00"]] for d in ("mon", "tue", "wed", "thu")},
            **{d: [["00:00", "06:00"]] for d in ("tue", "wed", "thu", "fri")},
        },
        "workday_hours": [["00:00", "06:00"], ["20:00", "24:00"]],
    },
}


@pytest.fixture(scope="module", params=sorted(CALENDARS))
def calendar(request: pytest.FixtureRequest) -> BusinessCalendar:
    """Each test calendar, built once per module."""
    return BusinessCalendar(CalendarSpec.model_validate(CALENDARS[request.param]), name=request.param)


@pytest.fixture(scope="module")
def uniform() -> BusinessCalendar:
    """The calendar of the required examples."""
    return BusinessCalendar(CalendarSpec.model_validate(CALENDARS["cn-uniform"]))


def _utc(instant: datetime) -> datetime:
    """Compare and subtract in UTC: with a shared tzinfo Python compares wall clocks and ignores `fold`."""
    return instant.astimezone(UTC)


def _instants(tz: ZoneInfo) -> st.SearchStrategy[datetime]:
    """Arbitrary instants (second resolution) inside the test range, in the calendar's timezone."""
    return st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(tz)).map(
        lambda t: t.replace(microsecond=0).astimezone(UTC).astimezone(tz)
    )


@st.composite
def working_instant(draw: st.DrawFn, calendar: BusinessCalendar) -> datetime:
    """An instant t with s < t <= e for a working interval [s, e): some working time ends exactly at t."""
    day = draw(st.dates(min_value=FIRST.date(), max_value=LAST.date()))
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    start, end = (_utc(t) for t in draw(st.sampled_from(calendar.working_intervals(day))))
    seconds = int((end - start).total_seconds())
    return (start + timedelta(seconds=draw(st.integers(min_value=1, max_value=seconds)))).astimezone(calendar.tz)


@PROPERTY
@given(data=st.data())
def test_add_inverts_elapsed_between_working_instants(calendar: BusinessCalendar, data: st.DataObject) -> None:
    end = data.draw(working_instant(calendar), label="end")
    before = data.draw(st.integers(min_value=0, max_value=40 * 86400), label="seconds before end")
    start = (_utc(end) - timedelta(seconds=before)).astimezone(calendar.tz)
    assert _utc(calendar.add(start, calendar.elapsed(start, end))) == _utc(end)
    assert _utc(calendar.add(end, working_seconds=0)) == _utc(end)


@PROPERTY
@given(data=st.data(), seconds=st.integers(min_value=0, max_value=int(MAX_WORKING.total_seconds())))
def test_elapsed_inverts_add(calendar: BusinessCalendar, data: st.DataObject, seconds: int) -> None:
    start = data.draw(_instants(calendar.tz), label="start")
    amount = timedelta(seconds=seconds)
    deadline = calendar.add(start, amount)
    assert _utc(deadline) >= _utc(start)
    assert calendar.elapsed(start, deadline) == amount
    if seconds:  # earliest: one second less of working time is reached strictly earlier
        assert _utc(calendar.add(start, amount - timedelta(seconds=1))) < _utc(deadline)


@PROPERTY
@given(data=st.data())
def test_elapsed_is_additive(calendar: BusinessCalendar, data: st.DataObject) -> None:
    a, b, c = (data.draw(_instants(calendar.tz), label=name) for name in "abc")
    assert calendar.elapsed(a, b) + calendar.elapsed(b, c) == calendar.elapsed(a, c)
    assert calendar.elapsed(a, b) == -calendar.elapsed(b, a)


@PROPERTY
@given(data=st.data())
def test_elapsed_is_monotone_and_bounded(calendar: BusinessCalendar, data: st.DataObject) -> None:
    a, b, c = sorted(_utc(data.draw(_instants(calendar.tz), label=name)) for name in "abc")
    assert timedelta(0) <= calendar.elapsed(a, b) <= calendar.elapsed(a, c)
    assert calendar.elapsed(b, c) <= calendar.elapsed(a, c)
    assert calendar.elapsed(a, c) <= c - a


@PROPERTY
@given(data=st.data(), days=st.integers(min_value=1, max_value=20))
def test_working_days_land_in_working_time(calendar: BusinessCalendar, data: st.DataObject, days: int) -> None:
    start = data.draw(_instants(calendar.tz), label="start")
    deadline = _utc(calendar.add(start, working_days=days))
    assert deadline > _utc(start)
    local_day = deadline.astimezone(calendar.tz).date()
    candidates = [local_day, local_day - timedelta(days=1)]  # a 24:00 end belongs to the previous date
    intervals = [interval for day in candidates for interval in calendar.working_intervals(day)]
    assert any(_utc(s) <= deadline <= _utc(e) for s, e in intervals)
    assert _utc(calendar.add(start, working_days=days + 1)) > deadline


@PROPERTY
@given(start=_instants(ZoneInfo("Asia/Shanghai")), days=st.integers(min_value=1, max_value=20))
def test_working_days_on_uniform_calendar_are_whole_days(uniform: BusinessCalendar, start: datetime, days: int) -> None:
    assert uniform.elapsed(start, uniform.add(start, working_days=days)) == timedelta(hours=9 * days)


def test_property_range_is_known(uniform: BusinessCalendar) -> None:
    """Guard: the ranges above stay inside the library's known years, so properties never hit unknown days."""
    assert uniform.is_working_day(date(2026, 12, 31))
    assert uniform.add(datetime(2026, 10, 31, tzinfo=uniform.tz), MAX_WORKING).year == 2026
    assert uniform.add(datetime(2026, 10, 31, tzinfo=uniform.tz), working_days=21).year == 2026
