"""What breaches cost and which ones count: the pricing and the final-revision rule, below the ledger (which books
them) and the sinks (which only report them), so the money and the selection have one definition.

Every penalty is a quantity times a rate: 1 per breached window or missed ticket, the shortfall in `unit`s (rounded
as the penalty says: ceil, floor or exact), or the started days a ticket is past its deadline; the rate is the
penalty's `amount` or its `percent_of_fee` of a fee (unrounded). The product is rounded once, ROUND_HALF_UP to the
currency's minor unit (`round_money`); caps are rounded the same way.

Pure: no I/O. The ledger (`streams.ledger`) builds entries and escalations from these; the metrics sink publishes
the same money as a float view; the Grafana annotations mark the same final breaches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from streams.calendar import BusinessCalendar
from streams.contracts.kpis import CATALOG
from streams.contracts.model import Cap, Fee, Penalty, Term, fee_named

MINOR_UNITS = {"BHD": 3, "CLP": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3,
               "PYG": 0, "TND": 3, "UGX": 0, "VND": 0}
"""ISO 4217 minor units that are not 2 (every other currency has cents)."""
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
FIRST_INSTANT = timedelta(microseconds=1)
"""The working time that makes a working day of delay begun: its first microsecond."""
TICKET_FORMS = ("missed_item", "day_late")
"""Penalty forms priced per missed ticket (`kind: ticket` breach records), not per breached window."""


class Money(NamedTuple):
    """An amount in one currency (Decimal: money is never a float until it is displayed)."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Priced:
    """A penalty line before caps: `quantity` x `rate` rounded to `money`, and the formula as text."""

    money: Money
    quantity: Decimal
    rate: Decimal
    formula: str


def round_money(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half up to the currency's minor unit (cents; yen and won whole; dinars to 3 places)."""
    return amount.quantize(Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2)), rounding=ROUND_HALF_UP)


def _rate_text(penalty: Penalty) -> str:
    if penalty.percent_of_fee is None:
        return f"{penalty.rate} {penalty.currency}"
    base = _base_text(None, penalty.percent_of_fee, penalty.fee, penalty.currency)
    return f"{penalty.rate} {penalty.currency} ({base})"


def _priced(penalty: Penalty, quantity: Decimal, what: str) -> Priced | None:
    if penalty.rate is None:  # percent_of_fee of a fee the contract lacks: the contract checks refuse it
        return None
    money = Money(round_money(quantity * penalty.rate, penalty.currency), penalty.currency)
    return Priced(money, quantity, penalty.rate, f"{quantity} {what} x {_rate_text(penalty)}")


def shortfall_units(term: Term, value: float | None) -> Decimal:
    """How many `unit`s the value misses the threshold by, rounded as the penalty says (0 when it does not miss).
    Value and threshold are read as the decimals they print as (0.885, not its binary neighbour)."""
    penalty = term.penalty
    assert penalty is not None and penalty.unit is not None
    if value is None:
        return Decimal(0)
    gap = Decimal(repr(term.threshold)) - Decimal(repr(value))
    if not CATALOG[term.kpi].higher_is_better:
        gap = -gap
    units = max(gap, Decimal(0)) / penalty.unit
    if penalty.rounding == "exact":
        return units.normalize() if units else Decimal(0)
    return units.to_integral_value(ROUND_CEILING if penalty.rounding == "ceil" else ROUND_FLOOR)


def price_window(term: Term | None, value: float | None) -> Priced | None:
    """The uncapped price of one breached window of a term priced per breach or per unit of shortfall; None for a
    term without a penalty or priced per missed ticket."""
    penalty = None if term is None else term.penalty
    if term is None or penalty is None or penalty.per in TICKET_FORMS:
        return None
    if penalty.per == "shortfall_unit":
        return _priced(penalty, shortfall_units(term, value), f"unit(s) of {penalty.unit} short of {term.threshold:g}")
    return _priced(penalty, Decimal(1), "breach")


def per_day_late(term: Term) -> bool:
    """True for a term priced per day of delay: its missed tickets are followed until solved (`TicketSolvedLate`)."""
    return term.penalty is not None and term.penalty.per == "day_late"


def in_working_days(term: Term) -> bool:
    """True when a term's days of delay are working days: its limit (`within`) is in working time; else they are
    24-hour days."""
    return term.within is not None and term.within.uses_working_time


def late_calendar(term: Term, calendar: BusinessCalendar | None) -> BusinessCalendar | None:
    """The calendar a term's days of delay are counted on: the contract's for working days, None for 24-hour days."""
    return calendar if in_working_days(term) else None


def late_day_end(deadline: datetime, k: int, calendar: BusinessCalendar | None) -> datetime:
    """The end of the k-th day of delay: k working days after the deadline on `calendar`, else k x 24 hours."""
    return calendar.add_working_days(deadline, k) if calendar is not None else deadline + timedelta(days=k)


