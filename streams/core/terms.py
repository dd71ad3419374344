"""Contract terms compiled for fast lookup: which terms an event of a queue feeds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from streams.calendar import BusinessCalendar
from streams.contracts.model import Contract, Term, local_instant, parse_duration
from streams.core.kpis import KPIS, KpiKind
from streams.core.windows import WindowSpec


@dataclass(frozen=True)
class CompiledTerm:
    """A term with its KPI kind, window and durations resolved."""

    contract: str
    term: Term
    kind: KpiKind
    window: WindowSpec
    grace: float
    retention: float
    service_hours: BusinessCalendar | None = None
    """Set when only contacts in the calendar's working time count (`measured_during: service_hours`)."""
    calendar: BusinessCalendar | None = None
    """The working-time calendar of the contract, for deadlines in working minutes, hours and days."""
    starts: float = -math.inf
    """First instant of the contract's effective period (local midnight of `effective_from`), epoch seconds."""
    ends: float = math.inf
    """First instant after it (local midnight after `effective_until`): contributions from then on are not judged."""
    scope: str | None = None
    """The scope of its windows when it is not the events' (availability `per_service`: the service)."""
    excluded: tuple[tuple[float, float, frozenset[str] | None], ...] = ()
    """Availability: the contract's exclusions as (from, until, services or None for every one), epoch seconds."""
    queues: tuple[str, ...] = ()
    """A calls term's queues: a pooled term's window (`aggregate: pooled`) waits for each (`streams.core.pool`)."""
    key: str = field(init=False, compare=False, repr=False)
    """Stable id of the term across contracts: `contract/term`, `contract/term@service` for one service of a
    per_service term."""
    threshold: float = field(init=False, compare=False, repr=False)
    warning: float | None = field(init=False, compare=False, repr=False)
    min_volume: int = field(init=False, compare=False, repr=False)
    higher_is_better: bool = field(init=False, compare=False, repr=False)
    """The term's (and its KPI's) constants the per-event path reads, copied once: read from the contract model
    (pydantic) they cost a generic attribute look-up each."""

    def __post_init__(self) -> None:
        """Memoise the per-term constants (a frozen dataclass: set once, like its other fields)."""
        t = self.term
        object.__setattr__(self, "key", f"{self.contract}/{t.id}" + (f"@{self.scope}" if self.scope else ""))
        object.__setattr__(self, "threshold", t.threshold)
        object.__setattr__(self, "warning", t.warning)
        object.__setattr__(self, "min_volume", t.min_volume)
        object.__setattr__(self, "higher_is_better", self.kind.higher_is_better)

    def in_effect(self, at: float) -> bool:
        """True when a contribution at this instant falls in the contract's effective period."""
        return self.starts <= at < self.ends

    @property
    def pooled(self) -> bool:
        """True for a calls term judged over all its queues as one (`aggregate: pooled`, see `streams.core.pool`)."""
        return self.term.pooled and self.source == "calls"

    @property
    def source(self) -> str:
        """Which events feed the term: calls, tickets, surveys or availability."""
        return self.kind.spec.source


@dataclass(slots=True)
class Contribution:
    """What one event (or a ticket deadline) adds to one window of one term; `pending` announces (+1) or
    settles (-1) a ticket whose outcome is not known yet, so its window waits for it. One is made per event and
    term: a compiled class (a C struct) is cheaper to make and read than a named tuple, whose constructor is Python
    code; not frozen, as that makes the pure core's construction slow (nothing changes one)."""

    term: CompiledTerm
    at: float
    num: float
    den: float
    pending: int = 0


@dataclass(frozen=True)
class TermIndex:
    """All compiled terms, by queue and by key."""

    by_queue: dict[str, tuple[CompiledTerm, ...]]
    by_key: dict[str, CompiledTerm] = field(default_factory=dict)
    by_source: dict[str, tuple[CompiledTerm, ...]] = field(default_factory=dict)
    """Ticket, survey and availability terms (calls are found by queue)."""
    scopes: dict[str, frozenset[str] | None] = field(default_factory=dict)
    """Names an event of a family must carry to be in some contract's scope (see `named_scopes`)."""

    @cached_property
    def pooled_keys(self) -> frozenset[str]:
        """Keys of the calls terms judged over all their queues as one (`aggregate: pooled`)."""
        return frozenset(key for key, term in self.by_key.items() if term.pooled)

    def for_queue(self, queue: str) -> Sequence[CompiledTerm]:
        """Terms fed by events of `queue` (empty when no contract covers it)."""
        return self.by_queue.get(queue, ())

    def for_source(self, source: str) -> Sequence[CompiledTerm]:
        """Terms fed by tickets, surveys or availability events."""
        return self.by_source.get(source, ())


