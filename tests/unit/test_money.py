"""Contract money: fees, every penalty form, rounding, caps, cure periods and the booking rule, with hand-computed
amounts (Decimal)."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.contracts import parse_contract
from streams.contracts.loader import ContractError
from streams.core.penalties import late_day_starts, penalty_of, round_money
from streams.ledger import build_ledger
from streams.ledger.escalations import ledger_of_period
from streams.report.csv_files import write_csv
from streams.report.period import parse_period
from streams.report.statement import build_statement

HEAD = """
id: m
name: money
timezone: Asia/Shanghai
scope: {queues: [q1], categories: [fault]}
"""


def contract(terms: str, extra: str = "") -> Any:
    """A contract `m` with these terms (YAML list items) and top-level extras (fees, penalty_cap, period)."""
    return parse_contract(HEAD + extra + "terms:\n" + terms)


def ar_term(penalty: str, window: str = "month", kpi: str = "answer_rate", threshold: float = 0.9) -> str:
    return f"""  - id: ar
    kpi: {kpi}
    threshold: {threshold}
    window: {window}
    penalty: {penalty}
"""


def window(start: str, end: str, value: float = 0.5, status: str = "breached", term: str = "ar",
           scope: str = "q1") -> dict[str, Any]:
    """The final breach record of a window (value and status as the verdict)."""
    return {"breach_id": f"m/{term}/{scope}/{start}", "kind": "window", "contract": "m", "term": term,
            "kpi": "answer_rate", "scope": scope, "window_start": start, "window_end": end, "state": "final",
            "status": status, "value": value, "threshold": 0.9, "revision": 1, "numerator": 1, "denominator": 2}


def month(m: int, year: int = 2026, **kw: Any) -> dict[str, Any]:
    """The record of month m's window (Asia/Shanghai)."""
    end = f"{year + m // 12}-{m % 12 + 1:02d}-01T00:00:00+08:00"
    return window(f"{year}-{m:02d}-01T00:00:00+08:00", end, **kw)


def ticket(ticket_id: str, deadline: str, settled_at: str | None = None, term: str = "fix") -> dict[str, Any]:
    return {"breach_id": f"m/{term}/ticket/{ticket_id}", "kind": "ticket", "status": "breached", "contract": "m",
            "term": term, "kpi": "resolution_within", "ticket_id": ticket_id, "created_at": "2026-10-01T09:00:00+08:00",
            "deadline": deadline, "settled_at": settled_at or deadline,
            "settled_by": "deadline" if settled_at is None else "ticket.resolved"}


def booked(ledger: Any) -> list[tuple[str, str, Decimal, Decimal]]:
    return [(e.booked_in, e.scope, e.uncapped, e.amount) for e in ledger.entries]


# fees and rates

def test_a_fee_per_seat_prices_a_percentage_penalty() -> None:
    c = contract(ar_term("{percent_of_fee: 2}"), "fees:\n  - {amount: 6000, seats: 50, currency: CNY}\n")
    assert c.fees[0].total == Decimal(300000)
    assert c.terms[0].penalty.rate == Decimal(6000)  # 2% of 50 x 6,000
    [entry] = build_ledger([month(10)], [c]).entries
    assert (entry.amount, entry.currency, entry.formula) == (
        Decimal("6000.00"), "CNY", "1 breach x 6000 CNY (2% of fee service)")


def test_the_penalty_takes_the_fees_currency_and_mixed_currencies_are_refused() -> None:
    c = contract(ar_term("{amount: 100}"), "fees:\n  - {amount: 1000, currency: USD}\n")
    assert c.terms[0].penalty.currency == "USD"
    with pytest.raises(ContractError, match=r"terms\[0\].penalty.currency: EUR differs from the contract's USD"):
        contract(ar_term("{amount: 100, currency: EUR}"), "fees:\n  - {amount: 1000, currency: USD}\n")
    with pytest.raises(ContractError, match=r"needs a fees section"):
        contract(ar_term("{percent_of_fee: 2}"))


