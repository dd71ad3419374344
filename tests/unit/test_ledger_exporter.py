"""`cckpi_penalties_booked` is the ledger's money (caps and cures applied, per booking month), not the workers'
price before them; settlements repeat until told to stop."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

from streams.ledger.exporter import BookedMoney, run_settlements
from tests.unit.test_money import ar_term, contract, month, window

NOW = datetime(2026, 12, 15, tzinfo=UTC)


def booked(registry: CollectorRegistry, period: str) -> float | None:
    return registry.get_sample_value("cckpi_penalties_booked", {"contract": "m", "period": period, "currency": "CNY"})


def days(*ds: int) -> list[dict[str, Any]]:
    return [window(f"2026-10-{d:02d}T00:00:00+08:00", f"2026-10-{d + 1:02d}T00:00:00+08:00") for d in ds]


def test_the_booked_gauge_applies_caps_and_drops_to_zero_when_a_revision_takes_the_money_back() -> None:
    c = contract(ar_term("{amount: 500, cap: {amount: 1200, per: month}}", window="day"))
    registry = CollectorRegistry()
    money = BookedMoney(registry)
    money.settle([c], (days(1, 2, 3), []), NOW)
    assert booked(registry, "2026-10") == 1200  # 3 x 500 priced, capped at 1,200 (the worker's gauge says 1,500)
    revised = [{**r, "status": "met", "revision": 2} for r in days(1, 2, 3)]
    money.settle([c], (days(1, 2, 3) + revised, []), NOW)
    assert booked(registry, "2026-10") == 0
    assert registry.get_sample_value("cckpi_ledger_settled_timestamp_seconds") == NOW.timestamp()


def test_a_cure_pending_books_nothing_and_is_counted() -> None:
    c = contract(ar_term("{amount: 6000, cure: {next_window: true}}"))
    registry = CollectorRegistry()
    BookedMoney(registry).settle([c], ([month(10)], []), NOW)
    assert booked(registry, "2026-10") is None  # held until November is judged
    assert registry.get_sample_value("cckpi_cures_pending", {"contract": "m"}) == 1
    BookedMoney(registry2 := CollectorRegistry()).settle([c], ([month(10), month(11)], []), NOW)
    assert booked(registry2, "2026-11") == 6000  # October's, failed by November's breach (November's own: pending)


def test_settlements_repeat_until_stopped_and_a_later_read_error_is_skipped() -> None:
    c = contract(ar_term("{amount: 500}", window="day"))
    registry = CollectorRegistry()
    reads = iter([(days(1), []), None, (days(1, 2), [])])

    def read() -> Any:
        got = next(reads)
        if got is None:
            raise OSError("broker down")
        return got

    waits = iter([True, True, False])
    assert run_settlements([c], read, BookedMoney(registry), lambda: next(waits)) == 2
    assert booked(registry, "2026-10") == 1000