def late_day_starts(deadline: datetime, until: datetime, most: int,
                    calendar: BusinessCalendar | None) -> list[datetime]:
    """When each started day of delay from `deadline` up to `until` (the solution, or the as-of instant) begins:
    day k spans the (k-1)-th to the k-th `late_day_end` and begins at its start, a working day at its first working
    instant (a Saturday solution starts no working day); at least the first day, at most `most` days."""
    starts: list[datetime] = []
    while len(starts) < most:
        start = late_day_end(deadline, len(starts), calendar)
        begins = start if calendar is None else calendar.add_working_time(start, FIRST_INSTANT)
        if starts and begins >= until:
            break
        starts.append(begins)
    return starts


def price_ticket(term: Term | None, days: int = 1, note: str = "") -> Priced | None:
    """The uncapped price of one missed ticket (a `kind: ticket` breach record) of a term priced per missed item,
    or of `days` days of its delay for a term priced per day late (`note` says which days); None otherwise."""
    penalty = None if term is None else term.penalty
    if penalty is None or penalty.per not in TICKET_FORMS:
        return None
    if penalty.per == "day_late":
        unit = "working day(s)" if term is not None and in_working_days(term) else "day(s)"
        return _priced(penalty, Decimal(days), f"{unit} late{note}")
    return _priced(penalty, Decimal(1), "missed item")


_PER_TEXT = {"breach": "per breached window", "missed_item": "per missed ticket", "day_late": "per day late"}


def describe_penalty(penalty: Penalty) -> str:
    """The penalty as one line of text: its rate, what it is per, its cap and its cure period."""
    rate = _base_text(penalty.amount, penalty.percent_of_fee, penalty.fee, penalty.currency)
    per = _PER_TEXT.get(penalty.per) or f"per {penalty.unit} short of the level ({penalty.rounding})"
    if penalty.per == "day_late":
        per += f" (at most {penalty.max_days} days a ticket)"
    parts = [f"{rate} {per}"]
    if penalty.cap is not None:
        parts.append("cap " + describe_cap(penalty.cap, penalty.currency))
    if penalty.cure is not None:
        cure = penalty.cure
        parts.append(f"cure within {cure.days} days" if cure.days else "cure: booked if the next window breaches")
    return "; ".join(parts)


def describe_cap(cap: Cap, currency: str) -> str:
    """A cap as text, e.g. `10% of fee service per month` or `50000 CNY per quarter`."""
    return f"{_base_text(cap.amount, cap.percent_of_fee, cap.fee, currency)} per {cap.per}"


def _base_text(amount: Decimal | None, percent: Decimal | None, fee: str | None, currency: str) -> str:
    """An amount (`6000 CNY`) or a percentage of a fee (`2% of fee service`)."""
    return f"{amount} {currency}" if amount is not None else f"{percent}% of fee {fee or 'service'}"


def cap_amount(cap: Cap, fees: list[Fee], currency: str) -> Decimal | None:
    """The most a cap lets book per `cap.per`: its amount, or its percentage of the fee for that period (a fee of
    another period pro rata by months), rounded to the currency; None when its fee is unknown."""
    if cap.amount is not None:
        return round_money(cap.amount, currency)
    fee = fee_named(fees, cap.fee)
    if fee is None or cap.percent_of_fee is None:
        return None
    base = fee.total * PERIOD_MONTHS[cap.per] / PERIOD_MONTHS[fee.period]
    return round_money(base * cap.percent_of_fee / 100, currency)


def penalty_of(term: Term | None, state: str, status: str, value: float | None = None) -> Money | None:
    """The money a window's latest lifecycle step books before caps and cures: the term's window price when the
    step is `final` and `breached`; None otherwise (still open, met, no penalty, or priced per missed ticket)."""
    if state != "final" or status != "breached":
        return None
    priced = price_window(term, value)
    return None if priced is None else priced.money


def latest_steps(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The latest lifecycle step (`revision`) of each window breach id; a replayed record changes nothing."""
    latest: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.get("kind") != "window":
            continue
        known = latest.get(r["breach_id"])
        if known is None or r["revision"] > known["revision"]:
            latest[r["breach_id"]] = r
    return latest


def final_breaches(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest lifecycle step (`revision` of the breach record) of each window breach, kept when it is final
    and breached; ordered by window end and breach id. A replayed record changes nothing."""
    finals = [r for r in latest_steps(records).values() if r["state"] == "final" and r["status"] == "breached"]
    return sorted(finals, key=lambda r: (r["window_end"], r["breach_id"]))


@dataclass(frozen=True)
class Escalation:
    """A right the client reached: `breaches` of a term, a group of terms or the contract (`term` and `group` None)
    reached `after_breaches` in `period` (see `streams.core.escalation` for each `rule`)."""

    escalation_id: str
    contract: str
    term: str | None
    period: str
    breaches: int
    after_breaches: int
    right: str
    reached_by: str  # the breach id that reached the count
    rule: str = "count"
    """count (in a calendar period or the contract), rolling (in any span), consecutive (periods), ratio."""
    group: str | None = None
    windows: int | None = None
    """ratio: the windows of the period the share is of."""
