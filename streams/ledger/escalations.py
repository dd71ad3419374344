"""A ledger seen for one period, and the escalation records it publishes: what `cckpi ledger` shows and writes to
`cckpi.escalations`, kept out of the command so any consumer gets the same entries, totals and records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from streams.core.penalties import Escalation
from streams.ledger.book import Ledger, LedgerEntry, in_period
from streams.ledger.settle import CureState, booking_month_of

ESCALATION_SCHEMA_VERSION = 1
"""`schema_version` of the records on `cckpi.escalations`."""


@dataclass(frozen=True)
class PeriodLedger:
    """The entries booked in the period, the money per contract, month and currency of the period, the escalation
    rights reached by a breach of the period, and the cures of breaches in the period or decided in it."""

    period: str
    entries: list[LedgerEntry]
    totals: dict[tuple[str, str, str], Decimal]
    escalations: list[Escalation]
    cures: list[CureState] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`cckpi ledger --format json`): amounts as decimal strings, totals sorted."""
        return {
            "period": self.period,
            "entries": [e.to_dict() for e in self.entries],
            "totals": [{"contract": c, "month": m, "currency": cur, "amount": str(a)}
                       for (c, m, cur), a in sorted(self.totals.items())],
            "escalations": [asdict(x) for x in self.escalations],
            "cures": [asdict(x) for x in self.cures],
        }


def ledger_of_period(ledger: Ledger, period: str) -> PeriodLedger:
    """The part of `ledger` that belongs to `period` (a label of `period_label`)."""
    entries = [e for e in ledger.entries if in_period(e.booked_in + "-01", period)]
    cures = cures_of_period(ledger, period)
    booked = {e.breach_id for e in entries} | {c.breach_id for c in cures}
    return PeriodLedger(
        period=period, entries=entries,
        totals={k: v for k, v in ledger.totals().items() if in_period(k[1] + "-01", period)},
        escalations=[x for x in ledger.escalations if x.reached_by in booked], cures=cures)


def cures_of_period(ledger: Ledger, period: str) -> list[CureState]:
    """The cures of breaches whose window is in the period (by its last instant) or that were decided in it."""
    return [c for c in ledger.cures if in_period(booking_month_of(c.window_end) + "-01", period)
            or (c.booked_in is not None and in_period(c.booked_in + "-01", period))]


def escalation_record(escalation: Escalation) -> dict[str, Any]:
    """The record of an escalation reached, as published on `cckpi.escalations`."""
    return {"schema_version": ESCALATION_SCHEMA_VERSION, **asdict(escalation)}


def escalation_messages(escalations: Iterable[Escalation]) -> list[tuple[bytes, bytes]]:
    """(key, value) messages for `cckpi.escalations`, keyed by escalation id (so republishing is idempotent on a
    compacted topic and for consumers that keep the latest per key)."""
    return [(x.escalation_id.encode(), orjson.dumps(escalation_record(x))) for x in escalations]
