"""`per: day_late` over the whole delay: a missed ticket is followed until solved (or `max_days`), its started days
of delay counted in the term's day unit (working days for a limit in working time) and booked in the month each day
begins in, a ticket still open counted up to the period's end; batch and stream give the same records and money."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from streams.app.emitter import RawMessage
from streams.cli.main import app
from streams.contracts import ContractError, parse_contract
from streams.core import TicketMissed, TicketSolvedLate, compile_terms, compute
from streams.core.penalties import late_day_starts
from streams.core.tickets import TicketBook, TicketTracker
from streams.kafka_io import topics
from streams.ledger import build_ledger
from streams.ledger.escalations import ledger_of_period
from streams.models import TicketCreated, TicketResolved, TicketUpdated, encode_event
from streams.report.html_page import render_html
from streams.report.period import parse_period
from streams.report.records_source import from_batch
from streams.report.statement import build_statement
from tests.helpers import desk_contract
from tests.unit.test_low_volume import run, shell_of
from tests.unit.test_ticket_clocks import ev, t

CONTRACT = desk_contract("late", """
  - {id: wd, kpi: resolution_within, categories: [fault], within: {working_days: 2}, threshold: 0.9, window: month,
     penalty: {amount: 100, per: day_late}}
  - {id: cd, kpi: resolution_within, categories: [fault], within: {days: 2}, threshold: 0.9, window: month,
     penalty: {amount: 100, per: day_late, max_days: 20}}
  - {id: item, kpi: resolution_within, categories: [fault], within: {hours: 48}, threshold: 0.9, window: month,
     penalty: {amount: 50, per: missed_item}}
""", holidays="none", categories="fault")


def contract(effective: str = "") -> Any:
    """The contract `late`, with `effective` (e.g. `effective_until: 2026-11-06`) as a top-level line."""
    return parse_contract(effective + CONTRACT)


def events() -> list[Any]:
    """Ticket w: Wed 11-25 18:00, solved Wed 12-02 10:00 (both deadlines Fri 11-27 18:00: the solution itself is
    the late event). Ticket o: Tue 10-27 09:00 (deadlines Wed 10-28 18:00 in working days, counted from Mon's close,
    and Thu 10-29 09:00), still open at October's end, solved Sat 11-14 12:00. Ticket n: never solved."""
    return [ev(TicketCreated, t("10-27", "09:00"), "o", category="fault"),
            ev(TicketCreated, t("11-02", "10:00"), "n", category="fault"),
            ev(TicketUpdated, t("11-10", "10:00"), "o"),
            ev(TicketResolved, t("11-14", "12:00"), "o"),
            ev(TicketCreated, t("11-25", "18:00"), "w", category="fault"),
            ev(TicketResolved, t("12-02", "10:00"), "w"),
            ev(TicketCreated, t("12-20", "10:00"), "clock", category="other")]


def money(records: list[dict[str, Any]], period: str, term: str, effective: str = "") -> list[tuple[str, str, Any]]:
    """(ticket, month booked, amount) of a term's entries in the ledger of `period`."""
    view = ledger_of_period(build_ledger(records, [contract(effective)], period=period), period)
    return [(e.scope, e.booked_in, e.amount) for e in view.entries if e.term == term and e.kind == "ticket"]


def batch_records(effective: str = "") -> list[dict[str, Any]]:
    return from_batch(events(), [contract(effective)]).breaches


def test_started_days_are_working_days_for_a_limit_in_working_time() -> None:
    # deadline Fri 18:00 (end of the working day), solved Wed 10:00: Mon, Tue and Wed begun = 3 working days,
    # where 24-hour days are 5 (4 days 16 hours)
    c = contract()
    calendar = compile_terms([c]).by_key["late/wd"].calendar
    deadline, solved = t("11-27", "18:00"), t("12-02", "10:00")
    assert len(late_day_starts(deadline, solved, 90, calendar)) == 3
    assert len(late_day_starts(deadline, solved, 90, None)) == 5
    assert len(late_day_starts(deadline, solved, 4, None)) == 4  # at most `most` (max_days)


def test_the_tracker_follows_a_missed_ticket_until_solved_only_for_terms_priced_per_day() -> None:
    out = compute(events(), compile_terms([contract()]))
    solved = [(s.term, s.ticket_id, s.deadline, s.solved_at, s.solved_by) for s in out
              if isinstance(s, TicketSolvedLate)]
    assert solved == [("wd", "o", "2026-10-28T18:00:00+08:00", "2026-11-14T12:00:00+08:00", "ticket.resolved"),
                      ("cd", "o", "2026-10-29T09:00:00+08:00", "2026-11-14T12:00:00+08:00", "ticket.resolved")]
    assert sorted((m.term, m.ticket_id, m.settled_by) for m in out if isinstance(m, TicketMissed)) == [
        ("cd", "n", "deadline"), ("cd", "o", "deadline"), ("cd", "w", "ticket.resolved"),
        ("item", "n", "deadline"), ("item", "o", "deadline"), ("item", "w", "ticket.resolved"),
        ("wd", "n", "deadline"), ("wd", "o", "deadline"), ("wd", "w", "ticket.resolved")]


