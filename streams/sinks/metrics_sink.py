"""The metrics sink: core outputs become Prometheus series (`Metrics`); penalty money is reported, not priced here:
`streams.core.penalties.penalty_of` prices it as the ledger does, and `cckpi_penalties_priced` is a float view of
the Decimal sums, before caps and cures (a worker sees only its windows; `streams.ledger.exporter` books them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from streams.contracts.model import Term
from streams.core.penalties import Money, penalty_of
from streams.core.records import (
    BreachUpdate,
    ConflictingDuplicate,
    DuplicateEvent,
    LateContribution,
    OutsideContract,
    QueueForecast,
    RejectedEvent,
    TicketMissed,
    TicketWarning,
    UnscopedEvent,
    WindowResult,
)
from streams.core.terms import CompiledTerm
from streams.sinks.base import Consumed, Handler, Send
from streams.sinks.metrics import Metrics
from streams.sinks.records import dead_letter_kind


class PenaltyView:
    """What the ledger books for the windows seen, per contract, term and currency: each window's latest lifecycle
    step decides (a window revised to met takes its penalty back), as `build_ledger` does with the same records.
    A window is forgotten once it can no longer be revised (a later window of its term and scope ends past its end
    plus grace and retention), so memory holds only revisable windows."""

    def __init__(self, metrics: Metrics, terms: Iterable[CompiledTerm]) -> None:
        self.gauge = metrics.penalties
        self.terms: dict[tuple[str, str], Term] = {}
        self.horizon: dict[tuple[str, str], float] = {}
        self.totals: dict[tuple[str, str, str], Decimal] = {}
        self.booked: dict[tuple[str, str, str], dict[str, tuple[Money, float]]] = {}
        """Per (contract, term, scope): windows that book money now, and the window end after which they are
        forgotten."""
        for t in terms:
            self.terms[(t.contract, t.term.id)] = t.term
            self.horizon[(t.contract, t.term.id)] = t.grace + t.retention
            if t.term.penalty is not None:  # the series starts at 0, so a dashboard shows the term before a breach
                self._add(t.contract, t.term.id, Money(Decimal(0), t.term.penalty.currency))

    def on_update(self, u: BreachUpdate) -> None:
        """Book, re-book or take back the window's money as its latest lifecycle step says."""
        if u.basis != "observed":  # forecast warnings have their own ids and never book
            return
        money = penalty_of(self.terms.get((u.contract, u.term)), u.state, u.status, u.value)
        end = datetime.fromisoformat(u.window_end).timestamp()
        known = self.booked.setdefault((u.contract, u.term, u.scope), {})
        for key in [k for k, (_, forget_at) in known.items() if forget_at <= end]:
            del known[key]
        before = known.pop(u.key, None)
        if before is not None:
            self._add(u.contract, u.term, Money(-before[0].amount, before[0].currency))
        if money is not None:
            known[u.key] = (money, end + self.horizon.get((u.contract, u.term), float("inf")))
            self._add(u.contract, u.term, money)

    def _add(self, contract: str, term: str, money: Money) -> None:
        key = (contract, term, money.currency)
        total = self.totals[key] = self.totals.get(key, Decimal(0)) + money.amount
        self.gauge.labels(*key).set(float(total))


class MetricsSink:
    """Counts and gauges of the outputs: windows, breaches, missed tickets, forecasts, duplicates, late and parked
    events (`cckpi_dead_letters_total` counts what `RecordsSink` parks), and the penalty money (`PenaltyView`)."""

    def __init__(self, metrics: Metrics, terms: Iterable[CompiledTerm]) -> None:
        self.metrics = metrics
        self.penalties = PenaltyView(metrics, terms)

    def routes(self) -> Mapping[type[Any], Handler]:
        """Every output that moves a series."""
        return {WindowResult: self.window, BreachUpdate: self.breach, TicketMissed: self.ticket,
                TicketWarning: self.ticket_warning,
                QueueForecast: self.forecast, DuplicateEvent: self.duplicate, LateContribution: self.late,
                ConflictingDuplicate: self.conflicting, UnscopedEvent: self.unscoped, OutsideContract: self.parked,
                RejectedEvent: self.parked}

    def window(self, out: WindowResult, sends: list[Send], msg: Consumed | None) -> None:
        """Last closed values, windows, breaches and revisions (a revision by a late event counts as late)."""
        if out.closed_by == "late_event":
            self.metrics.late.labels(out.contract, out.term, "revised").inc()
        self.metrics.on_result(out)

    def breach(self, out: BreachUpdate, sends: list[Send], msg: Consumed | None) -> None:
        """A lifecycle step, and the money its window books now."""
        self.metrics.breach_updates.labels(out.contract, out.term, out.state).inc()
        self.penalties.on_update(out)

    def ticket(self, out: TicketMissed, sends: list[Send], msg: Consumed | None) -> None:
        """A ticket past a term's deadline."""
        self.metrics.ticket_breaches.labels(out.contract, out.term).inc()

    def ticket_warning(self, out: TicketWarning, sends: list[Send], msg: Consumed | None) -> None:
        """An open ticket past a share of a term's allowed time (its end, `settled`, counts nothing)."""
        if out.state == "warning":
            self.metrics.ticket_warnings.labels(out.contract, out.term, f"{out.share:g}").inc()

    def forecast(self, out: QueueForecast, sends: list[Send], msg: Consumed | None) -> None:
        """The queue model's gauges."""
        self.metrics.on_forecast(out)

    def duplicate(self, out: DuplicateEvent, sends: list[Send], msg: Consumed | None) -> None:
        """An event counted before."""
        self.metrics.duplicates.inc()

    def late(self, out: LateContribution, sends: list[Send], msg: Consumed | None) -> None:
        """A contribution dropped as too late (and dead-lettered)."""
        contract, _, term = out.term.partition("/")  # a term key: `contract/term`, `contract/term@service`
        self.metrics.late.labels(contract, term.partition("@")[0], "dropped").inc()
        self.parked(out, sends, msg)

    def conflicting(self, out: ConflictingDuplicate, sends: list[Send], msg: Consumed | None) -> None:
        """An event id counted before with other content (dead-lettered)."""
        self.metrics.conflicting_duplicates.inc()
        self.parked(out, sends, msg)

    def unscoped(self, out: UnscopedEvent, sends: list[Send], msg: Consumed | None) -> None:
        """An event outside every contract's scope: a count by family only."""
        self.metrics.unscoped.labels(out.family).inc()

    def parked(self, out: LateContribution | ConflictingDuplicate | OutsideContract | RejectedEvent,
               sends: list[Send], msg: Consumed | None) -> None:
        """`cckpi_dead_letters_total` for the dead letter the output becomes, if any."""
        kind = dead_letter_kind(out, msg)
        if kind is not None:
            self.metrics.dead_letters.labels(kind).inc()

    async def flush(self) -> int:
        """Nothing to deliver: Prometheus scrapes the registry."""
        return 0
