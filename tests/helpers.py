"""Builders shared by tests: events at readable local times, contracts from small YAML snippets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from streams.contracts import parse_contract
from streams.core import TermIndex, compile_terms
from streams.models import CallAbandoned, CallAnswered, CallEnded, CallOffered

CST = timezone(timedelta(hours=8))
DAY = datetime(2026, 11, 23, tzinfo=CST)

CONTRACT = """
id: t
name: test
timezone: Asia/Shanghai
scope: {queues: [q1, q2]}
terms:
  - id: ar
    kpi: answer_rate
    threshold: 0.8
    window: 15m
    grace: 2m
    retention: 1h
    min_volume: 3
"""


DESK_HOURS = """{mon: [["09:00", "18:00"]], tue: [["09:00", "18:00"]], wed: [["09:00", "18:00"]],
                  thu: [["09:00", "18:00"]], fri: [["09:00", "18:00"]]}"""
"""A service desk's working hours: Monday-Friday 09:00-18:00 (9 working hours a day)."""


def desk_contract(contract_id: str, terms_yaml: str, holidays: str = "CN",
                  categories: str = "request, complaint") -> str:
    """A ticket contract `contract_id` in Asia/Shanghai on desk hours with `holidays`, scoped to these ticket
    categories, with these terms (YAML list items); compile it with `terms`."""
    return f"""
id: {contract_id}
name: {contract_id}
timezone: Asia/Shanghai
calendar:
  holidays: {holidays}
  working_hours: {DESK_HOURS}
scope: {{categories: [{categories}]}}
terms:
""" + terms_yaml.lstrip("\n")


def at(hhmm: str, seconds: float = 0) -> datetime:
    """A time on the test day, Asia/Shanghai: at("10:14", 30)."""
    h, m = map(int, hhmm.split(":"))
    return DAY + timedelta(hours=h, minutes=m, seconds=seconds)


def terms(text: str = CONTRACT) -> TermIndex:
    """Compiled terms of a YAML contract."""
    return compile_terms([parse_contract(text)])


_n = 0


def _id() -> str:
    global _n  # test-only counter for unique ids
    _n += 1
    return f"e{_n}"


def answered(when: datetime, wait: float = 10, queue: str = "q1", call: str | None = None) -> CallAnswered:
    """A call answered at `when` after `wait` seconds."""
    eid = _id()
    return CallAnswered(event_id=eid, call_id=call or eid, queue=queue, occurred_at=when, wait_seconds=wait)


def abandoned(when: datetime, wait: float = 30, queue: str = "q1") -> CallAbandoned:
    """A call abandoned at `when` after `wait` seconds."""
    eid = _id()
    return CallAbandoned(event_id=eid, call_id=eid, queue=queue, occurred_at=when, wait_seconds=wait)


def offered(when: datetime, queue: str = "q1") -> CallOffered:
    """A call entering the queue at `when`."""
    eid = _id()
    return CallOffered(event_id=eid, call_id=eid, queue=queue, occurred_at=when)


def ended(when: datetime, talk: float = 120, hold: float = 0, wrap: float = 0, queue: str = "q1") -> CallEnded:
    """A call ending at `when`."""
    eid = _id()
    return CallEnded(event_id=eid, call_id=eid, queue=queue, occurred_at=when, talk_seconds=talk,
                     hold_seconds=hold, wrap_seconds=wrap)
