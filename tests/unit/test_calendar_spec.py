"""CalendarSpec: parsing the `calendar:` section of a contract and rejecting malformed ones."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from streams.calendar import CalendarSpec

EXAMPLE = """
calendar:
  timezone: Asia/Shanghai
  holidays: CN
  working_hours:
    mon: [["09:00", "18:00"]]
    tue: [["09:00", "18:00"]]
    wed: [["09:00", "18:00"]]
    thu: [["09:00", "18:00"]]
    fri: [["09:00", "12:00"], ["13:00", "17:00"]]
  workday_hours: [["09:00", "18:00"]]
  overrides:
    - {date: 2027-01-01, kind: holiday, name: 元旦}
    - {date: 2027-02-07, kind: workday}
    - {date: 2027-12-24, kind: workday, hours: [["09:00", "13:00"]]}
  known_until: null
"""


def _spec(**changes: Any) -> dict[str, Any]:
    """A valid calendar section as a dict, with some keys changed."""
    data: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "holidays": "CN",
        "working_hours": {"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]]},
    }
    data.update(changes)
    return data


def _error(data: dict[str, Any]) -> str:
    """The validation message for an invalid section."""
    with pytest.raises(ValidationError) as info:
        CalendarSpec.model_validate(data)
    return str(info.value)


def test_example_section_parses_from_yaml() -> None:
    spec = CalendarSpec.model_validate(yaml.safe_load(EXAMPLE)["calendar"])
    assert spec.timezone == "Asia/Shanghai"
    assert spec.holidays == "CN"
    assert spec.working_hours["fri"] == [("09:00", "12:00"), ("13:00", "17:00")]
    assert [o.date for o in spec.overrides] == [date(2027, 1, 1), date(2027, 2, 7), date(2027, 12, 24)]
    assert spec.overrides[0].name == "元旦"
    assert spec.overrides[2].hours == [("09:00", "13:00")]
    assert spec.known_until is None
    assert str(spec.tz) == "Asia/Shanghai"


def test_holiday_codes_are_normalised() -> None:
    assert CalendarSpec.model_validate(_spec(holidays="cn")).holidays == "CN"
    assert CalendarSpec.model_validate(_spec(holidays="None")).holidays == "none"
    assert CalendarSpec.model_validate(_spec(holidays="de", subdivision="BY")).holidays == "DE"


def test_workday_hours_default_to_monday() -> None:
    spec = CalendarSpec.model_validate(_spec(working_hours={"mon": [["08:30", "17:30"]], "sat": [["10:00", "14:00"]]}))
    assert spec.effective_workday_hours() == [("08:30", "17:30")]
    explicit = CalendarSpec.model_validate(_spec(workday_hours=[["10:00", "16:00"]]))
    assert explicit.effective_workday_hours() == [("10:00", "16:00")]


def test_touching_intervals_and_end_of_day_are_allowed() -> None:
    spec = CalendarSpec.model_validate(_spec(working_hours={"mon": [["12:00", "24:00"], ["00:00", "12:00"]]}))
    assert spec.working_hours["mon"] == [("12:00", "24:00"), ("00:00", "12:00")]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"timezone": "Asia/Beijing"}, "unknown timezone 'Asia/Beijing'"),
        ({"holidays": "XX"}, "unknown holiday calendar 'XX'"),
        ({"working_hours": {"mon": [["9:00", "18:00"]]}}, "String should match pattern"),
        ({"working_hours": {"mon": [["09:00", "24:30"]]}}, "String should match pattern"),
        ({"working_hours": {"mon": [["18:00", "09:00"]]}}, "empty or reversed"),
        ({"working_hours": {"mon": [["09:00", "09:00"]]}}, "empty or reversed"),
        ({"working_hours": {"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}}, "overlap"),
        ({"working_hours": {"mon": [["09:00", "18:00", "20:00"]]}}, "at most 2 items"),
        ({"working_hours": {"monday": [["09:00", "18:00"]]}}, "working_hours.monday"),
        ({"working_hours": {"mon": [], "sat": []}}, "no working interval at all"),
        ({"workday_hours": [["09:00", "13:00"], ["12:00", "18:00"]]}, "workday_hours: intervals"),
        (
            {"overrides": [{"date": "2027-01-01", "kind": "holiday"}, {"date": "2027-01-01", "kind": "workday"}]},
            "date 2027-01-01 appears twice",
        ),
        (
            {"overrides": [{"date": "2027-01-01", "kind": "holiday", "hours": [["09:00", "12:00"]]}]},
            "a holiday has no hours",
        ),
        ({"overrides": [{"date": "2027-01-01", "kind": "workday", "hours": []}]}, "needs at least one interval"),
        ({"overrides": [{"date": "2027-01-01", "kind": "half-day"}]}, "'holiday' or 'workday'"),
        ({"subdivision": "BY"}, "subdivision applies to `holidays` package countries"),
        ({"holidays": "DE", "subdivision": "XX"}, "unknown subdivision 'XX' of DE"),
        ({"weekends": "sat"}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_sections_are_rejected(changes: dict[str, Any], expected: str) -> None:
    assert expected in _error(_spec(**changes))


def test_unquoted_yaml_time_gets_an_explanation() -> None:
    section = yaml.safe_load("working_hours: {mon: [[9:00, 18:00]]}")  # YAML 1.1 base-60: 540, 1080
    assert section["working_hours"]["mon"] == [[540, 1080]]
    message = _error(_spec(**section))
    assert "base-60 number" in message
    assert 'quote it ("18:00")' in message


def test_json_schema_documents_every_field() -> None:
    schema = CalendarSpec.model_json_schema()
    for model in [schema, schema["$defs"]["DateOverride"]]:
        for name, prop in model["properties"].items():
            assert prop.get("description"), f"{name} has no description"
    clock = schema["properties"]["workday_hours"]["anyOf"][0]["items"]["prefixItems"][0]
    assert clock["pattern"].startswith("^")
    assert schema["additionalProperties"] is False