def test_money_rounds_half_up_to_the_currencys_minor_unit() -> None:
    assert round_money(Decimal("10.005"), "CNY") == Decimal("10.01")
    assert round_money(Decimal("10.004"), "CNY") == Decimal("10.00")
    assert round_money(Decimal("10.5"), "JPY") == Decimal(11)
    assert round_money(Decimal("1.2345"), "KWD") == Decimal("1.235")
    c = contract(ar_term("{percent_of_fee: 1.5}"), "fees:\n  - {amount: 12345.67, currency: CNY}\n")
    [entry] = build_ledger([month(10)], [c]).entries
    assert entry.amount == Decimal("185.19")  # 12,345.67 x 1.5% = 185.18505


# penalty forms

@pytest.mark.parametrize(("rounding", "expected"), [("ceil", "2000.00"), ("floor", "1000.00"), ("exact", "1500.00")])
def test_per_unit_of_shortfall_with_its_rounding(rounding: str, expected: str) -> None:
    c = contract(ar_term(f"{{amount: 1000, per: shortfall_unit, unit: 0.01, rounding: {rounding}}}"))
    [entry] = build_ledger([month(10, value=0.885)], [c]).entries  # 1.5 points below 90%
    assert entry.amount == Decimal(expected)


def test_shortfall_of_a_lower_is_better_kpi() -> None:
    c = contract(ar_term("{amount: 10, per: shortfall_unit, unit: 5}", kpi="asa", threshold=30))
    [entry] = build_ledger([month(10, value=42.5)], [c]).entries  # 12.5 s over 30 s: 2.5 units, ceil 3
    assert entry.amount == Decimal("30.00")
    assert penalty_of(c.terms[0], "final", "breached", 42.5) == (Decimal("30.00"), "CNY")


TICKETS = """  - id: fix
    kpi: resolution_within
    within: {days: 1}
    threshold: 0.9
    window: month
    penalty: {amount: 200, per: PER}
"""


def test_per_missed_ticket_booked_in_the_month_of_its_deadline() -> None:
    c = contract(TICKETS.replace("PER", "missed_item"))
    records = [ticket("a", "2026-10-02T09:00:00+08:00"), ticket("b", "2026-10-31T23:00:00+08:00"),
               ticket("c", "2026-11-01T00:30:00+08:00"), ticket("a", "2026-10-02T09:00:00+08:00")]  # a replayed
    ledger = build_ledger([*records, month(10, term="fix", scope="all")], [c])
    assert booked(ledger) == [("2026-10", "all", Decimal(0), Decimal(0)),  # the window itself: priced per ticket
                              ("2026-10", "a", Decimal("200.00"), Decimal("200.00")),
                              ("2026-10", "b", Decimal("200.00"), Decimal("200.00")),
                              ("2026-11", "c", Decimal("200.00"), Decimal("200.00"))]
    assert ledger.totals() == {("m", "2026-10", "CNY"): Decimal(400), ("m", "2026-11", "CNY"): Decimal(200)}


def test_per_day_of_delay_counts_started_days() -> None:
    deadline = datetime.fromisoformat("2026-10-05T18:00:00+08:00")
    assert len(late_day_starts(deadline, datetime.fromisoformat("2026-10-08T09:00:00+08:00"), 90, None)) == 3  # 2d 15h
    assert len(late_day_starts(deadline, datetime.fromisoformat("2026-10-06T18:00:00+08:00"), 90, None)) == 1
    c = contract(TICKETS.replace("PER", "day_late").replace("amount: 200", "amount: 100"))
    ledger = build_ledger([ticket("a", "2026-10-05T18:00:00+08:00", "2026-10-08T09:00:00+08:00"),
                           ticket("b", "2026-10-05T18:00:00+08:00")], [c])  # b: missed, not solved since
    assert [(e.scope, e.amount, e.formula) for e in ledger.entries] == [
        ("a", Decimal("300.00"), "3 day(s) late x 100 CNY"),
        ("b", Decimal("100.00"), "1 day(s) late (still open, 1 day(s) so far) x 100 CNY")]  # no period: to its miss


def test_ticket_forms_only_on_ticket_terms_and_shortfall_needs_a_unit() -> None:
    with pytest.raises(ContractError, match="missed_item prices missed tickets: answer_rate is a calls KPI"):
        contract(ar_term("{amount: 1, per: missed_item}"))
    with pytest.raises(ContractError, match="shortfall_unit needs unit"):
        contract(ar_term("{amount: 1, per: shortfall_unit}"))


