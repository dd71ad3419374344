"""The statement of one contract and period as plain data, built only from published records: the windows of
`cckpi.kpi-windows` (every revision), the lifecycle of `cckpi.breaches` and the ledger booked from them.

Nothing here computes a KPI: window values are taken as published, the period value of a term is the sum of its
windows' published numerators over the sum of their denominators (every KPI is a ratio of two sums), and penalties
and escalations come from `streams.ledger`. HTML, CSV and PDF are views of this model.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo

from streams.contracts.kpis import CATALOG, KpiSpec
from streams.contracts.model import Contract, Exclusion, Term, local_instant
from streams.core.batch import WHOLE
from streams.core.escalation import progress as escalation_progress
from streams.core.penalties import per_day_late
from streams.core.records import WindowResult, is_ticket_miss
from streams.core.verdict import Status
from streams.ledger import Escalation, LedgerEntry, build_ledger
from streams.ledger.book import final_breaches, late_solutions, solved_at
from streams.ledger.escalations import ledger_of_period
from streams.ledger.settle import CureState
from streams.report.digest import InputDigest, combined
from streams.report.period import Period

Attainment = Status | Literal["no_data"]
Language = Literal["zh", "en"]

_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Published:
    """A record as read, and when it was published (the Kafka timestamp; unknown when computed in batch)."""

    record: dict[str, Any]
    at: datetime | None = None


@dataclass(frozen=True)
class TermScope:
    """One term for one scope (queue) over the period: its windows (latest revisions) and their sums."""

    scope: str
    windows: tuple[WindowResult, ...]
    numerator: float
    denominator: float
    value: float | None
    met: int
    breached: int
    insufficient: int

    @property
    def attainment(self) -> Attainment:
        """breached if any window breached, met if any met, else insufficient volume (or no data at all)."""
        if self.breached:
            return "breached"
        if self.met:
            return "met"
        return "insufficient_volume" if self.windows else "no_data"


@dataclass(frozen=True)
class TermResult:
    """A contract term with its levels and its result per scope."""

    term: Term
    spec: KpiSpec
    scopes: tuple[TermScope, ...]

    @property
    def attainment(self) -> Attainment:
        """The worst attainment of its scopes (breached before insufficient volume before met)."""
        found = {s.attainment for s in self.scopes}
        for status in ("breached", "met", "insufficient_volume"):
            if status in found:
                return status
        return "no_data"

    @property
    def windows(self) -> list[WindowResult]:
        """Every window of every scope, by start then scope."""
        return sorted((w for s in self.scopes for w in s.windows), key=lambda w: (w.window_start, w.scope))


@dataclass(frozen=True)
class BreachRow:
    """A booked breach: the ledger entry and the evidence published with its final record."""

    entry: LedgerEntry
    numerator: float
    denominator: float
    since: str
    sample: tuple[str, ...]


@dataclass(frozen=True)
class TicketMiss:
    """A ticket created in the period that missed a term's time limit (`kind: ticket` breach records); `still_open`
    when it was not solved by the period's end as far as the records tell (`streams.ledger.book.solved_at`)."""

    term: str
    ticket_id: str
    created_at: str
    deadline: str
    settled_by: str
    still_open: bool


@dataclass(frozen=True)
class EscalationState:
    """How far a term (or the whole contract) is towards an escalation right at the end of the period."""

    term: str | None
    period: str
    breaches: int
    after_breaches: int
    right: str
    reached_by: str | None

    @property
    def reached(self) -> bool:
        """True once the count reaches the contract's number of breaches."""
        return self.breaches >= self.after_breaches


@dataclass(frozen=True)
class Revision:
    """A window changed after it closed: the revision before and after, and when the change was published."""

    before: WindowResult
    after: WindowResult
    published_at: datetime | None
    after_period_end: bool | None


@dataclass(frozen=True)
class VolumeColumn:
    """Terms whose windows count the same contacts with the same result (e.g. offered calls), shown once."""

    source: str
    measure: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Volumes:
    """Volume per channel (source) and queue, one column per distinct measure, from window denominators."""

    columns: tuple[VolumeColumn, ...]
    rows: tuple[tuple[str, str, tuple[float | None, ...]], ...]  # source, scope, one value per column