def compile_terms(contracts: Iterable[Contract]) -> TermIndex:
    """Resolve every term of every contract once, at start-up."""
    by_queue: dict[str, list[CompiledTerm]] = {}
    by_key: dict[str, CompiledTerm] = {}
    by_source: dict[str, list[CompiledTerm]] = {}
    contracts = list(contracts)  # read twice: here and by named_scopes
    for contract in contracts:
        tz = ZoneInfo(contract.timezone)
        hours = contract.service_calendar
        hours_field = "service_hours" if contract.service_hours else "calendar"
        service_hours = BusinessCalendar(hours, name=_calendar_name(contract, hours_field)) if hours else None
        calendar = BusinessCalendar(contract.calendar, name=_calendar_name(contract, "calendar")) \
            if contract.calendar else None
        starts = _instant(contract.effective_from, tz, -math.inf)
        ends = _instant(contract.effective_until, tz, math.inf, days_after=1)
        for term in contract.terms:
            compiled = CompiledTerm(
                contract=contract.id,
                term=term,
                kind=KPIS[term.kpi],
                window=WindowSpec.of(term.window, tz),
                grace=parse_duration(term.grace),
                retention=parse_duration(term.retention),
                service_hours=service_hours if term.measured_during == "service_hours" else None,
                calendar=calendar,
                starts=starts,
                ends=ends,
                queues=tuple(contract.queues_of(term)) if KPIS[term.kpi].spec.source == "calls" else (),
            )
            if compiled.source == "availability":
                for one in _availability_terms(contract, compiled):
                    by_key[one.key] = one
                    by_source.setdefault(one.source, []).append(one)
                continue
            by_key[compiled.key] = compiled
            if compiled.source != "calls":
                by_source.setdefault(compiled.source, []).append(compiled)
                continue
            for queue in contract.queues_of(term):
                by_queue.setdefault(queue, []).append(compiled)
    return TermIndex({q: tuple(ts) for q, ts in by_queue.items()}, by_key,
                     {src: tuple(ts) for src, ts in by_source.items()}, named_scopes(contracts))


def _availability_terms(contract: Contract, compiled: CompiledTerm) -> list[CompiledTerm]:
    """An availability term with the contract's exclusions: one term, or with `aggregate: per_service` one per
    service, each judging only its service in windows of its own scope."""
    tz = ZoneInfo(contract.timezone)
    excluded = tuple((local_instant(e.from_, tz).timestamp(), local_instant(e.until, tz).timestamp(),
                      None if e.services is None else frozenset(e.services)) for e in contract.exclusions)
    pooled = replace(compiled, excluded=excluded)
    if compiled.term.aggregate != "per_service":
        return [pooled]
    services = compiled.term.services or contract.scope.services
    return [replace(pooled, term=compiled.term.model_copy(update={"services": [s]}), scope=s) for s in services]


def named_scopes(contracts: Iterable[Contract]) -> dict[str, frozenset[str] | None]:
    """Names in some contract's scope, for each family some term measures: `calls` (queues of the scopes and of
    call terms), `surveys` (queues of contracts with survey terms), `availability` (services of the terms, else of
    their scope), `tickets`. None where every name is (a contract measuring the family names none)."""
    found: dict[str, set[str] | None] = {"calls": set()}
    for contract in contracts:
        found["calls"] |= set(contract.scope.queues)  # type: ignore[operator]  # calls is never None
        for term in contract.terms:
            source = KPIS[term.kpi].spec.source
            names = {"calls": contract.queues_of(term), "surveys": contract.scope.queues,
                     "availability": term.services or contract.scope.services}.get(source, [])
            have = found.get(source, set())
            found[source] = None if have is None or (not names and source != "calls") else have | set(names)
    return {family: None if names is None else frozenset(names) for family, names in found.items()}


def _calendar_name(contract: Contract, field_name: str) -> str:
    """How calendar errors name the calendar: the contract and, when loaded from a file, where the section is."""
    place = contract.place_of(field_name)
    return f"{contract.id} `{field_name}:` at {place}" if place else f"{contract.id} {field_name}"


def _instant(day: date | None, tz: ZoneInfo, missing: float, days_after: int = 0) -> float:
    """Epoch seconds of local midnight `days_after` days after `day` (`missing` when there is no such date)."""
    if day is None:
        return missing
    return datetime.combine(day + timedelta(days=days_after), time(), tz).timestamp()
