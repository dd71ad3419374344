"""The contract file's schema: parties, period, scope, calendar and the SLA terms to check.

Field types and ranges are checked here; rules that relate several fields (a KPI's allowed options,
overlapping terms, calendar coverage) are in `checks.py`, so each problem can name its exact field.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from difflib import get_close_matches
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from streams.calendar import CalendarSpec
from streams.calendar.spec import TimezoneName
from streams.contracts.kpis import CATALOG


def _known_kpi(value: str) -> str:
    """The name when the registry (`streams.contracts.kpis.CATALOG`) defines it; else the names it defines."""
    if value in CATALOG:
        return value
    close = get_close_matches(value, CATALOG, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    shown = value if len(value) <= 40 else value[:40] + "..."
    raise ValueError(f"{shown!r} is not a KPI{hint}; the KPIs are {', '.join(CATALOG)}")


KpiName = Annotated[str, AfterValidator(_known_kpi), WithJsonSchema({"enum": list(CATALOG), "type": "string"})]
"""A KPI of the registry; the published schema lists them as an enum."""

_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
CALENDAR_WINDOWS = ("day", "week", "month", "quarter")
CALENDAR_WINDOW_SECONDS = {"day": 86400, "week": 7 * 86400, "month": 28 * 86400, "quarter": 90 * 86400}
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
"""Lower-case id used in keys, topics and metric labels."""


def parse_duration(text: str) -> int:
    """Seconds in a duration such as `30s`, `15m`, `4h`, `1d`."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 4h or 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
