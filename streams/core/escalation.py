"""Escalation rules (累计违约达到[次数或比例]) over final breaches: N breaches in a calendar period or the contract,
N in any rolling span, N consecutive periods each breached, a share of the period's windows breached; scoped to a
term, a named group of terms, or the whole contract.

Pure: the ledger publishes what `reached` finds, the statement shows what `progress` finds, both from the same
trace (`trace`), so a right is reached at the same breach whoever asks. A breach counts at its window's last
instant (contract timezone). Once a rolling or consecutive rule is reached, counting starts again after the breach
that reached it; a calendar rule is reached once per period. Escalation ids are stable, so republishing them to
`cckpi.escalations` (compacted, keyed by id) is idempotent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Protocol
from zoneinfo import ZoneInfo

from streams.contracts.kpis import CATALOG
from streams.contracts.model import Contract, RollingSpan
from streams.contracts.model import Escalation as Rule
from streams.core.penalties import Escalation
from streams.core.windows import WindowSpec

_INSTANT = timedelta(microseconds=1)


class Breach(Protocol):
    """What a rule reads of a booked breach (a `LedgerEntry` is one)."""

    @property
    def breach_id(self) -> str: ...
    @property
    def contract(self) -> str: ...
    @property
    def term(self) -> str: ...
    @property
    def window_end(self) -> str: ...


@dataclass(frozen=True)
class Scoped:
    """A rule with what it counts: one term, a named group of terms, or (both None) every term of the contract."""

    contract: Contract
    rule: Rule
    term: str | None = None
    group: str | None = None
    terms: frozenset[str] | None = None

    @property
    def label(self) -> str:
        """The scope in ids and views: the term, the group, or `*` for the contract."""
        return self.term or self.group or "*"

    @property
    def kind(self) -> str:
        """count, rolling, consecutive or ratio."""
        rule = self.rule
        if rule.ratio is not None:
            return "ratio"
        if rule.consecutive is not None:
            return "consecutive"
        return "rolling" if isinstance(rule.within, RollingSpan) else "count"

    def covers(self, term: str) -> bool:
        """True when a breach of this term counts for the rule."""
        return self.terms is None or term in self.terms


@dataclass(frozen=True)
class Step:
    """A breach as a rule counted it: the period (or span) label, the count then, the count needed, and whether
    this breach reached the right."""

    at: datetime
    breach_id: str
    label: str
    count: int
    needed: int
    reached: bool
    windows: int | None = None


def scoped_rules(contract: Contract) -> list[Scoped]:
    """Every escalation rule of a contract: per term, per group of terms, then contract-wide."""
    found = [Scoped(contract, t.escalation, term=t.id, terms=frozenset({t.id})) for t in contract.terms
             if t.escalation]
    found += [Scoped(contract, g, group=g.group, terms=frozenset(g.terms)) for g in contract.escalations]
    return found + ([Scoped(contract, contract.escalation)] if contract.escalation else [])


def instant_of(breach: Breach, tz: ZoneInfo) -> datetime:
    """The last instant of the breached window, in the contract's timezone: where the breach counts."""
    return (datetime.fromisoformat(breach.window_end) - _INSTANT).astimezone(tz)


def period_index(local: datetime, unit: str) -> int:
    """A calendar period as a number, consecutive periods consecutive numbers (`contract`: always 0)."""
    day = local.date()
    match unit:
        case "day":
            return day.toordinal()
        case "week":
            return (day.toordinal() - 1) // 7  # ordinal 1 (0001-01-01) is a Monday
        case "month":
            return day.year * 12 + day.month - 1
        case "quarter":
            return day.year * 4 + (day.month - 1) // 3
        case "year":
            return day.year
    return 0


