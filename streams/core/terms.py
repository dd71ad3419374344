"""Contract terms compiled for fast lookup: which terms an event of a queue feeds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple
from zoneinfo import ZoneInfo

from streams.calendar import BusinessCalendar
from streams.contracts.model import Contract, RollingWindow, Term, parse_duration
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

    @property
    def source(self) -> str:
        """Which events feed the term: calls, tickets, surveys or availability."""
        return self.kind.spec.source

    @cached_property
    def key(self) -> str:
        """Stable id of the term across contracts: `contract/term` (cached: the per-event path asks for it)."""
        return f"{self.contract}/{self.term.id}"


class Contribution(NamedTuple):
    """What one event (or a ticket deadline) adds to one window of one term; `pending` announces (+1) or
    settles (-1) a ticket whose outcome is not known yet, so its window waits for it. A named tuple: one is made
    per event and term, and a tuple is several times cheaper to make than a frozen dataclass."""

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
    skipped: tuple[tuple[str, str], ...] = ()
    """(term key, reason) of terms this version does not compute yet."""

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
    skipped: list[tuple[str, str]] = []
    for contract in contracts:
        tz = ZoneInfo(contract.timezone)
        hours = contract.service_calendar
        service_hours = BusinessCalendar(hours, name=f"{contract.id} service hours") if hours else None
        calendar = BusinessCalendar(contract.calendar, name=contract.id) if contract.calendar else None
        for term in contract.terms:
            key = f"{contract.id}/{term.id}"
            if isinstance(term.window, RollingWindow):
                skipped.append((key, "rolling windows are not computed by this version yet"))
                continue
            compiled = CompiledTerm(
                contract=contract.id,
                term=term,
                kind=KPIS[term.kpi],
                window=WindowSpec.parse(term.window, tz),
                grace=parse_duration(term.grace),
                retention=parse_duration(term.retention),
                service_hours=service_hours if term.measured_during == "service_hours" else None,
                calendar=calendar,
            )
            by_key[compiled.key] = compiled
            if compiled.source != "calls":
                by_source.setdefault(compiled.source, []).append(compiled)
                continue
            for queue in contract.queues_of(term):
                by_queue.setdefault(queue, []).append(compiled)
    return TermIndex({q: tuple(ts) for q, ts in by_queue.items()}, by_key,
                     {src: tuple(ts) for src, ts in by_source.items()}, tuple(skipped))