# caps

def test_a_term_cap_per_month_shows_capped_and_uncapped() -> None:
    c = contract(ar_term("{amount: 500, cap: {amount: 1200, per: month}}", window="day"))
    days = [window(f"2026-10-0{d}T00:00:00+08:00", f"2026-10-0{d + 1}T00:00:00+08:00") for d in (1, 2, 3)]
    ledger = build_ledger([*days, window("2026-11-01T00:00:00+08:00", "2026-11-02T00:00:00+08:00")], [c])
    assert [(e.booked_in, e.uncapped, e.amount) for e in ledger.entries] == [
        ("2026-10", Decimal(500), Decimal(500)), ("2026-10", Decimal(500), Decimal(500)),
        ("2026-10", Decimal(500), Decimal(200)), ("2026-11", Decimal(500), Decimal(500))]  # a new month, a new cap
    assert ledger.entries[2].caps_text == "term cap 1200.00 per 2026-10"


def test_a_cap_as_percent_of_a_monthly_fee_per_quarter_and_a_contract_cap() -> None:
    fees = "fees:\n  - {amount: 10000, currency: CNY}\npenalty_cap: {amount: 1800, per: quarter}\n"
    terms = ar_term("{amount: 1000, cap: {percent_of_fee: 5, per: quarter}}") + ar_term("{amount: 700}").replace(
        "id: ar", "id: sl").replace("answer_rate", "abandon_rate").replace("0.9", "0.1")
    c = contract(terms, fees)
    ledger = build_ledger([month(10), month(11), month(10, term="sl")], [c])
    # ar: cap 5% of 3 x 10,000 = 1,500 a quarter: Oct 1,000, Nov 500; the contract cap 1,800 a quarter then cuts
    # sl (booked after ar in October: same window end, breach id order) to 800 and November's ar to 0.
    assert [(e.term, e.booked_in, e.uncapped, e.amount) for e in ledger.entries] == [
        ("ar", "2026-10", Decimal(1000), Decimal(1000)), ("sl", "2026-10", Decimal(700), Decimal(700)),
        ("ar", "2026-11", Decimal(1000), Decimal(100))]
    assert ledger.entries[2].caps_text == "term cap 1500.00 per 2026-Q4; contract cap 1800.00 per 2026-Q4"


# cures

CURE_NEXT = "{amount: 6000, cure: {next_window: true}}"


def test_cure_next_window_books_when_the_next_window_breaches_too() -> None:
    c = contract(ar_term(CURE_NEXT))
    met_window = {**month(9), "status": "met", "revision": 0}
    ledger = build_ledger([month(8), month(10), month(11)], [c], windows=[met_window])
    assert [(x.window_start[:7], x.outcome, x.booked_in) for x in ledger.cures] == [
        ("2026-08", "cured", None), ("2026-10", "failed", "2026-11"), ("2026-11", "pending", None)]
    assert booked(ledger) == [("2026-11", "q1", Decimal("6000.00"), Decimal("6000.00"))]  # October's, in November
    november = ledger_of_period(ledger, "2026-11")
    assert [e.window_start[:7] for e in november.entries] == ["2026-10"]
    assert [x.outcome for x in november.cures] == ["failed", "pending"]
    assert [x.outcome for x in ledger_of_period(ledger, "2026-10").cures] == ["failed"]
    thin = {**month(7), "status": "insufficient_volume", "revision": 0}  # June's cure looks past July to August
    [june] = build_ledger([month(6), month(8)], [c], windows=[thin]).cures[:1]
    assert (june.outcome, june.booked_in) == ("failed", "2026-08")


def test_cure_within_days() -> None:
    c = contract(ar_term("{amount: 100, cure: {days: 3}}", window="day"))

    def day(d: int, status: str = "breached") -> dict[str, Any]:
        return window(f"2026-10-{d:02d}T00:00:00+08:00", f"2026-10-{d + 1:02d}T00:00:00+08:00", status=status)

    # Oct 1 breached, Oct 3 met (ends Oct 4, within Oct 2 + 3 days): cured. Oct 10-13 breached: Oct 10's deadline is
    # Oct 14 00:00, the end of Oct 13's window: failed, booked in October.
    ledger = build_ledger([day(1), day(3, "met"), day(10), day(11), day(12), day(13)], [c])
    outcomes = {x.window_start[:10]: x.outcome for x in ledger.cures}
    assert outcomes == {"2026-10-01": "cured", "2026-10-10": "failed", "2026-10-11": "pending",
                        "2026-10-12": "pending", "2026-10-13": "pending"}
    assert booked(ledger) == [("2026-10", "q1", Decimal("100.00"), Decimal("100.00"))]
    with pytest.raises(ContractError, match="3 days is shorter than the month window"):
        contract(ar_term("{amount: 100, cure: {days: 3}}"))


