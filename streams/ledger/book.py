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
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from streams.contracts.model import Contract, RollingSpan, Term
from streams.core.escalation import reached as escalations_reached
from streams.core.penalties import Escalation, Money, final_breaches, penalty_of


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
    currency: str


@dataclass
class Ledger:
    """Entries, totals per (contract, month, currency) and escalations."""

    entries: list[LedgerEntry] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)

    def totals(self) -> dict[tuple[str, str, str], Decimal]:
        """Money owed per contract, month (YYYY-MM) and currency."""
        sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        for e in self.entries:
            if e.currency:  # terms without a penalty book nothing
                sums[(e.contract, e.window_start[:7], e.currency)] += e.amount
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
    return min([date(year, first, 1), *(whole if isinstance(rule.within, RollingSpan) or rule.consecutive
                                        else spans.get(rule.within, whole) for rule in rules)])


def build_ledger(records: Iterable[dict[str, Any]], contracts: Sequence[Contract]) -> Ledger:
    """The ledger of every final breach of these contracts."""
    terms: dict[tuple[str, str], tuple[Contract, Term]] = {(c.id, t.id): (c, t) for c in contracts for t in c.terms}
    ledger = Ledger()
    for r in final_breaches(records):
        found = terms.get((r["contract"], r["term"]))
        if found is None:
            continue
        contract, term = found
        money = penalty_of(term, r["state"], r["status"]) or Money(Decimal(0), "")
        ledger.entries.append(LedgerEntry(
            breach_id=r["breach_id"], contract=contract.id, term=term.id, kpi=r["kpi"], scope=r["scope"],
            window_start=r["window_start"], window_end=r["window_end"], value=r["value"], threshold=r["threshold"],
            revision=r.get("window_revision"), amount=money.amount, currency=money.currency,
        ))
    ledger.escalations = escalations_reached(contracts, ledger.entries)
    return ledger