def period_start(index: int, unit: str) -> date:
    """First day of the period numbered `index` (see `period_index`)."""
    match unit:
        case "day":
            return date.fromordinal(index)
        case "week":
            return date.fromordinal(index * 7 + 1)
        case "month":
            return date(index // 12, index % 12 + 1, 1)
        case "quarter":
            return date(index // 4, index % 4 * 3 + 1, 1)
    return date(index, 1, 1)


def period_label(index: int, unit: str) -> str:
    """How a period is named: 2026-10-05, 2026-W41, 2026-10, 2026-Q4, 2026, or `contract`."""
    if unit == "contract":
        return "contract"
    first = period_start(index, unit)
    match unit:
        case "day":
            return first.isoformat()
        case "week":
            year, week, _ = first.isocalendar()
            return f"{year}-W{week:02d}"
        case "month":
            return first.isoformat()[:7]
        case "quarter":
            return f"{first.year}-Q{index % 4 + 1}"
    return str(first.year)


def _next_start(index: int, unit: str) -> date:
    return period_start(index + 1, unit)


def trace(scoped: Scoped, breaches: Iterable[Breach]) -> list[Step]:
    """Each breach the rule counts, in order of its instant (then id), as the rule counted it."""
    tz = ZoneInfo(scoped.contract.timezone)
    mine = sorted(((instant_of(b, tz), b.breach_id) for b in breaches
                   if b.contract == scoped.contract.id and scoped.covers(b.term)), key=lambda p: (p[0], p[1]))
    return list(_TRACES[scoped.kind](scoped, mine))


def _count(scoped: Scoped, mine: Sequence[tuple[datetime, str]]) -> Iterator[Step]:
    """N breaches in one calendar period (or the contract): reached by the N-th."""
    unit, needed = str(scoped.rule.within), scoped.rule.after_breaches or 0
    counts: dict[int, int] = {}
    for at, bid in mine:
        index = period_index(at, unit)
        counts[index] = counts.get(index, 0) + 1
        yield Step(at, bid, period_label(index, unit), counts[index], needed, counts[index] == needed)


def _rolling(scoped: Scoped, mine: Sequence[tuple[datetime, str]]) -> Iterator[Step]:
    """N breaches less than the span apart (first to last): reached by the N-th; counting then starts again."""
    span = timedelta(seconds=scoped.rule.within.seconds)  # type: ignore[union-attr]  # kind rolling: a span
    needed = scoped.rule.after_breaches or 0
    chain: list[datetime] = []
    for at, bid in mine:
        chain = [t for t in chain if at - t < span] + [at]
        reached = len(chain) == needed
        yield Step(at, bid, f"{chain[0].date()}..{at.date()}", len(chain), needed, reached)
        if reached:
            chain = []


def _consecutive(scoped: Scoped, mine: Sequence[tuple[datetime, str]]) -> Iterator[Step]:
    """N consecutive periods each with a breach (a period without one breaks the run): reached by the first breach
    of the N-th; counting then starts again with the next period."""
    unit, needed = str(scoped.rule.within), scoped.rule.consecutive or 0
    first = last = -1
    done = -1  # the period that reached the right: its other breaches start nothing
    for at, bid in mine:
        index = period_index(at, unit)
        if index == done:
            continue
        if index != last:
            first = first if index == last + 1 and first >= 0 else index
            last = index
            run = index - first + 1
            reached = run == needed
            yield Step(at, bid, f"{period_label(first, unit)}..{period_label(index, unit)}", run, needed, reached)
            if reached:
                first, last, done = -1, -1, index


def _ratio(scoped: Scoped, mine: Sequence[tuple[datetime, str]]) -> Iterator[Step]:
    """This share of the period's windows breached: reached by the breach that brings the count to it."""
    unit = str(scoped.rule.within)
    counts: dict[int, int] = {}
    for at, bid in mine:
        index = period_index(at, unit)
        counts[index] = counts.get(index, 0) + 1
        windows = period_windows(scoped, index)
        needed = ratio_needed(scoped.rule.ratio or 1.0, windows)
        yield Step(at, bid, period_label(index, unit), counts[index], needed, counts[index] == needed, windows)


def ratio_needed(ratio: float, windows: int) -> int:
    """Breached windows that make `ratio` of `windows` (at least one): 20% of 92 daily windows is 19."""
    return max(1, math.ceil(Fraction(str(ratio)) * windows))


def period_windows(scoped: Scoped, index: int) -> int:
    """Windows of the rule's terms (per queue for per-queue call terms) ending in the period and the contract's
    effective period: what a ratio is a share of."""
    contract, unit = scoped.contract, str(scoped.rule.within)
    tz = ZoneInfo(contract.timezone)
    first, after = period_start(index, unit), _next_start(index, unit)
    if contract.effective_from:
        first = max(first, contract.effective_from)
    if contract.effective_until:
        after = min(after, contract.effective_until + timedelta(days=1))
    if after <= first:
        return 0
    start, end = (datetime.combine(d, time(), tz).timestamp() for d in (first, after))
    total = 0
    for term in contract.terms:
        if scoped.covers(term.id):
            total += WindowSpec.of(term.window, tz).ends_between(start, end) * _scopes(contract, term.id)
    return total


def _scopes(contract: Contract, term_id: str) -> int:
    """How many windows a term has per window time: one per queue for a per-queue call term, else one."""
    term = next(t for t in contract.terms if t.id == term_id)
    if CATALOG[term.kpi].source != "calls" or getattr(term, "aggregate", "per_queue") == "pooled":
        return 1
    return len(contract.queues_of(term))


_TRACES = {"count": _count, "rolling": _rolling, "consecutive": _consecutive, "ratio": _ratio}


def escalation_id(scoped: Scoped, step: Step) -> str:
    """Stable id of a right reached (the key on `cckpi.escalations`); a count rule's is the one earlier versions
    published."""
    rule, base = scoped.rule, f"{scoped.contract.id}/{scoped.label}/{step.label}"
    match scoped.kind:
        case "count":
            return f"{base}/{rule.after_breaches}"
        case "rolling":
            return f"{base}/{rule.after_breaches}-in-{rule.within.rolling}"  # type: ignore[union-attr]
        case "consecutive":
            return f"{base}/{rule.consecutive}-consecutive"
    return f"{base}/ratio-{rule.ratio:g}"


def reached(contracts: Sequence[Contract], breaches: Sequence[Breach]) -> list[Escalation]:
    """Every right reached by these booked breaches, in contract and rule order, then by the reaching breach."""
    found = []
    for contract in contracts:
        for scoped in scoped_rules(contract):
            found += [_escalation(scoped, s) for s in trace(scoped, breaches) if s.reached]
    return found


def _escalation(scoped: Scoped, step: Step) -> Escalation:
    return Escalation(
        escalation_id=escalation_id(scoped, step), contract=scoped.contract.id, term=scoped.term, period=step.label,
        breaches=step.count, after_breaches=step.needed, right=scoped.rule.right, reached_by=step.breach_id,
        rule=scoped.kind, group=scoped.group, windows=step.windows)


@dataclass(frozen=True)
class Progress:
    """How far a rule is at the end of a statement period, in one period (or span) it touches."""

    scope: str | None
    """The term or group (None: the whole contract)."""
    period: str
    breaches: int
    needed: int
    right: str
    reached_by: str | None


def progress(contract: Contract, breaches: Sequence[Breach], start: datetime, end: datetime) -> list[Progress]:
    """For each rule, its count in every period the statement's [start, end) touches (calendar and ratio rules),
    or its reaches in it and its running count at its end (rolling and consecutive rules)."""
    found: list[Progress] = []
    for scoped in scoped_rules(contract):
        steps = [s for s in trace(scoped, breaches) if s.at < end]
        inside = [s for s in steps if s.at >= start]
        scope, right = scoped.term or scoped.group, scoped.rule.right
        if scoped.kind in ("count", "ratio"):
            unit = str(scoped.rule.within)
            index = period_index(start.astimezone(ZoneInfo(contract.timezone)), unit)
            labels = dict.fromkeys([period_label(index, unit)] + [s.label for s in inside])
            for label in labels:
                mine = [s for s in steps if s.label == label]
                needed = mine[-1].needed if mine else (
                    ratio_needed(scoped.rule.ratio, period_windows(scoped, index)) if scoped.rule.ratio
                    else scoped.rule.after_breaches or 0)
                by = next((s.breach_id for s in mine if s.reached), None)
                found.append(Progress(scope, label, mine[-1].count if mine else 0, needed, right, by))
            continue
        found += [Progress(scope, s.label, s.count, s.needed, right, s.breach_id) for s in inside if s.reached]
        last = steps[-1] if steps else None
        if last is None or last.reached or not _alive(scoped, last, end):
            needed = scoped.rule.after_breaches or scoped.rule.consecutive or 0
            found += [] if any(s.reached for s in inside) else [Progress(scope, "-", 0, needed, right, None)]
        else:
            found.append(Progress(scope, last.label, last.count, last.needed, right, None))
    return found


def _alive(scoped: Scoped, last: Step, end: datetime) -> bool:
    """True when a rolling or consecutive count still runs at `end` (the span or the next period not over)."""
    rule, final = scoped.rule, (end - _INSTANT).astimezone(last.at.tzinfo)
    if isinstance(rule.within, RollingSpan):
        return final - last.at < timedelta(seconds=rule.within.seconds)
    gap = period_index(final, rule.within) - period_index(last.at, rule.within)
    return gap == 0 or (gap == 1 and end.date() < _next_start(period_index(final, rule.within), rule.within))
