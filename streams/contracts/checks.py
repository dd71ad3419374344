"""Rules across fields of a valid-looking contract: each problem comes with the field path it is about."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from streams.calendar import BusinessCalendar, CalendarSpec, CalendarUnknownDay
from streams.contracts.kpis import CATALOG
from streams.contracts.model import Contract, Term, local_instant

Path = tuple[Any, ...]
Finding = tuple[Path, str]

OPTION_FIELDS = ("queues", "categories", "priorities", "services", "answer_within_seconds",
                 "short_abandon_seconds", "abandons_within_target_good", "within", "scale", "scale_max",
                 "satisfied_at", "channels", "aggregate", "targets_by_priority", "pause_on", "pause_on_events",
                 "on_reopen", "min_agents", "count", "warn_at")
"""Term fields that only some KPI kinds take."""
AGGREGATES = {"calls": ("pooled", "per_queue"), "availability": ("pooled", "per_service")}
"""How the terms of a source may judge their scopes (`aggregate`): the queues, or the services, as one or each."""
_IDENTITY_IGNORED = {"id", "description", "clause", "threshold", "warning", "penalty", "escalation", "grace",
                     "retention", "min_volume", "queues", "categories", "services"}


def check_contract(contract: Contract) -> list[Finding]:
    """Every cross-field problem of a contract (empty when it is usable)."""
    findings = list(_period_and_calendar(contract))
    for i, term in enumerate(contract.terms):
        findings += [((*("terms", i), *path), message) for path, message in _term(contract, term)]
    findings += list(_duplicates_and_overlaps(contract))
    findings += list(_exclusions(contract))
    findings += list(_money(contract))
    findings += list(_escalation_groups(contract))
    return findings


def _money(contract: Contract) -> Iterator[Finding]:
    """Fees, penalties and caps: known fees, one currency per contract, each penalty form on the terms it fits."""
    fee_ids = [f.id for f in contract.fees]
    for i, fee_id in enumerate(fee_ids):
        if fee_id in fee_ids[:i]:
            yield ("fees", i, "id"), f"fee id {fee_id!r} appears twice"
    currency = contract.fees[0].currency if contract.fees else None
    for i, fee in enumerate(contract.fees):
        if fee.currency != currency:
            yield ("fees", i, "currency"), f"{fee.currency} differs from fees[0]'s {currency}: a contract settles " \
                                           "in one currency"
    if contract.penalty_cap is not None:
        yield from _fee_reference(contract, contract.penalty_cap.percent_of_fee, contract.penalty_cap.fee,
                                  ("penalty_cap",))
    for i, term in enumerate(contract.terms):
        penalty = term.penalty
        if penalty is None:
            continue
        path: Path = ("terms", i, "penalty")
        currency = currency or penalty.currency
        if penalty.currency != currency:
            yield (*path, "currency"), f"{penalty.currency} differs from the contract's {currency} (its first fee or " \
                                       "penalty): a contract settles in one currency"
        yield from _fee_reference(contract, penalty.percent_of_fee, penalty.fee, path)
        if penalty.cap is not None:
            yield from _fee_reference(contract, penalty.cap.percent_of_fee, penalty.cap.fee, (*path, "cap"))
        yield from _penalty_form(term, path)


def _fee_reference(contract: Contract, percent: object, fee: str | None, path: Path) -> Iterator[Finding]:
    """A `percent_of_fee` needs a fee: the one named, or the contract's only fee."""
    ids = [f.id for f in contract.fees]
    if fee is not None and fee not in ids:
        yield (*path, "fee"), f"no fee {fee!r} in fees ({', '.join(ids) or 'none'})"
    elif percent is not None and fee is None and len(ids) != 1:
        yield (*path, "percent_of_fee"), ("needs a fees section with the fee it is a percentage of" if not ids else
                                          f"name the fee (fee: one of {', '.join(ids)})")


def _penalty_form(term: Term, path: Path) -> Iterator[Finding]:
    """Ticket forms on ticket terms, a unit for shortfalls, cures on window penalties long enough to be seen."""
    penalty = term.penalty
    assert penalty is not None
    source = CATALOG[term.kpi].source
    if penalty.per in ("missed_item", "day_late") and source != "tickets":
        yield (*path, "per"), f"{penalty.per} prices missed tickets: {term.kpi} is a {source} KPI"
    if (penalty.per == "shortfall_unit") != (penalty.unit is not None):
        yield (*path, "unit"), ("shortfall_unit needs unit (e.g. 0.01: one percentage point)"
                                if penalty.unit is None else "unit applies to per: shortfall_unit only")
    if penalty.cure is not None and penalty.per in ("missed_item", "day_late"):
        yield (*path, "cure"), "a cure period applies to breached windows, not to missed tickets"
    days = penalty.cure.days if penalty.cure else None
    if days is not None and days * 86400 < term.window_seconds:
        yield (*path, "cure", "days"), (f"{days} days is shorter than the {term.window} window: no later window can "
                                        "close within it (use next_window: true)")


def _escalation_groups(contract: Contract) -> Iterator[Finding]:
    """Each group of clauses names terms of the contract, and no two groups share a name."""
    ids = {t.id for t in contract.terms}
    names: set[str] = set()
    for i, rule in enumerate(contract.escalations):
        if rule.group in names:
            yield ("escalations", i, "group"), f"group {rule.group!r} appears twice"
        names.add(rule.group)
        for j, term in enumerate(rule.terms):
            if term not in ids:
                yield ("escalations", i, "terms", j), f"{term!r} is not a term of this contract"


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
    yield from _targets(contract, term)
    yield from _scale(term, spec.unit)
    yield from _subset(term.queues, contract.scope.queues, "queues")
    yield from _subset(term.categories, contract.scope.categories, "categories")
    yield from _subset(term.services, contract.scope.services, "services")
    allowed = AGGREGATES.get(spec.source, ())
    if term.aggregate is not None and allowed and term.aggregate not in allowed:  # else the registry says it
        yield ("aggregate",), f"{term.kpi} takes aggregate {' or '.join(allowed)}"
    elif term.aggregate == "per_service" and not (term.services or contract.scope.services):
        yield ("aggregate",), "per_service needs the services, in the term or in the scope"
    if spec.source == "calls" and not contract.queues_of(term):
        yield (), f"{term.kpi} needs queues, in the term or in the scope"


def _targets(contract: Contract, term: Term) -> Iterator[Finding]:
    """Per-priority limits: each in a unit the contract can count, each for a priority the term counts."""
    for priority, within in (term.targets_by_priority or {}).items():
        if contract.calendar is None and within.uses_working_time:
            yield ("targets_by_priority", priority), "working time needs a calendar section with working hours"
        if term.priorities and priority not in term.priorities:
            yield ("targets_by_priority", priority), (f"{priority} is not among the term's priorities "
                                                      f"({', '.join(term.priorities)})")


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


def _exclusions(contract: Contract) -> Iterator[Finding]:
    """Each exclusion ends after it starts and names services of the scope."""
    tz = ZoneInfo(contract.timezone)
    for i, exclusion in enumerate(contract.exclusions):
        start, end = (local_instant(t, tz) for t in (exclusion.from_, exclusion.until))
        if end <= start:
            yield ("exclusions", i, "until"), f"{exclusion.until} is not after from {exclusion.from_}"
        yield from (((("exclusions", i, *path), message)
                     for path, message in _subset(exclusion.services, contract.scope.services, "services")))


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