@dataclass(frozen=True)
class Statement:
    """Everything a statement shows, for one contract and period."""

    contract: Contract
    period: Period
    language: Language
    terms: tuple[TermResult, ...]
    volumes: Volumes
    breaches: tuple[BreachRow, ...]
    settlement: tuple[LedgerEntry, ...]
    """Every penalty line booked in the period (breached windows and priced missed tickets), caps applied."""
    cures: tuple[CureState, ...]
    """Breaches with a cure period whose window is in the period or whose cure was decided in it."""
    ticket_misses: tuple[TicketMiss, ...]
    totals: dict[str, Decimal]
    escalations: tuple[EscalationState, ...]
    escalations_reached: tuple[Escalation, ...]
    revisions: tuple[Revision, ...]
    inputs: tuple[InputDigest, ...]
    exclusions: tuple[Exclusion, ...] = ()
    """The contract's maintenance and force-majeure periods overlapping the period: not measured availability."""

    @property
    def digest(self) -> str:
        """One sha256 over every input."""
        return combined(self.inputs)


def language_of(contract: Contract) -> Language:
    """The contract's `language`, else zh when its name or parties are written in Chinese, else en."""
    if contract.language:
        return contract.language
    text = contract.name + (contract.parties.client + contract.parties.vendor if contract.parties else "")
    return "zh" if _CJK.search(text) else "en"


def window_of(record: dict[str, Any]) -> WindowResult:
    """The `cckpi.kpi-windows` record as the core's WindowResult (the same fields, without the key)."""
    return WindowResult(**{f.name: record[f.name] for f in fields(WindowResult)})


def _revisions(contract: Contract, period: Period, windows: Iterable[Published]) -> tuple[dict[str, WindowResult],
                                                                                           list[Revision]]:
    """Latest revision of each window of this contract in the period, and every change from one revision to the
    next (replayed copies of the same revision count once)."""
    history: dict[str, dict[int, tuple[WindowResult, datetime | None]]] = defaultdict(dict)
    for p in windows:
        r = p.record
        if r.get("contract") != contract.id or not period.contains(r["window_start"]):
            continue
        w = window_of(r)
        history[w.key].setdefault(w.revision, (w, p.at))
    latest: dict[str, WindowResult] = {}
    changes: list[Revision] = []
    for key, revs in history.items():
        ordered = [revs[n] for n in sorted(revs)]
        latest[key] = ordered[-1][0]
        for (before, _), (after, at) in pairwise(ordered):
            changes.append(Revision(before, after, at, None if at is None else at >= period.end))
    changes.sort(key=lambda c: (c.after.window_start, c.after.term, c.after.scope, c.after.revision))
    return latest, changes


def _term_scope(scope: str, windows: list[WindowResult]) -> TermScope:
    windows.sort(key=lambda w: w.window_start)
    numerator = sum(w.numerator for w in windows)
    denominator = sum(w.denominator for w in windows)
    count = {s: sum(w.status == s for w in windows) for s in ("met", "breached", "insufficient_volume")}
    return TermScope(scope, tuple(windows), numerator, denominator, numerator / denominator if denominator else None,
                     count["met"], count["breached"], count["insufficient_volume"])


def _terms(contract: Contract, latest: dict[str, WindowResult]) -> tuple[TermResult, ...]:
    by_term: dict[str, dict[str, list[WindowResult]]] = defaultdict(lambda: defaultdict(list))
    for w in latest.values():
        by_term[w.term][w.scope].append(w)
    results = []
    for term in contract.terms:
        spec = CATALOG[term.kpi]
        expected = contract.queues_of(term) if spec.source == "calls" else (
            term.services or contract.scope.services) if term.aggregate == "per_service" else [WHOLE]
        scopes = list(dict.fromkeys([*expected, *sorted(by_term[term.id])]))
        results.append(TermResult(term, spec, tuple(_term_scope(s, by_term[term.id][s]) for s in scopes)))
    return tuple(results)


def _volumes(terms: Sequence[TermResult]) -> Volumes:
    groups: dict[tuple[Any, ...], list[str]] = {}
    for t in terms:
        sums = tuple((s.scope, s.denominator if s.windows else None) for s in t.scopes)
        groups.setdefault((t.spec.source, t.spec.measure, sums), []).append(t.term.id)
    columns = tuple(VolumeColumn(source, measure, tuple(ids)) for (source, measure, _), ids in groups.items())
    cells: dict[tuple[str, str], dict[int, float | None]] = defaultdict(dict)
    for n, (source, _, sums) in enumerate(groups):
        for scope, value in sums:
            cells[(source, scope)][n] = value
    rows = tuple((source, scope, tuple(values.get(n) for n in range(len(columns))))
                 for (source, scope), values in cells.items())
    return Volumes(columns, rows)


