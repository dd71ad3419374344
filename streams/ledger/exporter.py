"""What the ledger books, as Prometheus gauges: the one place that sees every breach (the whole `cckpi.breaches`
topic) settles them with the ledger's own rules (`build_ledger`: caps, cures, booking months, days of delay), so
`cckpi_penalties_booked` is the money a statement would show, unlike a worker's `cckpi_penalties_priced` (its own
windows, before caps and cures)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from streams.contracts.model import Contract
from streams.ledger.book import build_ledger

LOG = logging.getLogger(__name__)
Records = tuple[list[dict[str, Any]], list[dict[str, Any]]]
"""(breach records, window records) as read from the topics."""


class BookedMoney:
    """`cckpi_penalties_booked{contract,period,currency}` (money booked per booking month after caps and cures),
    `cckpi_cures_pending{contract}` and `cckpi_ledger_settled_timestamp_seconds`, set from one settlement."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.booked = Gauge("cckpi_penalties_booked", "Penalty money the ledger books in each settlement month "
                            "(YYYY-MM), after caps and cures, as `cckpi ledger` and the statements: every breach "
                            "on cckpi.breaches settled by `cckpi ledger-exporter`",
                            ["contract", "period", "currency"], registry=registry)
        self.cures = Gauge("cckpi_cures_pending", "Breaches held by a cure period (限期整改), not yet decided",
                           ["contract"], registry=registry)
        self.settled = Gauge("cckpi_ledger_settled_timestamp_seconds", "When the ledger was last settled from "
                             "the topics (Unix time)", registry=registry)
        self.known: set[tuple[str, str, str]] = set()

    def settle(self, contracts: Sequence[Contract], records: Records, now: datetime) -> None:
        """Settle the records as `cckpi ledger` does (a ticket still open counts its delay up to `now`) and set
        the gauges; a month that no longer books anything (a window revised to met) drops to 0."""
        breaches, windows = records
        ledger = build_ledger(breaches, contracts, windows, as_of=now)
        totals = ledger.totals()
        for key in self.known - totals.keys():
            self.booked.labels(*key).set(0)
        for key, amount in totals.items():
            self.booked.labels(*key).set(float(amount))
        self.known |= totals.keys()
        for contract in contracts:
            pending = sum(c.contract == contract.id and c.outcome == "pending" for c in ledger.cures)
            self.cures.labels(contract.id).set(pending)
        self.settled.set(now.timestamp())


def run_settlements(contracts: Sequence[Contract], read: Callable[[], Records], money: BookedMoney,
                    wait: Callable[[], bool]) -> int:
    """Settle from `read()` until `wait()` (sleeping until the next settlement) says stop; returns how many
    settlements ran. A read that fails is retried at the next settlement (the error propagates only on the first,
    so a wrong address is said at once)."""
    runs = 0
    while True:
        try:
            records = read()
        except Exception as exc:
            if runs == 0:
                raise
            LOG.warning("settlement skipped, the topics could not be read: %s", exc)
        else:
            money.settle(contracts, records, datetime.now(UTC))
            runs += 1
        if not wait():
            return runs
