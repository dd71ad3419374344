"""Settling priced breaches: the month each penalty is booked in, the contract's effective period, cure periods
(限期整改) and caps per period. Prices come from `streams.core.penalties`; this module only decides when and how
much of them is booked.

Booking rule: a penalty is booked in the month (of the contract's timezone) holding the last instant of the window
that decided it — the breached window itself, or for a cure the next window (`next_window`) or the cure deadline
(`days`); a missed ticket at its deadline; each day of a ticket's delay in the month it begins in — never past the
end of the effective period. Windows wholly outside the
effective period book nothing. Caps then apply in booking order (term caps, then the contract's `penalty_cap`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from streams.contracts.model import Cap, Contract, Term
from streams.core.penalties import PERIOD_MONTHS, Money, cap_amount, latest_steps

CureOutcome = Literal["pending", "cured", "failed"]
TICK = timedelta(microseconds=1)
"""The last instant of a span is its (exclusive) end minus this."""


@dataclass(frozen=True)
class CureState:
    """Where a breach with a cure period stands: pending (not decided yet), cured (not booked) or failed (booked
    in `booked_in`); `decided_by` is the window (start) or deadline that decided it."""

    breach_id: str
    contract: str
    term: str
    scope: str
    window_start: str
    window_end: str
    rule: str
    outcome: CureOutcome
    decided_by: str | None
    booked_in: str | None


class Verdicts:
    """Final verdicts (status) of the windows of each (contract, term, scope): from window records (latest revision)
    and the latest breach steps, so a cure can look at the windows after a breach."""

    def __init__(self, breaches: Iterable[dict[str, Any]], windows: Iterable[dict[str, Any]]) -> None:
        latest: dict[str, dict[str, Any]] = {}
        for w in windows:
            key = f"{w['contract']}/{w['term']}/{w['scope']}/{w['window_start']}"
            if key not in latest or w["revision"] > latest[key]["revision"]:
                latest[key] = w
        self.by_scope: dict[tuple[str, str, str], dict[str, tuple[str, str]]] = defaultdict(dict)
        for r in latest_steps(breaches).values():
            if r["state"] == "final" and r.get("basis", "observed") == "observed":
                self.by_scope[(r["contract"], r["term"], r["scope"])][r["window_start"]] = (r["window_end"],
                                                                                            r["status"])
        for w in latest.values():  # a window record is the window's latest word
            self.by_scope[(w["contract"], w["term"], w["scope"])][w["window_start"]] = (w["window_end"], w["status"])

    def after(self, contract: str, term: str, scope: str, end: str) -> list[tuple[str, str, str]]:
        """(start, end, status) of the windows starting at or after `end`, in order."""
        known = self.by_scope.get((contract, term, scope), {})
        later = [(datetime.fromisoformat(s), s, e, st) for s, (e, st) in known.items()
                 if datetime.fromisoformat(s) >= datetime.fromisoformat(end)]
        return [(s, e, st) for _, s, e, st in sorted(later)]


def month_of(instant: datetime, tz: ZoneInfo) -> str:
    """YYYY-MM of an instant in the contract's timezone."""
    return instant.astimezone(tz).strftime("%Y-%m")


def effective_bounds(contract: Contract) -> tuple[datetime | None, datetime | None]:
    """The first instant of the effective period and the first instant after it (local midnights), None if open."""
    tz = ZoneInfo(contract.timezone)
    start, until = contract.effective_from, contract.effective_until
    return (None if start is None else datetime.combine(start, time(), tz),
            None if until is None else datetime.combine(until + timedelta(days=1), time(), tz))


def in_effect(contract: Contract, start: str, end: str) -> bool:
    """True when the span [start, end) overlaps the contract's effective period."""
    first, after = effective_bounds(contract)
    return (first is None or datetime.fromisoformat(end) > first) and (
        after is None or datetime.fromisoformat(start) < after)


def booking_month_of(end: str) -> str:
    """The month (in the offset `end` is written in: the contract's local time) of a span's last instant."""
    return (datetime.fromisoformat(end) - TICK).strftime("%Y-%m")


def month_holding(contract: Contract, instant: datetime) -> str:
    """The settlement month holding an instant, never past the effective period's last month."""
    _, after = effective_bounds(contract)
    if after is not None and instant >= after:
        instant = after - TICK
    return month_of(instant, ZoneInfo(contract.timezone))


def booking_month(contract: Contract, end: str) -> str:
    """The month holding the last instant of a span ending (exclusive) at `end`."""
    return month_holding(contract, datetime.fromisoformat(end) - TICK)