def _escalation_states(contract: Contract, period: Period, entries: Sequence[LedgerEntry]
                       ) -> tuple[EscalationState, ...]:
    """Each escalation rule's progress in the periods (or spans) the statement period touches."""
    return tuple(EscalationState(p.scope, p.period, p.breaches, p.needed, p.right, p.reached_by)
                 for p in escalation_progress(contract, entries, period.start, period.end))


def _still_open(term: Term | None, miss: dict[str, Any], solution: dict[str, Any] | None, end: datetime) -> bool:
    """True when a missed ticket was not solved by `end`: solved later, or never solved on a term that follows it
    until solved (priced per day late: the settlement's "still open"; other terms are not followed after a miss)."""
    if term is None:
        return False
    solved = solved_at(term, miss, solution)
    return per_day_late(term) if solved is None else solved >= end


def _ticket_misses(contract: Contract, period: Period, breaches: Sequence[dict[str, Any]]) -> tuple[TicketMiss, ...]:
    tz = ZoneInfo(contract.timezone)
    terms = {t.id: t for t in contract.terms}
    solutions = late_solutions(breaches)
    seen: dict[str, TicketMiss] = {}
    for r in breaches:
        if not is_ticket_miss(r) or r.get("contract") != contract.id or r["breach_id"] in seen:
            continue
        local = datetime.fromisoformat(r["created_at"]).astimezone(tz).isoformat()
        if period.contains(local):
            solution = solutions.get((contract.id, r["term"], r["ticket_id"]))
            seen[r["breach_id"]] = TicketMiss(r["term"], r["ticket_id"], r["created_at"], r["deadline"],
                                              r["settled_by"], _still_open(terms.get(r["term"]), r, solution,
                                                                           period.end))
    return tuple(sorted(seen.values(), key=lambda m: (m.created_at, m.term, m.ticket_id)))


def _window_revision(entry: LedgerEntry, latest: dict[str, WindowResult]) -> LedgerEntry:
    """The entry with the revision of its window: as the breach record carries it, else (records older than breach
    schema 3) the latest published revision of the window, which is the one its final breach record judged."""
    if entry.revision is not None or entry.breach_id not in latest:
        return entry
    return replace(entry, revision=latest[entry.breach_id].revision)


def _exclusions(contract: Contract, period: Period) -> tuple[Exclusion, ...]:
    """The contract's exclusions overlapping the period, by start (times without an offset are local)."""
    tz = ZoneInfo(contract.timezone)
    found = [e for e in contract.exclusions
             if local_instant(e.from_, tz) < period.end and local_instant(e.until, tz) > period.start]
    return tuple(sorted(found, key=lambda e: local_instant(e.from_, tz)))


def build_statement(contract: Contract, period: Period, windows: Iterable[Published],
                    breaches: Sequence[dict[str, Any]], inputs: Sequence[InputDigest]) -> Statement:
    """The statement of a contract for a period from published window records (every revision, replays allowed)
    and breach records; windows belong to the period they start in, penalties to the period they are booked in
    (the ledger's rule, `streams.ledger.settle`)."""
    windows = list(windows)
    latest, revisions = _revisions(contract, period, windows)
    terms = _terms(contract, latest)
    ledger = build_ledger(breaches, [contract], [p.record for p in windows], period.label)  # open delays: to its end
    evidence = {r["breach_id"]: r for r in final_breaches(breaches)}
    view = ledger_of_period(ledger, period.label)
    entries = [_window_revision(e, latest) for e in view.entries]
    rows = tuple(BreachRow(e, evidence[e.breach_id]["numerator"], evidence[e.breach_id]["denominator"],
                           evidence[e.breach_id].get("since", ""), tuple(evidence[e.breach_id].get("sample", ())))
                 for e in entries if e.kind == "window")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (_, _, currency), amount in sorted(view.totals.items()):
        totals[currency] += amount
    return Statement(
        contract=contract, period=period, language=language_of(contract), terms=terms, volumes=_volumes(terms),
        breaches=rows, settlement=tuple(entries), cures=tuple(view.cures),
        ticket_misses=_ticket_misses(contract, period, breaches), totals=dict(totals),
        escalations=_escalation_states(contract, period, [e for e in ledger.entries if e.kind == "window"]),
        escalations_reached=tuple(view.escalations), revisions=tuple(revisions), inputs=tuple(inputs),
        exclusions=_exclusions(contract, period))
