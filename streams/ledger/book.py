"""Booking final breaches: one entry per breach id (its latest revision decides), money per contract and period,
and escalation rights reached (the rules are `streams.core.escalation`).

Input is the `cckpi.breaches` stream as records (dicts), so the ledger can be rebuilt by any consumer; replaying
the same breaches changes nothing. The price of a breach and the final-revision rule are `streams.core.penalties`
(`penalty_of`, `final_breaches`), shared with the sinks that report the same money and breaches.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from streams.calendar import BusinessCalendar
from streams.contracts.model import Contract, RollingSpan, Term
from streams.core.escalation import reached as escalations_reached
from streams.core.kpis import KPIS
from streams.core.penalties import (
    Escalation,
    Money,
    Priced,
    final_breaches,
    late_calendar,
    late_day_starts,
    per_day_late,
    price_ticket,
    price_window,
)
from streams.core.records import is_late_solution, is_ticket_miss
from streams.ledger.settle import (
    CapUse,
    CureState,
    Line,
    Verdicts,
    apply_caps,
    booking_month,
    cap_months,
    decide_cure,
    in_effect,
    late_day_months,
    lookback_days,
    month_holding,
)


@dataclass(frozen=True)
class LedgerEntry:
    """A breached window and the penalty it books."""

    breach_id: str
    contract: str
    term: str
    kpi: str
    scope: str
    window_start: str
    window_end: str
    value: float | None
    threshold: float
    revision: int | None
    """The window's revision that breached (0 = first published, n = n-th late-data revision), as `cckpi compute`
    and `cckpi.kpi-windows` number it; None for breach records older than schema 3, which do not carry it."""
    amount: Decimal
    """What is booked, after caps."""
    currency: str
    booked_in: str = ""
    """The settlement month (YYYY-MM) the penalty is booked in (see `streams.ledger.settle`)."""
    uncapped: Decimal = Decimal(0)
    """The price before caps: `quantity` x `rate`, rounded."""
    formula: str = ""
    """How the price was computed, with its inputs (e.g. `2 unit(s) of 0.01 short of 0.9 x 6000 CNY`)."""
    capped_by: tuple[CapUse, ...] = ()
    """The caps that cut this line (term cap, then contract cap), with their period and limit."""
    kind: str = "window"
    """window: a breached window; ticket: a missed ticket (`scope` is then the ticket id)."""
    cure: CureState | None = None
    """The failed cure that booked it, for a term with a cure period."""

    @property
    def caps_text(self) -> str:
        """The caps that cut this line, e.g. `term cap 30000.00 per 2026-Q4`; empty when none did."""
        return "; ".join(f"{c.scope} cap {c.limit} per {c.period}" for c in self.capped_by)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: amounts as decimal strings, the caps as text, the cure as its fields."""
        return {**{f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("capped_by", "cure")},
                "amount": str(self.amount), "uncapped": str(self.uncapped), "capped_by": self.caps_text,
                "cure": None if self.cure is None else asdict(self.cure)}


@dataclass
class Ledger:
    """Entries, totals per (contract, month, currency), cures and escalations."""

    entries: list[LedgerEntry] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    cures: list[CureState] = field(default_factory=list)

    def totals(self) -> dict[tuple[str, str, str], Decimal]:
        """Money owed per contract, booking month (YYYY-MM) and currency."""
        sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        for e in self.entries:
            if e.currency:  # terms without a penalty book nothing
                sums[(e.contract, e.booked_in, e.currency)] += e.amount
        return dict(sums)


PERIOD_FORMS = "YYYY-MM, YYYY-Qn or YYYY (e.g. 2026-10, 2026-Q4, 2026)"
_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-[Qq]([1-4]))?$")


class PeriodError(ValueError):
    """A period that is not a month, a quarter or a year."""


def parse_period_label(text: str) -> tuple[int, int, int]:
    """`2026-10`, `2026-Q4` (or `2026-q4`) or `2026` as (year, first month, months); PeriodError otherwise.
    The one period parser of the ledger and the statements."""
    match = _PERIOD.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise PeriodError(f"period {text!r} is not {PERIOD_FORMS}")
    year, month, quarter = int(match.group(1)), match.group(2), match.group(3)
    if month:
        return year, int(month), 1
    return (year, (int(quarter) - 1) * 3 + 1, 3) if quarter else (year, 1, 12)


def period_label(text: str) -> str:
    """The canonical spelling of a period (`2026-10`, `2026-Q4`, `2026`); PeriodError when it is none."""
    year, first, months = parse_period_label(text)
    return f"{year:04d}" if months == 12 else f"{year:04d}-Q{(first + 2) // 3}" if months == 3 else \
        f"{year:04d}-{first:02d}"


def in_period(window_start: str, period: str) -> bool:
    """True when a window starting at this local ISO time is in the period: YYYY, YYYY-Qn or YYYY-MM."""
    year, month = window_start[:4], int(window_start[5:7])
    if "-Q" in period:
        return period == f"{year}-Q{(month - 1) // 3 + 1}"
    return window_start.startswith(period)


