"""What breaches cost and which ones count: the pricing and the final-revision rule, below the ledger (which books
them) and the sinks (which only report them), so the money and the selection have one definition.

Pure: no I/O. The ledger (`streams.ledger`) builds entries and escalations from these; the metrics sink publishes
the same money as a float view; the Grafana annotations mark the same final breaches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from streams.contracts.model import Term


class Money(NamedTuple):
    """An amount in one currency (Decimal: money is never a float until it is displayed)."""

    amount: Decimal
    currency: str


def penalty_of(term: Term | None, state: str, status: str) -> Money | None:
    """The money a window's latest lifecycle step books: the term's penalty when the step is `final` and
    `breached`; None otherwise (still open, met, or a term without a penalty)."""
    if term is None or term.penalty is None or state != "final" or status != "breached":
        return None
    return Money(term.penalty.amount, term.penalty.currency)


def final_breaches(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest lifecycle step (`revision` of the breach record) of each window breach, kept when it is final
    and breached; ordered by window end and breach id. A replayed record changes nothing."""
    latest: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.get("kind") != "window":
            continue
        known = latest.get(r["breach_id"])
        if known is None or r["revision"] > known["revision"]:
            latest[r["breach_id"]] = r
    finals = [r for r in latest.values() if r["state"] == "final" and r["status"] == "breached"]
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
