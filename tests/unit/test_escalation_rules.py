"""Escalation rules (累计违约达到[次数或比例]): N breaches in a calendar period, N in any rolling span, N consecutive
periods, a share of the period's windows; per term, per named group of clauses, contract-wide; each right reached
published once under a stable id. Expectations are counted by hand from the dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from streams.contracts import ContractError, parse_contract
from streams.core.escalation import progress
from streams.ledger import build_ledger
from streams.ledger.book import lookback_start
from streams.ledger.escalations import escalation_messages, ledger_of_period

TZ = ZoneInfo("Asia/Shanghai")
BASE = """
id: c
name: test
timezone: Asia/Shanghai
scope: {queues: [q1]}
terms:
  - {id: a, kpi: answer_rate, threshold: 0.8, window: day, ESCALATION}
  - {id: b, kpi: abandon_rate, threshold: 0.1, window: day}
  - {id: s, kpi: asa, threshold: 30, window: day}
"""


def contract(term_rule: str = "", tail: str = "") -> str:
    text = BASE.replace(", ESCALATION", f", escalation: {term_rule}" if term_rule else "")
    return text + tail


def breach(day: str, term: str = "a", days: int = 1) -> dict:
    """The final breach record of the `days`-long window of `term` starting on `day` (local midnight)."""
    start = datetime.fromisoformat(day).replace(tzinfo=TZ)
    end = start + timedelta(days=days)
    return {"breach_id": f"c/{term}/q1/{start.isoformat()}", "kind": "window", "contract": "c", "term": term,
            "kpi": "answer_rate", "scope": "q1", "window_start": start.isoformat(), "window_end": end.isoformat(),
            "state": "final", "status": "breached", "value": 0.5, "threshold": 0.8, "revision": 1}


def reached(text: str, records: list[dict]) -> list[tuple[str, str, int, int, str]]:
    ledger = build_ledger(records, [parse_contract(text)])
    return [(x.escalation_id, x.period, x.breaches, x.after_breaches, x.reached_by[7:17]) for x in ledger.escalations]


# --------------------------------------------------------------------------- N in a calendar period


def test_n_breaches_in_a_month_reach_at_exactly_n_and_a_window_counts_at_its_last_instant() -> None:
    text = contract("{after_breaches: 3, within: month, right: terminate}")
    two = [breach("2026-10-01"), breach("2026-10-15")]
    assert reached(text, two) == []
    # the Oct 31 window ends Nov 1 00:00: its last instant is in October, so it is the third; Nov 1 is not counted
    assert reached(text, [*two, breach("2026-10-31"), breach("2026-11-01")]) == [
        ("c/a/2026-10/3", "2026-10", 3, 3, "2026-10-31")]
    week = [breach("2026-09-21"), breach("2026-09-28", days=7), breach("2026-10-05")]  # Sep 28 - Oct 5: October's
    assert reached(text.replace("window: day", "window: week", 1), week) == []
    assert reached(text, [*week, breach("2026-10-20")]) == [("c/a/2026-10/3", "2026-10", 3, 3, "2026-10-20")]


def test_a_fourth_breach_of_the_period_reaches_nothing_more() -> None:
    text = contract("{after_breaches: 2, within: quarter, right: terminate}")
    assert [x[0] for x in reached(text, [breach(f"2026-10-0{d}") for d in range(1, 5)])] == ["c/a/2026-Q4/2"]


# --------------------------------------------------------------------------- N in any rolling span


def test_n_breaches_within_a_rolling_span_count_less_than_the_span_apart() -> None:
    text = contract("{after_breaches: 3, within: {rolling: 90d}, right: terminate}")
    # Jan 1 to Mar 31 is 89 days between the windows' last instants: within any 90 days
    assert reached(text, [breach("2026-01-01"), breach("2026-02-01"), breach("2026-03-31")]) == [
        ("c/a/2026-01-01..2026-03-31/3-in-90d", "2026-01-01..2026-03-31", 3, 3, "2026-03-31")]
    # Jan 1 to Apr 1 is 90 days: Jan 1 has left the span, only 2 count; a breach on Apr 2 makes Feb 1, Apr 1, Apr 2
    edge = [breach("2026-01-01"), breach("2026-02-01"), breach("2026-04-01")]
    assert reached(text, edge) == []
    assert reached(text, [*edge, breach("2026-04-02")]) == [
        ("c/a/2026-02-01..2026-04-02/3-in-90d", "2026-02-01..2026-04-02", 3, 3, "2026-04-02")]


def test_after_a_rolling_rule_is_reached_counting_starts_again() -> None:
    text = contract("{after_breaches: 2, within: {rolling: 30d}, right: penalty x2}")
    days = ["2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04"]
    assert [x[4] for x in reached(text, [breach(d) for d in days])] == ["2026-05-02", "2026-05-04"]


# --------------------------------------------------------------------------- N consecutive periods


def test_n_consecutive_months_each_breached_reach_at_the_first_breach_of_the_nth() -> None:
    text = contract("{consecutive: 3, within: month, right: terminate}")
    run = [breach("2026-08-05"), breach("2026-08-20"), breach("2026-09-30"), breach("2026-10-07"),
           breach("2026-10-08")]
    assert reached(text, run) == [("c/a/2026-08..2026-10/3-consecutive", "2026-08..2026-10", 3, 3, "2026-10-07")]


def test_a_met_month_breaks_the_run() -> None:
    text = contract("{consecutive: 3, within: month, right: terminate}")
    broken = [breach("2026-08-05"), breach("2026-09-30"), breach("2026-11-02"), breach("2026-12-01")]
    assert reached(text, broken) == []  # October had no breach: Nov, Dec is a run of 2
    assert reached(text, [*broken, breach("2027-01-31")])[0][1] == "2026-11..2027-01"


def test_after_a_run_is_reached_the_next_run_starts_with_the_following_period() -> None:
    text = contract("{consecutive: 2, within: quarter, right: rectification}")
    quarters = ["2026-01-10", "2026-04-10", "2026-05-10", "2026-07-10", "2026-10-10"]
    assert [x[1] for x in reached(text, [breach(d) for d in quarters])] == ["2026-Q1..2026-Q2", "2026-Q3..2026-Q4"]


# --------------------------------------------------------------------------- a share of the period's windows


def test_a_ratio_of_the_quarters_windows_reaches_when_the_count_makes_the_share() -> None:
    text = contract("{ratio: 0.2, within: quarter, right: terminate}")
    days = [(date(2026, 10, 1) + timedelta(days=i)).isoformat() for i in range(19)]
    # Q4 has 92 daily windows of term a on q1: 20% is 18.4, so the 19th breach reaches it
    assert reached(text, [breach(d) for d in days[:18]]) == []
    assert reached(text, [breach(d) for d in days]) == [("c/a/2026-Q4/ratio-0.2", "2026-Q4", 19, 19, "2026-10-19")]
    [x] = build_ledger([breach(d) for d in days], [parse_contract(text)]).escalations
    assert (x.rule, x.windows) == ("ratio", 92)


def test_a_ratio_counts_the_windows_of_every_queue_within_the_effective_period() -> None:
    text = contract("{ratio: 0.2, within: quarter, right: terminate}").replace(
        "scope: {queues: [q1]}", "effective_from: 2026-11-01\nscope: {queues: [q1, q2]}")
    # Nov 1 .. Dec 31: 61 days x 2 queues = 122 windows; 20% is 24.4: 25 breaches
    days = [(date(2026, 11, 1) + timedelta(days=i)).isoformat() for i in range(25)]
    assert reached(text, [breach(d) for d in days[:24]]) == []
    assert [x[3] for x in reached(text, [breach(d) for d in days])] == [25]


# --------------------------------------------------------------------------- scopes: term, group, contract


GROUP = """escalations:
  - {group: calls-quality, terms: [a, b], after_breaches: 3, within: month, right: penalty x2}