"""A duration written as `30s`, `15m`, `4h` or `1d`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parties(_Strict):
    """Who signed: the client (甲方) and the vendor (乙方)."""

    client: str = Field(description="The client (甲方) buying the service.")
    vendor: str = Field(description="The vendor (乙方) delivering it.")


class Scope(_Strict):
    """What the contract covers; terms default to all of it."""

    queues: list[str] = Field(default_factory=list, description="Call queues (hotlines, skills).")
    channels: list[str] = Field(default_factory=list, description="Contact channels: phone, email, chat, ...")
    categories: list[str] = Field(default_factory=list, description="Ticket categories: request, fault, complaint.")
    services: list[str] = Field(default_factory=list, description="Services whose availability is measured.")


class Within(_Strict):
    """A time limit: exactly one amount, in working time (calendar) or in plain time."""

    working_minutes: float | None = Field(default=None, gt=0)
    working_hours: float | None = Field(default=None, gt=0)
    working_days: int | None = Field(default=None, gt=0)
    minutes: float | None = Field(default=None, gt=0)
    hours: float | None = Field(default=None, gt=0)
    days: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> Within:
        given = [k for k, v in self.model_dump().items() if v is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(type(self).model_fields)} (got {given or 'none'})")
        return self

    @property
    def uses_working_time(self) -> bool:
        """True when the limit is counted on the business calendar."""
        return self.working_minutes is not None or self.working_hours is not None or self.working_days is not None


class Scale(_Strict):
    """The points scale of a survey term, e.g. {min: 1, max: 5}: a survey scored outside it is dead-lettered, not
    counted (a 0/1-coded term must not take a 2 of a 1-5 survey)."""

    min: float = Field(ge=0, description="Lowest score of the scale.")
    max: float = Field(gt=0, le=1_000_000, description="Highest score of the scale.")

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.max <= self.min:
            raise ValueError(f"max {self.max:g} must be above min {self.min:g}")
        return self


class RollingWindow(_Strict):
    """A sliding window: the value over the last `rolling` period, re-evaluated every `step`."""

    rolling: Duration = Field(description="Length, e.g. 7d or 30d.")
    step: Duration = Field(default="1h", description="How often the rolling value is judged.")

    @property
    def seconds(self) -> int:
        """Length of the window."""
        return parse_duration(self.rolling)


class Penalty(_Strict):
    """Money the vendor owes per breached window (违约金)."""

    amount: Decimal = Field(gt=0, description="Amount per breach.")
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code.")
    per: Literal["breach"] = "breach"


class Escalation(_Strict):
    """A right the client gains after repeated breaches, e.g. termination after 3 breaches in a quarter."""

    after_breaches: int = Field(ge=1, description="Breaches that trigger it.")
    within: Literal["month", "quarter", "year", "contract"] = Field(description="Period the breaches are counted in.")
    right: str = Field(description="What the client may then do, e.g. terminate, rectification, fee deduction.")


class Report(_Strict):
    """A periodic report the vendor owes (e.g. the monthly quality report)."""

    id: Identifier
    period: Literal["week", "month", "quarter"] = "month"
    due_working_days: int = Field(default=5, ge=0, description="Working days after the period ends.")
    description: str | None = None


class Term(_Strict):
    """One service-level term: a KPI, its levels, the window it is judged over and what a breach costs."""

    id: Identifier = Field(description="Stable id of the term in this contract.")
    kpi: KpiName = Field(description="Which KPI the term measures (see `streams/contracts/kpis.py`).")
    description: str | None = Field(default=None, description="What the clause says.")
    clause: str | None = Field(default=None, description="Where in the contract text the term comes from.")
    threshold: float = Field(description="Breach level: ratios in 0..1, times in seconds, points, NPS -100..100.")
    warning: float | None = Field(default=None, description="Warning level, crossed before the breach level.")
    window: str | RollingWindow = Field(
        description="Tumbling: a duration dividing a day (15m, 1h) or day/week/month/quarter; or {rolling: 7d}.")
    measured_during: Literal["always", "service_hours"] = Field(
        default="always", description="service_hours: only contacts offered in the calendar's working time count.")
    grace: Duration = Field(default="2m", description="Event-time grace after the window end before it closes.")
    retention: Duration = Field(default="1d", description="How long a closed window accepts late events as revisions.")
    min_volume: int = Field(default=1, ge=1, description="Fewer contributions than this: insufficient_volume.")
    queues: list[str] | None = Field(default=None, description="Calls: queues of this term (default: the scope's).")
    aggregate: Literal["pooled", "per_queue"] | None = Field(
        default=None, description="Calls: pooled judges the term's queues as one service (one window over all of "
        "them, scope `all`, minimum volume over the pool); per_queue (the default) judges each queue on its own.")
    categories: list[str] | None = Field(
        default=None, description="Tickets: categories this term counts; surveys: the `category` of the surveys it "
        "counts (e.g. complaint: complaint-handling surveys only).")
    channels: list[str] | None = Field(
        default=None, description="Surveys: the `channel` of the surveys this term counts (phone, email, chat, ...).")
    priorities: list[str] | None = Field(default=None, description="Tickets: priorities this term counts.")
    services: list[str] | None = Field(default=None, description="Availability: services (default: the scope's).")
    answer_within_seconds: float | None = Field(default=None, gt=0, description="service_level: the target T.")
    short_abandon_seconds: float | None = Field(
        default=None, ge=0, description="Calls: abandons after waiting less than this are left out.")
    abandons_within_target_good: bool | None = Field(
        default=None, description="service_level: an abandon within T counts as a good contact.")
    within: Within | None = Field(default=None, description="Tickets: the time limit, e.g. {working_minutes: 15}.")
    scale: Scale | None = Field(
        default=None, description="Surveys: the points scale, e.g. {min: 1, max: 5}; scores outside it are "
        "dead-lettered (kind out_of_scale), not counted. Default: the KPI's (share_satisfied: 1..5).")
    scale_max: float | None = Field(
        default=None, gt=0, description="Surveys: top of a scale from 0 (the older form of {min: 0, max: N}).")
    satisfied_at: float | None = Field(
        default=None, description="share_satisfied: the lowest score counted as satisfied (e.g. 4 on 1..5).")
    penalty: Penalty | None = Field(default=None, description="Owed per breached window.")
    escalation: Escalation | None = Field(default=None, description="Right gained after repeated breaches.")

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | RollingWindow) -> str | RollingWindow:
        if isinstance(value, RollingWindow) or value in CALENDAR_WINDOWS:
            return value
        seconds = parse_duration(value)
        if seconds <= 0 or 86400 % seconds:
            raise ValueError(f"window {value!r} must divide a day evenly (e.g. 15m, 1h) or be one of "
                             f"{', '.join(CALENDAR_WINDOWS)}, or {{rolling: 7d}}")
        return value

    @property
    def points_scale(self) -> tuple[float, float] | None:
        """(min, max) a survey's points must lie in for this term: `scale`, else 0..`scale_max`, else the KPI's
        default (None: no scale, any points count)."""
        if self.scale is not None:
            return self.scale.min, self.scale.max
        if self.scale_max is not None:
            return 0.0, self.scale_max
        return CATALOG[self.kpi].default_scale

    @property
    def pooled(self) -> bool:
        """True when the term's queues are judged as one (`aggregate: pooled`)."""
        return self.aggregate == "pooled"

    @property
    def window_seconds(self) -> int:
        """Nominal window length (months count 28 days), for compatibility checks."""
        if isinstance(self.window, RollingWindow):
            return self.window.seconds
        return CALENDAR_WINDOW_SECONDS.get(self.window) or parse_duration(self.window)