def test_a_delay_over_a_month_end_books_each_day_in_the_month_it_begins_in() -> None:
    records = batch_records()
    # w (working days): day 1 runs Fri 11-27 18:00 .. Mon 11-30 18:00, its working time begins Mon 09:00 in
    # November; days 2 and 3 (Tue, Wed) in December: 100 + 200
    assert [x for x in money(records, "2026-11", "wd") if x[0] == "w"] == [("w", "2026-11", Decimal("100.00"))]
    assert [x for x in money(records, "2026-12", "wd") if x[0] == "w"] == [("w", "2026-12", Decimal("200.00"))]
    # w (24-hour days): Fri 18:00 .. Wed 10:00 = 4 days 16 hours: 5 days, 4 in November (27, 28, 29, 30 at 18:00),
    # the fifth from 12-01 18:00 in December
    assert [x for x in money(records, "2026-11", "cd") if x[0] == "w"] == [("w", "2026-11", Decimal("400.00"))]
    assert [x for x in money(records, "2026-12", "cd") if x[0] == "w"] == [("w", "2026-12", Decimal("100.00"))]


def test_still_open_at_the_periods_end_then_solved_mid_next_month_never_counts_a_day_twice() -> None:
    records = batch_records()
    before = [r for r in records if r["kind"] != "ticket" or r.get("status") != "solved_late"]  # October's view
    # o, 24-hour days: deadline Thu 10-29 09:00; by Nov 1 00:00 days began 10-29, 10-30, 10-31: 3 so far
    view = ledger_of_period(build_ledger(before, [contract()], period="2026-10"), "2026-10")
    [open_o] = [e for e in view.entries if e.term == "cd" and e.scope == "o"]
    assert (open_o.booked_in, open_o.amount) == ("2026-10", Decimal("300.00"))
    assert open_o.formula == "3 day(s) late (still open, 3 day(s) so far) x 100 CNY"
    # solved Sat 11-14 12:00: 16 days 3 hours = 17 days; October keeps its 3, November books days 4-17
    assert [x for x in money(records, "2026-10", "cd") if x[0] == "o"] == [("o", "2026-10", Decimal("300.00"))]
    assert [x for x in money(records, "2026-11", "cd") if x[0] == "o"] == [("o", "2026-11", Decimal("1400.00"))]
    # o, working days: deadline Wed 10-28 18:00; the days begin (first working minute) Thu 10-29, Fri 10-30 in
    # October, Mon 11-02 .. Fri 11-13 (10) in November; the 13th (from Fri 11-13 18:00) would begin Mon 11-16
    # 09:00, after the Saturday solution: 12 days, November books 10
    assert [x for x in money(records, "2026-10", "wd") if x[0] == "o"] == [("o", "2026-10", Decimal("200.00"))]
    assert [x for x in money(records, "2026-11", "wd") if x[0] == "o"] == [("o", "2026-11", Decimal("1000.00"))]


def test_a_never_solved_ticket_counts_to_each_periods_end_up_to_max_days() -> None:
    records = batch_records()
    # n: created Mon 11-02 10:00, 24-hour deadline Wed 11-04 10:00; November's end: days 11-04 .. 11-30 = 27, but
    # max_days 20 (the tracker forgot it after 20 days): 2000 in November, nothing in December
    assert [x for x in money(records, "2026-11", "cd") if x[0] == "n"] == [("n", "2026-11", Decimal("2000.00"))]
    assert [x for x in money(records, "2026-12", "cd") if x[0] == "n"] == []
    # per missed item: once, at its deadline
    assert [x for x in money(records, "2026-11", "item") if x[0] == "n"] == [("n", "2026-11", Decimal("50.00"))]


def test_no_day_of_delay_is_booked_after_the_effective_period() -> None:
    records = batch_records("effective_until: 2026-11-06")
    # o, 24-hour days up to the end of 11-06: days 10-29 .. 11-06 begin 09:00 = 9 days (6 in November)
    assert [x for x in money(records, "2026-11", "cd", "effective_until: 2026-11-06") if x[0] == "o"] == [
        ("o", "2026-11", Decimal("600.00"))]


def test_the_state_is_forgotten_once_solved_or_after_max_days() -> None:
    terms = compile_terms([contract()])
    tracker, book = TicketTracker(terms), TicketBook()
    for e in events()[:2]:  # o and n created
        tracker.on_event(book, e)
    tracker.expire(book, t("11-20", "00:00").timestamp())  # both missed on every term; cd forgets n after 20 days
    assert sorted(book.tickets["n"].clocks) == ["late/cd", "late/wd"]  # the missed-item term keeps nothing
    tracker.expire(book, t("11-25", "00:00").timestamp())  # n's 24-hour horizon: 11-04 10:00 + 20 days
    assert sorted(book.tickets["n"].clocks) == ["late/wd"]
    tracker.on_event(book, ev(TicketResolved, t("11-14", "12:00"), "o"))
    assert "o" not in book.tickets


