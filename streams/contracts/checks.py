"""Rules across fields of a valid-looking contract: each problem comes with the field path it is about."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from streams.calendar import BusinessCalendar, CalendarSpec, CalendarUnknownDay
from streams.contracts.kpis import CATALOG
from streams.contracts.model import Contract, Term

Path = tuple[Any, ...]
Finding = tuple[Path, str]

OPTION_FIELDS = ("queues", "categories", "priorities", "services", "answer_within_seconds",
                 "short_abandon_seconds", "abandons_within_target_good", "within", "scale", "scale_max",
                 "satisfied_at", "channels")
"""Term fields that only some KPI kinds take."""
_IDENTITY_IGNORED = {"id", "description", "clause", "threshold", "warning", "penalty", "escalation", "grace",
                     "retention", "min_volume", "queues", "categories", "services"}


def check_contract(contract: Contract) -> list[Finding]:
    """Every cross-field problem of a contract (empty when it is usable)."""
    findings = list(_period_and_calendar(contract))
    for i, term in enumerate(contract.terms):
        findings += [((*("terms", i), *path), message) for path, message in _term(contract, term)]
    findings += list(_duplicates_and_overlaps(contract))
    return findings


def _term(contract: Contract, term: Term) -> Iterator[Finding]:
    spec = CATALOG[term.kpi]
    for name in OPTION_FIELDS:
        if getattr(term, name) is not None and name not in spec.options:
            yield (name,), f"{name} does not apply to {term.kpi} (a {spec.source} KPI)"
    for name in sorted(spec.required):
        if getattr(term, name) is None:
            yield (), f"{term.kpi} needs {name}"
    low, high = spec.level_range
    for name in ("threshold", "warning"):
        level = getattr(term, name)
        if level is not None and not low <= level <= high:
            hint = " (write 0.9, not 90)" if spec.unit == "ratio" and level > 1 else ""
            yield (name,), f"{level:g} is outside {low:g}..{high:g} for {term.kpi} ({spec.unit}){hint}"
    if term.warning is not None and (term.warning <= term.threshold if spec.higher_is_better
                                     else term.warning >= term.threshold):
        side = "above" if spec.higher_is_better else "below"
        yield ("warning",), f"the warning level must be {side} the threshold {term.threshold:g}: it is crossed first"
    if term.window_seconds < spec.min_window_seconds:
        yield ("window",), (f"a {term.window} window is too short for {term.kpi}: at least "
                            f"{timedelta(seconds=spec.min_window_seconds)}")
    if term.measured_during == "service_hours" and contract.service_calendar is None:
        yield ("measured_during",), "service_hours needs a service_hours or calendar section with the hours"
    if contract.calendar is None and term.within is not None and term.within.uses_working_time:
        yield ("within",), "working time needs a calendar section with working hours and holidays"
    yield from _scale(term, spec.unit)
    yield from _subset(term.queues, contract.scope.queues, "queues")
    yield from _subset(term.categories, contract.scope.categories, "categories")
    yield from _subset(term.services, contract.scope.services, "services")
    if term.aggregate is not None and spec.source != "calls":
        yield ("aggregate",), f"aggregate applies to call terms only ({term.kpi} is judged over all its {spec.source})"
    if spec.source == "calls" and not contract.queues_of(term):
        yield (), f"{term.kpi} needs queues, in the term or in the scope"


def _scale(term: Term, unit: str) -> Iterator[Finding]:
    """A survey term's scale: given once, and holding its satisfied score and (points) its levels."""
    if term.scale is not None and term.scale_max is not None:
        yield ("scale_max",), "give scale or scale_max, not both (scale_max: N is scale: {min: 0, max: N})"
        return
    scale = term.points_scale
    if scale is None:
        return
    low, high = scale
    if term.satisfied_at is not None and not low <= term.satisfied_at <= high:
        yield ("satisfied_at",), f"{term.satisfied_at:g} is outside the scale {low:g}..{high:g}"
    for name in ("threshold", "warning") if unit == "points" else ():
        level = getattr(term, name)
        if level is not None and not low <= level <= high:
            yield (name,), f"{level:g} is outside the scale {low:g}..{high:g}"


def _subset(chosen: list[str] | None, scope: list[str], name: str) -> Iterator[Finding]:
    outside = sorted(set(chosen or []) - set(scope)) if scope else []
    if outside:
        yield (name,), f"{', '.join(outside)} not in the contract scope's {name} ({', '.join(scope)})"


def _scope_of(contract: Contract, term: Term) -> set[str]:
    source = CATALOG[term.kpi].source
    if source == "calls":
        return set(contract.queues_of(term))
    if source == "tickets":
        return set(term.categories or contract.scope.categories or ["*"])
    if source == "surveys":  # a filtered term and an unfiltered one count different surveys
        return set(term.categories or ["*"])
    if source == "availability":
        return set(term.services or contract.scope.services or ["*"])
    return {"*"}


def _duplicates_and_overlaps(contract: Contract) -> Iterator[Finding]:
    seen: dict[str, int] = {}
    for i, term in enumerate(contract.terms):
        if term.id in seen:
            yield ("terms", i, "id"), f"term id {term.id!r} appears twice (first as terms[{seen[term.id]}])"
        seen.setdefault(term.id, i)
    identities = [term.model_dump(exclude=_IDENTITY_IGNORED) for term in contract.terms]
    for j, term in enumerate(contract.terms):
        for i in range(j):
            common = _scope_of(contract, term) & _scope_of(contract, contract.terms[i])
            if identities[i] == identities[j] and common:
                yield ("terms", j, "id"), (
                    f"term {term.id!r} overlaps {contract.terms[i].id!r}: same KPI, window and options on "
                    f"{', '.join(sorted(common))}; merge them or give them disjoint scopes")


def _period_and_calendar(contract: Contract) -> Iterator[Finding]:
    start, end = contract.effective_from, contract.effective_until
    if start and end and end < start:
        yield ("effective_until",), f"{end} is before effective_from {start}"
    for name in ("calendar", "service_hours"):
        spec = getattr(contract, name)
        if spec is not None:
            yield from _calendar_covers(contract, name, spec)


def _calendar_covers(contract: Contract, name: str, calendar: CalendarSpec) -> Iterator[Finding]:
    start, end = contract.effective_from, contract.effective_until
    if calendar.timezone != contract.timezone:
        yield (name, "timezone"), f"{calendar.timezone} differs from the contract timezone {contract.timezone}"
    if not (start and end) or end < start:
        return
    business = BusinessCalendar(calendar, name=f"{contract.id} {name}")
    day = start
    while day <= end:
        try:
            business.day(day)
        except CalendarUnknownDay as exc:
            yield (name,), (f"cannot classify {day} (in the effective period {start}..{end}): "
                            f"{exc.reason}; add overrides for {day.year} or set known_until")
            return
        day += timedelta(days=1)
