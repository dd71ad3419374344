"""Example contracts written from the seed contracts: each loads and carries the key terms of its seed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from streams.calendar import BusinessCalendar, DayKind, DaySource
from streams.contracts import Contract, Term, load_contract
from streams.contracts.kpis import CATALOG
from streams.contracts.model import RollingSpan

EXAMPLES_DIR = Path(__file__).parents[2] / "contracts" / "examples"
SEED_EXAMPLES = {  # example: the title of the seed contract it was written from
    "bank-team": "金融行业客服团队绩效合同",
    "outsourcing-template": "客服工作合同協議模板",
    "helpdesk-sla": "客服团队建设条款",
    "telecom-outsourcing": "电信行业客服外包协议",
    "complaints-evaluation": "客戶投訴與客戶服務績效評估合同",
}
ALL_EXAMPLES = [*SEED_EXAMPLES, "anonymous-bank"]


@cache
def contract(name: str) -> Contract:
    return load_contract(EXAMPLES_DIR / f"{name}.yaml")


def term(name: str, term_id: str) -> Term:
    found = {t.id: t for t in contract(name).terms}
    assert term_id in found, f"{name} has no term {term_id!r} (has {sorted(found)})"
    return found[term_id]


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_example_loads_and_every_term_cites_its_clause(name: str) -> None:
    c = contract(name)
    assert c.id == name
    assert c.calendar is not None and c.effective_from is not None and c.effective_until is not None
    for t in c.terms:
        assert t.clause, f"{name}/{t.id} has no clause"
        assert t.description, f"{name}/{t.id} has no description"


@pytest.mark.parametrize("name", SEED_EXAMPLES)
def test_seed_examples_name_their_seed_and_use_the_chinese_calendar(name: str) -> None:
    c = contract(name)
    text = (EXAMPLES_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert text.startswith(f"# Source: the seed contract {SEED_EXAMPLES[name]} (")
    assert "PROPOSED" in text.split("\nid:")[0]
    assert "clauses not expressed as terms" in text.lower()
    assert c.source is not None and c.source.startswith(f"seed contract {SEED_EXAMPLES[name]} (")
    assert "/" not in c.source, "a seed is named in words, not by a path of some machine"
    assert c.timezone == "Asia/Shanghai"
    assert c.calendar is not None and c.calendar.holidays == "CN"


def test_bank_team() -> None:
    answer = term("bank-team", "answer-rate-month")
    assert (answer.kpi, answer.threshold, answer.window, answer.measured_during) == (
        "answer_rate", 0.90, "month", "service_hours")
    sl = term("bank-team", "service-level-20s-month")
    assert (sl.kpi, sl.answer_within_seconds, sl.threshold) == ("service_level", 20, 0.80)
    complaints = term("bank-team", "complaints-closed-5wd")
    assert complaints.kpi == "complaints_closed_within" and complaints.within is not None
    assert complaints.within.working_days == 5 and complaints.threshold == 0.95
    assert answer.penalty is not None and answer.penalty.currency == "CNY"
    assert contract("bank-team").escalation is not None
    runs = {g.group: (tuple(g.terms), g.consecutive, g.within) for g in contract("bank-team").escalations}
    assert runs["answer-rate-3-months"] == (("answer-rate-month",), 3, "month") and len(runs) == 5  # 5.2 proposed
    staffing = term("bank-team", "staffing-floor-month")  # 第一条 / 3.4: N agents online in working hours
    assert (staffing.kpi, staffing.min_agents, staffing.count, staffing.measured_during, staffing.threshold) == (
        "staffing_floor", 12, "logged_in", "service_hours", 0.95)


def test_outsourcing_template() -> None:
    response = term("outsourcing-template", "first-response-2wh")
    assert response.kpi == "first_response_within" and response.within is not None
    assert response.within.working_hours == 2 and response.threshold == 0.95
    resolution = term("outsourcing-template", "resolution-3wd")
    assert resolution.kpi == "resolution_within" and resolution.within is not None
    assert resolution.within.working_days == 3
    c = contract("outsourcing-template")
    assert c.escalation is not None and c.escalation.after_breaches == 3
    assert {r.period for r in c.reports} == {"month", "week"}


def test_helpdesk_sla() -> None:
    response = term("helpdesk-sla", "first-response-15wm")
    assert response.kpi == "first_response_within" and response.within is not None
    assert response.within.working_minutes == 15
    update = term("helpdesk-sla", "solved-or-updated-4h")
    assert update.kpi == "solved_or_updated_within" and update.threshold == 0.8
    assert update.within is not None and update.within.hours == 4
    availability = term("helpdesk-sla", "availability-99-5")
    assert (availability.kpi, availability.threshold, availability.measured_during) == (
        "availability", 0.995, "always")
    csat = term("helpdesk-sla", "csat-quarter-80")
    assert (csat.kpi, csat.threshold, csat.window, csat.scale_max) == ("csat_average", 80, "quarter", 100)
    c = contract("helpdesk-sla")
    assert all(t.penalty is not None and t.penalty.amount == Decimal(2000) for t in c.terms)  # 3.2 per breach
    assert c.escalation is not None and c.escalation.after_breaches == 3  # 3.2 cumulative breaches
    assert c.escalation.within == RollingSpan(rolling="182d")  # in any 6 months (proposed)
    assert [(r.id, r.period) for r in c.reports] == [("monthly-quality-report", "month")]  # 2.6


def test_helpdesk_sla_covers_2027_with_overrides_and_known_until() -> None:
    c = contract("helpdesk-sla")
    assert c.calendar is not None and c.effective_until is not None
    assert c.effective_until.year == 2027 and c.calendar.known_until == c.effective_until
    calendar = BusinessCalendar(c.calendar)
    for holiday in (date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 8)):  # 元旦, 除夕, 初三: weekdays off
        day = calendar.day(holiday)
        assert (day.kind, day.source, day.is_working) == (DayKind.HOLIDAY, DaySource.OVERRIDE, False)
    ordinary = calendar.day(date(2027, 3, 3))  # a Wednesday, vouched for by known_until
    assert ordinary.source == DaySource.KNOWN_UNTIL and ordinary.is_working


def test_telecom_outsourcing() -> None:
    answer = term("telecom-outsourcing", "answer-rate-month")
    assert (answer.kpi, answer.measured_during, answer.threshold) == ("answer_rate", "service_hours", 0.90)
    talk = term("telecom-outsourcing", "enquiry-talk-time-month")
    assert (talk.kpi, talk.queues, talk.threshold) == ("avg_talk_time", ["enquiry"], 180)
    resolution = term("telecom-outsourcing", "resolution-3wd")
    assert resolution.kpi == "resolution_within" and resolution.within is not None
    assert resolution.within.working_days == 3 and resolution.threshold == 0.95
    assert resolution.categories == ["enquiry", "fault"]
    complaints = term("telecom-outsourcing", "complaints-closed-5wd")
    assert complaints.within is not None and complaints.within.working_days == 5
    satisfaction = term("telecom-outsourcing", "satisfaction-month")
    assert (satisfaction.kpi, satisfaction.points_scale, satisfaction.satisfied_at, satisfaction.threshold) == (
        "share_satisfied", (1, 5), 4, 0.90)
    assert contract("telecom-outsourcing").escalation is not None


def test_complaints_evaluation() -> None:
    response = term("complaints-evaluation", "complaint-first-response-2wh")
    assert response.kpi == "first_response_within" and response.categories == ["complaint"]
    urgent = term("complaints-evaluation", "urgent-complaints-closed-1wd")
    normal = term("complaints-evaluation", "normal-complaints-closed-5wd")
    assert urgent.within is not None and normal.within is not None
    assert (urgent.priorities, urgent.within.working_days) == (["urgent"], 1)
    assert (normal.priorities, normal.within.working_days) == (["normal"], 5)
    reports = contract("complaints-evaluation").reports
    assert [(r.period, r.due_working_days) for r in reports] == [("quarter", 10)]  # 2.3 evaluation report


def test_anonymous_bank_is_a_calls_only_replay_contract() -> None:
    c = contract("anonymous-bank")
    assert c.timezone == "Asia/Jerusalem" and c.calendar is not None and c.calendar.holidays == "IL"
    assert (c.effective_from, c.effective_until) == (date(1999, 1, 1), date(1999, 12, 31))
    assert set(c.scope.queues) == {"PS", "PE", "IN", "NE", "NW", "TT"}
    assert all(CATALOG[t.kpi].source == "calls" for t in c.terms)
    kpis = {(t.kpi, t.window) for t in c.terms}
    assert {("answer_rate", "day"), ("answer_rate", "month")} <= kpis
    assert {"service_level", "asa", "abandon_rate", "avg_talk_time"} <= {
        kpi for kpi, _ in kpis}
    calendar = BusinessCalendar(c.calendar)
    assert not calendar.is_working_day(date(1999, 9, 20))  # Yom Kippur
    assert calendar.is_working_day(date(1999, 9, 19))  # an ordinary Sunday