# booking

def test_a_quarter_is_booked_in_its_last_month_and_nothing_outside_the_effective_period() -> None:
    period = "effective_from: 2026-01-01\neffective_until: 2026-11-30\n"
    c = contract(ar_term("{amount: 500}", window="quarter"), period)
    q4 = window("2026-10-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00")
    q3 = window("2026-07-01T00:00:00+08:00", "2026-10-01T00:00:00+08:00")
    before = window("2025-10-01T00:00:00+08:00", "2026-01-01T00:00:00+08:00")
    ledger = build_ledger([before, q3, q4], [c])
    # Q3 in September; Q4 would be December but the contract ends in November; 2025-Q4 is before it started.
    assert [(e.window_start[:7], e.booked_in) for e in ledger.entries] == [("2026-07", "2026-09"),
                                                                           ("2026-10", "2026-11")]
    assert ledger_of_period(ledger, "2026-10").entries == []
    open_ended = contract(ar_term("{amount: 500}", window="quarter"))
    assert [e.booked_in for e in build_ledger([q4], [open_ended]).entries] == ["2026-12"]


def test_a_yearly_ledger_counts_each_months_breaches(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + "terms:\n" + ar_term("{amount: 500}", window="day"))
    days = [window("2026-10-05T00:00:00+08:00", "2026-10-06T00:00:00+08:00"),
            window("2026-10-09T00:00:00+08:00", "2026-10-10T00:00:00+08:00"),
            window("2026-11-02T00:00:00+08:00", "2026-11-03T00:00:00+08:00")]
    records = tmp_path / "b.jsonl"
    records.write_bytes(b"\n".join(orjson.dumps(r) for r in days))
    result = CliRunner().invoke(app, ["ledger", "-c", str(path), "--period", "2026", "--breaches", str(records)])
    assert result.exit_code == 0, result.output
    assert "total m 2026-10: 1000.00 CNY (2 breaches)" in result.stdout
    assert "total m 2026-11: 500.00 CNY (1 breaches)" in result.stdout


# statement

def test_the_statement_shows_fees_formulas_caps_and_cures_and_writes_settlement_lines(tmp_path: Path) -> None:
    c = contract(ar_term("{percent_of_fee: 2, per: shortfall_unit, unit: 0.01, cap: {percent_of_fee: 5}, "
                         "cure: {next_window: true}}"), "fees:\n  - {amount: 100000, currency: CNY}\n")
    records = [month(9, value=0.85), month(10, value=0.86), month(11, value=0.88)]
    s = build_statement(c, parse_period("2026-10", c.timezone), [], records, [])
    # September's breach (5 points x 2,000) failed its cure in October, capped at 5% of 100,000 = 5,000.
    [line] = s.settlement
    assert (line.window_start[:7], line.booked_in, line.uncapped, line.amount) == (
        "2026-09", "2026-10", Decimal("10000.00"), Decimal("5000.00"))
    assert line.formula == "5 unit(s) of 0.01 short of 0.9 x 2000 CNY (2% of fee service)"
    assert s.totals == {"CNY": Decimal("5000.00")}
    assert [(x.window_start[:7], x.outcome) for x in s.cures] == [("2026-09", "failed"), ("2026-10", "failed")]
    write_csv(s, tmp_path)
    with (tmp_path / "settlement.csv").open() as fh:
        [row] = list(csv.DictReader(fh))
    assert (row["booked_in"], row["uncapped"], row["amount"], row["capped_by"]) == (
        "2026-10", "10000.00", "5000.00", "term cap 5000.00 per 2026-10")
    assert (tmp_path / "fees.csv").read_text().splitlines()[1] == "service,100000,,CNY,month,100000"