def decide_cure(contract: Contract, term: Term, r: dict[str, Any], verdicts: Verdicts) -> CureState:
    """The cure outcome of a final breach record of a term with a cure period."""
    cure = term.penalty.cure if term.penalty else None
    assert cure is not None
    later = verdicts.after(contract.id, term.id, r["scope"], r["window_end"])
    state = CureState(r["breach_id"], contract.id, term.id, r["scope"], r["window_start"], r["window_end"],
                      f"within {cure.days} days" if cure.days else "next window", "pending", None, None)
    if cure.next_window:
        judged = [w for w in later if w[2] in ("met", "breached")]  # insufficient volume judges nothing
        if not judged:
            return state
        start, end, status = judged[0]
        if status == "breached":
            return replace(state, outcome="failed", decided_by=start, booked_in=booking_month(contract, end))
        return replace(state, outcome="cured", decided_by=start)
    deadline = datetime.fromisoformat(r["window_end"]) + timedelta(days=cure.days or 0)
    for start, end, status in later:
        if datetime.fromisoformat(end) <= deadline and status == "met":
            return replace(state, outcome="cured", decided_by=start)
    if any(datetime.fromisoformat(end) >= deadline for _, end, _ in later):
        return replace(state, outcome="failed", decided_by=deadline.isoformat(),
                       booked_in=booking_month(contract, deadline.isoformat()))
    return state


def cap_period(month: str, per: str) -> str:
    """The cap period (YYYY-MM, YYYY-Qn or YYYY) a booking month belongs to."""
    return {"month": month, "quarter": f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}", "year": month[:4]}[per]


@dataclass(frozen=True)
class Line:
    """One priced penalty to book: its sort key, booking month, term and uncapped money."""

    order: tuple[str, str, str]
    booked_in: str
    term: str
    money: Money


@dataclass(frozen=True)
class CapUse:
    """What a cap took off one line: the cap, its period and its amount per period."""

    scope: str  # "term" or "contract"
    period: str
    limit: Decimal
    cap: Cap


def apply_caps(contract: Contract, lines: Sequence[Line]) -> list[tuple[Decimal, list[CapUse]]]:
    """Booked amount of each line (in order of `lines`) after the term caps and then the contract's cap, each over
    its period in booking order, with the caps that cut it."""
    terms = {t.id: t for t in contract.terms}
    used: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    out: list[tuple[Decimal, list[CapUse]]] = [(line.money.amount, []) for line in lines]
    for n in sorted(range(len(lines)), key=lambda i: lines[i].order):
        line = lines[n]
        amount, cuts = out[n]
        penalty = terms[line.term].penalty
        for scope, cap in (("term", penalty.cap if penalty else None), ("contract", contract.penalty_cap)):
            if cap is None:
                continue
            limit = cap_amount(cap, contract.fees, line.money.currency)
            period = cap_period(line.booked_in, cap.per)
            key = (line.term if scope == "term" else "*", period)
            if limit is None:
                continue
            allowed = max(limit - used[key], Decimal(0))
            if amount > allowed:
                cuts = [*cuts, CapUse(scope, period, limit, cap)]
                amount = allowed
            used[key] += amount
        out[n] = (amount, cuts)
    return out


def late_day_months(contract: Contract, starts: Sequence[datetime]) -> dict[str, int]:
    """How many days of a ticket's delay each month books, in order: a day in the month it begins in
    (`late_day_starts`); a day beginning after the effective period books nothing, so a delay is never charged
    outside the contract."""
    _, after = effective_bounds(contract)
    tz = ZoneInfo(contract.timezone)
    months: dict[str, int] = {}
    for begins in starts:
        if after is not None and begins >= after:
            break
        month = month_of(begins, tz)
        months[month] = months.get(month, 0) + 1
    return months


def lookback_days(contract: Contract) -> int:
    """How many days before a period a ledger of it needs for cures decided in it (a window and a cure span) and
    for delays booked in it (a ticket missed up to `max_days` before; working days at most twice as many)."""
    cures = [t.penalty.cure for t in contract.terms if t.penalty and t.penalty.cure]
    delays = [2 * t.penalty.max_days + 31 for t in contract.terms if t.penalty and t.penalty.per == "day_late"]
    return max([0, *(92 + (c.days or 0) for c in cures), *delays])


def cap_months(contract: Contract) -> int:
    """The longest cap period of the contract in months (0: no cap), for the span a ledger needs."""
    caps = [t.penalty.cap for t in contract.terms if t.penalty and t.penalty.cap] + [
        c for c in [contract.penalty_cap] if c]
    return max([0, *(PERIOD_MONTHS[c.per] for c in caps)])
