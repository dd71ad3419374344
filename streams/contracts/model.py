"""The contract file's schema: parties, period, scope, calendar and the SLA terms to check.

Field types and ranges are checked here; rules that relate several fields (a KPI's allowed options,
overlapping terms, calendar coverage) are in `checks.py`, so each problem can name its exact field.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from decimal import Decimal
from difflib import get_close_matches
from itertools import pairwise
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


def local_instant(value: datetime, tz: tzinfo) -> datetime:
    """An aware instant: `value` as written, or in `tz` when it carries no offset (contract times are local)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


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


MAX_ROLLING_STEPS = 1000
"""Most windows one contribution of a rolling term may count in (rolling / step)."""


class RollingWindow(_Strict):
    """A sliding window: the value over the last `rolling` period, re-evaluated every `step`."""

    rolling: Duration = Field(description="Length, e.g. 7d or 30d.")
    step: Duration = Field(default="1h", description="How often the rolling value is judged: a duration dividing a "
                           "day (1h, 1d); each step's end closes the window of `rolling` before it.")

    @property
    def seconds(self) -> int:
        """Length of the window."""
        return parse_duration(self.rolling)

    @model_validator(mode="after")
    def _steps(self) -> RollingWindow:
        step = parse_duration(self.step)
        if step <= 0 or 86400 % step:
            raise ValueError(f"step {self.step!r} must divide a day evenly (e.g. 15m, 1h, 1d)")
        if self.seconds <= 0 or self.seconds % step:
            raise ValueError(f"rolling {self.rolling!r} must be a whole number of steps of {self.step}")
        if self.seconds // step > MAX_ROLLING_STEPS:
            raise ValueError(f"rolling {self.rolling!r} is {self.seconds // step} steps of {self.step}: at most "
                             f"{MAX_ROLLING_STEPS} (each contribution counts in every window covering it); "
                             "take a longer step")
        return self


MONEY_PERIODS = ("month", "quarter", "year")
MoneyPeriod = Literal["month", "quarter", "year"]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code.")]


class Fee(_Strict):
    """A fee the client pays (服务费): an amount per period, or a price per seat times the seats."""

    id: Identifier = Field(default="service", description="Name a penalty or cap refers to (`fee:`).")
    amount: Decimal = Field(gt=0, description="The fee per period, or per seat when `seats` is given.")
    seats: int | None = Field(default=None, ge=1, description="Seats priced at `amount` each (每月每人X元).")
    currency: Currency = "CNY"
    period: MoneyPeriod = Field(default="month", description="What the amount pays for: a month, quarter or year.")

    @property
    def total(self) -> Decimal:
        """The fee of one period: `amount`, times `seats` when priced per seat."""
        return self.amount * (self.seats or 1)


class Cap(_Strict):
    """The most a term (or the contract) books in one period: an amount, or a percentage of a fee."""

    amount: Decimal | None = Field(default=None, gt=0, description="Most booked per period.")
    percent_of_fee: Decimal | None = Field(
        default=None, gt=0, le=100, description="Most booked per period, as % of the fee for that period (a fee "
        "of another period pro rata by months).")
    fee: Identifier | None = Field(default=None, description="The fee of `percent_of_fee` (default: the only one).")
    per: MoneyPeriod = Field(default="month", description="The settlement period the cap applies to.")

    @model_validator(mode="after")
    def _one_base(self) -> Cap:
        if (self.amount is None) == (self.percent_of_fee is None):
            raise ValueError("give exactly one of amount or percent_of_fee")
        return self


class Cure(_Strict):
    """A rectification period (限期整改): the breach is booked only when it is not remedied in time."""

    days: int | None = Field(
        default=None, ge=1, description="Remedied when a window of the same term and scope closes met within N "
        "days after the breached window's end; booked (in the month holding that deadline) otherwise.")
    next_window: bool = Field(
        default=False, description="Booked only if the next window of the same term and scope also breaches (in "
        "the month holding that window's last instant); remedied when it meets the level (a window of insufficient "
        "volume decides nothing: the next judged window does).")

    @model_validator(mode="after")
    def _one_rule(self) -> Cure:
        if (self.days is None) == (not self.next_window):
            raise ValueError("give exactly one of days: N or next_window: true")
        return self