escalation: {after_breaches: 4, within: month, right: terminate}
"""


def test_a_group_counts_its_terms_only_and_the_contract_counts_every_term() -> None:
    text = contract(tail=GROUP)
    records = [breach("2026-10-01", "a"), breach("2026-10-02", "s"), breach("2026-10-03", "b"),
               breach("2026-10-04", "s"), breach("2026-10-05", "a")]
    ledger = build_ledger(records, [parse_contract(text)])
    found = [(x.escalation_id, x.group, x.term, x.right, x.reached_by[:3]) for x in ledger.escalations]
    assert found == [("c/calls-quality/2026-10/3", "calls-quality", None, "penalty x2", "c/a"),  # a, b, a
                     ("c/*/2026-10/4", None, None, "terminate", "c/s")]  # the 4th of any term: s on Oct 4
    assert reached(text, records[:4]) == [("c/*/2026-10/4", "2026-10", 4, 4, "2026-10-04")]  # a, b: only 2


def test_reached_rights_are_published_once_whatever_the_replays_and_periods_asked() -> None:
    text = contract("{consecutive: 2, within: month, right: terminate}", GROUP)
    records = [breach("2026-09-30", "a"), breach("2026-10-01", "b"), breach("2026-10-02", "a"),
               breach("2026-10-03", "s"), breach("2026-10-04", "b")]  # a: Sep, Oct; group: b, a, b; all: 4 in Oct
    once = build_ledger(records, [parse_contract(text)])
    replayed = build_ledger(records[::-1] * 3, [parse_contract(text)])
    assert once.escalations == replayed.escalations and len(once.escalations) == 3
    october = escalation_messages(ledger_of_period(once, "2026-10").escalations)
    quarter = escalation_messages(ledger_of_period(replayed, "2026-Q4").escalations)
    assert october == quarter and len({k for k, _ in october}) == 3


# --------------------------------------------------------------------------- statement progress and look-back


def test_progress_shows_a_running_count_and_what_reached_in_the_period() -> None:
    c = parse_contract(contract("{consecutive: 3, within: month, right: terminate}"))
    ledger = build_ledger([breach("2026-08-05"), breach("2026-09-30")], [c])
    september, october, november = (datetime(2026, m, 1, tzinfo=TZ) for m in (9, 10, 11))
    [running] = progress(c, ledger.entries, september, october)
    assert (running.period, running.breaches, running.needed, running.reached_by) == ("2026-08..2026-09", 2, 3, None)
    [broken] = progress(c, ledger.entries, october, november)  # October passed without one
    assert (broken.breaches, broken.needed) == (0, 3)


def test_the_ledger_looks_back_as_far_as_a_rule_can_chain() -> None:
    assert lookback_start(parse_contract(contract("{after_breaches: 3, within: quarter, right: x}")),
                          "2026-11") == date(2026, 10, 1)
    rolling = contract("{after_breaches: 3, within: {rolling: 90d}, right: x}").replace(
        "scope:", "effective_from: 2026-01-01\nscope:")
    assert lookback_start(parse_contract(rolling), "2026-11") == date(2026, 1, 1)


# --------------------------------------------------------------------------- the schema


@pytest.mark.parametrize(("rule", "path", "problem"), [
    ("{after_breaches: 3, ratio: 0.2, within: month, right: x}", "terms[0].escalation",
     "exactly one of after_breaches, consecutive or ratio"),
    ("{consecutive: 3, within: {rolling: 90d}, right: x}", "terms[0].escalation",
     "consecutive counts calendar periods"),
    ("{ratio: 0.2, within: contract, right: x}", "terms[0].escalation", "ratio counts calendar periods"),
    ("{ratio: 20, within: month, right: x}", "terms[0].escalation.ratio", "less than or equal to 1"),
    ("{after_breaches: 3, within: {rolling: 9x}, right: x}", "terms[0].escalation.within.rolling",
     "not a duration"),
])
def test_rules_that_say_nothing_clear_are_refused_at_their_field(rule: str, path: str, problem: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_contract(contract(rule), "c.yaml")
    [found] = caught.value.problems
    assert (found.file, found.line, found.path) == ("c.yaml", 7, path) and problem in found.message, found


def test_a_group_naming_an_unknown_term_is_refused_at_its_line() -> None:
    text = contract(tail="escalations:\n  - group: g\n    terms: [a, nope]\n    after_breaches: 2\n"
                         "    within: month\n    right: x\n")
    with pytest.raises(ContractError) as caught:
        parse_contract(text, "c.yaml")
    [found] = caught.value.problems
    assert (found.line, found.path) == (12, "escalations[0].terms[1]") and "'nope' is not a term" in found.message
