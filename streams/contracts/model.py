"""The contract file's schema: parties, scope, timezone and the SLA terms to check."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

KpiName = Literal[
    "answer_rate",
    "service_level",
    "abandonment_rate",
    "average_speed_of_answer",
    "average_talk_time",
    "average_handle_time",
]

_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
CALENDAR_WINDOWS = ("day", "week", "month", "quarter")
RATIO_KPIS = ("answer_rate", "service_level", "abandonment_rate")


def parse_duration(text: str) -> int:
    """Seconds in a duration such as `30s`, `15m`, `4h`, `1d`."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 4h or 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parties(_Strict):
    """Who signed: the client (甲方) and the vendor (乙方)."""

    client: str = Field(description="The client (甲方) buying the service.")
    vendor: str = Field(description="The vendor (乙方) delivering it.")


class Scope(_Strict):
    """What the contract covers."""

    queues: list[str] = Field(min_length=1, description="Queues (hotlines, skills) the terms apply to.")


class Term(_Strict):
    """One service-level term: a KPI, its threshold and the window it is judged over."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Stable id of the term in this contract.")
    kpi: KpiName = Field(description="Which KPI the term measures.")
    threshold: float = Field(description="Breach level: ratios in 0..1, times in seconds.")
    warning: float | None = Field(default=None, description="Warning level, crossed before the breach level.")
    window: str = Field(description="Tumbling window: a duration dividing a day (15m, 1h) or day/week/month/quarter.")
    grace: str = Field(default="2m", description="Event-time grace after the window end before it closes.")
    retention: str = Field(default="1d", description="How long a closed window still accepts late events as revisions.")
    min_volume: int = Field(default=1, ge=1, description="Fewer contributing calls than this: insufficient_volume.")
    queues: list[str] | None = Field(default=None, description="Queues of this term; default: the contract scope.")
    answer_within_seconds: float | None = Field(
        default=None, gt=0, description="service_level only: the target answer time T in seconds."
    )
    short_abandon_seconds: float | None = Field(
        default=None, ge=0, description="Abandons after waiting less than this are left out of the KPI."
    )
    abandons_within_target_good: bool = Field(
        default=False, description="service_level only: an abandon within T counts as a good contact."
    )
    description: str | None = Field(default=None, description="The clause this term comes from.")

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        if value in CALENDAR_WINDOWS:
            return value
        seconds = parse_duration(value)
        if seconds <= 0 or 86400 % seconds:
            raise ValueError(f"window {value!r} must divide a day evenly (e.g. 15m, 1h) or be one of "
                             f"{', '.join(CALENDAR_WINDOWS)}")
        return value

    @field_validator("grace", "retention")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("threshold", "warning")
    @classmethod
    def _level(cls, level: float | None, info: ValidationInfo) -> float | None:
        kpi = info.data.get("kpi")
        if level is None or kpi is None:
            return level
        if kpi in RATIO_KPIS and not 0 <= level <= 1:
            raise ValueError(f"{level:g} is not a ratio in 0..1 as {kpi} needs (write 0.9, not 90)")
        if kpi not in RATIO_KPIS and level < 0:
            raise ValueError(f"{level:g} is negative; {kpi} is measured in seconds")
        return level

    @model_validator(mode="after")
    def _kpi_fields(self) -> Term:
        if self.kpi == "service_level" and self.answer_within_seconds is None:
            raise ValueError("a service_level term needs answer_within_seconds")
        if self.kpi != "service_level" and self.answer_within_seconds is not None:
            raise ValueError(f"answer_within_seconds applies to service_level, not {self.kpi}")
        return self


class Contract(_Strict):
    """A contract between a client and a vendor, with the SLA terms cckpi checks."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Stable id, used in topics and metrics.")
    name: str = Field(description="Human name of the contract.")
    parties: Parties | None = None
    effective_from: date | None = Field(default=None, description="First day the contract applies.")
    effective_until: date | None = Field(default=None, description="Last day the contract applies.")
    timezone: str = Field(description="IANA timezone windows are aligned to, e.g. Asia/Shanghai.")
    scope: Scope
    terms: list[Term] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as Asia/Shanghai)") from None
        return value

    @model_validator(mode="after")
    def _unique_terms(self) -> Contract:
        seen: set[str] = set()
        for term in self.terms:
            if term.id in seen:
                raise ValueError(f"term id {term.id!r} appears twice")
            seen.add(term.id)
            unknown = set(term.queues or []) - set(self.scope.queues)
            if unknown:
                raise ValueError(f"term {term.id!r} names queues outside the scope: {sorted(unknown)}")
        return self

    def queues_of(self, term: Term) -> list[str]:
        """The queues a term applies to."""
        return term.queues or self.scope.queues