PenaltyPer = Literal["breach", "missed_item", "shortfall_unit", "day_late"]


class Penalty(_Strict):
    """Money the vendor owes (违约金): a rate (`amount`, or `percent_of_fee`) per breached window, per missed
    ticket, per unit of shortfall below the level, or per day of delay; optionally capped and with a cure period."""

    amount: Decimal | None = Field(default=None, gt=0, description="The rate: money per breach, item, unit or day.")
    percent_of_fee: Decimal | None = Field(
        default=None, gt=0, le=100, description="The rate as % of a fee's amount for its period.")
    fee: Identifier | None = Field(default=None, description="The fee of `percent_of_fee` (default: the only one).")
    currency: Currency = "CNY"
    per: PenaltyPer = Field(
        default="breach", description="breach: each breached window; missed_item: each ticket past its deadline; "
        "shortfall_unit: each `unit` the window's value misses the threshold by; day_late: each started day from "
        "a ticket's deadline to its solution (or, still open, to the period's end).")
    unit: Decimal | None = Field(
        default=None, gt=0, description="shortfall_unit: one unit in the KPI's value (0.01: a percentage point of a "
        "ratio; 1: a second or a point).")
    rounding: Literal["ceil", "floor", "exact"] = Field(
        default="ceil", description="shortfall_unit: how the shortfall in units is rounded (exact: not at all).")
    max_days: int = Field(
        default=90, ge=1, description="day_late: the most days counted per ticket (working days for a limit in "
        "working time, else 24-hour days); a ticket is followed this long past its deadline, then forgotten.")
    cap: Cap | None = Field(default=None, description="The most this term books per period.")
    cure: Cure | None = Field(default=None, description="A rectification period before a breach is booked.")
    _rate: Decimal | None = PrivateAttr(default=None)
    """The rate resolved against the contract's fees (the contract sets it; `rate` reads it)."""

    @model_validator(mode="after")
    def _one_rate(self) -> Penalty:
        if (self.amount is None) == (self.percent_of_fee is None):
            raise ValueError("give exactly one of amount or percent_of_fee")
        self._rate = self.amount
        return self

    @model_validator(mode="after")
    def _days_per_day_late(self) -> Penalty:
        if "max_days" in self.model_fields_set and self.per != "day_late":
            raise ValueError("max_days counts days of delay: only with per: day_late")
        return self

    @property
    def rate(self) -> Decimal | None:
        """Money per breach, item, unit or day: `amount`, or `percent_of_fee` of the fee (None until resolved)."""
        return self._rate

    def resolve(self, fees: list[Fee]) -> None:
        """Resolve `percent_of_fee` against the contract's fees (unrounded; the pricing rounds)."""
        fee = fee_named(fees, self.fee)
        if self.percent_of_fee is not None and fee is not None:
            self._rate = fee.total * self.percent_of_fee / 100


def fee_named(fees: list[Fee], name: str | None) -> Fee | None:
    """The fee called `name`, or the only fee when no name is given; None when there is no such fee."""
    if name is None:
        return fees[0] if len(fees) == 1 else None
    return next((f for f in fees if f.id == name), None)


ESCALATION_PERIODS = ("day", "week", "month", "quarter", "year")
"""Calendar periods (contract timezone) an escalation counts breaches in."""


class RollingSpan(_Strict):
    """A span that slides with the breaches, e.g. {rolling: 90d}: any 90 days."""

    rolling: Duration = Field(description="Length of the span, e.g. 90d.")

    @property
    def seconds(self) -> int:
        """Length of the span."""
        return parse_duration(self.rolling)