class Contract(_Strict):
    """A contract between a client and a vendor, with the SLA terms cckpi checks."""

    id: Identifier = Field(description="Stable id, used in topics and metrics.")
    name: str = Field(description="Human name of the contract.")
    source: str | None = Field(default=None, description="The document the contract file was written from.")
    parties: Parties | None = None
    language: Literal["zh", "en"] | None = Field(
        default=None, description="Language of statements and reports: zh (Chinese) or en (English); when absent, "
        "zh if the contract's name or parties are written in Chinese, else en.")
    effective_from: date | None = Field(default=None, description="First day the contract applies.")
    effective_until: date | None = Field(default=None, description="Last day the contract applies.")
    timezone: TimezoneName = Field(description="IANA timezone windows are aligned to, e.g. Asia/Shanghai.")
    calendar: CalendarSpec | None = Field(
        default=None, description="Working time and holidays for deadlines (N working minutes/days), and the service "
        "hours unless `service_hours` is given; its timezone defaults to the contract's.")
    service_hours: CalendarSpec | None = Field(
        default=None, description="When the service is staffed (e.g. 08:00-22:00 every day), if it differs from the "
        "working-time calendar; used by `measured_during: service_hours`.")
    scope: Scope
    terms: list[Term] = Field(min_length=1)
    escalation: Escalation | None = Field(default=None, description="Right gained after breaches of any term.")
    reports: list[Report] = Field(default_factory=list, description="Reports the vendor owes.")
    _places: dict[str, str] = PrivateAttr(default_factory=dict)
    """`file:line` of top-level fields, noted by the loader, so errors found later can point into the file."""

    def place_of(self, field: str) -> str | None:
        """`file:line` of a top-level field (e.g. `calendar`) when the contract was loaded from text."""
        return self._places.get(field)

    def note_places(self, places: dict[str, str]) -> None:
        """Remember where top-level fields are written (the loader calls this)."""
        self._places.update(places)

    @model_validator(mode="before")
    @classmethod
    def _calendar_timezone(cls, data: Any) -> Any:
        if isinstance(data, dict) and "timezone" in data:
            for name in ("calendar", "service_hours"):
                if isinstance(data.get(name), dict):
                    data = {**data, name: {"timezone": data["timezone"], **data[name]}}
        return data

    @property
    def service_calendar(self) -> CalendarSpec | None:
        """The calendar that says when contacts count for `measured_during: service_hours`."""
        return self.service_hours or self.calendar

    def queues_of(self, term: Term) -> list[str]:
        """The queues a calls term applies to."""
        return term.queues or self.scope.queues