def test_stream_equals_batch_records_and_money_even_when_restarted_between_miss_and_solution() -> None:
    terms = compile_terms([contract()])
    evs = events()
    batch = sorted(orjson.dumps(o.to_breach(), option=orjson.OPT_SORT_KEYS) for o in compute(evs, terms)
                   if isinstance(o, TicketMissed | TicketSolvedLate))
    msgs = [RawMessage(b"k", encode_event(e), topics.TICKETS, 0, i) for i, e in enumerate(evs)]
    table: dict[bytes, bytes] = {}
    out = run(shell_of(terms), table, msgs[:3]) + run(shell_of(terms), table, msgs[3:])  # a new worker
    stream = sorted(orjson.dumps({k: v for k, v in r.items() if k != "out"}, option=orjson.OPT_SORT_KEYS)
                    for r in out if r["out"] == topics.BREACHES and r.get("kind") == "ticket")
    assert stream == batch and len(batch) == 11  # 9 misses, o's 2 late solutions
    records = [orjson.loads(r) for r in stream]
    for period in ("2026-10", "2026-11", "2026-12"):
        for term in ("cd", "wd", "item"):
            assert sorted(money(records, period, term)) == sorted(money(batch_records(), period, term))


def test_ledger_as_of_counts_an_open_ticket_up_to_that_instant(tmp_path: Path) -> None:
    before = [r for r in batch_records() if r["kind"] == "ticket" and r.get("status") != "solved_late"]
    path = tmp_path / "breaches.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in before))
    yaml = tmp_path / "late.yaml"
    yaml.write_text(CONTRACT)
    args = ["ledger", "-c", str(yaml), "--period", "2026-11", "--breaches", str(path), "--format", "json"]
    # o, 24-hour days, as of Thu 11-05 12:00: days began 10-29 .. 11-05 at 09:00 = 8, 5 of them in November
    result = CliRunner().invoke(app, [*args, "--as-of", "2026-11-05T12:00:00+08:00"])
    assert result.exit_code == 0, result.output
    [entry] = [e for e in orjson.loads(result.stdout)["entries"] if e["term"] == "cd" and e["scope"] == "o"]
    assert (entry["amount"], entry["formula"]) == (
        "500.00", "5 day(s) late (days 4-8 of 8; still open, 8 day(s) so far) x 100 CNY")
    bad = CliRunner().invoke(app, [*args, "--as-of", "2026-11-05T12:00"])
    assert bad.exit_code == 2 and "needs an offset" in bad.output and "Traceback" not in bad.output


def test_max_days_only_with_per_day_late() -> None:
    with pytest.raises(ContractError, match=r"terms\[2\].penalty: .*max_days counts days of delay"):
        parse_contract(CONTRACT.replace("per: missed_item}", "per: missed_item, max_days: 3}"))


def test_the_statements_missed_tickets_say_which_were_still_open_at_the_periods_end() -> None:
    c = contract()
    batch = from_batch(events(), [c])
    before = [r for r in batch.breaches if r.get("status") != "solved_late"]  # as published by October's end

    def still_open(breaches: list[dict[str, Any]], period: str) -> list[tuple[str, str, str, bool]]:
        s = build_statement(c, parse_period(period, c.timezone), batch.windows, breaches, [])
        return [(m.ticket_id, m.term, m.settled_by, m.still_open) for m in s.ticket_misses]

    # o missed all three in October: the day-late terms follow it (solved 11-14, or no solution yet: the
    # settlement's "still open"), the missed-item term does not (not followed after its miss: no claim)
    october = [("o", "cd", "deadline", True), ("o", "item", "deadline", False), ("o", "wd", "deadline", True)]
    assert still_open(batch.breaches, "2026-10") == october
    assert still_open(before, "2026-10") == october
    # November: n never solved (followed on wd and cd); w's misses settled by its solution on 12-02, after November
    assert sorted(still_open(batch.breaches, "2026-11")) == [
        ("n", "cd", "deadline", True), ("n", "item", "deadline", False), ("n", "wd", "deadline", True),
        ("w", "cd", "ticket.resolved", True), ("w", "item", "ticket.resolved", True),
        ("w", "wd", "ticket.resolved", True)]
    s = build_statement(c, parse_period("2026-10", c.timezone), batch.windows, before, [])
    [settled] = [e for e in s.settlement if e.term == "cd" and e.scope == "o"]
    assert "still open, 3 day(s) so far" in settled.formula
    html = render_html(s, "cckpi report ...")
    assert html.count("deadline (still open at the period end)") == 2 and "deadline</td>" in html