HISTORY_START = date(1970, 1, 1)
"""What a ledger needs when an escalation counts over a whole contract of unknown start: every record (Kafka's
publish times start at the epoch)."""


def lookback_start(contract: Contract, period: str) -> date:
    """The first day whose breaches the ledger of `period` depends on for this contract: the period's first day,
    or earlier when an escalation counts breaches over a span that contains it (its quarter or year; for
    `within: contract` and for rolling and consecutive rules, which chain back, the contract's
    `effective_from`, else its whole history)."""
    year, first, _ = parse_period_label(period)
    rules = [t.escalation for t in contract.terms if t.escalation] + [e for e in [contract.escalation] if e]
    rules += list(contract.escalations)
    month = date(year, first, 1)
    spans = {"day": month, "week": month - timedelta(days=6), "month": month,
             "quarter": date(year, (first - 1) // 3 * 3 + 1, 1), "year": date(year, 1, 1)}
    whole = contract.effective_from or HISTORY_START
    starts = [month, *(whole if isinstance(rule.within, RollingSpan) or rule.consecutive
                       else spans.get(rule.within, whole) for rule in rules)]
    caps = cap_months(contract)
    if caps:  # a cap counts what earlier months of its period booked
        starts.append(date(year, (first - 1) // caps * caps + 1, 1))
    starts.append(month - timedelta(days=lookback_days(contract)))  # a cure looks at the windows after a breach
    return min(starts)


def _window_entry(contract: Contract, term: Term, r: dict[str, Any], verdicts: Verdicts,
                  ledger: Ledger) -> LedgerEntry | None:
    """The entry of a final window breach before caps (None while its cure is pending, or once cured: `ledger.cures`
    notes both)."""
    priced = price_window(term, r["value"])
    cure = None
    booked_in = booking_month(contract, r["window_end"])
    if priced is not None and term.penalty and term.penalty.cure:
        cure = decide_cure(contract, term, r, verdicts)
        ledger.cures.append(cure)
        if cure.booked_in is None:
            return None
        booked_in = cure.booked_in
    money = priced.money if priced else Money(Decimal(0), "")
    return LedgerEntry(
        breach_id=r["breach_id"], contract=contract.id, term=term.id, kpi=r["kpi"], scope=r["scope"],
        window_start=r["window_start"], window_end=r["window_end"], value=r["value"], threshold=r["threshold"],
        revision=r.get("window_revision"), amount=money.amount, currency=money.currency, booked_in=booked_in,
        uncapped=money.amount, formula=priced.formula if priced else "", cure=cure)


def _ticket_entry(contract: Contract, term: Term, r: dict[str, Any], priced: Priced, booked_in: str) -> LedgerEntry:
    """The entry of a missed ticket (record `r`) priced `priced`, booked in `booked_in`."""
    return LedgerEntry(
        breach_id=r["breach_id"], contract=contract.id, term=term.id, kpi=r["kpi"], scope=r["ticket_id"],
        window_start=r["created_at"], window_end=r["deadline"], value=None, threshold=term.threshold,
        revision=None, amount=priced.money.amount, currency=priced.money.currency, booked_in=booked_in,
        uncapped=priced.money.amount, formula=priced.formula, kind="ticket")


def late_solutions(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The late solution record of each followed missed ticket, by (contract, term, ticket id)."""
    return {(r["contract"], r["term"], r["ticket_id"]): r for r in records if is_late_solution(r)}


def solved_at(term: Term, miss: dict[str, Any], solution: dict[str, Any] | None) -> datetime | None:
    """When a missed ticket was solved as far as the records tell: its late solution; the late stop event that
    settled the miss; else None (still open, or on a term not priced per day late, not followed after its miss)."""
    if solution is not None:
        return datetime.fromisoformat(solution["solved_at"])
    if miss["settled_by"] in KPIS[term.kpi].events:
        return datetime.fromisoformat(miss["settled_at"])
    return None


def _delay_end(term: Term, miss: dict[str, Any], solution: dict[str, Any] | None,
               until: datetime | None) -> tuple[datetime, bool]:
    """Where a missed ticket's delay ends and whether it is still open: when it was solved (`solved_at`); else,
    still open, `until` (the period's end or the as-of instant; None: its miss)."""
    solved = solved_at(term, miss, solution)
    if solved is not None:
        return solved, False
    return (until or datetime.fromisoformat(miss["settled_at"])), True


def _delay_entries(contract: Contract, term: Term, miss: dict[str, Any], solution: dict[str, Any] | None,
                   until: datetime | None) -> list[LedgerEntry]:
    """A ticket priced per day late: its started days from the deadline to the end of its delay, at most
    `max_days`, an entry per month booking some of them (`streams.ledger.settle.late_day_months`)."""
    assert term.penalty is not None
    calendar = late_calendar(term, BusinessCalendar(contract.calendar) if contract.calendar else None)
    end, still_open = _delay_end(term, miss, solution, until)
    starts = late_day_starts(datetime.fromisoformat(miss["deadline"]), end, term.penalty.max_days, calendar)
    months = late_day_months(contract, starts)
    entries, first = [], 1
    for month, days in months.items():
        notes = [f"days {first}-{first + days - 1} of {len(starts)}"] if len(months) > 1 else []
        notes += [f"still open, {len(starts)} day(s) so far"] if still_open else []
        priced = price_ticket(term, days, f" ({'; '.join(notes)})" if notes else "")
        if priced is not None:
            entries.append(_ticket_entry(contract, term, miss, priced, month))
        first += days
    return entries


def _ticket_misses(records: list[dict[str, Any]], terms: dict[tuple[str, str], tuple[Contract, Term]]
                   ) -> list[tuple[Contract, Term, dict[str, Any]]]:
    """Each missed ticket once (by breach id) with its contract and term, where the term has a penalty and the
    ticket was created in the contract's effective period."""
    seen: set[str] = set()
    misses = []
    for r in records:
        found = terms.get((r.get("contract", ""), r.get("term", "")))
        if not is_ticket_miss(r) or found is None or r["breach_id"] in seen:
            continue
        seen.add(r["breach_id"])
        contract, term = found
        if term.penalty is not None and in_effect(contract, r["created_at"], r["created_at"]):
            misses.append((contract, term, r))
    return misses


def _open_until(contract: Contract, period: str | None, as_of: datetime | None) -> datetime | None:
    """Up to when a ticket still open counts its days of delay: `as_of`, else the end of `period` (both: the
    earlier; neither: None, up to its miss)."""
    ends = [x for x in (as_of, period and period_end(period, contract.timezone)) if x]
    return min(ends) if ends else None


def _ticket_entries(records: Iterable[dict[str, Any]], terms: dict[tuple[str, str], tuple[Contract, Term]],
                    period: str | None, as_of: datetime | None) -> list[LedgerEntry]:
    """The entries of missed tickets of terms priced per missed item (one, booked at its deadline) or per day
    late (one per month its days of delay begin in, up to `_open_until` of the contract while still open)."""
    records = list(records)
    solved = late_solutions(records)
    misses = _ticket_misses(records, terms)
    until: dict[str, datetime | None] = {}  # once per contract with a day-late miss
    for contract, term, _ in misses:
        if per_day_late(term) and contract.id not in until:
            until[contract.id] = _open_until(contract, period, as_of)
    entries: list[LedgerEntry] = []
    for contract, term, r in misses:
        if per_day_late(term):
            entries += _delay_entries(contract, term, r, solved.get((contract.id, term.id, r["ticket_id"])),
                                      until[contract.id])
            continue
        priced = price_ticket(term)
        if priced is not None:
            entries.append(_ticket_entry(contract, term, r, priced,
                                         month_holding(contract, datetime.fromisoformat(r["deadline"]))))
    return entries


def _capped(contracts: Sequence[Contract], entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """The entries with each contract's caps applied (booking order: month, window end, breach id)."""
    out = list(entries)
    for contract in contracts:
        mine = [n for n, e in enumerate(entries) if e.contract == contract.id and e.currency]
        lines = [Line((e.booked_in, e.window_end, e.breach_id), e.booked_in, e.term, Money(e.uncapped, e.currency))
                 for e in (entries[n] for n in mine)]
        for n, (amount, cuts) in zip(mine, apply_caps(contract, lines), strict=True):
            out[n] = replace(entries[n], amount=amount, capped_by=tuple(cuts))
    return out


def period_end(label: str, timezone: str) -> datetime:
    """The first local instant after a period (`2026-10`, `2026-Q4`, `2026`) in a timezone; PeriodError past 9999."""
    year, first, months = parse_period_label(label)
    after = first - 1 + months
    try:
        return datetime(year + after // 12, after % 12 + 1, 1, tzinfo=ZoneInfo(timezone))
    except ValueError:  # the year 9999's end is past what datetime holds
        raise PeriodError(f"period {label!r} ends after the year 9999") from None


def build_ledger(records: Iterable[dict[str, Any]], contracts: Sequence[Contract],
                 windows: Iterable[dict[str, Any]] = (), period: str | None = None,
                 as_of: datetime | None = None) -> Ledger:
    """The ledger of every final breach (and priced missed ticket) of these contracts; `windows` (records of
    `cckpi.kpi-windows`) let cure periods see the met windows after a breach, which have no breach record. A ticket
    still open counts its days of delay up to `as_of`, else the end of `period` (neither: up to its miss)."""

    records = list(records)
    terms: dict[tuple[str, str], tuple[Contract, Term]] = {(c.id, t.id): (c, t) for c in contracts for t in c.terms}
    ledger = Ledger()
    verdicts = Verdicts(records, windows)
    for r in final_breaches(records):
        found = terms.get((r["contract"], r["term"]))
        if found is None:
            continue
        contract, term = found
        if not in_effect(contract, r["window_start"], r["window_end"]):
            continue  # judged outside the effective period: neither booked nor counted
        entry = _window_entry(contract, term, r, verdicts, ledger)
        if entry is not None:
            ledger.entries.append(entry)
    # escalations from the booked window breaches (a cured one is no breach to count), then the tickets join
    ledger.escalations = escalations_reached(contracts, ledger.entries)
    ledger.entries = _capped(contracts, ledger.entries + _ticket_entries(records, terms, period, as_of))
    return ledger