class Escalation(_Strict):
    """A right the client gains after repeated breaches (累计违约达到[次数或比例]): exactly one of
    `after_breaches` (N breaches in a calendar period, the whole contract, or any rolling span), `consecutive`
    (N consecutive calendar periods each with a breach) or `ratio` (this share of the period's windows breached)."""

    after_breaches: int | None = Field(default=None, ge=1, description="Breaches that trigger it.")
    consecutive: int | None = Field(
        default=None, ge=1, description="Consecutive periods (`within`), each with at least one breach.")
    ratio: float | None = Field(
        default=None, gt=0, le=1, description="Share of the period's windows breached, e.g. 0.2 (20%).")
    within: Literal["day", "week", "month", "quarter", "year", "contract"] | RollingSpan = Field(
        description="Period the breaches are counted in: a calendar period, contract, or {rolling: 90d}.")
    right: str = Field(description="What the client may then do, e.g. terminate, rectification, penalty x2.")

    @model_validator(mode="after")
    def _one_rule(self) -> Escalation:
        given = [n for n in ("after_breaches", "consecutive", "ratio") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of after_breaches, consecutive or ratio (got {given or 'none'})")
        if given[0] != "after_breaches" and self.within not in ESCALATION_PERIODS:
            shown = self.within if isinstance(self.within, str) else f"{{rolling: {self.within.rolling}}}"
            raise ValueError(f"{given[0]} counts calendar periods: within must be one of "
                             f"{', '.join(ESCALATION_PERIODS)}, not {shown}")
        return self


class EscalationGroup(Escalation):
    """An escalation over a named group of clauses: their breaches count together."""

    group: Identifier = Field(description="Name of the group, in the escalation's id and records.")
    terms: list[Identifier] = Field(min_length=1, description="Ids of the terms whose breaches count.")


class Report(_Strict):
    """A periodic report the vendor owes (e.g. the monthly quality report)."""

    id: Identifier
    period: Literal["week", "month", "quarter"] = "month"
    due_working_days: int = Field(default=5, ge=0, description="Working days after the period ends.")
    description: str | None = None


class Exclusion(_Strict):
    """A period taken out of availability's measured time: planned maintenance (计划维护) or force majeure (不可抗力);
    listed on the statement."""

    from_: datetime = Field(alias="from", description="First instant excluded (local to the contract's timezone "
                            "unless it carries an offset).")
    until: datetime = Field(description="First instant measured again.")
    kind: Literal["maintenance", "force_majeure"] = Field(description="Planned maintenance or force majeure.")
    reason: str = Field(min_length=1, max_length=200, description="What it was, as the statement shows it.")
    services: list[str] | None = Field(default=None, description="Services it applies to (default: every one).")


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
    aggregate: Literal["pooled", "per_queue", "per_service"] | None = Field(
        default=None, description="How the term's queues or services are judged. Calls: pooled judges the queues as "
        "one service (one window over all of them, scope `all`, minimum volume over the pool), per_queue (the "
        "default) each queue on its own. Availability: per_service judges each service in its own window (scope: "
        "the service), pooled (the default) sums the services' time into one window.")
    categories: list[str] | None = Field(
        default=None, description="Tickets: categories this term counts; surveys: the `category` of the surveys it "
        "counts (e.g. complaint: complaint-handling surveys only).")
    channels: list[str] | None = Field(
        default=None, description="Surveys and tickets: the `channel` of the surveys (of the tickets, as created) this "
        "term counts (phone, email, chat, ...).")
    priorities: list[str] | None = Field(default=None, description="Tickets: priorities this term counts.")
    services: list[str] | None = Field(default=None, description="Availability: services (default: the scope's).")
    answer_within_seconds: float | None = Field(default=None, gt=0, description="service_level: the target T.")
    short_abandon_seconds: float | None = Field(
        default=None, ge=0, description="Calls: abandons after waiting less than this are left out.")
    abandons_within_target_good: bool | None = Field(
        default=None, description="service_level: an abandon within T counts as a good contact.")
    within: Within | None = Field(default=None, description="Tickets: the time limit, e.g. {working_minutes: 15}.")
    targets_by_priority: dict[str, Within] | None = Field(
        default=None, description="Tickets: the time limit per priority, e.g. {urgent: {working_hours: 4}}; other "
        "priorities take `within`. A priority change takes the new priority's limit, measured from creation.")
    pause_on: list[str] | None = Field(
        default=None, description="Tickets: statuses (of ticket.status_changed) during which the clock stops, e.g. "
        "[pending, on_hold]; paused time (working time, for a limit in working time) does not count.")
    pause_on_events: bool | None = Field(
        default=None, description="Tickets: true: the clock also stops between ticket.paused and ticket.resumed.")
    on_reopen: Literal["resume", "new_cycle"] | None = Field(
        default=None, description="Tickets whose clock stops at a solution (resolved or closed): a reopened ticket "
        "resumes the same clock until the final solution (resume, the default; a window already judged is revised) "
        "or starts a new clock with the whole limit, counted in the window of the reopen (new_cycle).")
    warn_at: list[float] | None = Field(
        default=None, description="Tickets: shares of the allowed time (each above 0 and below 1, ascending), e.g. "
        "[0.5, 0.75]: an open ticket whose clock (pauses respected) passes one unsettled gets a warning, once per "
        "share (cckpi.breaches, metrics, Alertmanager).")
    scale: Scale | None = Field(
        default=None, description="Surveys: the points scale, e.g. {min: 1, max: 5}; scores outside it are "
        "dead-lettered (kind out_of_scale), not counted. Default: the KPI's (share_satisfied: 1..5).")
    scale_max: float | None = Field(
        default=None, gt=0, description="Surveys: top of a scale from 0 (the older form of {min: 0, max: N}).")
    satisfied_at: float | None = Field(
        default=None, description="share_satisfied: the lowest score counted as satisfied (e.g. 4 on 1..5).")
    min_agents: int | None = Field(
        default=None, ge=1, description="staffing_floor: the fewest agents the queue must have (logged in or ready).")
    count: Literal["logged_in", "ready"] | None = Field(
        default=None, description="staffing_floor: which agents count: logged_in (the default: logged in, ready or "
        "not) or ready (taking calls).")
    penalty: Penalty | None = Field(default=None, description="What a breach costs (see Penalty).")
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

    @field_validator("warn_at")
    @classmethod
    def _warn_at(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and not (value and all(0 < share < 1 for share in value)
                                      and all(a < b for a, b in pairwise(value))):
            raise ValueError("warn_at takes shares of the allowed time above 0 and below 1, ascending, e.g. "
                             "[0.5, 0.75]")
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
    fees: list[Fee] = Field(default_factory=list, description="Fees the client pays (服务费), for penalties and caps "
                            "given as a percentage of a fee.")
    penalty_cap: Cap | None = Field(default=None, description="The most all terms together book per period.")
    escalations: list[EscalationGroup] = Field(
        default_factory=list, description="Rights gained after breaches of a named group of terms.")
    reports: list[Report] = Field(default_factory=list, description="Reports the vendor owes.")
    exclusions: list[Exclusion] = Field(
        default_factory=list, description="Maintenance windows and force-majeure periods: not measured time of "
        "availability terms.")
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

    @model_validator(mode="before")
    @classmethod
    def _fee_currency(cls, data: Any) -> Any:
        """Penalties of a contract with fees are in the fees' currency unless they say otherwise."""
        fees = data.get("fees") if isinstance(data, dict) else None
        first = fees[0] if isinstance(fees, list) and fees and isinstance(fees[0], dict) else {}
        if "currency" not in first or not isinstance(data.get("terms"), list):
            return data
        terms = [{**t, "penalty": {"currency": first["currency"], **t["penalty"]}}
                 if isinstance(t, dict) and isinstance(t.get("penalty"), dict) else t for t in data["terms"]]
        return {**data, "terms": terms}

    @model_validator(mode="after")
    def _resolve_rates(self) -> Contract:
        for term in self.terms:
            if term.penalty is not None:
                term.penalty.resolve(self.fees)
        return self

    @property
    def service_calendar(self) -> CalendarSpec | None:
        """The calendar that says when contacts count for `measured_during: service_hours`."""
        return self.service_hours or self.calendar

    def queues_of(self, term: Term) -> list[str]:
        """The queues a calls term applies to."""
        return term.queues or self.scope.queues
